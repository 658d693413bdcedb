"""The graph walk shared by ``backward()``, the stepper and the drawings.

Two functions, both iterative (a chain a million nodes deep needs no recursion):

* :func:`topological_order` lists every node after all of its parents;
* :func:`backpropagate` walks that order backwards and pushes delta along each
  edge: ``parent.grad += node.grad * d(node)/d(parent)``.

Walking the order backwards means a node is processed only after every node
that uses it, so its gradient is final before it is passed on; each edge is used
exactly once, which is why backpropagation costs time linear in the number of
edges while the number of paths it sums over grows exponentially with depth.

This module sits under :mod:`micrograd_lite.engine`, which imports it for
``Value.backward()``: the walk needs of a node only what :class:`Node` lists
(its ``parents``, ``local_grads``, ``op`` and a ``grad`` to fill in), so it
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
    """What the walk reads of a node (``Value`` is one): its edges, and the ``grad`` it fills in."""

    grad: float

    @property
    def parents(self: _Self) -> tuple[_Self, ...]: ...

    @property
    def local_grads(self) -> tuple[float, ...]: ...

    @property
    def op(self) -> str: ...


N = TypeVar("N", bound=Node)
PushCheck = Callable[[Any], None]


def topological_order(root: N) -> list[N]:
    """Every node that ``root`` depends on (and ``root`` last), parents first.

    An iterative depth-first search: parents are visited in their stored order,
    so the order, and hence the order in which gradients are summed, is the
    same in every run and every process.
    """
    if not isinstance(getattr(root, "parents", None), tuple):
        raise TypeError(f"root must be a Value (the node to differentiate), got {type(root).__name__}")
    order: list[N] = []
    append = order.append
    visited = {root}
    mark = visited.add
    # Two parallel stacks: the nodes being visited and, for each, an iterator over its
    # parents. Not one stack of (node, iterator) pairs: a pair per node would be one more
    # object per node for the cycle collector to count and scan while a deep graph is walked.
    nodes = [root]
    parent_iterators = [iter(root.parents)]
    push_node = nodes.append
    push_parents = parent_iterators.append
    while parent_iterators:
        for parent in parent_iterators[-1]:
            if parent not in visited:
                mark(parent)
                grandparents = parent.parents
                if grandparents:
                    push_node(parent)
                    push_parents(iter(grandparents))
                    break
                append(parent)  # a leaf is finished at once
        else:
            parent_iterators.pop()
            append(nodes.pop())
    return order


def backpropagate(root: N, seed: float = 1.0, order: list[N] | None = None) -> Iterator[N]:
    """Run the backward pass from ``root``, yielding each node once it is pushed.

    Interior nodes and constants start from 0 (they hold this pass's delta);
    leaves the user made (inputs, parameters) keep what they had and accumulate.
    ``root`` gets ``seed``. Each yielded node has just added ``node.grad * local``
    into every parent's ``grad``; the consumer of this generator (``backward()``
    or the stepper) only watches, it never pushes. ``order`` is
    ``topological_order(root)`` if the caller has it already (the graph is then walked once).
    """
    checks = _push_checks.get()
    check = checks[-1] if checks else None  # detect_anomaly()'s check in this thread or task
    if order is None:
        order = topological_order(root)
    for node in order:
        if node.parents or node.op == "const":
            node.grad = 0.0
    root.grad += seed
    for node in reversed(order):
        parents = node.parents
        if parents:
            delta = node.grad
            if len(parents) == 2:
                # Most nodes are binary operations: the same two updates, in the same
                # order as the loop below, without building a zip and its pairs.
                a, b = parents
                local_a, local_b = node.local_grads
                a.grad += delta * local_a
                b.grad += delta * local_b
            else:
                for parent, local in zip(parents, node.local_grads):
                    parent.grad += delta * local
            if check is not None:
                check(node)
            yield node


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
