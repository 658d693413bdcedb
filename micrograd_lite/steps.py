"""Backpropagation one node at a time: the records behind the step-through views.

:func:`backward_steps` drives the very generator that ``Value.backward()`` uses
(:func:`micrograd_lite.autodiff.backpropagate`), so the steps come in exactly the
order ``backward()`` takes and leave exactly the same gradients, bit for bit.
Each record only reads what that step did: the node's finished delta and, per
edge, the local derivative, the contribution ``delta * d(node)/d(parent)`` and
the parent's running total.

:class:`StepRecords` keeps every step of one pass with the graph it ran on
(:class:`~micrograd_lite.graph.Graph`: order, names, kinds, units) and reads off
what the written-out steps need: each edge's running total, the edges that built
each node's grad, and, for a unit's pre-activation ``a[l]_i``, the numbers of the
lecture's ``delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki`` (a
:class:`UnitDelta`). Nothing is recomputed: every number is the engine's.
How the steps are written out is :mod:`micrograd_lite.lecture_text`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from micrograd_lite.autodiff import backpropagate
from micrograd_lite.engine import Value
from micrograd_lite.graph import Graph
from micrograd_lite.naming import NO_GRAD_KINDS


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


def backward_steps(root: Value, seed: float = 1.0, order: list[Value] | None = None) -> Iterator[Step]:
    """The backward pass from ``root`` as a sequence of :class:`Step` records.

    Consuming every step is the same as ``root.backward(seed)``: same order, same
    gradients. Stopping early leaves the gradients of a partial pass. ``order`` is
    ``topological_order(root)`` if the caller has it already.
    """
    for index, node in enumerate(backpropagate(root, seed, order)):
        delta = node.grad
        edges = tuple(
            EdgeStep(parent, local, delta * local, parent.grad)
            for parent, local in zip(node.parents, node.local_grads)
        )
        yield Step(index, node, delta, edges)


# ------------------------------------------------------------- a whole pass


@dataclass(frozen=True)
class UnitTerm:
    """One term ``delta[l+1]_k W[l+1]_ki`` of a hidden unit's sum."""

    child: Value  # a[l+1]_k: a unit that z[l]_i feeds
    weight: Value  # W[l+1]_ki
    delta: float  # delta[l+1]_k, as its step recorded it
    local: float  # da[l+1]_k/dz[l]_i, the value of W[l+1]_ki
    contribution: float  # delta * local, what the edge added to dE/dz[l]_i


@dataclass(frozen=True)
class UnitDelta:
    """A unit's ``delta[l]_i`` in the lecture's form, read off the recorded steps.

    ``terms`` lists ``delta[l+1]_k W[l+1]_ki`` when ``z[l]_i`` feeds only units
    (a hidden unit: ``delta[l]_i = f'(a[l]_i) sum_k ...``); it is ``None`` when
    ``z`` feeds anything else, such as the error (the output unit:
    ``delta[L]_i = dE/dz[L]_i f'(a[L]_i)``).
    """

    a: Value
    z: Value
    activation: str
    f_prime: float  # dz/da, the edge z -> a
    dE_dz: float  # z's delta
    terms: tuple[UnitTerm, ...] | None


