"""Hardening of the engine core, each part against the failure it was written for.

* A number exponent is an operation of one input (``x ** 2`` has no constant ``2`` with a nan
  gradient); a Value exponent keeps its edge.
* ``no_grad()`` and ``detect_anomaly()`` hold per thread and per asyncio task, and every block
  restores exactly what it changed, also when blocks overlap without nesting.
* Evaluation under ``no_grad()`` gives the graph's numbers bit for bit.
* Every operation's local derivatives over the whole float range, against mpmath.
* ``Value(...)`` checks what it is given; numbers too large for a float and numpy scalars get
  one treatment everywhere.
* ``copy.deepcopy`` works at any depth; ``pickle`` refuses a graph with a clear error.
"""

from __future__ import annotations

import asyncio
import copy
import math
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Adam,
    AnomalyError,
    GradientDescent,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    compile_graph,
    datasets,
    detect_anomaly,
    is_grad_enabled,
    linear,
    no_grad,
    numerics,
    record_steps,
    softmax,
    squared_error,
    sum_values,
    topological_order,
)
from micrograd_lite.engine import PowerOutput, SigmoidOutput, SoftmaxOutput
from micrograd_lite.graph_views import op_symbol
from micrograd_lite.losses import TERMS
from micrograd_lite.testing.strategies import NetworkCase, networks

inf, nan = math.inf, math.nan


# ================================================================ a number exponent


def test_the_lecture_residual_squared_has_no_nan_anywhere() -> None:
    """E = ((x w + b).tanh() - t) ** 2 with a negative residual: no constant 2, no nan gradient."""
    x, w, b = Value(0.5, "x"), Value(-1.5, "w"), Value(0.2, "b")
    residual = (x * w + b).tanh() - 0.9
    assert residual.data < 0.0
    E = residual**2
    E.backward()
    assert isinstance(E, PowerOutput) and E.op == "**" and E.exponent == 2.0
    assert E.parents == (residual,) and E.local_grads == (2.0 * residual.data,)
    for node in topological_order(E):
        assert math.isfinite(node.grad), node
        assert all(math.isfinite(g) for g in node.local_grads), node
    # d E / d w = 2 r (1 - tanh^2) x, in plain floats
    t = math.tanh(0.5 * -1.5 + 0.2)
    assert math.isclose(w.grad, 2.0 * (t - 0.9) * (1.0 - t * t) * 0.5, rel_tol=1e-14)
    assert op_symbol(E) == "**2"
    assert "(**2)" in record_steps(E).text(0)


@pytest.mark.parametrize(("n", "shown"), [(2, "**2"), (0.5, "**0.5"), (-1, "**-1"), (3.25, "**3.25")])
def test_a_number_exponent_is_shown_with_the_operation(n: float, shown: str) -> None:
    assert op_symbol(Value(1.5) ** n) == shown


def test_a_value_exponent_keeps_its_edge_and_its_derivative() -> None:
    x, y = Value(1.5), Value(2.0)
    for out, exponent in ((x ** Value(2), None), (x**y, y), (2**x, x)):
        out.backward()
        assert len(out.parents) == 2 and not isinstance(out, PowerOutput)
        assert exponent is None or out.parents[1] is exponent
    a, n = 1.5, 2.0
    out = x**y
    assert out.local_grads[0] == n * a ** (n - 1)
    assert math.isclose(out.local_grads[1], a**n * math.log(a), rel_tol=1e-15)
    out = 2**x
    assert out.parents[0].op == "const" and out.parents[1] is x
    assert math.isclose(out.local_grads[1], 2.0**1.5 * math.log(2.0), rel_tol=1e-15)


