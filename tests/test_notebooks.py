"""The teaching notebooks: each runs top to bottom in a fresh kernel and its final check cell passes;
the committed copies carry their outputs (PNG plots that GitHub and an untrusted JupyterLab show).

Execution works on an in-memory copy: nothing is written back to ``notebooks/`` (re-save them with
``notebooks/run_all.py``). The notebook dependencies (nbclient, nbformat, ipykernel, matplotlib) are
in the ``dev`` extra, so these tests run wherever the rest of the suite does; in CI a missing one is
an error, not a skip.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from notebook_tools import NOTEBOOKS, ROOT, cell_text, code_cells, execute, read_notebook

PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_value_and_the_chain_rule.ipynb",
    "02_the_worked_example.ipynb",
    "03_why_backpropagation.ipynb",
    "04_output_units_and_error_functions.ipynb",
    "05_hidden_activations_and_vanishing_gradients.ipynb",
    "06_training.ipynb",
    "07_your_turn_backprop_by_hand.ipynb",
    "08_build_your_own_value.ipynb",
    "09_a_real_data_set.ipynb",
]
# Where students work: committed as a student receives them, so the final cell lists what is left
# ("not done yet") instead of "all checks passed", and there may be nothing to plot.
# tests/test_exercise_notebooks.py runs them with the reference solutions too.
EXERCISES = {"07_your_turn_backprop_by_hand.ipynb", "08_build_your_own_value.ipynb"}
NOT_DONE = "not done yet"
# The teaching notebooks 01-06 and 09: each ends with short exercises of its own
# (tests/notebook_solutions.py).
TEACHING = [path for path in PATHS if path.name not in EXERCISES]
MAX_BYTES = 1_500_000
CHECKED = "all checks passed"  # what every final check cell prints after its asserts


def _ids(paths: list[Path]) -> list[str]:
    return [p.name[:2] for p in paths]


_read, _code_cells, _text = read_notebook, code_cells, cell_text


def test_the_notebooks_are_there() -> None:
    assert [p.name for p in PATHS] == EXPECTED


# ---------------------------------------------------------------- they run


@pytest.fixture(autouse=True)
def _this_interpreter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Find the ``python3`` kernel of this environment first (not a user-wide one with other packages)."""
    here = str(Path(sys.prefix) / "share" / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [here, os.environ.get("JUPYTER_PATH")])))


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_notebook_runs_top_to_bottom_and_its_checks_pass(path: Path) -> None:
    require_module("matplotlib")
    committed = _read(path)
    nb = execute(committed, path.name)  # from nothing: no output survives from the committed copy
    cells = _code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), "not every cell ran"
    last = cells[-1]
    if path.name in EXERCISES:  # the summary of the exercises, none of them done yet
        assert "summary(" in last.source, "the last cell must be the summary"
        assert NOT_DONE in _text(last) and CHECKED not in _text(last), _text(last)[-500:]
    else:
        assert "assert " in last.source, "the last cell must be the check cell"
        assert CHECKED in _text(last), f"the check cell did not finish: {_text(last)[-500:]}"
    assert _read(path) == committed  # the file itself was not touched


