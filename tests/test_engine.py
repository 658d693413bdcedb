"""Every operation of the engine: its value and its gradient, against independent references.

Each operation is written once as a reference function ``ref(m, *args)`` that runs on plain floats
(``m = math``) and on mpmath numbers (``m = mpmath``). The engine's gradient is then compared with

* central differences of the plain-float reference (coarse, but free of any shared code), and
* ``mpmath.diff`` of the mpmath reference at 50 significant digits (tight: 1e-12 relative).

Inputs are drawn from safe domains rather than loosening tolerances: ``log`` and the base of ``**``
positive, divisors and ``relu`` inputs away from 0, ``sigmoid``/``tanh`` where ``1 - y`` does not lose
digits. The domain edges themselves are tested in ``test_numerics.py``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import Value, linear, softmax, sum_values

# ----------------------------------------------------------------------------- references


def mp_partial(f: Callable[..., Any], args: Sequence[float], k: int) -> float:
    """d f / d args[k] at ``args``, by mpmath's numerical differentiation at 50 digits."""
    with mpmath.workdps(50):
        x = [mpmath.mpf(a) for a in args]

        def along_k(t: Any) -> Any:
            return f(*x[:k], t, *x[k + 1 :])

        return float(mpmath.diff(along_k, x[k]))


def mp_value(f: Callable[..., Any], args: Sequence[float]) -> float:
    with mpmath.workdps(50):
        return float(f(*(mpmath.mpf(a) for a in args)))


def central_difference(f: Callable[..., float], args: Sequence[float], k: int) -> float:
    """(f(x + h) - f(x - h)) / 2h along args[k], plain floats only."""
    h = 1e-6 * max(1.0, abs(args[k]))
    up = [*args[:k], args[k] + h, *args[k + 1 :]]
    down = [*args[:k], args[k] - h, *args[k + 1 :]]
    return (f(*up) - f(*down)) / (up[k] - down[k])


def assert_grad(
    actual: float,
    args: Sequence[float],
    positions: Sequence[int],
    mp_f: Callable[..., Any],
    fl_f: Callable[..., float],
) -> None:
    """The engine's grad of a node against mpmath (tight) and central differences (coarse).

    ``positions`` lists every argument of ``f`` that is this one node: a node used twice
    (a shared constant leaf, ``x * x``) gets the sum of its partial derivatives.
    """
    exact = math.fsum(mp_partial(mp_f, args, k) for k in positions)
    assert math.isclose(actual, exact, rel_tol=1e-12, abs_tol=1e-15), (actual, exact, args, positions)
    approx = math.fsum(central_difference(fl_f, args, k) for k in positions)
    assert math.isclose(actual, approx, rel_tol=1e-6, abs_tol=1e-7), (actual, approx, args, positions)


def uses(parents: Sequence[Value], node: Value) -> list[int]:
    """The positions at which ``node`` appears among ``parents``."""
    return [k for k, p in enumerate(parents) if p is node]


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """|x| in [lo, hi], either sign."""
    return st.builds(operator.mul, finite(lo, hi), st.sampled_from([-1.0, 1.0]))


def sigmoid_ref(m: Any, a: Any) -> Any:
    return 1 / (1 + m.exp(-a))


def relu_ref(m: Any, a: Any) -> Any:
    return a if a > 0 else 0 * a


# ----------------------------------------------------------------------------- unary operations