@pytest.mark.parametrize("n", [2, 0, 1, -1, 0.5, -2.5, 3])
@pytest.mark.parametrize("a", [1.5, -2.0, 0.0, -0.0, 1e-200, 1e200, inf, nan])
def test_compiled_power_equals_eager_bit_for_bit(a: float, n: float) -> None:
    x = Value(a, "x")
    E = x**n
    E.backward()
    graph = compile_graph(E, [x], [])
    result = graph([a], [])
    for ours, eager in ((result.value, E.data), (result.input_grads[0], x.grad)):
        assert (math.isnan(ours) and math.isnan(eager)) or ours == eager, (ours, eager)


def test_bad_exponents_get_clear_errors() -> None:
    x = Value(2.0)
    with pytest.raises(TypeError, match="exponent must be a real number, got str"):
        x ** "2"  # type: ignore[operator]
    with pytest.raises(ValueError, match="exponent is too large for a float"):
        x**10**400


# ================================================================== per-thread modes


def in_thread(target: Callable[[], None]) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def join(thread: threading.Thread) -> None:
    thread.join(timeout=30)
    assert not thread.is_alive(), "the thread did not finish"
    for error in thread.errors:  # type: ignore[attr-defined]
        raise error


def test_another_threads_no_grad_does_not_stop_this_thread_recording() -> None:
    inside, done = threading.Event(), threading.Event()

    def evaluate() -> None:
        with no_grad():
            inside.set()
            assert done.wait(10)
            assert not is_grad_enabled() and (Value(1.0) * 2).parents == ()

    thread = in_thread(evaluate)
    assert inside.wait(10)
    x = Value(3.0)
    y = x * x
    y.backward()
    assert is_grad_enabled() and y.parents == (x, x) and x.grad == 6.0
    done.set()
    join(thread)


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on() -> None:
    """Thread 1 enters, thread 2 enters, thread 1 leaves, thread 2 leaves."""
    step = [threading.Event() for _ in range(4)]

    def first() -> None:
        with no_grad():
            step[0].set()
            assert step[1].wait(10)
        step[2].set()
        assert is_grad_enabled() and (Value(1.0) + 1).parents != ()

    def second() -> None:
        assert step[0].wait(10)
        with no_grad():
            step[1].set()
            assert step[2].wait(10)
            assert not is_grad_enabled()
        assert is_grad_enabled() and (Value(1.0) + 1).parents != ()
        step[3].set()

    threads = [in_thread(first), in_thread(second)]
    for thread in threads:
        join(thread)
    assert step[3].is_set()
    assert is_grad_enabled() and (Value(1.0) + 1).parents != ()


def test_generators_holding_no_grad_closed_out_of_order() -> None:
    def evaluating() -> Iterator[None]:
        with no_grad():
            yield

    first, second = evaluating(), evaluating()
    next(first)
    next(second)
    assert not is_grad_enabled()
    first.close()
    assert not is_grad_enabled()  # the second block is still open
    second.close()
    assert is_grad_enabled()
    x = Value(2.0)
    assert (x * x).parents == (x, x)


def test_overlapping_detect_anomaly_blocks_in_two_threads_switch_it_off() -> None:
    step = [threading.Event() for _ in range(3)]

    def first() -> None:
        with detect_anomaly():
            step[0].set()
            assert step[1].wait(10)
            with pytest.raises(AnomalyError):
                Value(0.0).log()
        step[2].set()

    def second() -> None:
        assert step[0].wait(10)
        with detect_anomaly():
            step[1].set()
            assert step[2].wait(10)
        assert Value(0.0).log().data == -inf  # no anomaly mode left in this thread

    threads = [in_thread(first), in_thread(second)]
    assert step[0].wait(10)
    assert Value(0.0).log().data == -inf  # another thread's detect_anomaly() is not ours
    for thread in threads:
        join(thread)
    assert Value(0.0).log().data == -inf


def test_detect_anomaly_generators_closed_out_of_order() -> None:
    def checking() -> Iterator[None]:
        with detect_anomaly():
            yield

    first, second = checking(), checking()
    next(first)
    next(second)
    first.close()
    with pytest.raises(AnomalyError):
        Value(0.0).log()
    second.close()
    assert Value(0.0).log().data == -inf


