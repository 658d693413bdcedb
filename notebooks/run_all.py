#!/usr/bin/env python3
"""Re-execute the teaching notebooks from a clean kernel and save them with their outputs.

    .venv/bin/python notebooks/run_all.py              # every notebook in notebooks/
    .venv/bin/python notebooks/run_all.py 02 06        # those whose name starts with 02 or 06
    .venv/bin/python notebooks/run_all.py --check      # execute, report, save nothing

The notebooks are committed with their outputs (so GitHub and an untrusted JupyterLab show the
plots); run this after changing a notebook or anything its outputs depend on. It needs the
``notebooks`` extra (``pip install -e ".[notebooks]"``). Each notebook runs in its own fresh
``python3`` kernel with ``notebooks/`` as the working directory, as ``tests/test_notebooks.py``
runs them. Timing metadata is not recorded, so re-running changes the files only where an
output changed.

The files are written in the form JupyterLab itself writes once a kernel has started: the
``kernelspec`` of the kernel that ran them and the ``language_info`` that kernel reported (with
its Python version). With anything less, JupyterLab fills the missing metadata in when the kernel
starts and shows a freshly opened notebook as modified (and asks to save it on closing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
TIMEOUT = 120  # seconds per cell
KERNEL = "python3"


def notebooks(prefixes: list[str]) -> list[Path]:
    found = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        found = [p for p in found if any(p.name.startswith(prefix) for prefix in prefixes)]
    return found


def execute(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` run top to bottom in a fresh kernel (raises on the first error)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=TIMEOUT,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()  # also records the kernel's language_info in nb.metadata, as JupyterLab does
    return nb


def kernelspec_metadata(name: str = KERNEL) -> dict[str, str]:
    """The ``kernelspec`` JupyterLab writes when kernel ``name`` starts (name, display name, language)."""
    spec = KernelSpecManager().get_kernel_spec(name)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop what changes from run to run without the outputs changing; name the kernel as JupyterLab does."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.metadata.pop("collapsed", None)
            cell.metadata.pop("scrolled", None)
    nb.metadata["kernelspec"] = kernelspec_metadata()
    if "codemirror_mode" not in nb.metadata.get("language_info", {}):
        raise RuntimeError("the kernel did not report its language_info: cannot save what JupyterLab would")


def main(argv: list[str]) -> int:
    # This interpreter's python3 kernel first, not a user-wide one that may lack micrograd_lite.
    here = str(Path(sys.prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [here, os.environ.get("JUPYTER_PATH")]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose name starts with one of these")
    parser.add_argument("--check", action="store_true", help="execute but do not save")
    args = parser.parse_args(argv)
    paths = notebooks(args.prefixes)
    if not paths:
        print("no notebook matches", file=sys.stderr)
        return 1
    for path in paths:
        start = time.perf_counter()
        nb = execute(path)
        clean(nb)
        seconds = time.perf_counter() - start
        if not args.check:
            nbformat.validate(nb)
            nbformat.write(nb, path)
        size = path.stat().st_size / 1024
        print(f"{path.name}: ran in {seconds:.1f} s" + ("" if args.check else f", saved ({size:.0f} KB)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
