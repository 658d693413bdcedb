"""``check_local_derivative``: a student's local derivative against the engine's, input by input.

``check_local_derivative("tanh", lambda a: 1 - math.tanh(a) ** 2)`` evaluates the student's
function at a spread of inputs, ordinary ones first and then the awkward ones (0, tiny, large,
far into saturation, where a formula can overflow or lose every digit), and compares each with the
local derivative the engine stores on the edge of ``Value(a).tanh()``. The report names the first
input that disagrees.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from micrograd_lite.engine import Value
from micrograd_lite.exercises.display import NOT_DONE, TO_FIX, Table, TableReport, describe_exception, num

_ORDINARY = (0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.7, -3.7)
_SATURATING = (0.0, -0.0, 1e-8, -1e-8, 20.0, -20.0, 40.0, -40.0, 700.0, -700.0, 1000.0, -1000.0)

#: The inputs per operation: inside its domain and where the true derivative is a finite float.
INPUTS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "exp": (_ORDINARY, (0.0, -0.0, 1e-8, 20.0, -20.0, 300.0, -300.0, 700.0, -745.0)),
    "log": ((0.5, 1.0, 2.0, 3.7, 10.0), (1e-8, 1e-300, 1e8, 1e300)),
    "sigmoid": (_ORDINARY, _SATURATING),
    "tanh": (_ORDINARY, _SATURATING),
    "relu": (_ORDINARY, (0.0, -0.0, 1e-300, -1e-300, 1000.0, -1000.0)),
}
_KINK = {"relu": 0.0}  # at a kink any number between the one-sided derivatives is accepted
_HINTS = {
    "exp": "d exp(a)/da = exp(a)",
    "log": "d log(a)/da = 1/a",
    "sigmoid": "sigma'(a) = sigma(a)(1 - sigma(a)); compute sigma(a) so it cannot overflow: "
    "e^a / (1 + e^a) for a < 0",
    "tanh": "tanh'(a) = 1 - tanh(a)^2 (math.tanh never overflows; cosh does)",
    "relu": "relu'(a) = 1 for a > 0, 0 for a < 0",
}
REL_TOL = 1e-9
_ABS_TOL = 1e-12


@dataclass(frozen=True)
class DerivativeRow:
    """One input: the engine's derivative, the student's answer (or what their function did)."""

    a: float
    expected: float
    got: str
    verdict: str  # "right" or "wrong"


@dataclass(frozen=True, repr=False)  # shown as its table (TableReport)
class LocalDerivativeReport(TableReport):
    """What :func:`check_local_derivative` found; a table in Jupyter, text in ``str()``."""

    op: str
    rows: tuple[DerivativeRow, ...]
    not_done: str | None = None

    @property
    def first_disagreement(self) -> float | None:
        """The first input (ordinary ones first) where the student's function disagrees, or None."""
        return next((row.a for row in self.rows if row.verdict != "right"), None)

    @property
    def ok(self) -> bool:
        return self.not_done is None and self.first_disagreement is None

    @property
    def done(self) -> bool:
        return self.not_done is None

    @property
    def passed(self) -> bool:
        return self.ok

    @property
    def status(self) -> str:
        """``passed``, ``to fix`` (an input disagrees) or ``not done yet``."""
        return NOT_DONE if self.not_done is not None else TO_FIX if not self.ok else "passed"

    def _table(self) -> Table:
        name = f"d {self.op}(a)/da"
        if self.not_done is not None:
            return Table(f"{name}: {NOT_DONE}: {self.not_done}", (), ())
        first = self.first_disagreement
        if first is None:  # one line: the table only matters where something disagrees
            return Table(f"{name}: right at all {len(self.rows)} inputs", (), ())
        row = next(r for r in self.rows if r.verdict != "right")
        title = f"{name}: first disagreement at a = {first!r}: expected {num(row.expected)}, got {row.got}"
        hint = _HINTS[self.op]
        if first not in INPUTS[self.op][0]:
            hint = "right for ordinary inputs, not at this awkward one; " + hint
        notes = [f"hint: {hint}"]
        rows = [(repr(r.a), num(r.expected), r.got, r.verdict) for r in self.rows]
        header = ("a", "engine", "yours", "verdict")
        return Table(title, header, rows, notes, verdict_column=3, numeric_columns=(0, 1, 2))


def engine_derivative(op: str, a: float) -> float:
    """The local derivative the engine stores on the edge ``op(a) -> a``."""
    node: Value = getattr(Value(a), op)()
    return node.local_grads[0]


def check_local_derivative(op: str, fn: Callable[[float], float]) -> LocalDerivativeReport:
    """Compare ``fn(a)`` with the engine's ``d op(a)/da`` for ``op`` in exp, log, sigmoid, tanh, relu.

    A number within 1e-9 (relative; 1e-12 absolute) of the engine's is right; at relu's kink
    (a = 0) any number in [0, 1] is. If ``fn`` raises ``NotImplementedError`` the report says
    "not done yet"; any other exception is that input's result.
    """
    if not isinstance(op, str) or op not in INPUTS:
        raise ValueError(f"op must be one of {', '.join(INPUTS)}; got {op!r}")
    if not callable(fn):
        raise TypeError(
            f"fn must be a function of one number, e.g. lambda a: 1 - math.tanh(a) ** 2; got {fn!r:.60}"
        )
    rows = []
    ordinary, awkward = INPUTS[op]
    for a in (*ordinary, *awkward):
        expected = engine_derivative(op, a)
        try:
            value = fn(a)
        except NotImplementedError as error:
            return LocalDerivativeReport(op, (), str(error) or "raised NotImplementedError")
        except Exception as error:
            rows.append(DerivativeRow(a, expected, f"raised {describe_exception(error)}", "wrong"))
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            rows.append(
                DerivativeRow(a, expected, f"{type(value).__name__} {value!r:.30}, not a number", "wrong")
            )
            continue
        value = float(value)
        if op in _KINK and a == _KINK[op]:
            right = 0.0 <= value <= 1.0
        else:
            right = math.isclose(value, expected, rel_tol=REL_TOL, abs_tol=_ABS_TOL)
        rows.append(DerivativeRow(a, expected, num(value), "right" if right else "wrong"))
    return LocalDerivativeReport(op, tuple(rows))
