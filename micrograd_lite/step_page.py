"""A self-contained web page that steps through backpropagation: ``step_page(root)``.

The page shows the graph (the SVG of :func:`micrograd_lite.drawing.draw`, or,
without Graphviz's ``dot``, the nodes laid out in columns by depth), Step, Back,
Play/Pause, Reset and End controls and a speed setting. The node being
processed is highlighted, every grad starts blank and fills in as the steps
reach it, and the current step is written out as the lecture writes it
(``delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki`` for a unit's
pre-activation, then ``parent.grad += delta * local = contribution -> total``
for each edge).

The numbers are the engine's: building the page runs the backward pass once,
through :func:`micrograd_lite.stepper.backward_steps` (the generator
``backward()`` itself uses), and records what each step computed. By default the
graph's gradients are zeroed first, so the page shows this pass alone; either
way the graph is left holding the gradients of a full ``backward()``.

Everything is inline (CSS, JavaScript, SVG, the step data as JSON): the file
works offline and loads nothing. Labels reach the page only as escaped text: in
the SVG through :mod:`micrograd_lite.dot`, in the JSON with ``<``, ``>`` and ``&``
written as ``\\u003c`` and the like, and the script puts them into the page with
``textContent``, never as markup.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path as FilePath
from typing import Literal

from micrograd_lite.dot import number
from micrograd_lite.drawing import GraphTooLargeError, GraphvizError, draw, graphviz_available
from micrograd_lite.engine import Value
from micrograd_lite.stepper import Recording, record_steps

Layout = Literal["auto", "svg", "columns"]

DEFAULT_TITLE = "Step through backpropagation"
NO_DOT_NOTE = (
    "Graphviz's dot program was not found, so the nodes are listed in columns by depth instead of drawn."
)


class StepPage:
    """The page: ``html`` (a complete document), ``save(path)``, and a notebook view.

    ``recording`` holds the steps the page shows (:class:`~micrograd_lite.stepper.Recording`).
    """

    def __init__(
        self, html_text: str, recording: Recording, layout: str, title: str = DEFAULT_TITLE, height: int = 840
    ) -> None:
        self.html = html_text
        self.recording = recording
        self.layout = layout
        self.title = title
        self.height = height

    def save(self, path: str | FilePath) -> FilePath:
        """Write the page to ``path`` (UTF-8); open it in any browser, no server needed."""
        path = FilePath(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """The page inside a sandboxed iframe (scripts on, nothing else), for Jupyter."""
        srcdoc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{srcdoc}" sandbox="allow-scripts" title="{html.escape(self.title)}" '
            f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ddd; border-radius: 6px;">'
            "</iframe>"
        )

    def __repr__(self) -> str:
        n = len(self.recording)
        return f"<StepPage: {n} steps, {self.layout} layout; .save('page.html'), .html for the document>"


def step_page(
    root: Value,
    path: str | FilePath | None = None,
    *,
    title: str = DEFAULT_TITLE,
    seed: float = 1.0,
    zero_grad: bool = True,
    layout: Layout = "auto",
    show_constants: bool = True,
    max_nodes: int = 2000,
    height: int = 840,
) -> StepPage:
    """Run the backward pass from ``root`` step by step and build the page that replays it.

    * ``path``: also write the page there (``.html``).
    * ``zero_grad``: zero the graph's gradients first (default), so leaves show this
      pass alone rather than accumulating onto an earlier ``backward()``.
    * ``layout``: ``"svg"`` (the drawing; needs Graphviz's ``dot``), ``"columns"``
      (nodes in columns by depth, plain HTML) or ``"auto"`` (the drawing when ``dot``
      is there and the graph has at most ``max_nodes`` boxes, else columns).
    * ``height``: the height of the notebook view, in pixels.
    """
    if not isinstance(root, Value):
        raise TypeError(f"step_page needs a Value, got {type(root).__name__}")
    if layout not in ("auto", "svg", "columns"):
        raise ValueError(f"layout must be 'auto', 'svg' or 'columns', got {layout!r}")
    if zero_grad:
        root.zero_grad()
    recording = record_steps(root, seed)
    svg, note = None, ""
    if layout == "svg" or (layout == "auto" and graphviz_available()):
        try:
            drawing = draw(root, show_constants=show_constants, max_nodes=max_nodes)
            svg = _inline_svg(drawing.svg())
        except (GraphTooLargeError, GraphvizError) as error:  # too large, or dot failed on it
            if layout == "svg":
                raise
            note = f"{error}. The nodes are listed in columns by depth instead."
    elif layout == "auto":
        note = NO_DOT_NOTE
    page = render_page(recording, title, svg, note)
    result = StepPage(page, recording, "svg" if svg is not None else "columns", title, height)
    if path is not None:
        result.save(path)
    return result


def page_data(recording: Recording) -> dict[str, object]:
    """What the page's script needs, as JSON-ready data; numbers as ``repr`` strings (exact)."""
    order, index = recording.order, recording.index
    level: dict[Value, int] = {}
    children: dict[Value, list[Value]] = {}
    for node in order:
        level[node] = 1 + max((level[p] for p in node.parents), default=-1)
        for parent in node.parents:
            children.setdefault(parent, []).append(node)
    for node in order:  # a leaf sits just left of its first user, as dot would place it
        if not node.parents and node in children:
            level[node] = min(level[c] for c in children[node]) - 1
    low = min(level.values())
    nodes = [
        {
            "name": recording.names[node],
            "op": node.op,
            "kind": recording.kinds[node],  # const, target, input, leaf or value
            "data": repr(node.data),
            "level": level[node] - low,
        }
        for node in order
    ]
    steps = []
    for step in recording:
        parts = recording.edge_parts(step)
        steps.append(
            {
                "node": index[step.node],
                "delta": repr(step.delta),
                "unit": recording.unit_delta(step) is not None,
                "formula": recording.formula(step),
                # Edges into constants and targets are left out: their grads are shown nowhere.
                "edges": [
                    {
                        "parent": index[step.edges[slot].parent],
                        "slot": slot,
                        "total": repr(recording.running_total(step, slot)),
                        "parts": list(parts[slot]),
                    }
                    for slot in recording.shown_slots(step)
                ],
            }
        )
    root_name = recording.names[recording.root]
    shown = [node.data for node in order] + [step.delta for step in recording]
    shown += [
        recording.running_total(step, slot) for step in recording for slot in recording.shown_slots(step)
    ]
    formats = {repr(x): [number(x, 4), number(x, 6)] for x in shown}  # as the drawing writes them
    return {
        "root": index[recording.root],
        "rootName": root_name,
        "nodes": nodes,
        "steps": steps,
        "formats": formats,
    }


def script_json(data: object) -> str:
    """``data`` as JSON that is safe inside ``<script>``: no ``<``, ``>``, ``&``, U+2028 or U+2029."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    for ch, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_SVG_TAG = re.compile(r"<svg\b([^>]*)>")


def _inline_svg(svg: str) -> str:
    """Graphviz's SVG document as an element to put in a page: no prolog, scalable."""
    start = svg.find("<svg")
    svg = svg[start:]
    match = _SVG_TAG.match(svg)
    if match is None:  # pragma: no cover - dot always writes an <svg> element
        return svg
    attrs = match.group(1)
    size = {k: v for k, v in re.findall(r'\b(width|height)="([^"]*)"', attrs)}
    attrs = re.sub(r'\s(width|height)="[^"]*"', "", attrs)
    data = "".join(f' data-{k}="{html.escape(v)}"' for k, v in size.items())
    return (
        f'<svg id="graph-svg" role="img" aria-label="the computation graph"{data}{attrs}>'
        + svg[match.end() :]
    )


def _template() -> str:
    return resources.files("micrograd_lite").joinpath("templates/step_page.html").read_text(encoding="utf-8")


def render_page(recording: Recording, title: str, svg: str | None, note: str = "") -> str:
    """The complete HTML document for ``recording``."""
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    values = {
        "TITLE": html.escape(title),
        "GRAPH": svg if svg is not None else "",
        "LAYOUT": "svg" if svg is not None else "columns",
        "NOTE": html.escape(note),
        "DATA": script_json(page_data(recording)),
    }
    # One pass: text put in is never searched for markers again.
    return re.sub(r"__(TITLE|GRAPH|LAYOUT|NOTE|DATA)__", lambda m: values[m.group(1)], _template())
