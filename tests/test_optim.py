"""Optimisers: each update rule against the same rule computed by hand in plain floats, Adam against
Kingma and Ba's Algorithm 1 step by step (and against torch.optim.Adam when torch is installed), and
bad arguments."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    SGD,
    Adam,
    GradientDescent,
    Momentum,
    Optimizer,
    Value,
    squared_error,
)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def leaves(numbers: list[float]) -> list[Value]:
    return [Value(x, f"w_{i}") for i, x in enumerate(numbers, start=1)]


def run(optimizer: Optimizer, params: list[Value], grads_per_step: list[list[float]]) -> list[float]:
    """Set each step's gradients by hand, step, and return the final parameter values."""
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
    return [p.data for p in params]


# Up to 4 parameters, up to 5 steps of gradients for them.
starts = st.lists(finite(-10, 10), min_size=1, max_size=4)
rates = finite(1e-4, 2.0)


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[float], list[list[float]]]:
    w = draw(starts)
    steps = draw(st.integers(1, 5))
    grads = [draw(st.lists(finite(-100, 100), min_size=len(w), max_size=len(w))) for _ in range(steps)]
    return w, grads


# ------------------------------------------------------------------ gradient descent and SGD


@pytest.mark.parametrize("cls", [GradientDescent, SGD])
@given(problem=problems(), lr=rates)
def test_gradient_descent_is_w_minus_eta_grad(
    cls: type[GradientDescent], problem: tuple[list[float], list[list[float]]], lr: float
) -> None:
    w, grads = problem
    params = leaves(w)
    expected = list(w)
    for step_grads in grads:
        expected = [wi - lr * gi for wi, gi in zip(expected, step_grads)]
    assert run(cls(params, lr=lr), params, grads) == expected  # bit for bit


def test_gradient_descent_full_batch_sums_the_examples_gradients() -> None:
    """The lecture's rule on y = w x + b, E = 1/2 sum_n (t_n - y_n)^2: one step by hand."""
    xs, ts = [1.0, -2.0, 0.5], [0.5, 1.5, -1.0]
    w0, b0, eta = 0.3, -0.1, 0.05
    model = MLP.from_weights([[[w0]]], [[b0]], activations="identity")
    opt = GradientDescent(model.parameters(), lr=eta)
    opt.zero_grad()
    E = squared_error([model([x]) for x in xs], ts)
    E.backward()
    opt.step()
    # dE/dw = sum_n (y_n - t_n) x_n, dE/db = sum_n (y_n - t_n): a sum over all N examples.
    residuals = [w0 * x + b0 - t for x, t in zip(xs, ts)]
    dw = sum(r * x for r, x in zip(residuals, xs))
    db = sum(residuals)
    w, b = model.parameters()
    assert math.isclose(w.data, w0 - eta * dw, rel_tol=1e-14)
    assert math.isclose(b.data, b0 - eta * db, rel_tol=1e-14)
    assert not w.parents and not b.parents  # the update builds no graph


def test_zero_grad_clears_only_its_parameters() -> None:
    a, b, other = Value(1.0), Value(2.0), Value(3.0)
    for v in (a, b, other):
        v.grad = 5.0
    GradientDescent([a, b], lr=0.1).zero_grad()
    assert (a.grad, b.grad, other.grad) == (0.0, 0.0, 5.0)


def test_parameters_may_be_any_iterable() -> None:
    params = leaves([1.0, 2.0])
    opt = GradientDescent(iter(params), lr=0.5)
    assert opt.parameters == params
    params[0].grad, params[1].grad = 2.0, -2.0
    opt.step()
    assert [p.data for p in params] == [0.0, 3.0]


# ------------------------------------------------------------------ momentum


@given(problem=problems(), lr=rates, mu=finite(0.0, 0.99))
def test_momentum_by_hand(problem: tuple[list[float], list[list[float]]], lr: float, mu: float) -> None:
    w, grads = problem
    params = leaves(w)
    expected, v = list(w), [0.0] * len(w)
    for step_grads in grads:
        v = [mu * vi + gi for vi, gi in zip(v, step_grads)]
        expected = [wi - lr * vi for wi, vi in zip(expected, v)]
    assert run(Momentum(params, lr=lr, momentum=mu), params, grads) == expected


def test_momentum_zero_is_gradient_descent() -> None:
    grads = [[1.0, -2.0], [0.5, 0.25], [-3.0, 1.0]]
    a, b = leaves([1.0, 2.0]), leaves([1.0, 2.0])
    assert run(Momentum(a, lr=0.1, momentum=0.0), a, grads) == run(GradientDescent(b, lr=0.1), b, grads)


def test_momentum_accumulates_a_constant_gradient() -> None:
    """With a constant gradient g the step grows to eta g / (1 - mu): 1, 1.9, 2.71, ... times eta g."""
    (w,) = params = leaves([0.0])
    opt = Momentum(params, lr=1.0, momentum=0.9)
    previous, steps = 0.0, []
    for _ in range(3):
        w.grad = 1.0
        opt.step()
        steps.append(previous - w.data)
        previous = w.data
    assert steps == pytest.approx([1.0, 1.9, 2.71], rel=1e-15)


# ------------------------------------------------------------------ Adam


