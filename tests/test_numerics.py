"""The numerics policy at its edges: IEEE 754 results as PyTorch gives them, never a Python exception.

Expected values are the policy table of ``micrograd_lite/numerics.py`` and the README (which follow
PyTorch: ``torch.exp(1000.)`` is ``inf``, ``torch.log(0.)`` is ``-inf``, ``1. / 0.`` is ``inf``,
``torch.pow(-8., 1/3)`` is ``nan``, ``torch.relu(nan)`` is ``nan``). Where a forward value can be
computed independently for *any* float, numpy's float64 arithmetic (plain IEEE 754) is the oracle.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np
import pytest
from conftest import require_module
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import Value, numerics, softmax, sum_values

inf, nan = math.inf, math.nan


def same(x: float, y: float) -> bool:
    """Equal as IEEE values, with nan equal to nan and the sign of an infinity or a zero counted."""
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


def run(build: Callable[[], tuple[Value, list[Value]]]) -> tuple[Value, list[Value]]:
    """Build and differentiate a graph; any Python exception fails the test right here."""
    out, leaves = build()
    out.backward()
    assert isinstance(out.data, float)
    assert all(isinstance(v.grad, float) for v in leaves)
    return out, leaves


# ----------------------------------------------------------------------------- the policy table


def unary(op: Callable[[Value], Value], x: float) -> tuple[Value, Value]:
    leaf = Value(x)
    out, _ = run(lambda: (op(leaf), [leaf]))
    return out, leaf


@pytest.mark.parametrize("x", [1000.0, -1000.0, 1e308, -1e308, inf, -inf])
def test_sigmoid_and_tanh_saturate_with_finite_local_grads(x: float) -> None:
    s, leaf = unary(Value.sigmoid, x)
    assert s.data == (1.0 if x > 0 else 0.0)
    assert s.local_grads[0] == 0.0 and leaf.grad == 0.0
    t, leaf = unary(Value.tanh, x)
    assert t.data == (1.0 if x > 0 else -1.0)
    assert t.local_grads[0] == 0.0 and leaf.grad == 0.0


def test_sigmoid_is_accurate_on_both_sides() -> None:
    """sigma(-a) = 1 - sigma(a); for a = -40 the naive 1 - sigma(40) would be exactly 0."""
    s, _ = unary(Value.sigmoid, -40.0)
    assert math.isclose(s.data, math.exp(-40.0) / (1.0 + math.exp(-40.0)), rel_tol=1e-15)
    assert s.data > 0.0


def test_exp_overflow_is_inf() -> None:
    out, leaf = unary(Value.exp, 1000.0)
    assert out.data == inf and leaf.grad == inf
    out, leaf = unary(Value.exp, -1000.0)
    assert out.data == 0.0 and leaf.grad == 0.0


def test_log_of_zero_and_of_negatives() -> None:
    out, leaf = unary(Value.log, 0.0)
    assert out.data == -inf
    assert leaf.grad == inf  # d log(a)/da = 1/a at a = +0
    out, leaf = unary(Value.log, -1.0)
    assert math.isnan(out.data)
    assert leaf.grad == -1.0  # 1/a is still defined; the value is not
    out, _ = unary(Value.log, inf)
    assert out.data == inf


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1.0, 0.0, inf), (-1.0, 0.0, -inf), (1.0, -0.0, -inf), (-1.0, -0.0, inf), (inf, 0.0, inf)],
)
def test_division_by_zero_is_signed_infinity(a: float, b: float, expected: float) -> None:
    A, B = Value(a), Value(b)
    out, _ = run(lambda: (A / B, [A, B]))
    assert same(out.data, expected)
    assert abs(A.grad) == inf  # d(a/b)/da = 1/b
    assert B.grad == -inf * math.copysign(1.0, a)  # d(a/b)/db = -a/b^2, b^2 = +0


@pytest.mark.parametrize(("a", "b"), [(0.0, 0.0), (-0.0, 0.0), (nan, 0.0), (inf, inf), (0.0, nan)])
def test_division_without_a_value_is_nan(a: float, b: float) -> None:
    A, B = Value(a), Value(b)
    out, _ = run(lambda: (A / B, [A, B]))
    assert math.isnan(out.data)


def test_number_divided_by_zero_value() -> None:
    v = Value(0.0)
    out, _ = run(lambda: (2 / v, [v]))
    assert out.data == inf
    assert v.grad == -inf  # d(2/v)/dv = -2/v^2


@pytest.mark.parametrize(
    ("a", "n", "expected"),
    [
        (10.0, 400.0, inf),
        (-10.0, 401.0, -inf),  # odd integer exponent keeps the sign
        (-10.0, 400.0, inf),
        (0.5, -2000.0, inf),
        (0.0, -1.0, inf),
        (0.0, -2.0, inf),
        (-0.0, -1.0, -inf),  # -0.0 to an odd negative integer
        (-0.0, -2.0, inf),
        (0.0, -0.5, inf),
        (-8.0, 1.0 / 3.0, nan),  # a negative base with a non-integer exponent
        (-1.0, 0.5, nan),
        (0.0, 0.0, 1.0),
        (nan, 0.0, 1.0),  # as IEEE pow and torch.pow
        (1.0, nan, 1.0),
        (2.0, nan, nan),
        (nan, 2.0, nan),
    ],
)
def test_power_domain(a: float, n: float, expected: float) -> None:
    for exponent_is_value in (False, True):
        A = Value(a)
        N = Value(n) if exponent_is_value else n
        leaves = [A, N] if isinstance(N, Value) else [A]
        out, _ = run(lambda A=A, N=N, leaves=leaves: (A**N, leaves))
        assert same(out.data, expected), (a, n, out.data)


def test_power_edge_derivatives_follow_pytorch() -> None:
    """d(a^n)/da = 0 for n = 0 and d(a^n)/dn = 0 where a = 0 and n >= 0 (not 0 * -inf = nan)."""
    A, N = Value(0.0), Value(0.0)
    run(lambda: (A**N, [A, N]))
    assert A.grad == 0.0 and N.grad == 0.0
    A, N = Value(0.0), Value(2.0)
    run(lambda: (A**N, [A, N]))
    assert A.grad == 0.0 and N.grad == 0.0  # 2 * 0^1 = 0; 0^2 * ln 0 is taken as 0
    A, N = Value(5.0), Value(0.0)
    run(lambda: (A**N, [A, N]))
    assert A.grad == 0.0
    assert math.isclose(N.grad, math.log(5.0), rel_tol=1e-15)  # 5^0 ln 5


def test_power_overflow_of_the_derivative_is_inf_not_an_exception() -> None:
    A, N = Value(10.0), Value(400.0)
    run(lambda: (A**N, [A, N]))
    assert A.grad == inf and N.grad == inf


@pytest.mark.parametrize(
    "op",
    [
        Value.relu,
        Value.exp,
        Value.log,
        Value.sigmoid,
        Value.tanh,
        Value.identity,
        Value.log1p,
        Value.expm1,
        Value.sqrt,
        abs,
        operator.neg,
        lambda v: v + 1.0,
        lambda v: 1.0 - v,
        lambda v: v * 2.0,
        lambda v: 2.0 / v,
        lambda v: v**2.0,
        lambda v: 2.0**v,
        lambda v: sum_values([v, 1.0]),
    ],
)
def test_nan_propagates(op: Callable[[Value], Value]) -> None:
    out, _ = unary(op, nan)
    assert math.isnan(out.data)


def test_relu_of_nan_is_nan_and_its_kink_has_derivative_zero() -> None:
    out, leaf = unary(Value.relu, nan)
    assert math.isnan(out.data)
    # As torch.relu: the gradient passes at nan (its rule is "0 where a <= 0").
    assert out.local_grads == (1.0,) and leaf.grad == 1.0
    out, leaf = unary(Value.relu, 0.0)
    assert out.data == 0.0 and leaf.grad == 0.0  # torch.relu'(0) = 0
    out, leaf = unary(Value.relu, -0.0)
    assert out.data == 0.0 and leaf.grad == 0.0


def test_sqrt_of_negatives_is_nan_and_its_derivative_at_zero_infinite() -> None:
    for x in (-1.0, -1e-300, -inf):
        out, leaf = unary(Value.sqrt, x)
        assert math.isnan(out.data) and math.isnan(leaf.grad)
    out, leaf = unary(Value.sqrt, 0.0)
    assert same(out.data, 0.0) and leaf.grad == inf
    out, leaf = unary(Value.sqrt, -0.0)  # IEEE 754: sqrt(-0) = -0, so 1/(2 sqrt) is -inf, as PyTorch
    assert same(out.data, -0.0) and leaf.grad == -inf
    out, leaf = unary(Value.sqrt, inf)
    assert out.data == inf and same(leaf.grad, 0.0)


def test_abs_has_derivative_zero_at_its_kink_as_pytorch() -> None:
    for x in (0.0, -0.0):
        out, leaf = unary(abs, x)
        assert same(out.data, 0.0) and same(leaf.grad, 0.0)  # |-0.0| is +0.0
    out, leaf = unary(abs, nan)
    assert math.isnan(out.data) and leaf.grad == 0.0  # torch.abs: sgn(nan) = 0
    out, leaf = unary(abs, -inf)
    assert out.data == inf and leaf.grad == -1.0


def test_log1p_at_and_below_minus_one() -> None:
    out, leaf = unary(Value.log1p, -1.0)
    assert out.data == -inf and leaf.grad == inf
    out, leaf = unary(Value.log1p, -2.0)
    assert math.isnan(out.data) and leaf.grad == -1.0  # 1/(1 + a), as d log(a)/da = 1/a below 0
    out, leaf = unary(Value.log1p, -inf)
    assert math.isnan(out.data) and same(out.local_grads[0], -0.0)
    out, leaf = unary(Value.log1p, inf)
    assert out.data == inf and same(leaf.grad, 0.0)


def test_expm1_overflow_is_inf() -> None:
    out, leaf = unary(Value.expm1, 1000.0)
    assert out.data == inf and leaf.grad == inf
    out, leaf = unary(Value.expm1, -inf)
    assert out.data == -1.0 and same(leaf.grad, 0.0)
    out, leaf = unary(Value.expm1, -1000.0)
    assert out.data == -1.0 and same(leaf.grad, 0.0)


# The new primitives at their edges, value and local derivative, as PyTorch computes them (not expm1's
# derivative at a well below 0, where PyTorch's out + 1 loses digits: see test_engine.py).
TORCH_EDGES = [
    ("abs", x) for x in (0.0, -0.0, nan, -2.0, inf, -inf, 1e-300)
] + [
    ("sqrt", x) for x in (0.0, -0.0, nan, -2.0, inf, -inf, 5e-324, 1e300)
] + [
    ("log1p", x) for x in (-1.0, -2.0, nan, inf, -inf, -0.0, 1e-300, 1e300)
] + [
    ("expm1", x) for x in (1000.0, 709.0, nan, -inf, inf, -0.0, 1e-300, -1000.0)
]  # fmt: skip


@pytest.mark.parametrize(("name", "x"), TORCH_EDGES)
def test_edges_follow_pytorch(name: str, x: float) -> None:
    torch = require_module("torch")
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = getattr(torch, name)(t)
    y.backward()
    ours, leaf = unary(abs if name == "abs" else getattr(Value, name), x)
    # The local derivative itself: the leaf's grad is 0.0 plus it, which loses the sign of a zero.
    theirs_value, theirs_grad = y.item(), t.grad.item()
    assert leaf.grad == ours.local_grads[0] or math.isnan(leaf.grad)
    if math.isfinite(theirs_value) and theirs_value != 0.0:  # libm and PyTorch may differ by an ulp
        assert math.isclose(ours.data, theirs_value, rel_tol=1e-15), (ours.data, theirs_value)
    else:
        assert same(ours.data, theirs_value), (ours.data, theirs_value)
    local = ours.local_grads[0]
    if math.isfinite(theirs_grad) and theirs_grad != 0.0:
        assert math.isclose(local, theirs_grad, rel_tol=1e-15), (local, theirs_grad)
    else:
        assert same(local, theirs_grad), (local, theirs_grad)


def test_nan_gradient_flows_back_without_an_exception() -> None:
    x = Value(-1.0)
    y = x.log() * 0.0 + x  # forward: nan * 0 + x is nan; backward: 0 * (1/x) + 1
    out, _ = run(lambda: (y, [x]))
    assert math.isnan(out.data)
    assert x.grad == 1.0
    x = Value(1000.0)
    out, _ = run(lambda: (x.exp() - x.exp(), [x]))  # inf - inf
    assert math.isnan(out.data)
    assert math.isnan(x.grad)  # inf - inf again in the backward pass


def test_softmax_with_infinite_or_nan_logits_raises_nothing() -> None:
    for logits in ([inf, 0.0], [nan, 0.0], [-inf, 0.0], [1e308, -1e308]):
        leaves = [Value(v) for v in logits]
        y = softmax(leaves)
        run(lambda y=y, leaves=leaves: (y[0], leaves))
    y = softmax([Value(-inf), Value(0.0)])
    assert y[0].data == 0.0 and y[1].data == 1.0


# ----------------------------------------------------------------------------- the numerics functions


def test_numerics_functions_directly() -> None:
    assert numerics.exp(1000.0) == inf
    assert numerics.log(0.0) == -inf and numerics.log(-0.0) == -inf
    assert numerics.log1p(-1.0) == -inf and math.isnan(numerics.log1p(-1.5))
    assert math.isnan(numerics.log1p(nan))
    assert numerics.expm1(1000.0) == inf and numerics.expm1(-inf) == -1.0 and math.isnan(numerics.expm1(nan))
    assert math.isnan(numerics.sqrt(-1.0)) and same(numerics.sqrt(-0.0), -0.0) and numerics.sqrt(inf) == inf
    assert math.isnan(numerics.log(-1.0)) and math.isnan(numerics.log(nan))
    assert same(numerics.div(1.0, -0.0), -inf) and math.isnan(numerics.div(0.0, 0.0))
    assert same(numerics.pow(-0.0, -3.0), -inf)
    assert numerics.sigmoid(-1000.0) == 0.0 and numerics.sigmoid(1000.0) == 1.0
    assert numerics.softplus(1000.0) == 1000.0 and numerics.softplus(-1000.0) == 0.0
    assert math.isnan(numerics.softplus(nan))
    assert math.isclose(numerics.softplus(0.0), math.log(2.0), rel_tol=1e-15)


# ----------------------------------------------------------------------------- any float at all

any_float = st.floats(allow_nan=True, allow_infinity=True)


def _np(f: Callable[..., np.float64], *args: float) -> float:
    with np.errstate(all="ignore"):
        return float(f(*(np.float64(a) for a in args)))


def _np_sigmoid(x: np.float64) -> np.float64:
    """1 / (1 + e^-x), written as e^x / (1 + e^x) for x < 0 so that tiny results are not lost."""
    return np.exp(x) / (1.0 + np.exp(x)) if x < 0 else 1.0 / (1.0 + np.exp(-x))


NP_UNARY: dict[str, tuple[Callable[[Value], Value], Callable[[float], float]]] = {
    "neg": (operator.neg, lambda a: _np(np.negative, a)),
    "exp": (Value.exp, lambda a: _np(np.exp, a)),
    "log": (Value.log, lambda a: _np(np.log, a)),
    "tanh": (Value.tanh, lambda a: _np(np.tanh, a)),
    "sigmoid": (Value.sigmoid, lambda a: _np(_np_sigmoid, a)),
    "relu": (Value.relu, lambda a: a if (a > 0 or math.isnan(a)) else 0.0),
    "identity": (Value.identity, lambda a: a),
    "abs": (abs, lambda a: _np(np.abs, a)),
    "sqrt": (Value.sqrt, lambda a: _np(np.sqrt, a)),
    "log1p": (Value.log1p, lambda a: _np(np.log1p, a)),
    "expm1": (Value.expm1, lambda a: _np(np.expm1, a)),
}
NP_BINARY: dict[str, tuple[Callable[[Value, Value], Value], Callable[[float, float], float]]] = {
    "+": (operator.add, lambda a, b: _np(np.add, a, b)),
    "-": (operator.sub, lambda a, b: _np(np.subtract, a, b)),
    "*": (operator.mul, lambda a, b: _np(np.multiply, a, b)),
    "/": (operator.truediv, lambda a, b: _np(np.divide, a, b)),
    "**": (operator.pow, lambda a, b: _np(np.power, a, b)),
}


#: Computed by a library function that numpy and libm may round differently.
LIBM = {"exp", "log", "tanh", "sigmoid", "log1p", "expm1"}


@pytest.mark.parametrize("name", NP_UNARY)
@given(a=any_float)
def test_unary_forward_is_ieee_and_backward_never_raises(name: str, a: float) -> None:
    op, oracle = NP_UNARY[name]
    out, _ = unary(op, a)
    expected = oracle(a)
    if name in LIBM and math.isfinite(expected) and expected != 0.0:
        # numpy's own exp/log/tanh may differ from libm's in the last bit: special values must
        # match exactly, finite ones to a few units in the last place.
        assert math.isclose(out.data, expected, rel_tol=1e-15), (a, out.data, expected)
    elif name == "relu":
        assert same(out.data, expected) or (out.data == 0.0 == expected)
    else:
        assert same(out.data, expected), (a, out.data, expected)


@pytest.mark.parametrize("name", NP_BINARY)
@given(a=any_float, b=any_float)
def test_binary_forward_is_ieee_and_backward_never_raises(name: str, a: float, b: float) -> None:
    op, oracle = NP_BINARY[name]
    A, B = Value(a), Value(b)
    out, _ = run(lambda: (op(A, B), [A, B]))
    expected = oracle(a, b)
    if name == "**" and math.isfinite(expected) and expected != 0.0:  # pow: a few ulps, as exp above
        assert math.isclose(out.data, expected, rel_tol=1e-15), (a, b, out.data, expected)
    else:
        assert same(out.data, expected), (a, b, out.data, expected)
