"""``python -m micrograd_lite``: reproduce the lecture's worked example, print its table, draw its graph.

Writes into ``out/`` (``--out DIR``): ``worked_example.txt`` (the table),
``worked_example.svg`` (the graph with every path from ``W[1]_12`` to ``E``
highlighted and summed in the caption) and ``worked_example.dot`` (its DOT
source) and ``worked_example.html`` (``--page PATH`` to put it elsewhere): a
self-contained page that steps through the backward pass node by node. Without
Graphviz's ``dot`` program the SVG is skipped, with a note, and the page lists
the nodes in columns instead of drawing them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from micrograd_lite.drawing import INSTALL_HINT, draw, graphviz_available
from micrograd_lite.step_page import step_page
from micrograd_lite.worked_example import worked_example


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m micrograd_lite",
        description="Reproduce the lecture's worked example (2-2-2-1 sigmoid network): "
        "print its delta table and write the table and the graph into --out.",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seeded weights instead of the lecture defaults"
    )
    parser.add_argument("--x", type=float, nargs=2, metavar=("X1", "X2"), default=None, help="the input x")
    parser.add_argument("--t", type=float, default=None, help="the target t, in [0, 1]")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="where to write the files (default: out/)",
    )
    parser.add_argument(
        "--highlight",
        default="W[1]_12",
        metavar="LABEL",
        help="the node whose paths to E the drawing highlights (default: W[1]_12)",
    )
    parser.add_argument(
        "--page",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write the step-through page (default: DIR/worked_example.html)",
    )
    args = parser.parse_args(argv)
    kwargs: dict[str, object] = {}
    if args.x is not None:
        kwargs["x"] = tuple(args.x)
    if args.t is not None:
        kwargs["t"] = args.t
    try:
        table = worked_example(seed=args.seed, **kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = table.to_text()
    print(text)
    if table.root is None:  # pragma: no cover - worked_example always keeps its graph
        return 0
    try:
        drawing = draw(table.root, highlight=args.highlight)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "worked_example.txt").write_text(text + "\n", encoding="utf-8")
        written = [args.out / "worked_example.txt", drawing.save(args.out / "worked_example.dot")]
        if graphviz_available():
            written.append(drawing.save(args.out / "worked_example.svg"))
        page = step_page(table.root, title="Step through backpropagation: the lecture's worked example")
        page_path = page.save(args.page if args.page is not None else args.out / "worked_example.html")
    except OSError as error:
        print(f"error: cannot write the files: {error}", file=sys.stderr)
        return 1
    print(f"\nwrote {', '.join(str(p) for p in written)} (paths from {args.highlight} to E highlighted)")
    print(f"wrote {page_path}: open it in a browser to step through the backward pass")
    if not graphviz_available():
        print(f"no SVG: {INSTALL_HINT}; then run this again, or render the .dot file yourself")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
