"""Error functions: values and gradients against closed forms in plain floats (or mpmath where the
floats would overflow), the exact output delta ``y - t`` of the stable pairings, and bad targets."""

from __future__ import annotations

import math
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    no_grad,
    softmax,
    squared_error,
)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-14)


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def ulp_close(actual: float, exact: float, scale: float, ulps: float = 4.0) -> bool:
    """Within a few ulp of ``scale``, the size of the terms the exact value is made of."""
    return abs(actual - exact) <= ulps * math.ulp(max(abs(exact), scale))


def sigmoid_delta(a: float, t: float) -> tuple[float, float]:
    """sigma(a) - t at 50 digits, and the size of its terms (1 - t) sigma(a) and t sigma(-a)."""
    with mpmath.workdps(50):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(a)))
        return float(s - t), float(max((1 - t) * s, t * (1 - s)))


targets01 = st.one_of(st.sampled_from([0, 1, 0.0, 1.0]), finite(0, 1))
batch = st.integers(1, 5)

# ----------------------------------------------------------------------------- squared error


@given(y=finite(-10, 10), t=finite(-10, 10))
def test_squared_error_single(y: float, t: float) -> None:
    Y = Value(y)
    E = squared_error(Y, t)
    assert E.label == "E" and E.parents[0] is Y and len(E.parents) == 2
    assert close(E.data, 0.5 * (t - y) ** 2)
    E.backward()
    assert Y.grad == y - t  # dE/dy = y - t, the identity output's delta


@given(data=st.data(), n=batch, mean=st.booleans())
def test_squared_error_batch(data: st.DataObject, n: int, mean: bool) -> None:
    ys = data.draw(st.lists(finite(-10, 10), min_size=n, max_size=n))
    ts = data.draw(st.lists(finite(-10, 10), min_size=n, max_size=n))
    Y = [Value(v) for v in ys]
    E = squared_error(Y, ts, reduction="mean" if mean else "sum")
    scale = 1 / n if mean else 1.0
    terms = [0.5 * (t - y) ** 2 for y, t in zip(ys, ts)]
    assert math.isclose(E.data, scale * math.fsum(terms), rel_tol=1e-12, abs_tol=1e-300)
    E.backward()
    for v, y, t in zip(Y, ys, ts):
        assert close(v.grad, scale * (y - t))


def test_squared_error_several_outputs_per_example() -> None:
    ys = [[Value(1.0), Value(2.0)], [Value(-1.0), Value(0.5)], [Value(0.0), Value(3.0)]]
    ts = [[0.0, 1.0], [1.0, 1.0], [0.5, 0.0]]
    E = squared_error(ys, ts, reduction="mean")
    residuals = [y.data - t for yn, tn in zip(ys, ts) for y, t in zip(yn, tn)]
    assert close(E.data, 0.5 * sum(r * r for r in residuals) / 3)  # mean over N = 3 examples
    E.backward()
    assert [y.grad for yn in ys for y in yn] == [r / 3 for r in residuals]


# ----------------------------------------------------------------------------- binary cross-entropy


def bce(y: float, t: float) -> float:
    return -t * math.log(y) - (1 - t) * math.log(1 - y)


@given(a=finite(-15, 15), t=targets01)
def test_paired_sigmoid_bce(a: float, t: float) -> None:
    A = Value(a)
    y = A.sigmoid()
    E = binary_cross_entropy(y, t)
    assert E.label == "E" and E.parents[0] is A and len(E.parents) == 2  # straight to the logit a[L]
    assert math.isclose(E.data, bce(sigmoid(a), t), rel_tol=1e-9, abs_tol=1e-15)
    E.backward()
    # delta = y - t, without the cancellation of the rounded y: a few ulp of the exact sigma(a) - t
    assert ulp_close(A.grad, *sigmoid_delta(a, t))
    assert close(A.grad, y.data - t)
    assert y.grad == 0.0  # not on the path


