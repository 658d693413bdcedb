"""Shared test set-up: hypothesis profiles, and one rule for what the tests may lack.

Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE.

* ``dev`` (the default): about 100 examples per property, quick enough to run often;
* ``ci`` (the default when ``CI`` is set): more examples;
* ``thorough``: many more examples, for an occasional long run.

None has a per-example deadline: a timing is not a test (speed is measured in ``benchmarks/``).

They are registered in one place, :mod:`micrograd_lite.testing.profiles`.

What the tests may lack. Some tests need a program (Graphviz's ``dot``, Chromium) or a package
(PyTorch, JupyterLab, ...). On a developer's machine without it they skip, saying what to install;
in CI (the environment variable ``CI`` set, and not ``0``/``false``/``no``) they fail, because a
test that silently skips there tests nothing. :data:`CI_MUST_HAVE` is the one list of those
things; tests ask for them with :func:`require_module`, :func:`require_program`, the ``needs_dot``
marker or the ``browser`` fixture, all of which go through :func:`unavailable`.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NoReturn

import pytest

from micrograd_lite.testing.profiles import register_profiles

register_profiles()


# ------------------------------------------------------------- what CI must have
# The same reading of CI as the hypothesis profiles: CI=true, CI=1, CI=woodpecker... are CI.
CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Requirement:
    """Something a test needs: ``what`` it is (for messages) and how to ``install`` it."""

    what: str
    install: str


DEV_EXTRA = "pip install -e '.[dev]' (python3 dev.py setup does)"

#: Everything a test may lack, keyed by program name or top-level import name. A test that needs
#: one skips without it on a developer's machine and fails without it in CI; .ci/run installs them
#: all (apt-get for the programs, ``python3 dev.py setup`` for the dev extra, then torch). A test
#: may only ask for what is listed here: adding a line is the decision that CI must provide it.
CI_MUST_HAVE: dict[str, Requirement] = {
    # programs (.ci/run: apt-get install graphviz chromium)
    "dot": Requirement("Graphviz's dot, which renders the drawings", "Debian: apt install graphviz"),
    "chromium": Requirement(
        "Chromium, the browser of the page tests",
        "Debian: apt install chromium, or set CHROMIUM to a Chromium executable",
    ),
    # Python packages of the dev extra (.ci/run: python3 dev.py setup)
    "playwright": Requirement("Python playwright, which drives Chromium", DEV_EXTRA),
    "jupyterlab": Requirement("JupyterLab, to open the notebooks as a student does", DEV_EXTRA),
    "ipykernel": Requirement("ipykernel, the notebooks' Python kernel", DEV_EXTRA),
    "nbclient": Requirement("nbclient, which runs the notebooks", DEV_EXTRA),
    "nbformat": Requirement("nbformat, which reads and writes notebooks", DEV_EXTRA),
    "nbconvert": Requirement("nbconvert, which exports a notebook to HTML", DEV_EXTRA + ", with jupyterlab"),
    "matplotlib": Requirement("matplotlib, for the notebooks' plots", DEV_EXTRA),
    "ipywidgets": Requirement("ipywidgets, for the step widget", DEV_EXTRA),
    "tqdm": Requirement("tqdm, for the training progress bar", DEV_EXTRA),
    "micrograd": Requirement("karpathy's micrograd 0.1.0, which the exercise graders must pass", DEV_EXTRA),
    "mpmath": Requirement("mpmath, the high-precision oracle", DEV_EXTRA),
    "autograd": Requirement("HIPS autograd, an independent oracle", DEV_EXTRA),
    "numpy": Requirement("numpy, for batched compiled steps (the fast extra)", DEV_EXTRA),
    "sklearn": Requirement("scikit-learn, which ships the digits data set (the digits extra)", DEV_EXTRA),
    # the pinned oracle (.ci/run: pip install torch==2.13.0; a failed install fails CI)
    "torch": Requirement("PyTorch 2.13.0, an independent oracle", "pip install -e '.[torch]'"),
}


def _requirement(name: str) -> Requirement:
    try:
        return CI_MUST_HAVE[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is not in CI_MUST_HAVE (tests/conftest.py): add it there, saying what it is"
            " and how to install it, so that CI is made to provide it"
        ) from None


def unavailable(reason: str) -> NoReturn:
    """Skip the current test (or module) on a developer's machine; fail it in CI.

    ``reason`` says what is missing and how to get it.
    """
    if CI:
        pytest.fail(f"{reason}. CI must have it (CI_MUST_HAVE in tests/conftest.py)", pytrace=False)
    pytest.skip(f"{reason}. Skipped here; CI must run this test", allow_module_level=True)


def require_module(name: str) -> ModuleType:
    """Import ``name`` (e.g. ``"torch"`` or ``"micrograd.engine"``), or skip (fail in CI) without it.

    Its top-level package must be listed in :data:`CI_MUST_HAVE`. Usable in a test, a fixture or
    at module level (where it skips the whole module).
    """
    needed = _requirement(name.partition(".")[0])
    try:
        return importlib.import_module(name)
    except (ImportError, OSError) as error:  # OSError: a binary wheel whose shared library is missing
        unavailable(f"needs {needed.what} ({name}: {error}); {needed.install}")


def require_program(name: str) -> str:
    """The path of program ``name`` on PATH, or skip (fail in CI) without it. Listed in CI_MUST_HAVE."""
    needed = _requirement(name)
    path = shutil.which(name)
    if path is None:
        unavailable(f"needs {needed.what} (no {name!r} on PATH); {needed.install}")
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_dot: the test renders with Graphviz's dot program")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_dot") is not None:
        require_program("dot")


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


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (a playwright ``Browser``), shared by the whole test session."""
    sync_api = require_module("playwright.sync_api")
    executable = chromium_executable()
    with sync_api.sync_playwright() as p:
        try:
            if executable:
                launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            else:  # a browser installed by `playwright install`, if any
                launched = p.chromium.launch(args=CHROMIUM_ARGS)
        except Exception as error:
            chromium = CI_MUST_HAVE["chromium"]
            unavailable(
                f"needs {chromium.what}, but {executable or 'no chromium on PATH'} did not start:"
                f" {error}; {chromium.install}"
            )
        yield launched
        launched.close()