# ---------------------------------------------------------------- the committed copies


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_committed_notebook_has_its_outputs(path: Path) -> None:
    nb = _read(path)
    nbformat = require_module("nbformat")
    nbformat.validate(nb)
    cells = _code_cells(nb)
    # Run top to bottom in one session (run_all.py), every cell once.
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c.outputs]
    assert outputs, "saved without outputs: run notebooks/run_all.py"
    assert not [o for o in outputs if o.output_type == "error"]
    if path.name in EXERCISES:  # as a student receives it: "all checks passed" only once solved
        assert NOT_DONE in _text(cells[-1]) and CHECKED not in _text(cells[-1])
    else:
        assert CHECKED in _text(cells[-1])
        assert any("image/png" in o.get("data", {}) for o in outputs), (
            "no PNG image: GitHub would show no plot"
        )
    for o in outputs:
        data = o.get("data", {})
        # Scripts and widgets do not run on GitHub or in an untrusted notebook: never the only output.
        assert set(data) - {"application/javascript", "application/vnd.jupyter.widget-view+json"} or not data
        if "image/png" in data:
            assert data["image/png"].strip(), "empty PNG"
    # The first code cell sets the inline backend to PNG where it plots.
    source = "\n".join(c.source for c in cells)
    if "matplotlib" in source:
        assert "%matplotlib inline" in cells[0].source and 'set_matplotlib_formats("png")' in cells[0].source
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_committed_notebook_is_small_and_clean(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES
    raw = json.loads(path.read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        assert "execution" not in cell.get("metadata", {}), "timing metadata: save with run_all.py"
    text = path.read_text(encoding="utf-8")
    for private in {str(ROOT), str(Path.home())} - {"/"}:
        assert private not in text, f"{path.name} mentions a local path ({private})"


def test_every_notebook_starts_with_a_title_and_teaches_in_markdown() -> None:
    for path in PATHS:
        nb = _read(path)
        first = nb.cells[0]
        assert first.cell_type == "markdown" and first.source.startswith(f"# {int(path.name[:2])}. ")
        markdown = [c for c in nb.cells if c.cell_type == "markdown"]
        assert len(markdown) >= 4, path.name
        assert any("$" in c.source for c in markdown), f"{path.name} states no formula"


# ---------------------------------------------------------------- the exercises

ANSWERED = {"committed": "not answered yet", "solutions": "correct", "wrong": "not right yet"}


def _answer_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if "answer" in cell.metadata.get("tags", [])]


def _check_cell_text(nb: Any, answer_id: str) -> str:
    check_id = answer_id.removesuffix("-answer") + "-check"
    (cell,) = [cell for cell in nb.cells if cell.get("id") == check_id]
    return _text(cell)


@pytest.mark.parametrize("path", TEACHING, ids=_ids(TEACHING))
def test_every_notebook_has_exercises_each_checked_and_unanswered_as_committed(path: Path) -> None:
    from notebook_solutions import SOLUTIONS, WRONG

    nb = _read(path)
    answers = _answer_cells(nb)
    assert 2 <= len(answers) <= 4, "two to four exercises per notebook"
    ids = {cell.id for cell in answers}
    assert ids == set(SOLUTIONS[path.name[:2]]) == set(WRONG[path.name[:2]])
    for cell in answers:
        assert "= None" in cell.source, f"{cell.id}: the answer must start as None"
        assert ANSWERED["committed"] in _check_cell_text(nb, cell.id), cell.id
    exercise_text = "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown" and "### Exercise" in c.source
    )
    assert exercise_text.count("<details>") == len(answers), "each solution is folded in a <details> block"
    # The exercises come before the final check cell, which stays last.
    assert nb.cells.index(answers[-1]) < nb.cells.index(_code_cells(nb)[-1])


@pytest.mark.parametrize("answers", ["solutions", "wrong"])
@pytest.mark.parametrize("path", TEACHING, ids=_ids(TEACHING))
def test_exercise_checks_accept_the_solutions_and_reject_wrong_answers(path: Path, answers: str) -> None:
    """Fill in every answer cell from tests/notebook_solutions.py and read what each check cell says."""
    require_module("ipykernel")
    require_module("matplotlib")
    from notebook_solutions import SOLUTIONS, WRONG

    filled = (SOLUTIONS if answers == "solutions" else WRONG)[path.name[:2]]
    nb = _read(path)
    for cell in _answer_cells(nb):
        cell.source = filled[cell.id]
    nb = execute(nb, path.name)
    for answer_id in filled:
        said = _check_cell_text(nb, answer_id)
        assert ANSWERED[answers] in said, f"{answer_id} with the {answers}: {said!r}"
        if answers == "wrong":
            assert "correct" not in said.replace("not right yet", ""), said
    assert CHECKED in _text(_code_cells(nb)[-1]), "the final check cell still passes"