@pytest.mark.parametrize("a", [1000.0, -1000.0, 40.0, -40.0, 745.0, -745.0])
@pytest.mark.parametrize("t", [0.0, 1.0, 0.5])
def test_paired_bce_is_finite_at_saturated_logits(a: float, t: float) -> None:
    A = Value(a)
    y = A.sigmoid()
    E = binary_cross_entropy(y, t)
    E.backward()
    with mpmath.workdps(50):  # -t log s(a) - (1-t) log(1 - s(a)), where floats would give log(0)
        m = mpmath.mpf(a)
        exact = float(t * mpmath.log(1 + mpmath.exp(-m)) + (1 - t) * mpmath.log(1 + mpmath.exp(m)))
    assert math.isfinite(E.data)
    # softplus(a) - t a: as PyTorch's BCEWithLogits, exact to rounding at the scale of |a|
    # (for a = 40, t = 1 the true E = 4e-18 is lost beside 40; both give 0).
    assert math.isclose(E.data, exact, rel_tol=1e-12, abs_tol=1e-15 * abs(a))
    # y rounds to t at a = 40, t = 1, but the delta does not: sigma(40) - 1 = -4.2e-18, not 0.
    assert ulp_close(A.grad, *sigmoid_delta(a, t))


@given(data=st.data(), n=batch)
def test_paired_bce_batch_mean(data: st.DataObject, n: int) -> None:
    a = data.draw(st.lists(finite(-10, 10), min_size=n, max_size=n))
    t = data.draw(st.lists(targets01, min_size=n, max_size=n))
    A = [Value(v) for v in a]
    ys = [v.sigmoid() for v in A]
    E = binary_cross_entropy(ys, t, reduction="mean")
    expected = math.fsum(bce(sigmoid(av), tv) for av, tv in zip(a, t)) / n
    assert math.isclose(E.data, expected, rel_tol=1e-9, abs_tol=1e-15)
    E.backward()
    for Av, y, tv in zip(A, ys, t):
        assert Av.grad == (y.data - tv) / n or close(Av.grad, (y.data - tv) / n)


@given(a=finite(-8, 8), t=targets01)
def test_unpaired_bce_is_the_lecture_chain(a: float, t: float) -> None:
    A = Value(a)
    y = A.sigmoid()
    E = binary_cross_entropy(y, t, paired=False)
    assert E.parents[0] is y and y.parents == (A,)  # E -> y -> a[L]
    s = sigmoid(a)
    assert math.isclose(E.data, bce(s, t), rel_tol=1e-9, abs_tol=1e-15)
    E.backward()
    dE_dy = -t / y.data + (1 - t) / (1 - y.data)
    assert close(y.grad, dE_dy)
    assert math.isclose(A.grad, s - t, rel_tol=1e-9, abs_tol=1e-12)  # y - t up to rounding


@given(y=finite(1e-6, 1 - 1e-6), t=targets01)
def test_bce_on_a_plain_value(y: float, t: float) -> None:
    """A y that is not a sigmoid node is never paired."""
    Y = Value(y)
    E = binary_cross_entropy(Y, t)
    assert E.parents[0] is Y and E.parents[1].label == "t"
    assert math.isclose(E.data, bce(y, t), rel_tol=1e-12, abs_tol=1e-15)
    E.backward()
    assert close(Y.grad, -t / y + (1 - t) / (1 - y))


def test_unpaired_bce_drops_terms_with_zero_weight() -> None:
    """t = 1 with y = 1 is E = 0, not 0 * log(0) = nan."""
    E = binary_cross_entropy(Value(1.0), 1.0)
    assert E.data == 0.0
    E = binary_cross_entropy(Value(0.0), 0.0)
    assert E.data == 0.0


def test_bce_under_no_grad() -> None:
    """Evaluating the loss of a sigmoid output inside no_grad (the docstring's use) must work."""
    model = MLP(2, [2, 1], activations="sigmoid", seed=0)
    with no_grad():
        y = model([1.0, 2.0])
        E = binary_cross_entropy(y, 1.0)
    assert math.isclose(E.data, -math.log(y.data), rel_tol=1e-12)


# ----------------------------------------------------------------------------- categorical cross-entropy


def logsumexp(a: list[float]) -> float:
    top = max(a)
    return top + math.log(math.fsum(math.exp(v - top) for v in a))


@st.composite
def logits_and_class(draw: st.DrawFn) -> tuple[list[float], int]:
    a = draw(st.lists(finite(-10, 10), min_size=2, max_size=5))
    return a, draw(st.integers(0, len(a) - 1))