# name: (engine operation, reference on backend m, input domain)
UNARY: dict[str, tuple[Callable[[Value], Value], Callable[[Any, Any], Any], st.SearchStrategy[float]]] = {
    "neg": (operator.neg, lambda m, a: -a, finite(-100, 100)),
    "exp": (Value.exp, lambda m, a: m.exp(a), finite(-30, 30)),
    "log": (Value.log, lambda m, a: m.log(a), finite(1e-3, 1e3)),
    "sigmoid": (Value.sigmoid, sigmoid_ref, finite(-6, 6)),
    "tanh": (Value.tanh, lambda m, a: m.tanh(a), finite(-3, 3)),
    "relu": (Value.relu, relu_ref, away_from_zero(1e-2, 100)),
    "identity": (Value.identity, lambda m, a: a, finite(-100, 100)),
    "abs": (abs, lambda m, a: m.fabs(a), away_from_zero(1e-2, 100)),
    "sqrt": (Value.sqrt, lambda m, a: m.sqrt(a), finite(1e-3, 1e3)),
    "log1p": (Value.log1p, lambda m, a: m.log1p(a), finite(-0.9, 1e3)),
    "expm1": (Value.expm1, lambda m, a: m.expm1(a), finite(-30, 30)),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_value_and_gradient(name: str, data: st.DataObject) -> None:
    op, ref, domain = UNARY[name]
    a = data.draw(domain, label="a")
    x = Value(a)
    out = op(x)
    assert out.parents == (x,)
    assert out.op == name
    assert len(out.local_grads) == 1
    assert math.isclose(out.data, mp_value(lambda t: ref(mpmath, t), [a]), rel_tol=1e-14, abs_tol=1e-300)
    out.backward()
    assert out.grad == 1.0
    assert_grad(x.grad, [a], [0], lambda t: ref(mpmath, t), lambda t: ref(math, t))


@pytest.mark.parametrize("a", [1e-20, -1e-20, 1e-300, 3e-9, -3e-9])
def test_log1p_and_expm1_keep_the_digits_of_a_tiny_operand(a: float) -> None:
    """Where ``log(1 + a)`` and ``exp(a) - 1`` round to 0 (or keep a few digits), the
    primitives are exact to rounding, value and derivative, against mpmath's own functions."""
    for op, name in ((Value.log1p, "log1p"), (Value.expm1, "expm1")):
        x = Value(a)
        out = op(x)
        out.backward()
        exact = mp_value(getattr(mpmath, name), [a])
        assert math.isclose(out.data, exact, rel_tol=1e-15), (name, a, out.data, exact)
        derivative = mp_value(lambda t, name=name: mpmath.diff(getattr(mpmath, name), t), [a])
        assert math.isclose(x.grad, derivative, rel_tol=1e-15), (name, a, x.grad, derivative)
    assert Value(1e-20).log1p().data == 1e-20 != math.log(1.0 + 1e-20)


def test_expm1_derivative_is_not_lost_where_the_value_rounds_to_minus_one() -> None:
    """d(e^a - 1)/da = e^a, also below a = -37.4, where out + 1 (PyTorch's formula) is 0."""
    x = Value(-40.0)
    out = x.expm1()
    out.backward()
    assert out.data == -1.0
    assert math.isclose(x.grad, mp_value(mpmath.exp, [-40.0]), rel_tol=1e-15) and x.grad > 0.0


def test_abs_is_the_builtin_and_a_method() -> None:
    x = Value(-2.5, "x")
    for out in (abs(x), x.abs()):
        assert out.op == "abs" and out.parents == (x,) and out.data == 2.5 and out.local_grads == (-1.0,)


# ----------------------------------------------------------------------------- comparisons


def test_ordering_compares_data_with_values_and_numbers() -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    assert a < b and a <= b and b > a and b >= a and not b < a and not a > b
    assert a <= Value(1.0) and a >= Value(1.0) and not a < Value(1.0)
    # Numbers on either side: ints, floats, numpy scalars, fractions (any numbers.Real).
    for one in (1, 1.0, np.float64(1.0), np.float32(1.0), np.int64(1), Fraction(1)):
        assert a <= one and a >= one and not a < one and not a > one, type(one)
        assert one < b and b > one and one <= a and one >= a, type(one)
    assert a < Fraction(10, 9) and not a < Fraction(1, 10**20) + 1  # other types as floats (to_float)
    assert Value(1e308) < 10**400 and not Value(math.inf) < 10**400  # an int too large for a float
    results = [a < b, a <= 2, 0 > a, a >= np.float64(3.0), np.float64(3.0) > a, Fraction(1, 2) < a]
    assert all(type(r) is bool for r in results)


def test_ordering_with_nan_is_false_as_for_floats() -> None:
    n = Value(math.nan)
    assert not (n < 1.0 or n <= 1.0 or n > 1.0 or n >= 1.0 or 1.0 < n or n < n or n >= n)


@pytest.mark.parametrize("other", ["1.0", None, True, 1j, [1.0], Decimal("1.0")])
def test_ordering_with_a_non_number_is_a_type_error(other: object) -> None:
    v = Value(1.0)
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError, match="not supported between instances of"):
            compare(v, other)
        with pytest.raises(TypeError, match="not supported between instances of"):
            compare(other, v)


