"""The README's Python examples run as written (each block in a fresh namespace)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module, require_program

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "draw(" in block:
        require_program("dot")
    if "micrograd_lite.pytorch" in block:
        require_module("torch")
    if "digits(" in block:
        require_module("sklearn")
    monkeypatch.chdir(tmp_path)  # examples may save files
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    # The README is this repository's own text, not user input.
    exec(compile(block, str(README), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    for test in tests:  # property tests the README shows run too
        test()
