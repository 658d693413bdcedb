"""Shared test set-up: hypothesis profiles, the Graphviz requirement and the Chromium browser.

Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE.

* ``dev`` (the default): about 100 examples per property, quick enough to run often;
* ``ci`` (the default when ``CI`` is set): more examples, no per-example deadline
  (shared CI machines are slow and uneven);
* ``thorough``: many more examples, for an occasional long run.

They are registered in one place, :mod:`micrograd_lite.testing.profiles`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from micrograd_lite.testing.profiles import register_profiles

register_profiles()


# ------------------------------------------------------------- system programs
# Graphviz's `dot` renders the drawings. On a developer's machine without it the
# tests that render skip; in CI (where .ci/run installs it) they must run, so a
# missing `dot` there is a failure, never a silent skip.
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_dot() -> None:
    """Skip (or, in CI, fail) the current test when Graphviz's ``dot`` is not installed."""
    if shutil.which("dot") is not None:
        return
    if CI:
        pytest.fail("Graphviz's dot is missing: CI must install it (.ci/run does)", pytrace=False)
    pytest.skip("needs Graphviz's dot (Debian: apt install graphviz); CI runs this test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_dot: the test renders with Graphviz's dot program")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_dot") is not None:
        require_dot()


# ------------------------------------------------------------- a real browser
# Pages are tested where students see them: in Chromium (Debian's chromium, driven by Python
# playwright). Like `dot`, a missing browser skips on a developer's machine and fails in CI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_unavailable(reason: str) -> NoReturn:
    """Skip (or, in CI, fail) the current test: the browser cannot run."""
    message = f"browser tests cannot run: {reason}"
    if CI:
        pytest.fail(message + " (CI is set: the browser tests must run there)", pytrace=False)
    pytest.skip(message)


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (a playwright ``Browser``), shared by the whole test session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable(
            "Python playwright is not installed (pip install -e '.[dev]', or pip install playwright)"
        )
    executable = chromium_executable()
    with sync_playwright() as p:
        try:
            if executable:
                launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            else:  # a browser installed by `playwright install`, if any
                launched = p.chromium.launch(args=CHROMIUM_ARGS)
        except Exception as error:
            browser_unavailable(f"chromium ({executable or 'not on PATH'}) did not start: {error}")
        yield launched
        launched.close()
