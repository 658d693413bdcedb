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
way the graph is left holding the gradients of a full ``backward()``. The graph
is walked once (a :class:`~micrograd_lite.graph.Graph`): the zeroing, the pass,
the names and the drawing all use that one topological order.

The page measures no text. Every position it needs comes from Python, read off
Graphviz's SVG by :mod:`micrograd_lite.step_graph`: each box's rectangle (to
centre its grad line and to pan the graph to the current node) and the smallest
font size (so that the graph is never drawn with text smaller than
:data:`READABLE_TEXT_PX`). So it lays out the same whether it is on screen, off
screen or hidden when it loads.

Everything is inline (CSS, JavaScript, SVG, the step data as JSON): the file
works offline and loads nothing. Labels reach the page only as escaped text: in
the SVG through :mod:`micrograd_lite.dot`, in the JSON with ``<``, ``>`` and ``&``
written as ``\\u003c`` and the like, and the script puts them into the page with
``textContent``, never as markup.

In a notebook the page sits in a sandboxed ``<iframe>``, followed by a static view
(the drawing as an ``<img>`` and the steps as a table) that a CSS rule hides
while the frame is there. JupyterLab's sanitiser removes both the frame and that
rule from an untrusted notebook (a fresh clone), so there the static view shows
instead of an empty output.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path as FilePath
from typing import Literal

from micrograd_lite.dot import number
from micrograd_lite.drawing import GraphTooLargeError, GraphvizError, graphviz_available
from micrograd_lite.engine import Value
from micrograd_lite.graph import Graph
from micrograd_lite.step_graph import GraphSvg, graph_svg
from micrograd_lite.stepper import Recording, record_steps

Layout = Literal["auto", "svg", "columns"]

DEFAULT_TITLE = "Step through backpropagation"
NO_DOT_NOTE = (
    "Graphviz's dot program was not found, so the nodes are listed in columns by depth instead of drawn."
)
#: The page never draws the graph with text smaller than this (CSS px) unless asked for the whole graph.
READABLE_TEXT_PX = 11.0
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8 cannot encode) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