def test_no_grad_holds_per_asyncio_task() -> None:
    async def evaluate(inside: asyncio.Event, done: asyncio.Event) -> bool:
        with no_grad():
            inside.set()
            await done.wait()
            return (Value(1.0) * 2).parents == ()

    async def train(inside: asyncio.Event, done: asyncio.Event) -> Value:
        await inside.wait()
        x = Value(3.0)
        y = x * x  # while the other task sits inside no_grad()
        done.set()
        return y

    async def main() -> tuple[bool, Value]:
        inside, done = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(evaluate(inside, done), train(inside, done))

    evaluated_without_graph, y = asyncio.run(main())
    assert evaluated_without_graph
    assert len(y.parents) == 2
    assert is_grad_enabled()


def test_no_grad_inside_detect_anomaly_and_back() -> None:
    with detect_anomaly():
        with no_grad():
            assert (Value(1.0) + 1).parents == ()
            with pytest.raises(AnomalyError):
                Value(-1.0).log()
        assert (Value(1.0) + 1).parents != ()
    assert Value(-1.0).log().data != Value(-1.0).log().data  # nan, no error


# ====================================================== no_grad gives the same numbers


def test_paired_cross_entropy_under_no_grad() -> None:
    """BCE(sigmoid(40), 0) is 40.0 with and without no_grad()."""
    E = binary_cross_entropy(Value(40.0).sigmoid(), 0)
    with no_grad():
        y = Value(40.0).sigmoid()
        E_eval = binary_cross_entropy(y, 0)
    assert isinstance(y, SigmoidOutput) and y.parents == () and y.logit == 40.0
    assert E.data == E_eval.data == 40.0
    logits = [Value(800.0), Value(-800.0), Value(0.0)]
    E = categorical_cross_entropy(softmax(logits), 1)
    with no_grad():
        ys = softmax(logits)
        E_eval = categorical_cross_entropy(ys, 1)
    assert all(isinstance(v, SoftmaxOutput) and v.parents == () for v in ys)
    assert E.data == E_eval.data == 1600.0


def evaluate(case: NetworkCase, model: MLP) -> tuple[list[Any], float]:
    ys = [model(x) for x in case.x]
    flat = [v.data for y in ys for v in (y if isinstance(y, list) else [y])]
    return flat, case.error_of(ys).data


@given(case=networks())
def test_no_grad_evaluation_equals_the_graph_bit_for_bit(case: NetworkCase) -> None:
    model = case.build()
    outputs, E = evaluate(case, model)
    with no_grad():
        outputs_eval, E_eval = evaluate(case, model)
    assert outputs_eval == outputs
    assert E_eval == E or (math.isnan(E) and math.isnan(E_eval))
    for reduction in ("sum", "mean"):
        ys = [model(x) for x in case.x]
        with no_grad():
            ys_eval = [model(x) for x in case.x]
        if case.loss == "binary_cross_entropy":
            pair = [binary_cross_entropy(y, case.t, reduction) for y in (ys, ys_eval)]  # type: ignore[arg-type]
        elif case.loss == "categorical_cross_entropy":
            pair = [categorical_cross_entropy(y, case.t, reduction) for y in (ys, ys_eval)]  # type: ignore[arg-type]
        else:
            pair = [squared_error(y, case.t, reduction) for y in (ys, ys_eval)]  # type: ignore[arg-type]
        assert pair[0].data == pair[1].data


@given(a=st.floats(-800, 800), t=st.sampled_from([0.0, 1.0, 0.25]))
def test_no_grad_bce_of_any_logit(a: float, t: float) -> None:
    E = binary_cross_entropy(Value(a).sigmoid(), t)
    with no_grad():
        E_eval = binary_cross_entropy(Value(a).sigmoid(), t)
    assert E_eval.data == E.data


