"""The graph walk shared by ``backward()``, the stepper and the drawings.

Two functions, both iterative (a chain a million nodes deep needs no recursion):

* :func:`topological_order` lists every node after all of its parents;
* :func:`backpropagate` walks that order backwards and pushes delta along each
  edge: ``parent.grad += node.grad * d(node)/d(parent)``.

Walking the order backwards means a node is processed only after every node
that uses it, so its gradient is final before it is passed on; each edge is used
exactly once, which is why backpropagation costs time linear in the number of
edges while the number of paths it sums over grows exponentially with depth.
"""

from __future__ import annotations

from collections.abc import Iterator

from micrograd_lite import engine
from micrograd_lite.engine import Value


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on (and ``root`` last), parents first.

    An iterative depth-first search: parents are visited in their stored order,
    so the order, and hence the order in which gradients are summed, is the
    same in every run and every process.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value (the node to differentiate), got {type(root).__name__}")
    order: list[Value] = []
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


def backpropagate(root: Value, seed: float = 1.0) -> Iterator[Value]:
    """Run the backward pass from ``root``, yielding each node once it is pushed.

    Interior nodes and constants start from 0 (they hold this pass's delta);
    leaves the user made (inputs, parameters) keep what they had and accumulate.
    ``root`` gets ``seed``. Each yielded node has just added ``node.grad * local``
    into every parent's ``grad``; the consumer of this generator (``backward()``
    or the stepper) only watches, it never pushes.
    """
    check = engine._on_pushed_hook()  # detect_anomaly()'s check in this thread or task, or None
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
