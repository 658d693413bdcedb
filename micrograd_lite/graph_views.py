"""What a drawing shows: the graph as boxes and arrows, in three views.

* ``full``: one box per Value (its label, operation, data and grad), one arrow
  per edge, labelled with the edge's local derivative d(child)/d(parent).
  Boxes whose labels name a layer (``x_j``, ``a[l]_i``, ``z[l]_i``, ``y``, and the
  parameters ``W[l]_ij``, ``b[l]_i`` beside the units they feed) get rank groups,
  so a network reads left to right layer by layer.
* ``units``: one box per unit (``a[l]_i`` and ``z[l]_i = f(a[l]_i)`` merged, with
  ``b[l]_i`` and ``delta[l]_i``) and one arrow per weight ``W[l]_ij``.
* ``layers``: one box per layer, one arrow per weight matrix, with summaries.

A unit is found by structure, not by label (see :mod:`micrograd_lite.graph`, which
finds them once per graph for every view). Anything else (the loss, a softmax, your own expressions) is drawn
as in the full view. Each box and arrow keeps the Values and edges it stands
for, so highlighting and colouring work the same in every view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from micrograd_lite.dot import number
from micrograd_lite.engine import PowerOutput, Value
from micrograd_lite.graph import Graph, Unit
from micrograd_lite.naming import NO_GRAD_KINDS, shorten
from micrograd_lite.primitives import OPERATIONS

#: A box, an arrow label or a caption shows at most this many characters of a name
#: (Graphviz refuses a text run of 16 KB, and a name that long is unreadable anyway) ...
MAX_SHOWN_NAME = 60
#: ... and a tooltip at most this many: the whole name, unless it is absurdly long.
MAX_TOOLTIP_NAME = 1000

#: The units view labels its weight arrows only up to this many weights (unless asked to).
WEIGHT_LABEL_LIMIT = 40

#: Elementwise activations that merge with their pre-activation into one unit.

Edge = tuple[Value, int]  # (child, slot): the edge child.parents[slot] -> child


@dataclass(slots=True, eq=False)
class Box:
    """A drawn node: a title (label), an operation, text rows, and the Values it stands for."""

    id: str
    title: str
    op: str
    rows: list[str]
    grad: float | None
    members: tuple[Value, ...]
    kind: str  # "value", "leaf", "input", "target", "const", "unit", "layer", "inputs"
    rank: str | None = None
    tooltip: str = ""  # the whole name, when the title had to be shortened


@dataclass(slots=True, eq=False)
class Arrow:
    """A drawn edge ``tail -> head``, its label lines, and the graph edges it stands for."""

    id: str
    tail: str
    head: str
    lines: list[str]
    members: tuple[Edge, ...]
    grad: float | None = None
    tooltip: str = ""
    width: float | None = None  # pen width; the units view draws a weight's size as the arrow's width


@dataclass
class View:
    boxes: list[Box]
    arrows: list[Arrow]
    names: dict[Value, str] = field(default_factory=dict)  # as shown: shortened if very long
    #: Place arrow labels after layout (Graphviz ``xlabel``): one ``label`` on any edge makes
    #: dot give every edge a midpoint node, which spreads a dense layer-to-layer fan far apart.
    xlabels: bool = False


@dataclass(frozen=True)
class Options:
    show_data: bool = True
    show_grad: bool = True
    show_derivatives: bool | None = None  # None: True, except for the weights of a big units view
    show_constants: bool = True
    precision: int = 4


def op_symbol(node: Value) -> str:
    """The operation as drawings and the step-through show it; a number exponent as ``**2``."""
    if node.op == "const":
        return "const"
    operation = OPERATIONS.get(node.op)
    if operation is None:
        return node.op
    if isinstance(node, PowerOutput):  # the number input is part of the operation: show it
        n = node.exponent
        return operation.symbol + (str(int(n)) if n.is_integer() and abs(n) < 1e16 else repr(n))
    return operation.symbol


@dataclass(frozen=True)
class Names:
    """A graph's names (:func:`~micrograd_lite.naming.node_names`) and kinds, as the views use them."""

    full: dict[Value, str]
    kinds: dict[Value, str]
    shown: dict[Value, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shown.update({node: shorten(name, MAX_SHOWN_NAME) for node, name in self.full.items()})

    def tooltip(self, node: Value) -> str:
        """The name for a tooltip: whole unless absurdly long."""
        return shorten(self.full[node], MAX_TOOLTIP_NAME)

    def has_grad(self, node: Value) -> bool:
        """Whether views show ``node``'s gradient (not for constants and targets)."""
        return self.kinds[node] not in NO_GRAD_KINDS


def _value_box(node: Value, box_id: str, names: Names, options: Options, rank: str | None) -> Box:
    """One Value as a box: label, operation, data and grad rows (no grad for a constant or target)."""
    title = names.shown[node]
    tooltip = names.tooltip(node) if title != names.full[node] else ""
    grad = node.grad if names.has_grad(node) else None
    rows = _value_rows(node, options, grad is not None)
    return Box(box_id, title, op_symbol(node), rows, grad, (node,), names.kinds[node], rank, tooltip)


def _value_rows(node: Value, options: Options, show_grad: bool) -> list[str]:
    rows = []
    if options.show_data and node.op != "const":
        rows.append(f"data {number(node.data, options.precision)}")
    if options.show_grad and show_grad:
        rows.append(f"grad {number(node.grad, options.precision)}")
    return rows


def _edge_arrow(
    node: Value, slot: int, k: int, tail: str, names: Names, precision: int, show_derivatives: bool
) -> Arrow:
    """The edge ``node.parents[slot] -> node``, labelled with its local derivative.

    An edge from a constant or a target carries no label: its derivative feeds a
    gradient that no view shows and no one uses.
    """
    parent, local = node.parents[slot], node.local_grads[slot]
    if not names.has_grad(parent):
        return Arrow(f"e{k}_{slot}", tail, f"n{k}", [], ((node, slot),), None, "")
    lines = [number(local, precision)] if show_derivatives else []
    tooltip = f"d{names.tooltip(node)}/d{names.tooltip(parent)} = {local!r}"
    return Arrow(f"e{k}_{slot}", tail, f"n{k}", lines, ((node, slot),), None, tooltip)


_LAYER_LABEL = re.compile(r"^(x|z|a|W|b)(?:\[(\d+)\])?_\d+(?:,\d+)*$")


def _rank_from_label(node: Value) -> str | None:
    """The column a lecture label puts a node in: ``z0`` (= x), ``a1``, ``z1``, ``a2``, ...

    A parameter of layer l sits in column ``z{l-1}``, just left of the unit it feeds;
    ``y``/``y_k`` in column ``z{L}``, L read off its parent ``a[L]_k``.
    """
    label = node.label
    if not label:
        return None
    match = _LAYER_LABEL.match(label)
    if match is None:
        if (label == "y" or label.startswith("y_")) and len(node.parents) >= 1:
            parent = _LAYER_LABEL.match(node.parents[0].label or "")
            if parent is not None and parent.group(1) == "a" and parent.group(2):
                return f"z{parent.group(2)}"
        return None
    kind, layer = match.group(1), match.group(2)
    if kind == "x":
        return "z0" if layer is None else None
    if layer is None:
        return None
    if kind in "Wb":
        return f"z{int(layer) - 1}"
    return f"{kind}{layer}"


def full_view(graph: Graph, options: Options, names: Names) -> View:
    """One box per Value, one arrow per edge (constants left out if hidden)."""
    order, root, index = graph.order, graph.root, graph.index
    boxes: list[Box] = []
    arrows: list[Arrow] = []
    hide_constants = not options.show_constants
    precision = options.precision
    show_derivatives = options.show_derivatives is not False
    for k, node in enumerate(order):
        if hide_constants and node.op == "const" and node is not root:
            continue
        boxes.append(_value_box(node, f"n{k}", names, options, _rank_from_label(node)))
        for slot, parent in enumerate(node.parents):
            if hide_constants and parent.op == "const":
                continue
            arrows.append(_edge_arrow(node, slot, k, f"n{index[parent]}", names, precision, show_derivatives))
    return View(boxes, arrows, names.shown)


def collapsed_view(graph: Graph, options: Options, level: str, names: Names) -> View:
    """The ``units`` view (``level="units"``) or the ``layers`` view (``level="layers"``)."""
    order, root, index, units = graph.order, graph.root, graph.index, graph.units
    precision = options.precision
    by_layers = level == "layers"
    show_derivatives = options.show_derivatives is not False
    weight_labels = options.show_derivatives
    if weight_labels is None:
        weight_labels = sum(u.n for key, u in units.items() if key is u.a) <= WEIGHT_LABEL_LIMIT
    largest_weight = max(
        (abs(w.data) for key, u in units.items() if key is u.a for w in key.parents[: u.n]), default=0.0
    )

    # Which edges the unit boxes absorb: into a unit, every edge (weights and inputs become weight
    # arrows, the bias is shown in the box); from a unit's a to its z (inside the box).
    input_leaves: set[Value] = set()
    needed: set[Value] = {root}
    for node in order:
        unit = units.get(node)
        if unit is not None:
            if node is unit.a:
                input_leaves.update(v for v in node.parents[unit.n : 2 * unit.n] if v not in units)
            continue
        for parent in node.parents:
            needed.add(parent)
    for v in input_leaves:
        needed.add(v)
    # In the layers view, leaves that only feed units are gathered into one "inputs" box.
    grouped_inputs: set[Value] = set()
    if by_layers:
        feeds_other = {p for node in order if node not in units for p in node.parents}
        grouped_inputs = {v for v in input_leaves if not v.parents and v not in feeds_other and v is not root}

    def owner(node: Value) -> str:
        unit = units.get(node)
        if unit is not None:
            return f"L{unit.layer}" if by_layers else f"u{index[unit.a]}"
        if node in grouped_inputs:
            return "L0"
        return f"n{index[node]}"

    boxes: list[Box] = []
    layer_members: dict[int, list[Unit]] = {}
    for k, node in enumerate(order):
        unit = units.get(node)
        if unit is not None:
            if node is unit.a:
                if by_layers:
                    layer_members.setdefault(unit.layer, []).append(unit)
                else:
                    boxes.append(_unit_box(unit, f"u{k}", names, options))
            continue
        if node in grouped_inputs or node not in needed:
            continue
        if node.op == "const" and not options.show_constants and node is not root:
            continue
        rank = "L0" if node in input_leaves and not node.parents else None
        boxes.append(_value_box(node, f"n{k}", names, options, rank))
    if by_layers:
        if grouped_inputs:
            inputs = tuple(v for v in order if v in grouped_inputs)
            rows = [f"{len(inputs)} inputs"]
            boxes.insert(0, Box("L0", "x", "inputs", rows, None, inputs, "inputs", None))
        for layer, members_of in sorted(layer_members.items()):
            boxes.append(_layer_box(layer, members_of, options))

    arrows: list[Arrow] = []
    merged: dict[tuple[str, str], list[Edge]] = {}
    for k, node in enumerate(order):
        unit = units.get(node)
        if unit is not None:
            if node is not unit.a:
                continue
            n = unit.n
            for j in range(n):
                w, v = node.parents[j], node.parents[n + j]
                if v.op == "const" and not options.show_constants:
                    continue
                members: tuple[Edge, ...] = ((node, j), (node, n + j))
                if by_layers:
                    _merge(merged, arrows, owner(v), owner(node), members)
                    continue
                wname = names.shown[w]
                lines: list[str] = []
                if weight_labels:
                    lines.append(wname)
                    if options.show_data:
                        lines.append(number(w.data, precision))
                    if options.show_grad:
                        lines.append(f"grad {number(w.grad, precision)}")
                tooltip = f"{names.tooltip(w)} = {w.data!r}, dE/d{names.tooltip(w)} = {w.grad!r}"
                width = 0.3 + 2.7 * abs(w.data) / largest_weight if largest_weight > 0 else 1.0
                arrows.append(
                    Arrow(f"w{k}_{j}", owner(v), owner(node), lines, members, w.grad, tooltip, width)
                )
            continue
        for slot, parent in enumerate(node.parents):
            if parent.op == "const" and not options.show_constants:
                continue
            if by_layers:
                _merge(merged, arrows, owner(parent), owner(node), ((node, slot),))
                continue
            arrows.append(_edge_arrow(node, slot, k, owner(parent), names, precision, show_derivatives))
    if by_layers:
        for arrow in arrows:
            arrow.members = tuple(merged[(arrow.tail, arrow.head)])
            _summarise_layer_arrow(arrow, options, names)
    return View(boxes, arrows, names.shown, xlabels=not by_layers and not weight_labels)


def _unit_box(unit: Unit, box_id: str, names: Names, options: Options) -> Box:
    a, z = unit.a, unit.z
    shown = names.shown
    bias = a.parents[-1]
    title = shown[z] if z is not None else shown[a]
    rows: list[str] = []
    precision = options.precision
    if options.show_data:
        rows.append(f"{shown[a]} = {number(a.data, precision)}")
        if z is not None:
            rows.append(f"{shown[z]} = {number(z.data, precision)}")
        rows.append(f"{shown[bias]} = {number(bias.data, precision)}")
    if options.show_grad:
        delta = "delta" + shown[a][1:] if shown[a].startswith("a[") else "delta"
        rows.append(f"{delta} = {number(a.grad, precision)}")
    members = (a, z, bias) if z is not None else (a, bias)
    return Box(
        box_id, title, z.op if z is not None else "linear", rows, a.grad, members, "unit", f"L{unit.layer}"
    )


def _layer_box(layer: int, units: list[Unit], options: Options) -> Box:
    deltas = [abs(u.a.grad) for u in units]
    ops = sorted({u.z.op if u.z is not None else "linear" for u in units})
    rows = [f"{len(units)} unit{'s' if len(units) != 1 else ''}"]
    precision = options.precision
    if options.show_data:
        zs = [abs(u.z.data if u.z is not None else u.a.data) for u in units]
        rows.append(f"mean |z| = {number(sum(zs) / len(zs), precision)}")
    mean_delta = sum(deltas) / len(deltas)
    if options.show_grad:
        rows.append(f"mean |delta| = {number(mean_delta, precision)}")
        rows.append(f"max |delta| = {number(max(deltas), precision)}")
    members: list[Value] = []
    for u in units:
        members.append(u.a)
        if u.z is not None:
            members.append(u.z)
        members.append(u.a.parents[-1])
    return Box(f"L{layer}", f"layer {layer}", ", ".join(ops), rows, mean_delta, tuple(members), "layer", None)


def _merge(
    merged: dict[tuple[str, str], list[Edge]],
    arrows: list[Arrow],
    tail: str,
    head: str,
    members: tuple[Edge, ...],
) -> None:
    """Add graph edges to the one arrow ``tail -> head`` of the layers view."""
    edges = merged.get((tail, head))
    if edges is None:
        edges = merged[(tail, head)] = []
        arrows.append(Arrow(f"{tail}_{head}", tail, head, [], (), None, ""))
    edges.extend(members)  # gathered in a list: a tuple grown edge by edge is quadratic


def _summarise_layer_arrow(arrow: Arrow, options: Options, names: Names) -> None:
    """Label a layers-view arrow: its weight matrix's size and gradients, or its edge count."""
    weights = [child.parents[slot] for child, slot in arrow.members if _is_weight_slot(child, slot)]
    precision = options.precision
    if weights:
        grads = [abs(w.grad) for w in weights]
        arrow.grad = sum(grads) / len(grads)
        heads = {child for child, _ in arrow.members}
        lines = [f"W[{arrow.head[1:]}]: {len(heads)} x {len(weights) // len(heads)}"]
        if options.show_data:
            lines.append(f"mean |W| = {number(sum(abs(w.data) for w in weights) / len(weights), precision)}")
        if options.show_grad:
            lines.append(f"mean |dE/dW| = {number(arrow.grad, precision)}")
            lines.append(f"max |dE/dW| = {number(max(grads), precision)}")
        arrow.lines = lines if options.show_derivatives is not False else []
        arrow.tooltip = f"{len(weights)} weights"
    elif len(arrow.members) == 1:
        child, slot = arrow.members[0]
        local = child.local_grads[slot]
        if not names.has_grad(child.parents[slot]):  # from a constant or target: no derivative shown
            arrow.lines, arrow.tooltip = [], ""
            return
        arrow.lines = [number(local, precision)] if options.show_derivatives is not False else []
        arrow.tooltip = f"local derivative {local!r}"
    else:
        arrow.lines = [f"{len(arrow.members)} edges"] if options.show_derivatives is not False else []
        arrow.tooltip = f"{len(arrow.members)} edges"


def _is_weight_slot(child: Value, slot: int) -> bool:
    """Whether ``child.parents[slot]`` is one of a linear node's weights (its first n parents)."""
    return child.op == "linear" and slot < len(child.parents) // 2