# ========================================== local derivatives over the whole float range


def log_uniform(lo: float = -300.0, hi: float = 300.0, signed: bool = True) -> st.SearchStrategy[float]:
    """|x| = 10^e with e uniform in [lo, hi]; either sign."""
    magnitude = st.floats(lo, hi).map(lambda e: float(10.0**e))
    if not signed:
        return magnitude
    return st.builds(lambda m, negative: -m if negative else m, magnitude, st.booleans())


def assert_ulps(actual: float, exact: Any, ulps: float, scale: Any = None, what: str = "") -> None:
    """``actual`` within ``ulps`` ulp of ``exact`` (an mpf), wherever ``exact`` is a finite float.

    ``scale``: the size of the terms the exact value is a sum of, where they have opposite signs;
    the ulp is taken of it (a sum that cancels is known to its terms' precision). Below the
    normal range the ulp is the smallest subnormal's.
    """
    exact_float = float(exact)
    if not math.isfinite(exact_float) or abs(exact) > 1.7976931348623157e308:
        return
    size = max(abs(exact_float), float(scale) if scale is not None else 0.0, numerics.MIN_NORMAL)
    error = abs(mpmath.mpf(actual) - exact)
    assert error <= ulps * math.ulp(size), (
        f"{what}: {actual!r} vs exact {exact_float!r}: {error / math.ulp(size)} ulp"
    )


ULPS = 4  # elementary operations: a few roundings
SOFTMAX_ULPS = 8  # y_k and y_j each within about 3 ulp, then multiplied


@given(a=log_uniform(), b=log_uniform())
def test_division_derivatives_over_the_float_range(a: float, b: float) -> None:
    node = Value(a) / Value(b)
    with mpmath.workdps(50):
        A, B = mpmath.mpf(a), mpmath.mpf(b)
        assert_ulps(node.local_grads[0], 1 / B, ULPS, what="d(a/b)/da")
        assert_ulps(node.local_grads[1], -A / B**2, ULPS, what="d(a/b)/db")


@pytest.mark.parametrize(("a", "b", "expected"), [(1e-200, 1e-200, -1e200), (1e200, 1e200, -1e-200)])
def test_division_derivative_does_not_overflow_on_the_way(a: float, b: float, expected: float) -> None:
    """-a/(b*b) gave -inf and 0.0 here; eager and compiled both compute -(a/b)/b."""
    x, y = Value(a, "a"), Value(b, "b")
    E = x / y
    E.backward()
    assert y.grad == expected
    assert compile_graph(E, [x, y], []).__call__([a, b], []).input_grads[1] == expected


exponents = st.one_of(log_uniform(), st.integers(-1100, 1100).map(float))


@given(a=log_uniform(), n=exponents, value_exponent=st.booleans())
def test_power_derivatives_over_the_float_range(a: float, n: float, value_exponent: bool) -> None:
    node = Value(a) ** (Value(n) if value_exponent else n)
    with mpmath.workdps(50):
        A, N = mpmath.mpf(a), mpmath.mpf(n)
        if a < 0.0 and not n.is_integer():
            assert math.isnan(node.local_grads[0])
            return
        assert_ulps(node.local_grads[0], N * A**N / A, ULPS, what="d(a^n)/da")  # N - 1 would round
        if value_exponent and a > 0.0:
            assert_ulps(node.local_grads[1], A**N * mpmath.log(A), ULPS, what="d(a^n)/dn")


