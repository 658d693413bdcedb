"""The recorded steps written out the way the lecture writes them.

A unit's pre-activation ``a[l]_i`` (a ``linear`` node feeding one activation
``z[l]_i``, found from the graph's structure as the drawings find it) gets the
lecture's formula::

    delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki

with every number in it read off the records (``f'(a[l]_i)`` is the edge
``z -> a``, ``delta[l+1]_k`` an earlier step's delta, ``W[l+1]_ki`` the edge
``a[l+1]_k -> z[l]_i``), and every node gets its edges written out as
``parent.grad += delta * local = contribution -> total``. Nothing is recomputed:
the page and the text show the engine's own numbers
(:class:`~micrograd_lite.steps.StepRecords`). Edges into constants and targets
are left out of the written-out steps: the engine fills in their grads, but
nothing uses them (see :mod:`micrograd_lite.naming`).
"""

from __future__ import annotations

import re

from micrograd_lite.dot import number
from micrograd_lite.engine import Value
from micrograd_lite.graph_views import op_symbol
from micrograd_lite.steps import Step, StepRecords

_A_LABEL = re.compile(r"^a\[(\d+)\]_(\d+)$")
MAX_TERMS = 8  # longer sums are shortened in the written-out formulas


def _d(records: StepRecords, node: Value) -> str:
    """``dE/dy`` for the node named ``y`` (``d(name)`` for names that are not labels)."""
    return f"d{_symbol(records.names[records.root])}/d{_symbol(records.names[node])}"


def _delta_name(records: StepRecords, node: Value) -> str:
    match = _A_LABEL.match(node.label or "")
    return f"delta[{match.group(1)}]_{match.group(2)}" if match else _d(records, node)


def formula(records: StepRecords, step: Step, precision: int = 6) -> list[str]:
    """How ``step``'s delta came about, as lines: symbols, then numbers, then the result."""

    def num(x: float) -> str:
        return number(x, precision)

    node, name = step.node, records.names[step.node]
    unit = records.unit_delta(step)
    if unit is not None:
        delta, a, z = _delta_name(records, node), name, records.names[unit.z]
        f = f"f'({a})"
        note = f"f = {unit.activation}, so {f} = d{_symbol(z)}/d{_symbol(a)} = {num(unit.f_prime)}"
        if unit.terms is None:  # the output unit: the lecture's step 2
            return [
                f"{delta} = {_d(records, unit.z)} {f}",
                f"{' ' * len(delta)} = {_factor(num(unit.dE_dz))} * {_factor(num(unit.f_prime))}",
                f"{' ' * len(delta)} = {num(step.delta)}",
                note,
            ]
        pad = " " * len(delta)
        named = [f"{_delta_name(records, t.child)} {records.names[t.weight]}" for t in unit.terms]
        valued = [f"{_factor(num(t.delta))} * {_factor(num(t.local))}" for t in unit.terms]
        return [
            f"{delta} = {f} {_lecture_sum(node, name, z)}",
            f"{pad} = {f} ({_join(named)})",
            f"{pad} = {_factor(num(unit.f_prime))} * ({_join(valued)})",
            f"{pad} = {_factor(num(unit.f_prime))} * {_factor(num(unit.dE_dz))}",
            f"{pad} = {num(step.delta)}",
            note,
        ]
    d = _d(records, node)
    pad = " " * len(d)
    if node is records.root:
        return [f"{d} = {num(step.delta)} (the seed: the backward pass starts here)"]
    uses = records.received(node)
    named = [f"{_d(records, s.node)} d{_symbol(records.names[s.node])}/d{_symbol(name)}" for s, _ in uses]
    valued = [f"{_factor(num(s.delta))} * {_factor(num(s.edges[slot].local))}" for s, slot in uses]
    lines = [f"{d} = sum over the nodes that use {name}: {_join(named)}"]
    if len(uses) > 1:
        lines.append(f"{pad} = {_join(valued)}")
    elif uses:
        lines[0] = f"{d} = {named[0]}"
        lines.append(f"{pad} = {valued[0]}")
    lines.append(f"{pad} = {num(step.delta)}")
    return lines


def edge_parts(records: StepRecords, step: Step, precision: int = 6) -> list[tuple[str, str, str, str]]:
    """Per edge: ``("W.grad", "+= delta * local", "= contribution", "-> total")``."""
    delta = number(step.delta, precision)
    return [
        (
            f"{_symbol(records.names[e.parent])}.grad",
            f"+= {delta} * {_factor(number(e.local, precision))}",
            f"= {number(e.contribution, precision)}",
            f"-> {number(total, precision)}",
        )
        for e, total in zip(step.edges, records.running_totals(step))
    ]


def edge_lines(records: StepRecords, step: Step, precision: int = 6) -> list[str]:
    """``parent.grad += delta * local = contribution -> total``, one line per shown edge.

    Edges into constants and targets are left out (see :meth:`StepRecords.shown_slots`).
    """
    parts = edge_parts(records, step, precision)
    return [" ".join(parts[slot]) for slot in records.shown_slots(step)]


def step_text(records: StepRecords, index: int, precision: int = 6) -> str:
    """Step ``index`` written out: the node, how its delta came about, and its edges.

    ``index`` counts from 0, and from the end when negative, as a list's does:
    ``text(-1)`` is the last step ("step N of N").
    """
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"text: index must be an int (a step number from 0), got {type(index).__name__}")
    n = len(records.steps)
    if not -n <= index < n:
        valid = f"0..{n - 1}, or -{n}..-1 from the end" if n else "none: this pass has no steps"
        raise IndexError(f"text: step index {index} is out of range for {n} steps (valid: {valid})")
    index %= n
    step = records.steps[index]
    head = (
        f"step {index + 1} of {len(records.steps)}: {records.names[step.node]} ({op_symbol(step.node)}), "
        f"delta = {step.delta!r}"
    )
    push = "push delta along each edge: parent.grad += delta * local = contribution -> running total"
    body = [f"  {line}" for line in formula(records, step, precision)]
    edges = [f"    {line}" for line in edge_lines(records, step, precision)]
    return "\n".join([head, *body, f"  {push}", *edges])


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
