"""Backpropagation one node at a time: the records behind the step-through views.

:func:`backward_steps` drives the very generator that ``Value.backward()`` uses
(:func:`micrograd_lite.autodiff.backpropagate`), so the steps come in exactly the
order ``backward()`` takes and leave exactly the same gradients, bit for bit.
Each record only reads what that step did: the node's finished delta and, per
edge, the local derivative, the contribution ``delta * d(node)/d(parent)`` and
the parent's running total.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from micrograd_lite.autodiff import backpropagate
from micrograd_lite.engine import Value


@dataclass(frozen=True)
class EdgeStep:
    """What one edge ``node -> parent`` carried in a step."""

    parent: Value
    local: float  # d(node)/d(parent)
    contribution: float  # delta * local, the amount added to parent.grad
    total: float  # parent.grad after this step: its running total


@dataclass(frozen=True)
class Step:
    """Step ``index``: ``node``'s delta is final and has been pushed to its parents."""

    index: int
    node: Value
    delta: float
    edges: tuple[EdgeStep, ...]


def backward_steps(root: Value, seed: float = 1.0) -> Iterator[Step]:
    """The backward pass from ``root`` as a sequence of :class:`Step` records.

    Consuming every step is the same as ``root.backward(seed)``: same order, same
    gradients. Stopping early leaves the gradients of a partial pass.
    """
    for index, node in enumerate(backpropagate(root, seed)):
        delta = node.grad
        edges = tuple(
            EdgeStep(parent, local, delta * local, parent.grad)
            for parent, local in zip(node.parents, node.local_grads)
        )
        yield Step(index, node, delta, edges)
