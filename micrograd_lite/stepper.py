"""Backpropagation one node at a time: the records behind the step-through views.

:func:`backward_steps` drives the very generator that ``Value.backward()`` uses
(:func:`micrograd_lite.autodiff.backpropagate`), so the steps come in exactly the
order ``backward()`` takes and leave exactly the same gradients, bit for bit.
Each record only reads what that step did: the node's finished delta and, per
edge, the local derivative, the contribution ``delta * d(node)/d(parent)`` and
the parent's running total.

:func:`record_steps` keeps every step of one pass as a :class:`Recording` and
writes each step out the way the lecture does. A unit's pre-activation
``a[l]_i`` (a ``linear`` node feeding one activation ``z[l]_i``, recognised from
the graph's structure as the drawings do) gets the lecture's formula::

    delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki

with every number in it read off the records (``f'(a[l]_i)`` is the edge
``z -> a``, ``delta[l+1]_k`` an earlier step's delta, ``W[l+1]_ki`` the edge
``a[l+1]_k -> z[l]_i``), and every node gets its edges written out as
``parent.grad += delta * local = contribution -> total``. Nothing is recomputed:
the page and the text show the engine's own numbers. Edges into constants and
targets are left out of the written-out steps: the engine fills in their grads,
but nothing uses them (see :mod:`micrograd_lite.naming`).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterator
from dataclasses import dataclass

from micrograd_lite.autodiff import backpropagate, topological_order
from micrograd_lite.dot import number
from micrograd_lite.engine import Value
from micrograd_lite.graph_views import find_units, op_symbol
from micrograd_lite.naming import NO_GRAD_KINDS, node_kinds, node_names


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


# ------------------------------------------------------------- a whole pass, explained


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


_A_LABEL = re.compile(r"^a\[(\d+)\]_(\d+)$")
MAX_TERMS = 8  # longer sums are shortened in the written-out formulas


class Recording:
    """Every step of one backward pass from ``root``, and each written out.

    ``steps`` are :func:`backward_steps`'s records; ``order`` is
    ``topological_order(root)``, which numbers the nodes as the drawings do
    (node ``k`` is drawn with the id ``n{k}``); ``names`` are the graph's
    :func:`~micrograd_lite.naming.node_names` (``mul_1``, ``tanh_2`` for unlabelled
    nodes), the names the drawings use, and ``kinds`` its node kinds; ``start``
    holds the leaves' grads before the pass (they accumulate).
    """

    def __init__(
        self,
        root: Value,
        steps: list[Step],
        seed: float,
        order: list[Value] | None = None,
        start: dict[Value, float] | None = None,
    ) -> None:
        self.root = root
        self.seed = seed
        self.steps = steps
        self.order = order if order is not None else topological_order(root)
        self.start = start if start is not None else {}
        self.index = {node: k for k, node in enumerate(self.order)}
        self.names = node_names(self.order)
        self.kinds = node_kinds(self.order)
        self._step_of = {step.node: step for step in steps}
        self._received: dict[Value, list[tuple[Step, int]]] = {}
        for step in steps:
            for slot, edge in enumerate(step.edges):
                self._received.setdefault(edge.parent, []).append((step, slot))
        self._units = find_units(self.order)
        self._totals = self._running_totals()

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
        unit = self._units.get(step.node)
        if unit is None or unit.a is not step.node or unit.z is None:
            return None
        z = unit.z
        z_step = self._step_of.get(z)
        if z_step is None:  # pragma: no cover - z uses a, so it is processed first
            return None
        terms: list[UnitTerm] = []
        for child_step, slot in self.received(z):
            child = child_step.node
            child_unit = self._units.get(child)
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

    # ------------------------------------------------------------- writing it out
    def _d(self, node: Value) -> str:
        """``dE/dy`` for the node named ``y`` (``d(name)`` for names that are not labels)."""
        return f"d{_symbol(self.names[self.root])}/d{_symbol(self.names[node])}"

    def _delta_name(self, node: Value) -> str:
        match = _A_LABEL.match(node.label or "")
        return f"delta[{match.group(1)}]_{match.group(2)}" if match else self._d(node)

    def formula(self, step: Step, precision: int = 6) -> list[str]:
        """How ``step``'s delta came about, as lines: symbols, then numbers, then the result."""

        def num(x: float) -> str:
            return number(x, precision)

        node, name = step.node, self.names[step.node]
        unit = self.unit_delta(step)
        if unit is not None:
            delta, a, z = self._delta_name(node), name, self.names[unit.z]
            f = f"f'({a})"
            note = f"f = {unit.activation}, so {f} = d{_symbol(z)}/d{_symbol(a)} = {num(unit.f_prime)}"
            if unit.terms is None:  # the output unit: the lecture's step 2
                return [
                    f"{delta} = {self._d(unit.z)} {f}",
                    f"{' ' * len(delta)} = {_factor(num(unit.dE_dz))} * {_factor(num(unit.f_prime))}",
                    f"{' ' * len(delta)} = {num(step.delta)}",
                    note,
                ]
            pad = " " * len(delta)
            named = [f"{self._delta_name(t.child)} {self.names[t.weight]}" for t in unit.terms]
            valued = [f"{_factor(num(t.delta))} * {_factor(num(t.local))}" for t in unit.terms]
            return [
                f"{delta} = {f} {_lecture_sum(node, name, z)}",
                f"{pad} = {f} ({_join(named)})",
                f"{pad} = {_factor(num(unit.f_prime))} * ({_join(valued)})",
                f"{pad} = {_factor(num(unit.f_prime))} * {_factor(num(unit.dE_dz))}",
                f"{pad} = {num(step.delta)}",
                note,
            ]
        d = self._d(node)
        pad = " " * len(d)
        if node is self.root:
            return [f"{d} = {num(step.delta)} (the seed: the backward pass starts here)"]
        uses = self.received(node)
        named = [f"{self._d(s.node)} d{_symbol(self.names[s.node])}/d{_symbol(name)}" for s, _ in uses]
        valued = [f"{_factor(num(s.delta))} * {_factor(num(s.edges[slot].local))}" for s, slot in uses]
        lines = [f"{d} = sum over the nodes that use {name}: {_join(named)}"]
        if len(uses) > 1:
            lines.append(f"{pad} = {_join(valued)}")
        elif uses:
            lines[0] = f"{d} = {named[0]}"
            lines.append(f"{pad} = {valued[0]}")
        lines.append(f"{pad} = {num(step.delta)}")
        return lines

    def edge_parts(self, step: Step, precision: int = 6) -> list[tuple[str, str, str, str]]:
        """Per edge: ``("W.grad", "+= delta * local", "= contribution", "-> total")``."""
        delta = number(step.delta, precision)
        return [
            (
                f"{_symbol(self.names[e.parent])}.grad",
                f"+= {delta} * {_factor(number(e.local, precision))}",
                f"= {number(e.contribution, precision)}",
                f"-> {number(total, precision)}",
            )
            for e, total in zip(step.edges, self._totals[step.index])
        ]

    def edge_lines(self, step: Step, precision: int = 6) -> list[str]:
        """``parent.grad += delta * local = contribution -> total``, one line per shown edge.

        Edges into constants and targets are left out (see :meth:`shown_slots`).
        """
        parts = self.edge_parts(step, precision)
        return [" ".join(parts[slot]) for slot in self.shown_slots(step)]

    def text(self, index: int, precision: int = 6) -> str:
        """Step ``index`` written out: the node, how its delta came about, and its edges.

        ``index`` counts from 0, and from the end when negative, as a list's does:
        ``text(-1)`` is the last step ("step N of N").
        """
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"text: index must be an int (a step number from 0), got {type(index).__name__}")
        n = len(self.steps)
        if not -n <= index < n:
            valid = f"0..{n - 1}, or -{n}..-1 from the end" if n else "none: this pass has no steps"
            raise IndexError(f"text: step index {index} is out of range for {n} steps (valid: {valid})")
        index %= n
        step = self.steps[index]
        head = (
            f"step {index + 1} of {len(self.steps)}: {self.names[step.node]} ({op_symbol(step.node)}), "
            f"delta = {step.delta!r}"
        )
        push = "push delta along each edge: parent.grad += delta * local = contribution -> running total"
        body = [f"  {line}" for line in self.formula(step, precision)]
        edges = [f"    {line}" for line in self.edge_lines(step, precision)]
        return "\n".join([head, *body, f"  {push}", *edges])

    def __repr__(self) -> str:
        return f"<Recording: {len(self.steps)} steps of the backward pass from {self.names[self.root]}>"


