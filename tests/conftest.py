"""Shared test set-up: hypothesis profiles and the Graphviz requirement.

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