def adam_by_the_paper(
    w: list[float], grads: list[list[float]], lr: float, b1: float, b2: float, eps: float
) -> list[float]:
    """Kingma and Ba (2015), Algorithm 1, written out in plain floats."""
    m, v = [0.0] * len(w), [0.0] * len(w)
    theta = list(w)
    for t, g in enumerate(grads, start=1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]  # biased first moment
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]  # biased second raw moment
        m_hat = [mi / (1 - b1**t) for mi in m]  # bias-corrected
        v_hat = [vi / (1 - b2**t) for vi in v]
        theta = [th - lr * mh / (math.sqrt(vh) + eps) for th, mh, vh in zip(theta, m_hat, v_hat)]
    return theta


@given(
    problem=problems(),
    lr=finite(1e-4, 0.5),
    b1=finite(0.0, 0.99),
    b2=finite(0.0, 0.9999),
    eps=st.sampled_from([1e-8, 1e-6, 0.1]),
)
def test_adam_follows_the_published_algorithm(
    problem: tuple[list[float], list[list[float]]], lr: float, b1: float, b2: float, eps: float
) -> None:
    w, grads = problem
    params = leaves(w)
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    assert run(opt, params, grads) == adam_by_the_paper(w, grads, lr, b1, b2, eps)  # bit for bit
    assert opt.t == len(grads)


def test_adam_first_step_is_about_eta_whatever_the_gradient_scale() -> None:
    """m_hat / sqrt(v_hat) = g / |g| on the first step: the step is eta, in the gradient's direction."""
    params = leaves([0.0, 0.0, 0.0])
    opt = Adam(params, lr=0.01, eps=1e-12)
    run(opt, params, [[1e-3, -5.0, 1e4]])
    assert [p.data for p in params] == pytest.approx([-0.01, 0.01, -0.01], rel=1e-6)


def test_adam_default_arguments() -> None:
    opt = Adam(leaves([1.0]))
    assert (opt.lr, opt.beta1, opt.beta2, opt.eps) == (0.01, 0.9, 0.999, 1e-8)


def test_adam_matches_torch() -> None:
    torch: Any = require_module("torch")
    w0 = [0.5, -1.25, 2.0]
    grads = [[0.1, -0.2, 0.3], [1.0, 0.5, -0.25], [-2.0, 0.0, 0.125], [0.3, 0.3, 0.3]]
    lr, betas, eps = 0.05, (0.8, 0.99), 1e-6
    params = leaves(w0)
    ours = run(Adam(params, lr=lr, betas=betas, eps=eps), params, grads)
    tensor = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    reference = torch.optim.Adam([tensor], lr=lr, betas=betas, eps=eps, foreach=False)
    for g in grads:
        tensor.grad = torch.tensor(g, dtype=torch.float64)
        reference.step()
    # torch divides by sqrt(1 - beta2^t) in another order: equal up to rounding.
    assert ours == pytest.approx(tensor.detach().tolist(), rel=1e-13, abs=1e-15)


# ------------------------------------------------------------------ bad arguments

Factory = Callable[..., Optimizer]
ALL: list[Factory] = [GradientDescent, SGD, Momentum, Adam]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [0, 0.0, -0.1, math.nan, math.inf, -math.inf])
def test_bad_learning_rate(cls: Factory, lr: object) -> None:
    with pytest.raises(ValueError, match="lr"):
        cls(leaves([1.0]), lr=lr)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [True, "0.1", None, 1j])
def test_a_learning_rate_that_is_not_a_number_is_a_type_error(cls: Factory, lr: object) -> None:
    with pytest.raises(TypeError, match="lr must be a real number"):
        cls(leaves([1.0]), lr=lr)


@pytest.mark.parametrize("cls", ALL)
def test_empty_or_non_value_parameters(cls: Factory) -> None:
    with pytest.raises(ValueError, match="empty"):
        cls([], lr=0.1)
    with pytest.raises(TypeError, match="Values"):
        cls([1.0, 2.0], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        cls(Value(1.0), lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        cls(3, lr=0.1)


@pytest.mark.parametrize("cls", ALL)
def test_a_parameter_listed_twice(cls: Factory) -> None:
    w = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        cls([w, Value(2.0), w], lr=0.1)


@pytest.mark.parametrize(
    ("mu", "error"),
    [
        (1.0, ValueError),
        (1.5, ValueError),
        (-0.1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (True, TypeError),
        ("0.9", TypeError),
    ],
)
def test_bad_momentum(mu: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="momentum"):
        Momentum(leaves([1.0]), lr=0.1, momentum=mu)


@pytest.mark.parametrize(
    ("betas", "error", "match"),
    [
        ((0.9,), ValueError, "pair"),
        ((0.9, 0.99, 0.999), ValueError, "pair"),
        (0.9, TypeError, "pair"),
        ("ab", TypeError, "pair"),
        ((1.0, 0.999), ValueError, r"betas\[0\]"),
        ((-0.1, 0.999), ValueError, r"betas\[0\]"),
        ((0.9, 1.0), ValueError, r"betas\[1\]"),
        ((0.9, math.nan), ValueError, r"betas\[1\]"),
        ((0.9, "0.999"), TypeError, r"betas\[1\]"),
    ],
)
def test_bad_adam_betas(betas: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Adam(leaves([1.0]), betas=betas)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("eps", "error"),
    [
        (0.0, ValueError),
        (-1e-8, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        ("1e-8", TypeError),
    ],
)
def test_bad_adam_eps(eps: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="eps"):
        Adam(leaves([1.0]), eps=eps)  # type: ignore[arg-type]


def test_the_base_class_has_no_rule() -> None:
    with pytest.raises(NotImplementedError, match="step"):
        Optimizer(leaves([1.0]), lr=0.1).step()
