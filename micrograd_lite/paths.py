r"""The lecture's argument for backpropagation: a derivative is a sum over paths.

Write ``E`` out as nested functions and apply the chain rule: $dE/dw$ is a sum
with one term per path from ``w`` to ``E`` in the graph, each term the product
of the local derivatives d(child)/d(parent) on the path's edges. This module
makes that literal:

* :func:`paths` lists every path with its factors and their product; after
  ``E.backward()`` the products sum to ``w.grad``;
* :func:`count_paths` counts them without listing them, by dynamic programming
  over the topological order (exact Python ints): an MLP of width w with L
  weight layers has w^(L-2) paths from a first-layer weight to ``y``, a chain
  of 100 diamonds 2^100;
* :func:`path_sum` adds up all the products without listing them, the same
  dynamic programme with products in place of counts. Walking the order
  forwards from ``w`` is forward-mode differentiation; ``backward()`` walks it
  backwards from ``E`` and gets every parameter's sum at once, each edge used
  once: why backpropagation costs time linear in the edges, not in the paths.

Every edge's factor is the ``local_grads`` entry stored by the forward pass,
and every walk uses the topological order of :class:`~micrograd_lite.graph.Graph`; no
derivative is recomputed here and nothing is recursive. Parallel edges (a node
used twice, as in ``a + a`` or ``a * a``) are separate paths, as in the chain rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from micrograd_lite.engine import Value
from micrograd_lite.errors import MicrogradLiteError
from micrograd_lite.graph import Graph, graph_of


class TooManyPathsError(MicrogradLiteError, ValueError):
    """More paths than the enumeration cap ``max_paths``."""


@dataclass(frozen=True, eq=False)
class Path:
    """One path ``nodes[0] -> nodes[1] -> ... -> nodes[-1]`` from ``wrt`` to ``root``.

    ``local_grads[k]`` is d nodes[k+1] / d nodes[k] for the edge that is entry
    ``slots[k]`` of ``nodes[k+1].parents`` (parallel edges differ in their slot).
    ``product`` multiplies the factors from the root end, the order in which
    ``backward()`` multiplies them.
    """

    nodes: tuple[Value, ...]
    slots: tuple[int, ...]
    local_grads: tuple[float, ...]
    product: float

    def __len__(self) -> int:
        """The number of edges."""
        return len(self.slots)

    def text(self, names: dict[Value, str] | None = None, precision: int = 4, max_edges: int = 0) -> str:
        """``W[1]_12 -> a[1]_1 -> ... -> E: 2 * 0.25 * ... = 0.0123``.

        Nodes are named by ``names``, the graph's :func:`~micrograd_lite.naming.node_names`
        (computed from the path's root if not given: a label, else the operation and
        a counter, ``mul_1``; a constant by its value). With ``max_edges``, a longer
        path shows only its first and last edges, around ``...``.
        """
        chain, factors = self.parts(names, precision, max_edges)
        return f"{chain}: {factors}"

    def parts(
        self, names: dict[Value, str] | None = None, precision: int = 4, max_edges: int = 0
    ) -> tuple[str, str]:
        """The two halves of :meth:`text`: ``"W -> a -> E"`` and ``"2 * 0.25 = 0.5"``."""
        if names is None:
            names = Graph(self.nodes[-1]).names
        nodes = [names[v] for v in self.nodes]
        factors = [f"{g:.{precision}g}" for g in self.local_grads]
        if 0 < max_edges < len(factors):
            head, tail = (max_edges + 1) // 2, max_edges // 2
            nodes = [*nodes[: head + 1], f"... ({len(factors)} edges) ...", *nodes[len(nodes) - tail :]]
            factors = [*factors[:head], "...", *factors[len(factors) - tail :]]
        return " -> ".join(nodes), f"{' * '.join(factors) or '1'} = {self.product:.{precision}g}"

    def __str__(self) -> str:
        return self.text()


def _start(root: Value | Graph, wrt: Value | str) -> tuple[Graph, Value]:
    """``root``'s graph (walked now unless ``root`` is one already), and ``wrt`` as a node of it."""
    if not isinstance(root, (Value, Graph)):
        raise TypeError(f"root must be a Value (the node the paths end at), got {type(root).__name__}")
    graph = graph_of(root)
    return graph, graph.node(wrt, "wrt")


def nodes_on_paths(root: Value | Graph, wrt: Value | str) -> set[Value]:
    """Every node on some path from ``wrt`` to ``root`` (empty if there is no path).

    The edges on paths are exactly the edges ``parent -> child`` of the graph
    whose parent is in this set. ``root`` may be the :class:`~micrograd_lite.graph.Graph`
    of the root if you have it already (it saves a walk); so for the other functions
    here. ``wrt`` may be a node or its name (a label, e.g. ``"W[1]_12"``, or a generated
    name such as ``"tanh_1"``); a name that matches no node, or several, is a ValueError.
    """
    graph, wrt = _start(root, wrt)
    return graph.reachable_from(wrt)


