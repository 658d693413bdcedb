"""One graph's structure, walked once and handed to every view: :class:`Graph`.

The drawings, the paths, the stepper, the step page and the delta table all ask
the same questions of a graph: its topological order, each node's position in
it, its name and kind (:mod:`micrograd_lite.naming`), who uses each node (its
children), which nodes form a network's units, which nodes a given node reaches.
A :class:`Graph` answers each of them from one walk of the graph, computing each
answer the first time it is asked for; a view that is handed a ``Graph`` walks
nothing again.

A unit is found by structure, not by label: a ``linear`` node (parents
``W_1..W_n, z_1..z_n, b``, see :func:`micrograd_lite.engine.linear`) whose weights
and bias are leaves; its ``z`` is its only child if that is an elementwise
activation (:data:`ACTIVATION_OPS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import Value
from micrograd_lite.naming import node_kinds, node_names, resolve_node
from micrograd_lite.primitives import PRIMITIVES

#: Elementwise activations that merge with their pre-activation into one unit.
ACTIVATION_OPS = frozenset(p.name for p in PRIMITIVES.values() if p.activation)


@dataclass(slots=True, eq=False)
class Unit:
    """A network unit: its pre-activation ``a`` (``a[l]_i``), its output ``z`` (``z[l]_i = f(a)``,
    None if ``a`` feeds no single activation), its number of weights ``n`` and its ``layer``."""

    a: Value
    z: Value | None
    n: int
    layer: int = 0


class Graph:
    """The graph that ``root`` depends on, walked once.

    ``order`` is :func:`~micrograd_lite.autodiff.topological_order` (pass it if you
    have it); ``index[node]`` its position (the drawings draw node ``k`` with the id
    ``n{k}``); ``names`` and ``kinds`` as :mod:`micrograd_lite.naming` gives them;
    ``children[node]`` the nodes that use ``node``, once per edge, in order; ``units``
    every unit, keyed by its ``a`` and by its ``z``.
    """

    def __init__(self, root: Value, order: list[Value] | None = None) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"root must be a Value (the node the graph ends at), got {type(root).__name__}")
        self.root = root
        self.order = order if order is not None else topological_order(root)

    @cached_property
    def index(self) -> dict[Value, int]:
        return {node: k for k, node in enumerate(self.order)}

    @cached_property
    def names(self) -> dict[Value, str]:
        return node_names(self.order)

    @cached_property
    def kinds(self) -> dict[Value, str]:
        return node_kinds(self.order)

    @cached_property
    def children(self) -> dict[Value, list[Value]]:
        children: dict[Value, list[Value]] = {}
        for node in self.order:
            for parent in node.parents:
                children.setdefault(parent, []).append(node)
        return children

    @cached_property
    def units(self) -> dict[Value, Unit]:
        units: dict[Value, Unit] = {}
        children = self.children
        for node in self.order:
            parents = node.parents
            if node.op != "linear" or len(parents) % 2 != 1:
                continue
            n = len(parents) // 2
            if any(p.parents for p in parents[:n]) or parents[-1].parents:
                continue  # a weight or the bias is computed: not a unit of a network
            kids = children.get(node, [])
            only = kids[0] if len(kids) == 1 else None
            z = only if only is not None and only.op in ACTIVATION_OPS and len(only.parents) == 1 else None
            inputs = parents[n : 2 * n]
            layer = 1 + max((units[v].layer for v in inputs if v in units), default=0)
            unit = Unit(node, z, n, layer)
            units[node] = unit
            if z is not None:
                units[z] = unit
        return units

    def __contains__(self, node: object) -> bool:
        return node in self.index

    def __len__(self) -> int:
        return len(self.order)

    def node(self, node: object, argument: str) -> Value:
        """The node ``node`` stands for: a Value as it is, a str by label or generated name
        (see :func:`~micrograd_lite.naming.resolve_node`; errors name ``argument``)."""
        return resolve_node(self.order, node, argument, self.names)

    def reachable_from(self, start: Value) -> set[Value]:
        """Every node of the graph that ``start`` reaches (``start`` included): the nodes on a path
        from ``start`` to the root. Empty if ``start`` is not in the graph."""
        if start not in self:
            return set()
        reached = {start}
        for node in self.order[self.index[start] + 1 :]:  # parents come first: one pass forwards
            if node.parents:
                for parent in node.parents:
                    if parent in reached:
                        reached.add(node)
                        break
        return reached

    def __repr__(self) -> str:
        return f"<Graph: {len(self.order)} nodes, root {self.names[self.root]}>"


def graph_of(root: Value | Graph) -> Graph:
    """``root`` itself if it is a :class:`Graph`, else the graph of the Value ``root``."""
    return root if isinstance(root, Graph) else Graph(root)