@given(case=logits_and_class())
def test_paired_softmax_ce_with_index_and_one_hot(case: tuple[list[float], int]) -> None:
    a, k = case
    K = len(a)
    one_hot = [1.0 if j == k else 0.0 for j in range(K)]
    results = []
    for target in (k, one_hot):
        A = [Value(v) for v in a]
        y = softmax(A)
        E = categorical_cross_entropy(y, target)
        assert E.label == "E" and E.parents[: len(A)] == tuple(A)
        assert math.isclose(E.data, logsumexp(a) - a[k], rel_tol=1e-12, abs_tol=1e-14)  # -log y_k
        E.backward()
        for j in range(K):
            if j != k:
                assert A[j].grad == y[j].data  # y_j - 0, bit for bit
            else:  # y_k - 1, computed as minus the other outputs' sum: exact where y_k rounds to 1
                with mpmath.workdps(50):
                    m = [mpmath.mpf(v) for v in a]
                    exact = float(mpmath.exp(m[k]) / sum(mpmath.exp(v) for v in m) - 1)
                assert abs(A[k].grad - exact) <= 8 * math.ulp(exact)
        results.append([v.grad for v in A])
    assert results[0] == results[1]


def test_paired_softmax_ce_is_finite_at_saturated_logits() -> None:
    A = [Value(1000.0), Value(-1000.0), Value(0.0)]
    y = softmax(A)
    E = categorical_cross_entropy(y, 1)
    assert E.data == 2000.0  # log(e^1000 + e^-1000 + 1) - (-1000), to double precision
    E.backward()
    assert [v.grad for v in A] == [y[0].data, y[1].data - 1.0, y[2].data]


@given(a=st.lists(finite(-5, 5), min_size=2, max_size=4), data=st.data())
def test_paired_softmax_ce_with_probability_targets(a: list[float], data: st.DataObject) -> None:
    """Soft targets: E = -sum_k t_k log y_k; its gradient against mpmath."""
    t = data.draw(st.lists(finite(0, 1), min_size=len(a), max_size=len(a)))
    A = [Value(v) for v in a]
    E = categorical_cross_entropy(softmax(A), t)
    E.backward()

    def error(*logits: Any) -> Any:
        lse = mpmath.log(sum(mpmath.exp(v) for v in logits))
        return -sum(tk * (v - lse) for tk, v in zip(t, logits))

    with mpmath.workdps(50):
        args = [mpmath.mpf(v) for v in a]
        assert math.isclose(E.data, float(error(*args)), rel_tol=1e-12, abs_tol=1e-13)
        for j, Aj in enumerate(A):
            exact = float(mpmath.diff(lambda v, j=j: error(*args[:j], v, *args[j + 1 :]), args[j]))
            assert math.isclose(Aj.grad, exact, rel_tol=1e-12, abs_tol=1e-14)


@given(case=logits_and_class())
def test_unpaired_ce_is_the_lecture_chain(case: tuple[list[float], int]) -> None:
    a, k = case
    A = [Value(v) for v in a]
    y = softmax(A)
    E = categorical_cross_entropy(y, k, paired=False)
    assert E.parents[: len(y)] == tuple(y)
    assert math.isclose(E.data, logsumexp(a) - a[k], rel_tol=1e-9, abs_tol=1e-12)
    E.backward()
    for j, v in enumerate(y):
        assert close(v.grad, -1 / v.data if j == k else 0.0)  # dE/dy_j = -t_j / y_j
    for j, v in enumerate(A):
        assert math.isclose(v.grad, y[j].data - (j == k), rel_tol=1e-9, abs_tol=1e-12)


@given(data=st.data(), n=batch)
def test_ce_batch_mean(data: st.DataObject, n: int) -> None:
    cases = data.draw(st.lists(logits_and_class(), min_size=n, max_size=n))
    cases = [(a[:3] + [0.0] * (3 - len(a)), min(k, 2)) for a, k in cases]  # K = 3 for every example
    A = [[Value(v) for v in a] for a, _ in cases]
    ys = [softmax(An) for An in A]
    E = categorical_cross_entropy(ys, [k for _, k in cases], reduction="mean")
    assert math.isclose(
        E.data, math.fsum(logsumexp(a) - a[k] for a, k in cases) / n, rel_tol=1e-12, abs_tol=1e-14
    )
    E.backward()
    for An, yn, (_, k) in zip(A, ys, cases):
        for j, v in enumerate(An):
            assert close(v.grad, (yn[j].data - (j == k)) / n)


def test_ce_under_no_grad() -> None:
    A = [Value(0.5), Value(-1.0), Value(2.0)]
    with no_grad():
        E = categorical_cross_entropy(softmax(A), 2)
    assert close(E.data, logsumexp([0.5, -1.0, 2.0]) - 2.0)


def test_ce_on_plain_values() -> None:
    ys = [Value(0.2), Value(0.5), Value(0.3)]
    E = categorical_cross_entropy(ys, 1)
    assert E.data == -math.log(0.5)
    E.backward()
    assert [v.grad for v in ys] == [0.0, -1 / 0.5, 0.0]


