"""What the notebook tests share: reading a notebook, the text a cell printed, and running one
top to bottom in a fresh ``python3`` kernel (on a copy: nothing is written back)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 120  # seconds per cell


def read_notebook(path: Path) -> Any:
    return require_module("nbformat").read(path, as_version=4)


def code_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell_text(cell: Any) -> str:
    """Everything a cell printed (streams and text/plain)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def execute(nb: Any, name: str = "the notebook") -> Any:
    """A copy of ``nb`` run from nothing (no committed output survives); a failing cell fails the test."""
    require_module("ipykernel")
    nbclient = require_module("nbclient")
    nb = copy.deepcopy(nb)
    for cell in code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{name} failed:\n{error}")
    for cell in code_cells(nb):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:200]
    return nb