@pytest.mark.parametrize(
    ("a", "n"),
    [
        (1e-100, 3.1),  # a^n below the normal range, a^n ln a above it
        (1 + 2**-52, 3.2e18),  # a^n overflows, a^n ln a does not
        (2.0, 1024.5),
        (0.993, 1e5),
        (10.0, -308.5),
        (1e200, -0.3),  # n - 1 rounds: a^(n - 1) would be off by hundreds of ulp
    ],
)
def test_power_derivatives_where_a_to_the_n_leaves_the_float_range(a: float, n: float) -> None:
    node = Value(a) ** Value(n)
    with mpmath.workdps(50):
        A, N = mpmath.mpf(a), mpmath.mpf(n)
        assert_ulps(node.local_grads[0], N * A**N / A, ULPS, what="d(a^n)/da")  # N - 1 would round
        assert_ulps(node.local_grads[1], A**N * mpmath.log(A), ULPS, what="d(a^n)/dn")


@given(a=log_uniform())
def test_unary_derivatives_over_the_float_range(a: float) -> None:
    with mpmath.workdps(50):
        A = mpmath.mpf(a)
        assert_ulps(Value(a).exp().local_grads[0], mpmath.exp(A), ULPS, what="exp")
        if a > 0.0:
            assert_ulps(Value(a).log().local_grads[0], 1 / A, ULPS, what="log")
        e = mpmath.exp(-abs(A))  # sigma' and tanh' in forms that do not cancel
        assert_ulps(Value(a).sigmoid().local_grads[0], e / (1 + e) ** 2, ULPS, what="sigmoid")
        assert_ulps(Value(a).tanh().local_grads[0], 1 / mpmath.cosh(A) ** 2, ULPS, what="tanh")
        assert Value(a).relu().local_grads == ((1.0,) if a > 0.0 else (0.0,))
        assert Value(a).identity().local_grads == (1.0,) and (-Value(a)).local_grads == (-1.0,)


@pytest.mark.parametrize("a", [10.0, 19.1, 40.0, -40.0, 300.0, 700.0])
def test_saturated_sigmoid_and_tanh_keep_their_derivatives(a: float) -> None:
    """s (1 - s) and 1 - t^2 were 0 here (or had lost most digits at a = 10)."""
    with mpmath.workdps(50):
        e = mpmath.exp(-abs(mpmath.mpf(a)))
        assert_ulps(Value(a).sigmoid().local_grads[0], e / (1 + e) ** 2, ULPS, what="sigmoid")
        assert_ulps(Value(a).tanh().local_grads[0], 4 * e**2 / (1 + e**2) ** 2, ULPS, what="tanh")
    assert Value(a).sigmoid().local_grads[0] > 0.0


@given(a=log_uniform(), b=log_uniform(), n=st.integers(1, 4), data=st.data())
def test_binary_and_n_ary_derivatives_are_their_inputs(
    a: float, b: float, n: int, data: st.DataObject
) -> None:
    x, y = Value(a), Value(b)
    assert (x + y).local_grads == (1.0, 1.0) and (x - y).local_grads == (1.0, -1.0)
    assert (x * y).local_grads == (b, a)
    w = [Value(data.draw(log_uniform())) for _ in range(n)]
    z = [Value(data.draw(log_uniform())) for _ in range(n)]
    node = linear(w, z, x)
    assert node.local_grads == (*[v.data for v in z], *[v.data for v in w], 1.0)
    assert sum_values([*w, *z]).local_grads == (1.0,) * (2 * n)


mp_logits = st.lists(log_uniform(-3.0, 3.0), min_size=2, max_size=4)


def mp_softmax(a: Sequence[float]) -> list[Any]:
    """y_k = 1 / sum_j e^(a_j - a_k): no cancellation at any precision."""
    m = [mpmath.mpf(v) for v in a]
    return [1 / sum(mpmath.exp(v - mk) for v in m) for mk in m]


@given(a=mp_logits)
def test_softmax_derivatives(a: list[float]) -> None:
    ys = softmax([Value(v) for v in a])
    with mpmath.workdps(50):
        y = mp_softmax(a)
        for k, yk in enumerate(ys):
            for j, local in enumerate(yk.local_grads):
                exact = y[k] * sum(y[i] for i in range(len(a)) if i != k) if j == k else -y[k] * y[j]
                assert_ulps(local, exact, SOFTMAX_ULPS, what=f"dy_{k + 1}/da_{j + 1}")