def count_paths(root: Value | Graph, wrt: Value | str) -> int:
    """The number of paths from ``wrt`` to ``root``, without enumerating them.

    One pass over the topological order: a node's count is the sum of its
    parents' counts, one term per edge (so ``a + a`` gives ``a`` two paths to
    its child). Exact, however large; ``count_paths(root, root) == 1`` (the
    empty path) and a node ``root`` does not depend on has 0.
    """
    graph, wrt = _start(root, wrt)
    counts: dict[Value, int] = {wrt: 1}
    get = counts.get
    for node in graph.order:
        if node.parents and node is not wrt:
            total = 0
            for parent in node.parents:
                total += get(parent, 0)
            if total:
                counts[node] = total
    return counts.get(graph.root, 0)


def path_sum(root: Value | Graph, wrt: Value | str) -> float:
    """Sum over all paths of the product of their local derivatives, without listing them.

    The same pass as :func:`count_paths` with products in place of counts:
    forward-mode accumulation of d(root)/d(wrt). Equals ``wrt.grad`` after
    ``root.backward()`` from zeroed gradients (up to rounding).
    """
    graph, wrt = _start(root, wrt)
    sums: dict[Value, float] = {wrt: 1.0}
    for node in graph.order:
        if node.parents and node is not wrt:
            total = 0.0
            reached = False
            for parent, local in zip(node.parents, node.local_grads):
                s = sums.get(parent)
                if s is not None:
                    total += s * local
                    reached = True
            if reached:
                sums[node] = total
    return sums.get(graph.root, 0.0)


def paths(root: Value | Graph, wrt: Value | str, max_paths: int = 100_000) -> list[Path]:
    """Every path from ``wrt`` to ``root`` with its local derivatives and their product.

    ``sum(p.product for p in paths(E, w))`` equals ``w.grad`` after
    ``E.backward()``. The count is checked first with :func:`count_paths`: past
    ``max_paths`` a :class:`TooManyPathsError` is raised before any work.
    """
    if isinstance(max_paths, bool) or not isinstance(max_paths, int):
        raise TypeError(f"max_paths must be an int, got {type(max_paths).__name__}")
    graph, wrt = _start(root, wrt)
    n = count_paths(graph, wrt)
    if n > max_paths:
        names = graph.names
        raise TooManyPathsError(
            f"{names.get(wrt, 'this node')} has {n:,} paths to {names[graph.root]}, more than "
            f"max_paths={max_paths:,}; count them with count_paths(root, wrt), sum them with "
            "path_sum(root, wrt), or pass a larger max_paths"
        )
    return list(iter_paths(graph, wrt))


def iter_paths(root: Value | Graph, wrt: Value | str) -> Iterator[Path]:
    """The paths of :func:`paths`, one at a time and without a cap (take as many as you need).

    A fixed order: walking back from ``root``, parents in their stored order.
    Iterative (an explicit stack), so a path a million edges long needs no recursion.
    A name that matches no node is an error at the call, not at the first path.
    """
    graph, node = _start(root, wrt)
    return _walk(graph, node)


def _walk(graph: Graph, wrt: Value) -> Iterator[Path]:
    """The generator behind :func:`iter_paths`."""
    root = graph.root
    if wrt is root:
        yield Path((root,), (), (), 1.0)
        return
    on_path = graph.reachable_from(wrt)
    if not on_path:
        return
    # The walk from root back towards wrt: (node, next parent slot, product so far), and the
    # slot of each step taken.
    stack: list[tuple[Value, int, float]] = [(root, 0, 1.0)]
    slots: list[int] = []
    while stack:
        node, slot, product = stack[-1]
        parents = node.parents
        while slot < len(parents) and parents[slot] not in on_path:
            slot += 1
        if slot == len(parents):
            stack.pop()
            if slots:
                slots.pop()
            continue
        stack[-1] = (node, slot + 1, product)
        parent = parents[slot]
        step = product * node.local_grads[slot]
        if parent is wrt:
            walk = (parent, *(entry[0] for entry in reversed(stack)))
            edge_slots = (slot, *reversed(slots))
            grads = tuple(child.local_grads[s] for child, s in zip(walk[1:], edge_slots))
            yield Path(walk, edge_slots, grads, step)
        else:
            slots.append(slot)
            stack.append((parent, 0, step))