class StepPage:
    """The page: ``html`` (a complete document), ``save(path)``, and a notebook view.

    ``recording`` holds the steps the page shows (:class:`~micrograd_lite.stepper.Recording`);
    ``static_html`` is the view that stands in for the page where scripts do not run.
    """

    def __init__(
        self,
        html_text: str,
        recording: Recording,
        layout: str,
        title: str = DEFAULT_TITLE,
        height: int = 840,
        static_html: str = "",
    ) -> None:
        self.html = html_text
        self.recording = recording
        self.layout = layout
        self.title = title
        self.height = height
        self.static_html = static_html

    def save(self, path: str | FilePath) -> FilePath:
        """Write the page to ``path`` (UTF-8); open it in any browser, no server needed."""
        path = FilePath(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """For Jupyter: the page in a sandboxed iframe (scripts on, nothing else), then the static view.

        The ``<style>`` rule hides the static view while the iframe is there. An
        untrusted notebook's sanitiser removes the iframe and the ``<style>``
        (JupyterLab 4 keeps ``<img>`` with a ``data:`` URI, tables, ``<details>``
        and inline styles), so the static view is what a fresh clone shows.
        """
        srcdoc = html.escape(self.html, quote=True)
        return (
            '<div class="mgl-step-page">'
            "<style>.mgl-step-page iframe ~ .mgl-static { display: none; }</style>"
            f'<iframe srcdoc="{srcdoc}" sandbox="allow-scripts" title="{html.escape(self.title)}" '
            f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ddd; border-radius: 6px;">'
            "</iframe>"
            f"{self.static_html}</div>"
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
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    if layout not in ("auto", "svg", "columns"):
        raise ValueError(f"layout must be 'auto', 'svg' or 'columns', got {layout!r}")
    title = clean_text(title)
    walked = Graph(root)  # the one walk of the graph: the pass, the names and the drawing share it
    if zero_grad:
        for node in walked.order:
            node.grad = 0.0
    recording = record_steps(walked, seed)
    graph: GraphSvg | None = None
    note = ""
    if layout == "svg" or (layout == "auto" and graphviz_available()):
        try:
            graph = graph_svg(recording, show_constants=show_constants, max_nodes=max_nodes)
        except (GraphTooLargeError, GraphvizError) as error:  # too large, or dot failed on it
            if layout == "svg":
                raise
            note = f"{error}. The nodes are listed in columns by depth instead."
    elif layout == "auto":
        note = NO_DOT_NOTE
    page = render_page(recording, title, graph, note)
    static = static_view(recording, title, graph.image if graph is not None else None)
    result = StepPage(page, recording, "svg" if graph is not None else "columns", title, height, static)
    if path is not None:
        result.save(path)
    return result


# ------------------------------------------------------------------ the page


def page_data(recording: Recording, geometry: dict[str, object] | None = None) -> dict[str, object]:
    """What the page's script needs, as JSON-ready data; numbers as ``repr`` strings (exact)."""
    order, index, children = recording.order, recording.index, recording.graph.children
    level: dict[Value, int] = {}
    for node in order:
        level[node] = 1 + max((level[p] for p in node.parents), default=-1)
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
        "graph": geometry,
        "readablePx": READABLE_TEXT_PX,
    }


def script_json(data: object) -> str:
    """``data`` as JSON that is safe inside ``<script>``: no ``<``, ``>``, ``&``, U+2028 or U+2029."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    for ch, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _template() -> str:
    return resources.files("micrograd_lite").joinpath("templates/step_page.html").read_text(encoding="utf-8")


def render_page(recording: Recording, title: str, graph: GraphSvg | None, note: str = "") -> str:
    """The complete HTML document for ``recording``."""
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    values = {
        "TITLE": html.escape(clean_text(title)),
        "GRAPH": graph.svg if graph is not None else "",
        "LAYOUT": "svg" if graph is not None else "columns",
        "NOTE": html.escape(note),
        "DATA": script_json(page_data(recording, graph.geometry if graph is not None else None)),
    }
    # One pass: text put in is never searched for markers again.
    return re.sub(r"__(TITLE|GRAPH|LAYOUT|NOTE|DATA)__", lambda m: values[m.group(1)], _template())


# ------------------------------------------------------------------ where scripts do not run


def static_view(recording: Recording, title: str, image: str | None) -> str:
    """The page as plain HTML that an untrusted notebook's sanitiser keeps.

    The finished drawing (an ``<img>`` with a ``data:`` URI) and one table row per step: the
    node, its delta and what it pushed to its parents. Styles are inline: ``<style>`` is removed.
    """

    def text(value: str) -> str:
        return html.escape(clean_text(value))

    cell = 'style="text-align: left; vertical-align: top; padding: 2px 8px;"'
    mono = 'style="text-align: left; vertical-align: top; padding: 2px 8px; font-family: monospace;"'
    root_name = recording.names[recording.root]
    rows = []
    for position, step in enumerate(recording, start=1):
        pushes = "<br>".join(text(line) for line in recording.edge_lines(step))
        rows.append(
            f"<tr><td {cell}>{position}</td><td {cell}>{text(recording.names[step.node])}</td>"
            f"<td {mono}>{text(repr(step.delta))}</td><td {mono}>{pushes}</td></tr>"
        )
    picture = ""
    if image is not None:
        uri = "data:image/svg+xml;base64," + base64.b64encode(image.encode("utf-8")).decode("ascii")
        picture = (
            f'<img src="{uri}" alt="the computation graph after the backward pass, every grad filled in" '
            'style="max-width: 100%; height: auto;">'
        )
    return (
        '<div class="mgl-static" style="border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px;">'
        f"<p><b>{text(title)}</b>: the static view. The interactive page is not shown here (a notebook "
        "that is not trusted, such as a fresh clone, hides it). Run this cell, or trust the notebook "
        "(JupyterLab: command palette, <i>Trust Notebook</i>), to step through the pass.</p>"
        f"{picture}"
        f"<details open><summary>The {len(recording)} steps of the backward pass, in order</summary>"
        '<table style="font-size: 12px; border-collapse: collapse;">'
        f"<thead><tr><th {cell}>step</th><th {cell}>node</th><th {cell}>d{text(root_name)}/d(node)</th>"
        f"<th {cell}>pushed to its parents: parent.grad += delta * local = contribution -&gt; total</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details></div>"
    )