def test_sorted_max_and_min_order_values_by_data() -> None:
    values = [Value(x, label=f"v_{k}") for k, x in enumerate([0.5, -2.0, 3.0, 0.0, -2.0])]
    ordered = sorted(values)
    assert [v.data for v in ordered] == [-2.0, -2.0, 0.0, 0.5, 3.0]
    assert [v.label for v in ordered] == ["v_1", "v_4", "v_3", "v_0", "v_2"]  # stable, the nodes themselves
    assert max(values) is values[2] and min(values) is values[1]


def test_equality_and_hash_stay_identity() -> None:
    """``==`` is not by data: a Value is a node of a graph, usable in sets and as a dict key."""
    a, b = Value(1.0), Value(1.0)
    assert not a == b and a != b and a == a
    assert a <= b and a >= b  # ordering compares data, equality does not
    assert not a == 1.0 and a != 1.0
    assert Value.__eq__ is object.__eq__ and Value.__hash__ is object.__hash__
    assert len({a, b, a}) == 2
    grads = {a: "first", b: "second"}
    assert grads[a] == "first" and grads[b] == "second"
    x = Value(2.0)
    out = x * x + x
    assert len({*out.parents, *out.parents[0].parents}) == 2  # the product node and x, once each


# ----------------------------------------------------------------------------- binary operations

