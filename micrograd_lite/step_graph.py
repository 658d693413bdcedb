"""The drawing as the step-through page uses it: :func:`graph_svg`.

Graphviz sizes each box for the text it is drawn with, and its SVG says where every box
is. The page needs both: each box must be wide enough for every running total its grad
line will show, and the page's script needs each box's rectangle (to pan the graph to
the node being processed) and the drawing's smallest font (never to draw text smaller
than readable). Reading them here, from Graphviz's own coordinates, means the page
measures no text, so it lays out the same whether or not it is visible when it loads.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from micrograd_lite.dot import number
from micrograd_lite.drawing import draw
from micrograd_lite.engine import Value
from micrograd_lite.stepper import Recording

#: The grad line of a box shows this before the pass reaches the box.
BLANK_GRAD = "grad ?"
GRAD_PRECISION = 4  # significant digits of a box's grad line, as the drawing writes it

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class GraphSvg:
    """The drawing prepared for the page: ``svg`` (inline, every grad line blank and centred),
    ``image`` (a standalone SVG document of the finished pass) and ``geometry`` (for the script).

    ``geometry`` holds the drawing's ``width`` and ``height`` (SVG user units: Graphviz's
    points), its smallest font size ``minFont``, and each node's box ``[x, y, width, height]``
    by its index in the recording (``None`` for a node not drawn).
    """

    def __init__(self, svg: str, image: str, geometry: dict[str, object]) -> None:
        self.svg = svg
        self.image = image
        self.geometry = geometry


def graph_svg(recording: Recording, *, show_constants: bool = True, max_nodes: int = 2000) -> GraphSvg:
    """Draw ``recording``'s graph with every box wide enough for every grad it will show.

    Graphviz sizes a box for the grad it is drawn with; the page later writes each running
    total into that line. So each node is drawn holding its longest running total, and its
    grad is put back afterwards (the graph keeps the gradients of the full pass).
    """
    widest: dict[Value, float] = {}
    for node in recording.order:
        shown = [total for _, total in _shown_grads(recording, node)]
        if shown:
            widest[node] = max(shown, key=lambda x: len(number(x, GRAD_PRECISION)))
    final = {node: node.grad for node in widest}
    try:
        for node, value in widest.items():
            node.grad = value
        drawing = draw(recording.graph, show_constants=show_constants, max_nodes=max_nodes)
    finally:
        for node, value in final.items():
            node.grad = value
    finished = {
        recording.index[node]: f"grad {number(node.grad, GRAD_PRECISION)}" for node in recording.order
    }
    return _prepare_svg(drawing.svg(), finished)


def _shown_grads(recording: Recording, node: Value) -> list[tuple[int, float]]:
    """Every value ``node``'s grad line shows during the pass: ``(step index, value)``."""
    shown = [(step.index, recording.running_total(step, slot)) for step, slot in recording.received(node)]
    if node is recording.root and recording.steps:
        shown.insert(0, (0, recording.steps[0].delta))
    return shown


def _box(shape: ET.Element) -> tuple[float, float, float, float] | None:
    """The bounding rectangle of a Graphviz node shape (path, polygon or ellipse)."""
    if shape.tag.endswith("ellipse"):
        cx, cy = float(shape.get("cx", 0)), float(shape.get("cy", 0))
        rx, ry = float(shape.get("rx", 0)), float(shape.get("ry", 0))
        return cx - rx, cy - ry, cx + rx, cy + ry
    numbers = [float(n) for n in _NUMBER.findall(shape.get("d") or shape.get("points") or "")]
    xs, ys = numbers[0::2], numbers[1::2]
    if not xs or not ys:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _transform(group: ET.Element | None) -> tuple[float, float, float]:
    """Graphviz's ``scale(s s) rotate(0) translate(tx ty)`` of the graph group, as ``(s, tx, ty)``."""
    text = group.get("transform", "") if group is not None else ""
    scale = re.search(r"scale\(\s*([^\s,)]+)", text)
    translate = re.search(r"translate\(\s*([^\s,)]+)[\s,]+([^\s,)]+)", text)
    s = float(scale.group(1)) if scale else 1.0
    tx, ty = (float(translate.group(1)), float(translate.group(2))) if translate else (0.0, 0.0)
    return s, tx, ty


def _prepare_svg(document: str, finished: dict[int, str]) -> GraphSvg:
    """Read the boxes off Graphviz's SVG and centre each grad line in its box (no measuring needed)."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    svg = ET.fromstring(document[document.find("<svg") :])  # without the prolog and DOCTYPE
    view = [float(n) for n in _NUMBER.findall(svg.get("viewBox", ""))]
    vx, vy, width, height = view if len(view) == 4 else (0.0, 0.0, 0.0, 0.0)
    s, tx, ty = _transform(svg.find(f"{{{_SVG_NS}}}g"))
    boxes: dict[int, list[float]] = {}
    grad_rows: list[tuple[ET.Element, str]] = []
    for group in svg.iter(f"{{{_SVG_NS}}}g"):
        match = re.fullmatch(r"n(\d+)", group.get("id", ""))
        if match is None or "node" not in group.get("class", "").split():
            continue
        k = int(match.group(1))
        shape = next((c for c in group if c.tag.split("}")[-1] in ("path", "polygon", "ellipse")), None)
        box = _box(shape) if shape is not None else None
        if box is None:
            continue
        x0, y0, x1, y1 = box
        boxes[k] = [round(s * (x0 + tx) - vx, 2), round(s * (y0 + ty) - vy, 2), s * (x1 - x0), s * (y1 - y0)]
        texts = group.findall(f"{{{_SVG_NS}}}text")
        if texts and (texts[-1].text or "").startswith("grad "):
            row = texts[-1]
            row.set("x", f"{(x0 + x1) / 2:g}")
            row.set("text-anchor", "middle")
            row.set("class", "grad-row")
            grad_rows.append((row, finished.get(k, row.text or "")))
    sizes = [float(t.get("font-size", "0")) for t in svg.iter(f"{{{_SVG_NS}}}text")]
    min_font = min((f for f in sizes if f > 0), default=14.0)
    for row, text in grad_rows:  # the standalone image shows the finished pass
        row.text = text
    image = ET.tostring(svg, encoding="unicode")
    for row, _ in grad_rows:  # the page starts before the pass
        row.text = BLANK_GRAD
    for attr in ("width", "height"):
        svg.attrib.pop(attr, None)
    inline = ET.tostring(svg, encoding="unicode")
    inline = re.sub(
        r"^<svg\b", '<svg id="graph-svg" role="img" aria-label="the computation graph"', inline, count=1
    )
    geometry: dict[str, object] = {
        "width": width,
        "height": height,
        "minFont": min_font,
        "boxes": [boxes.get(k) for k in range(len(finished))],
    }
    return GraphSvg(inline, image, geometry)
