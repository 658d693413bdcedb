"""No ``nan`` or ``inf`` on any view of a finite computation.

Random programs (the testing toolkit's strategies) whose values and input gradients
are finite: the drawing's DOT, the step page's data and the written-out steps show no
``nan`` or ``inf``. What could put one there is a number no one needs: the gradient
of a constant (``d(x**2)/d2 = x**2 ln x`` is nan for x < 0), or the local derivative
on its edge; no view shows those.
"""

from __future__ import annotations

import json
import math
import re

from hypothesis import assume, given

from micrograd_lite import Value, draw
from micrograd_lite.step_page import page_data
from micrograd_lite.stepper import record_steps
from micrograd_lite.testing.programs import Program
from micrograd_lite.testing.strategies import programs

NONFINITE = re.compile(r"\b(nan|inf)\b", re.IGNORECASE)


def finite_program(program: Program) -> tuple[Value, list[Value]]:
    inputs, values = program.values()
    root = values[-1]
    root.backward()
    assume(all(math.isfinite(v.data) for v in values))
    assume(all(math.isfinite(x.grad) for x in inputs))
    return root, inputs


@given(programs(max_operations=10))
def test_no_nan_or_inf_on_the_views_of_a_finite_program(program: Program) -> None:
    root, inputs = finite_program(program)
    for view in ("full", "units", "layers"):
        source = draw(root, view=view, highlight=inputs[0]).source  # type: ignore[arg-type]
        assert not NONFINITE.search(source), NONFINITE.search(source)
    recording = record_steps(root)
    text = "\n".join(recording.text(k) for k in range(len(recording)))
    assert not NONFINITE.search(text), text
    data = json.dumps(page_data(recording))
    assert not NONFINITE.search(data)


def test_a_constant_exponent_of_a_negative_base_shows_no_nan() -> None:
    """``x ** 2`` with x < 0: the constant's derivative ``x**2 ln x`` is nan, and nothing shows it."""
    x = Value(-1.5, label="x")
    E = x**2.0
    E.label = "E"
    E.backward()
    assert E.data == 2.25 and x.grad == -3.0
    source = draw(E).source
    assert not NONFINITE.search(source)  # before: the edge from the constant 2 read "nan"
    recording = record_steps(E)
    assert not NONFINITE.search(recording.text(-1))
    assert not NONFINITE.search(json.dumps(page_data(recording)))
