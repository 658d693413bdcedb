"""Notebooks 07 and 08, where students work: run as a student receives them, and with the solutions.

As committed, every exercise cell is a stub that raises a friendly ``NotImplementedError`` when its
function is called; the notebook still runs to the end, each check cell says "not done yet" (never a
traceback) and the final cell lists what is left. With the reference solutions of
``tests/exercise_solutions/`` put into the exercise cells (by cell id), every check passes and the
final cell prints "all checks passed". Both runs work on in-memory copies.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from notebook_tools import cell_text, code_cells, execute

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
EXERCISE_NOTEBOOKS = ["07_your_turn_backprop_by_hand.ipynb", "08_build_your_own_value.ipynb"]
CHECKED = "all checks passed"
NOT_DONE = "not done yet"
SECTION = re.compile(r"^# %% (\S+)\n", flags=re.MULTILINE)


@pytest.fixture(autouse=True)
def _this_interpreter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    here = str(Path(sys.prefix) / "share" / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [here, os.environ.get("JUPYTER_PATH")])))


def _read(name: str) -> Any:
    return require_module("nbformat").read(NOTEBOOKS / name, as_version=4)


def solutions(name: str) -> dict[str, str]:
    """The reference solution of each exercise cell, by cell id."""
    text = (SOLUTIONS / name.replace(".ipynb", ".py")).read_text(encoding="utf-8")
    parts = SECTION.split(text)[1:]  # [id, source, id, source, ...]
    return {cell_id: source.strip() + "\n" for cell_id, source in zip(parts[::2], parts[1::2])}


def _cells(nb: Any, kind: str) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code" and f"-{kind}" in cell.id]


_text = cell_text


def _execute(nb: Any) -> Any:
    nb = execute(nb)
    for cell in code_cells(nb):
        assert "Traceback" not in _text(cell), cell.id
    return nb


@pytest.mark.parametrize("name", EXERCISE_NOTEBOOKS)
def test_every_exercise_cell_is_a_friendly_stub_with_a_solution(name: str) -> None:
    nb = _read(name)
    exercises = _cells(nb, "exercise-")
    assert len(exercises) >= 4
    assert {cell.id for cell in exercises} == set(solutions(name))
    for cell in exercises:
        assert re.search(r'raise NotImplementedError\("exercise \d: ', cell.source), cell.id
        assert cell.source.strip() != solutions(name)[cell.id].strip()
    checks = _cells(nb, "check-")
    assert len(checks) >= 3 and all("check_" in cell.source for cell in checks)
    assert nb.cells[-1].id.endswith("-summary") and "summary(" in nb.cells[-1].source


@pytest.mark.parametrize("name", EXERCISE_NOTEBOOKS)
def test_as_committed_every_check_says_not_done_yet(name: str) -> None:
    nb = _execute(_read(name))
    for cell in _cells(nb, "check-"):
        assert NOT_DONE in _text(cell), (cell.id, _text(cell)[:500])
    last = _text(nb.cells[-1])
    assert CHECKED not in last and last.startswith("0 of ")
    assert last.count(NOT_DONE) == len(re.findall(r"^\s+\"", nb.cells[-1].source, flags=re.MULTILINE))


@pytest.mark.parametrize("name", EXERCISE_NOTEBOOKS)
def test_with_the_solutions_every_check_passes(name: str) -> None:
    nb = _read(name)
    answers = solutions(name)
    for cell in _cells(nb, "exercise-"):
        cell.source = answers[cell.id]
    nb = _execute(nb)
    checks = _cells(nb, "check-")
    for cell in checks:  # an early check may wait for a later exercise, but nothing is wrong
        text = _text(cell)
        for word in ("wrong", "failed", "disagreement", "raised", "follows from"):
            assert word not in text, (cell.id, word, text[:800])
    last_check = _text(checks[-1])
    assert NOT_DONE not in last_check and "not implemented" not in last_check, last_check[:800]
    assert _text(nb.cells[-1]).strip() == CHECKED  # the summary re-checks every exercise


def test_the_solutions_show_what_the_checks_would_have_said() -> None:
    """The solution for a check cell's exercise is graded right by the check itself, row by row."""
    nb = _read(EXERCISE_NOTEBOOKS[0])
    answers = solutions(EXERCISE_NOTEBOOKS[0])
    for cell in _cells(nb, "exercise-"):
        cell.source = answers[cell.id]
    nb = _execute(nb)
    check_5 = next(cell for cell in nb.cells if cell.id == "07-check-5")
    assert _text(check_5).startswith("all 15 answers right")