targets = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))


@given(a=log_uniform(), t=targets, y=st.floats(1e-300, 1.0, exclude_max=True), u=log_uniform())
def test_loss_derivatives(a: float, t: float, y: float, u: float) -> None:
    with mpmath.workdps(50):
        A, T, Y = mpmath.mpf(a), mpmath.mpf(t), mpmath.mpf(y)
        _, local = TERMS["squared error"]([u], [a])
        assert_ulps(local[0], mpmath.mpf(u) - A, 1, what="squared error dE/dy")
        e = mpmath.exp(-abs(A))
        s, s_minus = (1 / (1 + e), e / (1 + e)) if a >= 0 else (e / (1 + e), 1 / (1 + e))
        _, local = TERMS["sigmoid cross-entropy"]([a], [t])
        terms = ((1 - T) * s, T * s_minus)  # sigma(a) - t = (1 - t) sigma(a) - t sigma(-a)
        assert_ulps(local[0], terms[0] - terms[1], ULPS, max(terms), what="sigmoid cross-entropy dE/da")
        assert local[1] == -a
        if 0.0 < y:
            _, local = TERMS["binary cross-entropy"]([y], [t])
            assert_ulps(local[0], -T / Y + (1 - T) / (1 - Y), ULPS, what="binary cross-entropy dE/dy")
            assert_ulps(local[1], mpmath.log((1 - Y) / Y), ULPS, what="binary cross-entropy dE/dt")
            _, local = TERMS["categorical cross-entropy"]([y, 1.0 - y], [t, 1.0 - t])
            assert_ulps(local[0], -T / Y, ULPS, what="categorical cross-entropy dE/dy")
            assert_ulps(local[2], -mpmath.log(Y), ULPS, what="categorical cross-entropy dE/dt")


@given(a=mp_logits, data=st.data())
def test_softmax_cross_entropy_derivatives(a: list[float], data: st.DataObject) -> None:
    K = len(a)
    hot = data.draw(st.integers(0, K - 1))
    soft = data.draw(st.lists(st.floats(0.0, 1.0), min_size=K, max_size=K))
    for t in ([1.0 if k == hot else 0.0 for k in range(K)], soft):
        _, local = TERMS["softmax cross-entropy"](a, t)
        with mpmath.workdps(50):
            y = mp_softmax(a)
            T = [mpmath.mpf(v) for v in t]
            for k in range(K):
                # y_k sum_j t_j - t_k = y_k sum_{j != k} t_j - t_k sum_{j != k} y_j
                others = sum(y[j] for j in range(K) if j != k)  # 1 - y_k without cancelling
                terms = (y[k] * sum(T[j] for j in range(K) if j != k), T[k] * others)
                exact = terms[0] - terms[1]
                assert_ulps(local[k], exact, SOFTMAX_ULPS, max(terms), what=f"dE/da_{k + 1}")
                # -ln y_k = ln(1 + sum_{j != k} e^(a_j - a_k)): no digits lost where y_k is near 1
                rest = sum(mpmath.exp(mpmath.mpf(a[j]) - a[k]) for j in range(K) if j != k)
                assert_ulps(local[K + k], mpmath.log1p(rest), SOFTMAX_ULPS, what=f"dE/dt_{k + 1}")


# ================================================================ checked construction


