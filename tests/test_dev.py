"""dev.py, the one-command set-up: its usage text and how it keeps set-up noise out of sight.

The real set-up (a fresh .venv and a pip install) takes minutes and needs the package index, so it
is not run here; what decides what a newcomer sees is `run_quietly`, tested with small child
processes that print the way pip and setuptools do.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _dev()

# What a child process prints on success: a warning box on stderr (as setuptools' editable-install
# notice), a machine-specific pip warning, and progress on stdout.
NOISY = (
    "import sys\n"
    "print('*' * 80, file=sys.stderr)\n"
    "print('!!  Please avoid running ``setup.py`` directly.  !!', file=sys.stderr)\n"
    "print(\"WARNING: Location 'file:///opt/pypi-more/x' is ignored\", file=sys.stderr)\n"
    "print('Successfully installed micrograd-lite-0.1.0')\n"
)


def test_usage_names_every_command() -> None:
    for command in dev.COMMANDS:
        assert re.search(rf"python3 dev\.py {command}\b", dev.__doc__), command
    assert set(dev.COMMANDS) == {"demo", "test", "setup"}


@pytest.mark.parametrize("argv", [[], ["help"], ["tests"]])
def test_unknown_or_missing_command_prints_the_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        dev.main(argv)
    assert exit_info.value.code == dev.__doc__
    assert "dev.py setup" in str(exit_info.value.code)


def test_every_command_the_readme_uses_is_in_the_usage() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"python3 dev\.py (\w+)", readme))
    assert used, "the README shows no dev.py command"
    assert used <= set(dev.COMMANDS), used - set(dev.COMMANDS)


def test_a_set_up_step_that_succeeds_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    dev.run_quietly(sys.executable, "-c", NOISY)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_set_up_step_that_fails_shows_everything_it_printed(capfd: pytest.CaptureFixture[str]) -> None:
    failing = NOISY + "print('ERROR: No matching distribution for graphviz', file=sys.stderr)\nsys.exit(3)\n"
    with pytest.raises(SystemExit) as exit_info:
        dev.run_quietly(sys.executable, "-c", failing)
    assert exit_info.value.code == 3
    out, err = capfd.readouterr()
    assert out == ""
    for line in ("Please avoid running", "Successfully installed", "No matching distribution for graphviz"):
        assert line in err, line
    assert "failed (exit code 3)" in err


def test_set_up_runs_pip_quietly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every pip call of `setup` goes through `run_quietly`, none through the echoing `run`."""
    quiet: list[tuple[str, ...]] = []
    loud: list[tuple[str, ...]] = []
    monkeypatch.setattr(dev, "VENV", tmp_path)
    monkeypatch.setattr(dev, "PY", Path(sys.executable))  # exists: no venv is created
    monkeypatch.setattr(dev, "run_quietly", lambda *args: quiet.append(tuple(map(str, args))))
    monkeypatch.setattr(dev, "run", lambda *args: loud.append(tuple(map(str, args))))
    dev.setup("dev")
    assert loud == []
    assert [args[1:4] for args in quiet] == [("-m", "pip", "install")] * 2
    assert quiet[-1][-1] == ".[dev]"
    assert (tmp_path / ".installed-dev").exists()