def record_steps(root: Value, seed: float = 1.0) -> Recording:
    """Run the backward pass from ``root`` step by step and keep every step.

    This *is* a backward pass (``root.backward(seed)``, leaves accumulating as
    usual): afterwards the graph holds its gradients, and the recording holds the
    numbers the engine computed on the way.
    """
    if not isinstance(root, Value):
        raise TypeError(f"record_steps needs a Value, got {type(root).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise TypeError(
            f"seed must be a real number, d(root)/d(root) (1.0 for the error itself), "
            f"got {type(seed).__name__} {seed!r:.40}"
        )
    seed = float(seed)
    order = topological_order(root)
    start = {node: node.grad for node in order if not node.parents and node.op != "const"}
    return Recording(root, list(backward_steps(root, seed)), seed, order, start)


def _symbol(name: str) -> str:
    """A name as it reads after ``d`` or before ``.grad``: constants (``-0.5``) in parentheses."""
    return name if name[:1].isalpha() else f"({name})"


def _factor(text: str) -> str:
    """A number as a factor: negative ones in parentheses."""
    return f"({text})" if text.startswith("-") else text


def _join(terms: list[str]) -> str:
    if len(terms) > MAX_TERMS:
        terms = [*terms[: MAX_TERMS - 2], f"... ({len(terms) - MAX_TERMS + 1} more terms)", terms[-1]]
    return " + ".join(terms)


def _lecture_sum(a: Value, a_name: str, z_name: str) -> str:
    """``sum_k delta[l+1]_k W[l+1]_ki`` for ``a[l]_i``, or in words for other labels."""
    match = _A_LABEL.match(a.label or "")
    if match is None:
        return f"sum_k delta_k W_k (over the units k that {z_name} feeds)"
    l, i = int(match.group(1)), int(match.group(2))
    ki = f"k,{i}" if i >= 10 else f"k{i}"
    return f"sum_k delta[{l + 1}]_k W[{l + 1}]_{ki}"
