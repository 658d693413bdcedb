#!/usr/bin/env python3
"""Set up and run micrograd_lite with nothing but Python 3.

    python3 dev.py demo     reproduce the lecture's worked example (writes into out/)
    python3 dev.py test     the whole test suite, then ruff and mypy --strict
    python3 dev.py setup    only create .venv/ with the project and its `dev` extra

Each command first makes `.venv/` and installs the project into it (with the
`dev` extra for `test` and `setup`); later runs skip that unless pyproject.toml
changed. Extra arguments after `demo` or `test` are passed on to the program / pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
COMMANDS = ("demo", "test", "setup")


def run(*args: str | Path) -> None:
    """Run a program whose output the user wants to see; stop with its exit code if it fails."""
    print("+", " ".join(str(a) for a in args), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT)
    if code != 0:
        sys.exit(code)


def run_quietly(*args: str | Path) -> None:
    """Run a set-up step with its output held back: shown (on stderr) only if the step fails.

    pip's progress, setuptools' notices about editable installs and warnings from this machine's
    pip configuration say nothing a newcomer can act on while everything works.
    """
    result = subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        check=False,
    )
    if result.returncode != 0:
        print(result.stdout, end="" if result.stdout.endswith("\n") else "\n", file=sys.stderr)
        print(f"failed (exit code {result.returncode}): {' '.join(str(a) for a in args)}", file=sys.stderr)
        sys.exit(result.returncode)


def setup(extra: str) -> None:
    """Create .venv and install the project with `extra`, unless already done."""
    stamp = VENV / f".installed-{extra or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print(f"creating {VENV.name}/ ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as error:  # e.g. Debian without python3-venv
            sys.exit(
                f"could not create {VENV}: {error}\n"
                "Install Python's venv module (Debian: apt install python3-venv)."
            )
    target = f".[{extra}]" if extra else "."
    what = f"the project with its '{extra}' extra" if extra else "the project"
    print(f"installing {what} into {VENV.name}/ (the first time takes a few minutes) ...", flush=True)
    run_quietly(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run_quietly(PY, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(want)
    print("installed.", flush=True)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        sys.exit(__doc__)
    command, rest = argv[0], argv[1:]
    if command == "demo":
        setup("")
        run(PY, "-m", "micrograd_lite", *rest)
        return
    setup("dev")
    if command == "setup":  # used by CI before it adds optional extras
        return
    run(PY, "-m", "pytest", *rest)
    run(PY, "-m", "ruff", "check", ".")
    run(PY, "-m", "ruff", "format", "--check", ".")
    run(PY, "-m", "mypy", "--strict", "micrograd_lite")


if __name__ == "__main__":
    main(sys.argv[1:])