class StepRecords:
    """Every step of one backward pass over ``graph``, and what the views read off them.

    ``steps`` are :func:`backward_steps`'s records; ``graph`` the graph they ran on,
    whose ``order`` numbers the nodes as the drawings do (node ``k`` is drawn with the
    id ``n{k}``), whose ``names`` (``mul_1``, ``tanh_2`` for unlabelled nodes) are the
    names the drawings use and whose ``kinds`` say whose grad is shown; ``start``
    holds the leaves' grads before the pass (they accumulate).
    """

    def __init__(
        self, graph: Graph, steps: list[Step], seed: float, start: dict[Value, float] | None = None
    ) -> None:
        self.graph = graph
        self.root = graph.root
        self.seed = seed
        self.steps = steps
        self.start = start if start is not None else {}
        self._step_of = {step.node: step for step in steps}
        self._received: dict[Value, list[tuple[Step, int]]] = {}
        for step in steps:
            for slot, edge in enumerate(step.edges):
                self._received.setdefault(edge.parent, []).append((step, slot))
        self._totals = self._running_totals()

    @property
    def order(self) -> list[Value]:
        """The graph's topological order."""
        return self.graph.order

    @property
    def index(self) -> dict[Value, int]:
        """Each node's position in :attr:`order`."""
        return self.graph.index

    @property
    def names(self) -> dict[Value, str]:
        """Each node's name, as every view names it."""
        return self.graph.names

    @property
    def kinds(self) -> dict[Value, str]:
        """Each node's kind (const, target, input, leaf or value)."""
        return self.graph.kinds

    def _running_totals(self) -> list[list[float]]:
        """Each edge's running total right after that edge, step by step.

        A record's ``total`` is the parent's grad after the whole step; they differ
        only where one step reaches a parent along parallel edges (``x + x``). There
        the recorded contributions are added up again, in the engine's order and from
        the parent's previous total, which gives the engine's own intermediate sums.
        """
        running = dict(self.start)
        totals = []
        for step in self.steps:
            seen: set[Value] = set()
            repeated: set[Value] = set()
            for e in step.edges:  # one pass (not a count per parent): linear in the fan-in
                (repeated if e.parent in seen else seen).add(e.parent)
            row = []
            for e in step.edges:
                if e.parent in repeated:
                    running[e.parent] = running.get(e.parent, 0.0) + e.contribution
                    row.append(running[e.parent])
                else:
                    row.append(e.total)
            for e in step.edges:
                running[e.parent] = e.total
            totals.append(row)
        return totals

    def running_total(self, step: Step, slot: int) -> float:
        """``parent.grad`` right after the edge ``step.edges[slot]`` was pushed."""
        return self._totals[step.index][slot]

    def running_totals(self, step: Step) -> list[float]:
        """:meth:`running_total` of each edge of ``step``, in slot order."""
        return list(self._totals[step.index])

    def shows_grad(self, node: Value) -> bool:
        """Whether the written-out steps show ``node``'s grad (not for constants and targets)."""
        return self.kinds[node] not in NO_GRAD_KINDS

    def shown_slots(self, step: Step) -> list[int]:
        """The slots of ``step.edges`` the written-out step lists: edges into nodes whose grad is shown."""
        return [slot for slot, e in enumerate(step.edges) if self.shows_grad(e.parent)]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def received(self, node: Value) -> list[tuple[Step, int]]:
        """The edges that built ``node``'s grad, in order: ``(step, slot)``, the edge ``step.edges[slot]``."""
        return list(self._received.get(node, ()))

    def unit_delta(self, step: Step) -> UnitDelta | None:
        """The lecture's form of ``step``'s delta if its node is a unit's ``a[l]_i``, else None."""
        units = self.graph.units
        unit = units.get(step.node)
        if unit is None or unit.a is not step.node or unit.z is None:
            return None
        z = unit.z
        z_step = self._step_of.get(z)
        if z_step is None:  # pragma: no cover - z uses a, so it is processed first
            return None
        terms: list[UnitTerm] = []
        for child_step, slot in self.received(z):
            child = child_step.node
            child_unit = units.get(child)
            n = len(child.parents) // 2
            if child_unit is None or child_unit.a is not child or not n <= slot < 2 * n:
                terms = []  # z feeds something other than a unit: the output unit's form
                break
            edge = child_step.edges[slot]
            terms.append(
                UnitTerm(child, child.parents[slot - n], child_step.delta, edge.local, edge.contribution)
            )
        f_prime = z_step.edges[0].local
        return UnitDelta(step.node, z, z.op, f_prime, z_step.delta, tuple(terms) if terms else None)