def test_a_node_of_your_own_operation_is_checked() -> None:
    a, b = Value(2.0), Value(3.0)
    node = Value(6.0, "ab", (a, b), (3.0, 2.0), "times")
    node.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
    assert Value(1.0, None, [a], [Fraction(1, 2)], "half").local_grads == (0.5,)  # lists and any real
    assert Value(1.0, None, [], [], "leaf").parents == ()
    cases: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: Value(1.0, None, (a, b), (1.0,), "f"), ValueError, "2 parents but 1 local_grads"),
        (lambda: Value(1.0, None, (a,), (), "f"), ValueError, "1 parents but 0 local_grads"),
        (lambda: Value(1.0, None, (), (1.0,), "f"), ValueError, "0 parents but 1 local_grads"),
        (
            lambda: Value(1.0, None, (a, 2.0), (1.0, 1.0), "f"),
            TypeError,
            r"parents\[1\] must be a Value, got float",
        ),
        (lambda: Value(1.0, None, a, (1.0,), "f"), TypeError, "parents must be a tuple"),
        (
            lambda: Value(1.0, None, (a,), ("x",), "f"),
            TypeError,
            r"local_grads\[0\] must be a real number, got str",
        ),
        (lambda: Value(1.0, None, (a,), 1.0, "f"), TypeError, "local_grads must be a tuple"),
        (lambda: Value(1.0, None, (a,), (1.0,), 3), TypeError, "op must be a str"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()


# ============================================== numbers too large, numpy, other real types

TOO_LARGE = 10**400


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: Value(1.0) + TOO_LARGE, "operand"),
        (lambda: TOO_LARGE - Value(1.0), "operand"),
        (lambda: Value(1.0) ** TOO_LARGE, "exponent"),
        (lambda: sum_values([Value(1.0), TOO_LARGE]), "operand"),
        (lambda: squared_error(Value(1.0), TOO_LARGE), "t"),
        (lambda: binary_cross_entropy([Value(0.5)], [TOO_LARGE]), "t"),
        (lambda: MLP.from_weights([[[TOO_LARGE]]], [[0.0]]), "W[1]_11"),
        (lambda: MLP.from_weights([[[1.0]]], [[TOO_LARGE]]), "b[1]_1"),
        (lambda: MLP(1, [1], "sigmoid")([TOO_LARGE]), "x_1"),
        (lambda: Value(1.0).backward(TOO_LARGE), "seed"),
        (lambda: GradientDescent([Value(1.0)], lr=TOO_LARGE), "lr"),
        (lambda: datasets.xor(noise=TOO_LARGE), "noise"),
        (lambda: Value(TOO_LARGE), "Value data"),
    ],
)
def test_a_number_too_large_for_a_float_is_one_clear_value_error(
    call: Callable[[], object], name: str
) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert name in str(info.value)


def test_spirals_with_too_many_turns_names_turns() -> None:
    with pytest.raises(ValueError, match="turns must be a finite number in"):
        datasets.spirals(turns=1e308)
    X, _ = datasets.spirals(n=10, turns=1e6)
    assert all(math.isfinite(v) for x in X for v in x)


def test_numpy_scalars_are_accepted_everywhere() -> None:
    x = Value(np.float32(0.5))
    assert type(x.data) is float and x.data == 0.5
    assert (x * np.float64(2.0)).data == 1.0 and (x ** np.int64(2)).data == 0.25
    y = softmax([Value(1.0), Value(2.0), Value(0.5)])
    assert categorical_cross_entropy(y, np.int64(1)).data == categorical_cross_entropy(y, 1).data
    model = MLP(np.int64(2), [np.int64(3), 1], "sigmoid", seed=np.int64(0))  # type: ignore[arg-type]
    assert model.sizes == [2, 3, 1]
    assert model([np.float32(1.0), np.int64(2)]).data == model([1.0, 2.0]).data  # type: ignore[union-attr]
    optimiser = Adam(model.parameters(), lr=np.float32(0.1), betas=(np.float64(0.9), 0.999))  # type: ignore[arg-type]
    assert optimiser.lr == float(np.float32(0.1))
    X, t = datasets.two_moons(n=np.int64(10), noise=np.float32(0.1), seed=np.int64(3))  # type: ignore[arg-type]
    assert (X, t) == datasets.two_moons(n=10, noise=float(np.float32(0.1)), seed=3)
    assert numerics.to_index(np.int64(4), "k") == 4 and numerics.to_float(Fraction(1, 4), "x") == 0.25


