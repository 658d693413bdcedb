"""Backpropagation one node at a time: :func:`record_steps` and the :class:`Recording` it returns.

The public face of two modules: :mod:`micrograd_lite.steps` records what each
step of the engine's own backward pass did (:func:`backward_steps`, the
:class:`~micrograd_lite.steps.StepRecords` a recording is), and
:mod:`micrograd_lite.lecture_text` writes each step out the way the lecture does
(``delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki`` for a unit's
pre-activation, ``parent.grad += delta * local = contribution -> total`` per edge).
"""

from __future__ import annotations

import numbers

from micrograd_lite import lecture_text
from micrograd_lite.engine import Value
from micrograd_lite.graph import Graph, graph_of
from micrograd_lite.steps import EdgeStep, Step, StepRecords, UnitDelta, UnitTerm, backward_steps

__all__ = ["EdgeStep", "Recording", "Step", "UnitDelta", "UnitTerm", "backward_steps", "record_steps"]


class Recording(StepRecords):
    """Every step of one backward pass from ``root``, and each written out.

    The records are :class:`~micrograd_lite.steps.StepRecords`'s (``steps``, ``graph``,
    ``order``, ``names``, ``kinds``, ``start``, running totals, :meth:`unit_delta`);
    the text is :mod:`micrograd_lite.lecture_text`'s.
    """

    def formula(self, step: Step, precision: int = 6) -> list[str]:
        """How ``step``'s delta came about, as lines: symbols, then numbers, then the result."""
        return lecture_text.formula(self, step, precision)

    def edge_parts(self, step: Step, precision: int = 6) -> list[tuple[str, str, str, str]]:
        """Per edge: ``("W.grad", "+= delta * local", "= contribution", "-> total")``."""
        return lecture_text.edge_parts(self, step, precision)

    def edge_lines(self, step: Step, precision: int = 6) -> list[str]:
        """``parent.grad += delta * local = contribution -> total``, one line per shown edge
        (edges into constants and targets are left out)."""
        return lecture_text.edge_lines(self, step, precision)

    def text(self, index: int, precision: int = 6) -> str:
        """Step ``index`` written out: the node, how its delta came about, and its edges.

        ``index`` counts from 0, and from the end when negative, as a list's does:
        ``text(-1)`` is the last step ("step N of N").
        """
        return lecture_text.step_text(self, index, precision)

    def __repr__(self) -> str:
        return f"<Recording: {len(self.steps)} steps of the backward pass from {self.names[self.root]}>"


def record_steps(root: Value | Graph, seed: float = 1.0) -> Recording:
    """Run the backward pass from ``root`` step by step and keep every step.

    This *is* a backward pass (``root.backward(seed)``, leaves accumulating as
    usual): afterwards the graph holds its gradients, and the recording holds the
    numbers the engine computed on the way. ``root`` may be the
    :class:`~micrograd_lite.graph.Graph` of the root, if the caller has walked it already.
    """
    if not isinstance(root, (Value, Graph)):
        raise TypeError(f"record_steps needs a Value, got {type(root).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise TypeError(
            f"seed must be a real number, d(root)/d(root) (1.0 for the error itself), "
            f"got {type(seed).__name__} {seed!r:.40}"
        )
    seed = float(seed)
    graph = graph_of(root)
    start = {node: node.grad for node in graph.order if not node.parents and node.op != "const"}
    steps = list(backward_steps(graph.root, seed, graph.order))
    return Recording(graph, steps, seed, start)
