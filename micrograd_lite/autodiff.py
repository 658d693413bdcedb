"""The graph walk shared by ``backward()``, the stepper and the drawings.

Two steps, both iterative (a chain a million nodes deep needs no recursion):

* :func:`topological_order` lists every node after all of its parents;
* :func:`backpropagate` walks that order backwards and pushes delta along each
  edge: ``parent.grad += node.grad * d(node)/d(parent)``, yielding each node as it
  goes (the stepper shows them); :func:`backpropagate_all` is the same pass at once
  (``backward()``).

Walking the order backwards means a node is processed only after every node
that uses it, so its gradient is final before it is passed on; each edge is used
exactly once, which is why backpropagation costs time linear in the number of
edges while the number of paths it sums over grows exponentially with depth.

This module sits under :mod:`micrograd_lite.engine`, which imports it for
``Value.backward()``: the walk needs of a node only what :class:`Node` lists
(its parents and local derivatives, ``op`` and a ``grad`` to fill in), so it
never imports the engine back. The check that ``detect_anomaly()`` runs after
each push is installed here too (:func:`checking_pushes`), beside the loop that calls it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

_Self = TypeVar("_Self")


class Node(Protocol):
    """What the walk reads of a node (``Value`` is one): its edges, and the ``grad`` it fills in.

    A node of one or two inputs keeps them in fields: ``parent_a`` with its local derivative
    ``local_a``, then ``parent_b`` (None for one input) with ``local_b``. Any other node (a leaf,
    a node of many inputs) has ``parent_a`` None and ``_edges``: None for a leaf, else the tuples
    ``(parents, local_grads)`` (read only there: a node of one or two inputs need not set it).
    ``parents`` lists them all, in that order, as a tuple.
    """

    grad: float

    @property
    def parent_a(self: _Self) -> _Self | None: ...

    @property
    def parent_b(self: _Self) -> _Self | None: ...

    @property
    def local_a(self) -> float: ...

    @property
    def local_b(self) -> float: ...

    @property
    def _edges(self: _Self) -> tuple[tuple[_Self, ...], tuple[float, ...]] | None: ...

    @property
    def parents(self: _Self) -> tuple[_Self, ...]: ...

    @property
    def op(self) -> str: ...


N = TypeVar("N", bound=Node)
PushCheck = Callable[[Any], None]


def topological_order(root: N) -> list[N]:
    """Every node that ``root`` depends on (and ``root`` last), parents first.

    An iterative depth-first search: parents are visited in their stored order
    (``node.parents``: parent_a, then parent_b, or the tuple of many), so the order,
    and hence the order in which gradients are summed, is the same in every run and
    every process.
    """
    if not isinstance(getattr(root, "parents", None), tuple):
        raise TypeError(f"root must be a Value (the node to differentiate), got {type(root).__name__}")
    order: list[N] = []
    append = order.append
    visited = {root}
    mark = visited.add
    # The path from root to the node being visited, and, for each node of many inputs on
    # it, an iterator over the parents it has left. A node of one or two inputs needs none:
    # the walk is back at it from parent_a (so only parent_b may be left) or from parent_b.
    # A leaf parent is finished as soon as it is seen (appended, never put on the path):
    # most parents of a unit's linear node are its weights and bias.
    path = [root]
    push, pop = path.append, path.pop
    pending: dict[N, Iterator[N]] = {}
    node = root
    while True:
        # The walk has just reached `node`: go on to its first parent not yet visited.
        a = node.parent_a
        if a is not None:
            if a not in visited:
                mark(a)
                if a.parent_a is not None or a._edges is not None:
                    push(a)
                    node = a
                    continue
                append(a)
            b = node.parent_b
            if b is not None and b not in visited:
                mark(b)
                if b.parent_a is not None or b._edges is not None:
                    push(b)
                    node = b
                    continue
                append(b)
        elif node._edges is not None:
            parents = iter(node._edges[0])
            for b in parents:
                if b not in visited:
                    mark(b)
                    if b.parent_a is not None or b._edges is not None:
                        pending[node] = parents
                        push(b)
                        break
                    append(b)
            else:
                b = None
            if b is not None:
                node = b
                continue
        # `node` is finished. Go back along the path, finishing every node that has no
        # parent left to visit, up to one that has: `b`.
        while True:
            append(pop())
            if not path:
                return order
            node = path[-1]
            if node.parent_a is not None:
                b = node.parent_b
                if b is None or b in visited:
                    continue
                mark(b)
                if b.parent_a is not None or b._edges is not None:
                    break
                append(b)
            else:
                parents = pending[node]
                for b in parents:
                    if b not in visited:
                        mark(b)
                        if b.parent_a is not None or b._edges is not None:
                            break
                        append(b)
                else:
                    del pending[node]
                    continue
                break
        push(b)
        node = b


def backpropagate(root: N, seed: float = 1.0, order: list[N] | None = None) -> Iterator[N]:
    """Run the backward pass from ``root``, yielding each node once it is pushed.

    Interior nodes and constants start from 0 (they hold this pass's delta);
    leaves the user made (inputs, parameters) keep what they had and accumulate.
    ``root`` gets ``seed``. Each yielded node has just added ``node.grad * local``
    into every parent's ``grad``, in the order of ``node.parents``; the consumer of this
    generator (the stepper) only watches, it never pushes. ``order`` is
    ``topological_order(root)`` if the caller has it already (the graph is then walked once).
    """
    nodes, check = _start(root, seed, order)
    while (node := _push(nodes, check, one=True)) is not None:
        yield node


def backpropagate_all(root: N, seed: float = 1.0, order: list[N] | None = None) -> None:
    """The pass of :func:`backpropagate`, run to the end at once (``backward()``)."""
    nodes, check = _start(root, seed, order)
    _push(nodes, check, one=False)


def _start(root: N, seed: float, order: list[N] | None) -> tuple[Iterator[N], PushCheck | None]:
    """Set the gradients a pass starts from; return the nodes to push, children first,
    and ``detect_anomaly()``'s check in this thread or task (None outside it)."""
    checks = _push_checks.get()
    if order is None:
        order = topological_order(root)
    for node in order:
        if node.parent_a is not None or node._edges is not None or node.op == "const":
            node.grad = 0.0
    root.grad += seed
    return reversed(order), (checks[-1] if checks else None)


def _push(nodes: Iterator[N], check: PushCheck | None, one: bool) -> N | None:
    """Push each node's delta into its parents: ``parent.grad += node.grad * local``, in the
    order of ``node.parents``. With ``one``, stop after the first node with parents and
    return it; else go to the end (None)."""
    for node in nodes:
        a = node.parent_a
        if a is not None:  # one or two inputs: nearly every node
            delta = node.grad
            a.grad += delta * node.local_a
            b = node.parent_b
            if b is not None:
                b.grad += delta * node.local_b
        elif node._edges is not None:
            delta = node.grad
            parents, local_grads = node._edges
            for parent, local in zip(parents, local_grads):
                parent.grad += delta * local
        else:  # a leaf: nothing to push
            continue
        if check is not None:
            check(node)
        if one:
            return node
    return None


# ------------------------------------------------------------- detect_anomaly()'s check
# Every open checking_pushes() block's check in this thread or task, innermost last.
_push_checks: contextvars.ContextVar[tuple[PushCheck, ...]] = contextvars.ContextVar(
    "micrograd_lite_push_checks", default=()
)


def without_last(entries: tuple[Any, ...], entry: object) -> tuple[Any, ...]:
    """``entries`` less the last occurrence of ``entry`` (by identity); unchanged if absent.

    How a block that holds for a thread or task leaves: it removes its own entry, whatever
    else opened or closed meanwhile, so blocks that overlap without nesting (two generators
    closed out of order) leave things as they were before both.
    """
    for i in range(len(entries) - 1, -1, -1):
        if entries[i] is entry:
            return entries[:i] + entries[i + 1 :]
    return entries


@contextmanager
def checking_pushes(check: PushCheck) -> Iterator[None]:
    """Within this block, :func:`backpropagate` calls ``check(node)`` after each node's push.

    ``detect_anomaly()`` uses it to stop at the first non-finite gradient. It holds for the
    thread (and asyncio task) that opened it; of nested blocks, the innermost one's check runs.
    """
    _push_checks.set((*_push_checks.get(), check))
    try:
        yield
    finally:
        _push_checks.set(without_last(_push_checks.get(), check))
