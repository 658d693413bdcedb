"""The one rule for what the tests may lack (``tests/conftest.py``): skip locally, fail in CI.

A tiny test file that needs a module and a program that do not exist runs in a pytest subprocess,
with ``CI`` unset or set: without CI both tests are skipped, saying what to install; with CI both
fail, saying that CI must have it. ``.ci/run`` installs the pinned PyTorch oracle without an escape
hatch, so a failed install fails CI instead of silently skipping the oracle tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import CI_MUST_HAVE, require_module, require_program

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

NEEDS_WHAT_IS_MISSING = """
from conftest import CI_MUST_HAVE, Requirement, require_module, require_program

CI_MUST_HAVE["no_such_module_mgl"] = Requirement("a module that does not exist", "get no_such_module_mgl")
CI_MUST_HAVE["no-such-program-mgl"] = Requirement("a program that does not exist", "get no-such-program-mgl")


def test_needs_a_module():
    require_module("no_such_module_mgl.sub")
    raise AssertionError("require_module returned without the module")


def test_needs_a_program():
    require_program("no-such-program-mgl")
    raise AssertionError("require_program returned without the program")
"""


def run_tiny_suite(tmp_path: Path, ci: str | None) -> dict[str, tuple[str, str]]:
    """Each test's outcome (``passed``, ``skipped``, ``failure``, ``error``) and message, by name."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not this project's settings
    (tmp_path / "test_tiny.py").write_text(NEEDS_WHAT_IS_MISSING, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])  # `import conftest` is this one
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "test_tiny.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), result.stdout + result.stderr
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        found = [child for child in case if child.tag in ("skipped", "failure", "error")]
        outcome = (found[0].tag, found[0].get("message", "")) if found else ("passed", "")
        outcomes[case.get("name", "")] = outcome
    assert set(outcomes) == {"test_needs_a_module", "test_needs_a_program"}, result.stdout
    return outcomes


@pytest.mark.parametrize("ci", [None, "false"])
def test_without_ci_a_missing_requirement_skips_saying_what_to_install(
    tmp_path: Path, ci: str | None
) -> None:
    outcomes = run_tiny_suite(tmp_path, ci)
    for name, thing in [
        ("test_needs_a_module", "no_such_module_mgl"),
        ("test_needs_a_program", "no-such-program-mgl"),
    ]:
        outcome, message = outcomes[name]
        assert outcome == "skipped", (name, outcome, message)
        assert f"get {thing}" in message and "CI must run this test" in message


@pytest.mark.parametrize("ci", ["true"])
def test_in_ci_a_missing_requirement_fails_saying_ci_must_have_it(tmp_path: Path, ci: str) -> None:
    outcomes = run_tiny_suite(tmp_path, ci)
    for name, what in [
        ("test_needs_a_module", "a module that does not exist"),
        ("test_needs_a_program", "a program that does not exist"),
    ]:
        outcome, message = outcomes[name]
        assert outcome == "failure", (name, outcome, message)
        assert what in message and "CI must have it" in message


def test_asking_for_something_ci_is_not_told_to_have_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"'leftpad' is not in CI_MUST_HAVE"):
        require_module("leftpad.core")
    with pytest.raises(ValueError, match=r"'cowsay' is not in CI_MUST_HAVE"):
        require_program("cowsay")


def test_a_present_module_is_imported_and_returned() -> None:
    assert require_module("mpmath.libmp").__name__ == "mpmath.libmp"


def test_ci_installs_the_pinned_torch_and_a_failed_install_fails_it() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^set -euo pipefail$", script, flags=re.MULTILINE)
    installs = [
        line for line in script.splitlines() if "torch==" in line and not line.lstrip().startswith("#")
    ]
    assert len(installs) == 1, installs
    assert "||" not in installs[0], f"a failed torch install must fail CI: {installs[0]!r}"
    pinned = re.search(r'"(torch==[^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pinned is not None and pinned.group(1) in installs[0], "CI installs the torch extra's pin"
    assert "torch" in CI_MUST_HAVE