# ----------------------------------------------------------------------------- bad targets


def _two() -> list[Value]:
    return softmax([Value(0.1), Value(0.2)])


@pytest.mark.parametrize(
    ("make", "error", "word"),
    [
        (lambda: binary_cross_entropy(Value(0.5).sigmoid(), 1.5), ValueError, "[0, 1]"),
        (lambda: binary_cross_entropy(Value(0.5).sigmoid(), -0.1), ValueError, "[0, 1]"),
        (lambda: binary_cross_entropy(Value(0.5), math.nan), ValueError, "finite"),
        (lambda: binary_cross_entropy(Value(0.5), True), TypeError, "bool"),
        (lambda: binary_cross_entropy(Value(0.5), "1"), TypeError, "str"),
        (lambda: binary_cross_entropy([Value(0.5), Value(0.2)], [1.0]), ValueError, "targets"),
        (lambda: binary_cross_entropy([Value(0.5)], 1.0), ValueError, "list of 1 targets"),
        (lambda: binary_cross_entropy(Value(0.5), [1.0]), ValueError, "t is a sequence"),
        (lambda: binary_cross_entropy([], []), ValueError, "empty"),
        (lambda: binary_cross_entropy([0.5], [1.0]), TypeError, "float"),
        (lambda: binary_cross_entropy(Value(0.5), 1.0, reduction="max"), ValueError, "reduction"),
        (lambda: squared_error([Value(1.0)], [1.0, 2.0]), ValueError, "targets"),
        (lambda: squared_error(Value(1.0), math.inf), ValueError, "finite"),
        (lambda: categorical_cross_entropy(_two(), 2), ValueError, "class index"),
        (lambda: categorical_cross_entropy(_two(), -1), ValueError, "class index"),
        (lambda: categorical_cross_entropy(_two(), [1.0, 0.0, 0.0]), ValueError, "3 target entries"),
        (lambda: categorical_cross_entropy(_two(), [1.5, -0.5]), ValueError, "outside [0, 1]"),
        (lambda: categorical_cross_entropy(_two(), [2.0, 0.0]), ValueError, "[0, 1]"),
        (lambda: categorical_cross_entropy(_two(), [1.0, math.nan]), ValueError, "finite"),
        (lambda: categorical_cross_entropy(_two(), 1.0), TypeError, "float"),
        (lambda: categorical_cross_entropy([_two(), _two()], [0]), ValueError, "targets"),
        (lambda: categorical_cross_entropy([Value(1.0)], 0), ValueError, "K >= 2"),
        (lambda: categorical_cross_entropy([], 0), ValueError, "at least one example"),
    ],
    ids=[
        "bce t above 1",
        "bce t below 0",
        "bce t nan",
        "bce t bool",
        "bce t str",
        "bce too few targets",
        "bce list of outputs, one target",
        "bce one output, list of targets",
        "bce no examples",
        "bce y not a Value",
        "bce bad reduction",
        "se too many targets",
        "se t inf",
        "ce class index K",
        "ce class index -1",
        "ce one-hot too long",
        "ce negative entry",
        "ce entry above 1",
        "ce entry nan",
        "ce float target",
        "ce too few targets",
        "ce one class",
        "ce no outputs",
    ],
)
def test_bad_targets_and_shapes(make: Any, error: type[Exception], word: str) -> None:
    with pytest.raises(error) as info:
        make()
    assert word in str(info.value), str(info.value)


def test_pairing_needs_the_softmax_outputs_in_order() -> None:
    """Outputs given out of order (or one twice) are not [y_1 .. y_K]: no pairing, the lecture's form."""
    logits = [Value(2.0), Value(-1.0)]
    y = softmax(logits)
    swapped = categorical_cross_entropy([y[1], y[0]], [1.0, 0.0])
    # E = -ln(first given output) = -ln(y_2), whatever the order of the softmax's own outputs.
    assert math.isclose(swapped.data, -math.log(y[1].data), rel_tol=1e-12)
    assert swapped.op == "categorical cross-entropy"
    twice = categorical_cross_entropy([y[0], y[0]], [0.0, 1.0])
    assert math.isclose(twice.data, -math.log(y[0].data), rel_tol=1e-12)
    paired = categorical_cross_entropy(y, [1.0, 0.0])
    assert paired.op == "softmax cross-entropy" and math.isclose(
        paired.data, -math.log(y[0].data), rel_tol=1e-12
    )