# name: (operator, reference, domain of the left operand, domain of the right operand)
BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any], Any, Any]] = {
    "+": (operator.add, operator.add, finite(-100, 100), finite(-100, 100)),
    "-": (operator.sub, operator.sub, finite(-100, 100), finite(-100, 100)),
    "*": (operator.mul, operator.mul, finite(-100, 100), finite(-100, 100)),
    "/": (operator.truediv, operator.truediv, finite(-100, 100), away_from_zero(1e-1, 100)),
    "**": (operator.pow, operator.pow, finite(1e-1, 5), finite(-4, 4)),
}
# Which operands are Values (V) and which plain numbers (N): v * w, 2 * v, v * 2.
FORMS = ["VV", "NV", "VN"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_value_and_gradient(name: str, form: str, data: st.DataObject) -> None:
    op, ref, left_domain, right_domain = BINARY[name]
    a = data.draw(left_domain, label="a")
    b = data.draw(right_domain, label="b")
    left = Value(a) if form[0] == "V" else a
    right = Value(b) if form[1] == "V" else b
    out = op(left, right)
    assert isinstance(out, Value)
    assert out.op == name
    if name == "**" and form == "VN":  # a number exponent is part of the operation: one parent
        assert out.parents == (left,) and len(out.local_grads) == 1 and out.exponent == b  # type: ignore[attr-defined]
        assert math.isclose(out.data, mp_value(ref, [a, b]), rel_tol=1e-14, abs_tol=1e-300)
        out.backward()
        assert_grad(left.grad, [a, b], [0], ref, ref)  # type: ignore[union-attr]
        return
    assert len(out.parents) == len(out.local_grads) == 2
    # A Value operand is the parent itself; a number becomes a constant leaf holding it.
    for operand, parent, number in zip((left, right), out.parents, (a, b)):
        if isinstance(operand, Value):
            assert parent is operand
        else:
            assert parent.op == "const" and parent.parents == () and parent.data == number
    assert math.isclose(out.data, mp_value(ref, [a, b]), rel_tol=1e-14, abs_tol=1e-300)
    out.backward()
    # Every parent's gradient, the constant leaf's included: d(a op b)/da and d(a op b)/db.
    for parent in out.parents:
        assert_grad(parent.grad, [a, b], uses(out.parents, parent), ref, ref)


def test_numbers_on_either_side_with_ints() -> None:
    """The README's forms with literal ints: 2 * v, v * 2, 2 - v, 2 / v, 2 ** v and friends."""
    v = 1.5
    cases: list[tuple[Callable[[Value], Value], float, float]] = [
        # (expression, value, d/dv), closed forms in plain floats
        (lambda x: 2 + x, 2 + v, 1.0),
        (lambda x: x + 2, v + 2, 1.0),
        (lambda x: 2 * x, 2 * v, 2.0),
        (lambda x: x * 2, v * 2, 2.0),
        (lambda x: 2 - x, 2 - v, -1.0),
        (lambda x: x - 2, v - 2, 1.0),
        (lambda x: 2 / x, 2 / v, -2 / v**2),
        (lambda x: x / 2, v / 2, 0.5),
        (lambda x: 2**x, 2**v, 2**v * math.log(2)),
        (lambda x: x**2, v**2, 2 * v),
        (lambda x: x**-1, 1 / v, -1 / v**2),
        (lambda x: -x, -v, -1.0),
    ]
    for expression, value, slope in cases:
        x = Value(v)
        out = expression(x)
        out.backward()
        assert math.isclose(out.data, value, rel_tol=1e-15)
        assert math.isclose(x.grad, slope, rel_tol=1e-15)


def test_int_and_fraction_data_become_floats() -> None:
    assert type(Value(3).data) is float and Value(3).data == 3.0
    assert Value(Fraction(1, 4)).data == 0.25
    assert type((Value(1.0) + 2).parents[1].data) is float


# ----------------------------------------------------------------------------- n-ary operations


@given(terms=st.lists(st.one_of(finite(-100, 100), st.integers(-100, 100)), min_size=1, max_size=8))
def test_sum_values_is_one_node_with_unit_edges(terms: list[float]) -> None:
    # Odd positions are Values, even positions plain numbers (constant leaves).
    operands = [Value(t) if k % 2 else t for k, t in enumerate(terms)]
    out = sum_values(operands, label="s")
    assert out.op == "sum" and out.label == "s"
    assert len(out.parents) == len(terms)
    assert math.isclose(out.data, math.fsum(terms), rel_tol=1e-12, abs_tol=1e-12)
    out.backward()

    def total(m: Any, *xs: Any) -> Any:
        return sum(xs)

    args = [float(t) for t in terms]
    for k, parent in enumerate(out.parents):
        if isinstance(operands[k], Value):
            assert parent is operands[k]
        # Equal numbers may share one constant leaf: its grad sums over its uses.
        assert_grad(
            parent.grad,
            args,
            uses(out.parents, parent),
            lambda *xs: total(mpmath, *xs),
            lambda *xs: total(math, *xs),
        )


def test_sum_values_of_many_terms() -> None:
    leaves = [Value(float(k)) for k in range(100_000)]
    out = sum_values(leaves)
    assert out.data == 100_000 * 99_999 / 2
    out.backward()
    assert all(leaf.grad == 1.0 for leaf in leaves)


def test_sum_values_of_nothing_is_zero() -> None:
    out = sum_values([])
    assert out.data == 0.0 and out.parents == () and out.op == "const"  # a constant, not a user leaf


@given(
    data=st.data(),
    n=st.integers(1, 6),
)
def test_linear_value_and_gradient(data: st.DataObject, n: int) -> None:
    w = data.draw(st.lists(finite(-5, 5), min_size=n, max_size=n), label="W")
    z = data.draw(st.lists(finite(-5, 5), min_size=n, max_size=n), label="z")
    b = data.draw(finite(-5, 5), label="b")
    W, Z, B = [Value(v) for v in w], [Value(v) for v in z], Value(b)
    a = linear(W, Z, B, label="a")
    assert a.op == "linear" and a.label == "a"
    assert a.parents == (*W, *Z, B)

    def pre(*xs: Any) -> Any:  # xs = (W_1..W_n, z_1..z_n, b)
        return sum(xs[j] * xs[n + j] for j in range(n)) + xs[2 * n]

    args = [*w, *z, b]
    terms = [abs(wj * zj) for wj, zj in zip(w, z)] + [abs(b)]
    assert math.isclose(a.data, mp_value(pre, args), rel_tol=1e-12, abs_tol=1e-15 * math.fsum(terms))
    a.backward()
    for parent in a.parents:
        assert_grad(parent.grad, args, uses(a.parents, parent), pre, pre)


def test_linear_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        linear([Value(1.0), Value(2.0)], [Value(1.0)], Value(0.0))


def softmax_ref(m: Any, k: int, *a: Any) -> Any:
    top = max(a)
    e = [m.exp(aj - top) for aj in a]
    return e[k] / sum(e)


@given(logits=st.lists(finite(-3, 3), min_size=1, max_size=5))
def test_softmax_values_and_jacobian(logits: list[float]) -> None:
    """Each y_k backward on its own: the logits' grads are the row dy_k/da_j of the Jacobian."""
    K = len(logits)
    a = [Value(v) for v in logits]
    y = softmax(a)
    assert [yk.label for yk in y] == [f"y_{k}" for k in range(1, K + 1)]
    assert all(yk.op == "softmax" and yk.parents == tuple(a) for yk in y)
    assert math.isclose(math.fsum(yk.data for yk in y), 1.0, rel_tol=1e-15)
    for k, yk in enumerate(y):
        assert math.isclose(
            yk.data, mp_value(lambda *x, k=k: softmax_ref(mpmath, k, *x), logits), rel_tol=1e-14
        )
        for aj in a:
            aj.grad = 0.0
        yk.backward()
        for j, aj in enumerate(a):
            assert_grad(
                aj.grad,
                logits,
                [j],
                lambda *x, k=k: softmax_ref(mpmath, k, *x),
                lambda *x, k=k: softmax_ref(math, k, *x),
            )


def test_softmax_labels_and_errors() -> None:
    y = softmax([Value(0.0), Value(1.0)], labels=["p", "q"])
    assert [v.label for v in y] == ["p", "q"]
    with pytest.raises(ValueError, match="at least one"):
        softmax([])


def test_softmax_rejects_labels_of_the_wrong_length() -> None:
    """Three logits and two labels must not silently drop the third output."""
    with pytest.raises(ValueError, match="label"):
        softmax([Value(0.0), Value(1.0), Value(2.0)], labels=["p", "q"])


def test_softmax_of_huge_logits_does_not_overflow() -> None:
    y = softmax([Value(1000.0), Value(999.0), Value(-1000.0)])
    e = math.exp(-1.0)
    assert math.isclose(y[0].data, 1 / (1 + e), rel_tol=1e-15)
    assert math.isclose(y[1].data, e / (1 + e), rel_tol=1e-15)
    assert y[2].data == 0.0


# ----------------------------------------------------------------------------- a composite expression


@given(x=finite(-2, 2), w=finite(-2, 2))
def test_readme_expression(x: float, w: float) -> None:
    """E = tanh(w x + 2)^2, the README's example, against its closed-form gradient."""
    X, W = Value(x, label="x"), Value(w, label="w")
    E = (W * X + 2).tanh() ** 2
    E.backward()
    t = math.tanh(w * x + 2)
    dE_da = 2 * t * (1 - t * t)  # d(t^2)/dt * dt/da, a = w x + 2
    assert math.isclose(E.data, t * t, rel_tol=1e-14)
    assert math.isclose(X.grad, dE_da * w, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(W.grad, dE_da * x, rel_tol=1e-12, abs_tol=1e-15)


# ----------------------------------------------------------------------------- operand types


def _bad_operands() -> list[tuple[str, Callable[[], object], str]]:
    v = Value(1.0)
    return [
        ("Value + str", lambda: v + "a", "str"),
        ("str + Value", lambda: "a" + v, "str"),
        ("str * Value", lambda: "a" * v, "str"),
        ("Value * str", lambda: v * "a", "str"),
        ("Value - None", lambda: v - None, "NoneType"),
        ("None - Value", lambda: None - v, "NoneType"),
        ("Value / list", lambda: v / [1.0], "list"),
        ("list / Value", lambda: [1.0] / v, "list"),
        ("Value ** None", lambda: v**None, "NoneType"),
        ("None ** Value", lambda: None**v, "NoneType"),
        ("Value + complex", lambda: v + 1j, "complex"),
        ("Value(complex)", lambda: Value(1 + 2j), "complex"),
        ("Value(str)", lambda: Value("1.5"), "str"),
        ("Value(None)", lambda: Value(None), "NoneType"),
        ("Value(Decimal)", lambda: Value(Decimal("1.5")), "Decimal"),
        ("label int", lambda: Value(1.0, label=3), "int"),
        ("label bytes", lambda: Value(1.0, label=b"x"), "bytes"),
        ("sum_values str", lambda: sum_values([v, "a"]), "str"),
        ("sum_values label", lambda: sum_values([v], label=2.5), "float"),
        ("softmax float", lambda: softmax([v, 2.0]), "float"),
        ("linear str weight", lambda: linear(["a"], [v], Value(0.0)), "str"),
        ("linear str input", lambda: linear([v], ["a"], Value(0.0)), "str"),
        ("linear str bias", lambda: linear([v], [v], "b"), "str"),
    ]


@pytest.mark.parametrize(("case", "make", "type_name"), _bad_operands(), ids=[c[0] for c in _bad_operands()])
def test_bad_operand_raises_type_error_naming_its_type(
    case: str, make: Callable[[], object], type_name: str
) -> None:
    with pytest.raises(TypeError) as info:
        make()
    assert re.search(rf"\b{type_name}\b", str(info.value)), str(info.value)


def test_label_is_kept() -> None:
    assert Value(1.0, label="W[1]_11").label == "W[1]_11"
    assert Value(1.0).label is None
    assert "W[1]_11" in repr(Value(1.0, label="W[1]_11"))