@pytest.mark.parametrize("bad", [True, "1", None, 1j, [1.0]])
def test_the_shared_number_helpers_refuse_what_is_not_a_real_number(bad: object) -> None:
    for helper in (numerics.to_float, numerics.to_finite_float, numerics.to_index):
        with pytest.raises(TypeError, match="what must be"):
            helper(bad, "what")
    with pytest.raises(ValueError, match="what must be finite"):
        numerics.to_finite_float(nan, "what")
    with pytest.raises(TypeError, match="what must be an int, got float"):
        numerics.to_index(2.0, "what")


# ===================================================================== copy and pickle


def chain(depth: int) -> tuple[Value, Value]:
    x = Value(0.5, "x")
    v = x
    for _ in range(depth):
        v = v * 1.0001 + 0.0001
    return x, v


def test_deepcopy_of_a_deep_graph() -> None:
    """99 nodes deep raised RecursionError; copying is iterative now."""
    x, E = chain(50_000)
    E2 = copy.deepcopy(E)
    order, order2 = topological_order(E), topological_order(E2)
    assert len(order) == len(order2)
    assert not {id(v) for v in order} & {id(v) for v in order2}
    assert [(v.data, v.op, v.label, v.local_grads) for v in order] == [
        (v.data, v.op, v.label, v.local_grads) for v in order2
    ]
    E.backward()
    E2.backward()
    x2 = next(v for v in order2 if v.label == "x")
    assert x2.grad == x.grad and x2 is not x


def test_deepcopy_keeps_sharing_and_the_node_types() -> None:
    a = Value(1.5, "a")
    shared = a * a
    ys = softmax([shared, a.sigmoid(), shared**2])
    E = categorical_cross_entropy(ys, 0)
    E2 = copy.deepcopy(E)
    logits2 = E2.parents[:3]
    assert logits2[0] is logits2[2].parents[0]  # shared stays shared
    assert isinstance(logits2[1], SigmoidOutput) and logits2[1].logit == 1.5
    assert isinstance(logits2[2], PowerOutput) and logits2[2].exponent == 2.0
    copies = copy.deepcopy(ys)
    assert all(isinstance(y, SoftmaxOutput) for y in copies)
    assert copies[0].parents is copies[1].parents  # one tuple of logits, as softmax() made it
    assert categorical_cross_entropy(copies, 0).data == E.data
    twice = copy.deepcopy([E, E])
    assert twice[0] is twice[1]  # the memo: one copy per node
    pair = copy.deepcopy([E, shared])
    assert any(node is pair[1] for node in topological_order(pair[0]))


def test_deepcopy_and_pickle_of_a_model() -> None:
    model = MLP(2, [64, 64, 1], activations=["tanh", "tanh", "identity"], seed=0)
    clone = copy.deepcopy(model)
    assert clone.weights() == model.weights() and clone.biases() == model.biases()
    assert not {id(p) for p in clone.parameters()} & {id(p) for p in model.parameters()}
    clone.parameters()[0].data += 1.0
    assert clone.weights() != model.weights()
    restored = pickle.loads(pickle.dumps(model))
    assert restored.weights() == model.weights() and restored([0.5, 1.0]).data == model([0.5, 1.0]).data  # type: ignore[union-attr]


def test_pickle_refuses_a_graph_and_says_what_to_do() -> None:
    _, E = chain(1_000)
    with pytest.raises(TypeError, match="save_parameters"):
        pickle.dumps(E)
    leaf = Value(2.5, "w")
    leaf.grad = 0.5
    back = pickle.loads(pickle.dumps(leaf))
    assert (back.data, back.grad, back.label, back.parents) == (2.5, 0.5, "w", ())
    assert copy.copy(E).parents == E.parents
