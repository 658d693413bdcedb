"""Batched training steps (``CompiledLoss(..., batched=True)``, ``train(..., batched=True)``).

Checked against the eager engine (``loss_fn(model, xs, ts).backward()``) on random networks,
batches, losses and reductions, and on random graphs that are not networks (the per-node form);
against a closed form and central differences; the matrix form's source; losses that do not split
over the examples refused; numpy missing; ``detect_anomaly()``; the inputs' checks.

Tolerance. The batched code adds the batch's contributions (and, in the matrix form, each
``Delta[l+1] @ W[l+1]``) in numpy's order, not the engine's, so a gradient can differ by rounding
in each term: it is compared within 1e-12 of the sum of its per-example contributions' magnitudes
(plus 1e-13 of the largest such sum, for cancellation inside one example's sums).
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    SGD,
    Adam,
    AnomalyError,
    CompiledLoss,
    Value,
    array_numerics,
    binary_cross_entropy,
    categorical_cross_entropy,
    detect_anomaly,
    losses,
    squared_error,
    sum_values,
    train,
)
from micrograd_lite.batched import NotSeparableError, NumpyMissingError
from micrograd_lite.testing.programs import VALUE_OPS, Program
from micrograd_lite.testing.strategies import programs

Loss = Callable[[MLP, list[Any], list[Any]], Value]


def make_loss(error: str, reduction: str = "sum") -> Loss:
    def loss(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        ys = [model(x) for x in xs]
        if error == "squared":
            return squared_error(ys, ts, reduction=reduction)  # type: ignore[arg-type]
        if error.startswith("binary"):
            return binary_cross_entropy(ys, ts, reduction=reduction, paired=error == "binary")  # type: ignore[arg-type]
        return categorical_cross_entropy(ys, ts, reduction=reduction, paired=error == "categorical")  # type: ignore[arg-type]

    return loss


def eager(model: MLP, loss_fn: Loss, xs: list[Any], ts: list[Any]) -> tuple[float, list[float]]:
    model.zero_grad()
    E = loss_fn(model, xs, ts)
    E.backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    return E.data, grads


def batched(model: MLP, loss_fn: Loss, xs: Any, ts: Any) -> tuple[float, list[float], CompiledLoss]:
    model.zero_grad()
    step = CompiledLoss(model, loss_fn, batched=True)
    E = step(xs, ts)
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    return E, grads, step


def magnitudes(model: MLP, loss_fn: Loss, xs: list[Any], ts: list[Any], factor: float) -> list[float]:
    """Per parameter: the sum over the examples of |its gradient from that example alone| * factor."""
    total = [0.0] * len(model.parameters())
    for x, t in zip(xs, ts):
        _, g = eager(model, loss_fn, [x], [t])
        total = [s + abs(gi) * factor for s, gi in zip(total, g)]
    return total


def assert_agree(
    model: MLP, loss_fn: Loss, one_example: Loss, xs: list[Any], ts: list[Any], factor: float
) -> CompiledLoss:
    """Batched and eager E and gradients agree (the tolerance: module docstring)."""
    E_eager, g_eager = eager(model, loss_fn, xs, ts)
    E_batched, g_batched, step = batched(model, loss_fn, xs, ts)
    assert math.isclose(E_batched, E_eager, rel_tol=1e-12, abs_tol=1e-300), (E_batched, E_eager)
    scale = magnitudes(model, one_example, xs, ts, factor)
    floor = 1e-13 * max(scale)
    for i, (b, e, s) in enumerate(zip(g_batched, g_eager, scale)):
        assert type(b) is float
        assert abs(b - e) <= 1e-12 * s + floor, (i, b, e, s)
    return step


# ------------------------------------------------------------------ random networks
@st.composite
def problems(draw: st.DrawFn) -> tuple[MLP, str, str, list[list[float]], list[Any]]:
    d = draw(st.integers(1, 3), label="inputs")
    hidden = draw(st.lists(st.integers(1, 4), max_size=2), label="hidden widths")
    activations: list[Any] = [draw(st.sampled_from(["sigmoid", "tanh", "relu", "identity"])) for _ in hidden]
    output = draw(st.sampled_from(["identity", "sigmoid", "softmax"]), label="output unit")
    K = draw(st.integers(2, 4)) if output == "softmax" else draw(st.integers(1, 2))
    error = draw(
        st.sampled_from(
            {
                "identity": ["squared"],
                "sigmoid": ["binary", "binary unpaired", "squared"],
                "softmax": ["categorical", "categorical unpaired", "squared"],
            }[output]
        ),
        label="error",
    )
    reduction = draw(st.sampled_from(["sum", "mean"]), label="reduction")
    model = MLP(d, [*hidden, K], activations=[*activations, output], seed=draw(st.integers(0, 10**6)))
    B = draw(st.integers(1, 9), label="batch")
    x = st.floats(-2.0, 2.0, allow_nan=False)
    xs = [draw(st.lists(x, min_size=d, max_size=d)) for _ in range(B)]
    ts: list[Any]
    if error.startswith("categorical"):
        ts = [draw(st.integers(0, K - 1)) for _ in range(B)]
    elif error.startswith("binary") or output == "softmax":
        p = st.sampled_from([0.0, 1.0, 0.25, 0.5])
        ts = [draw(p) if K == 1 else draw(st.lists(p, min_size=K, max_size=K)) for _ in range(B)]
    else:
        ts = [draw(x) if K == 1 else draw(st.lists(x, min_size=K, max_size=K)) for _ in range(B)]
    return model, error, reduction, xs, ts


@settings(deadline=None)
@given(problems())
def test_random_networks_agree_with_the_eager_engine(problem: Any) -> None:
    model, error, reduction, xs, ts = problem
    factor = 1.0 / len(xs) if reduction == "mean" else 1.0
    step = assert_agree(model, make_loss(error, reduction), make_loss(error), xs, ts, factor)
    assert step.compiled is not None and step.compiled.form == "matrix"


@settings(deadline=None, max_examples=20)
@given(problems())
def test_numpy_arrays_give_the_same_step_as_lists(problem: Any) -> None:
    model, error, reduction, xs, ts = problem
    loss_fn = make_loss(error, reduction)
    E_lists, g_lists, _ = batched(model, loss_fn, xs, ts)
    E_arrays, g_arrays, _ = batched(model, loss_fn, np.array(xs), np.array(ts))
    assert (E_arrays, g_arrays) == (E_lists, g_lists)


def test_the_gradient_adds_into_grad_as_backward_does() -> None:
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=1)
    loss_fn = make_loss("squared")
    xs, ts = [[0.5, -1.0], [1.5, 0.25]], [0.3, -0.7]
    _, g = eager(model, loss_fn, xs, ts)
    for k, p in enumerate(model.parameters()):
        p.grad = 0.125 * k
    CompiledLoss(model, loss_fn, batched=True)(xs, ts)
    for k, (p, gk) in enumerate(zip(model.parameters(), g)):
        assert math.isclose(p.grad, 0.125 * k + gk, rel_tol=1e-13, abs_tol=1e-15)


# ------------------------------------------------------------------ independent checks
def test_a_linear_unit_matches_the_closed_form() -> None:
    """y = W x + b, E = 1/2 sum_n (y_n - t_n)^2:
    dE/dW_j = sum_n (y_n - t_n) x_nj, dE/db = sum_n (y_n - t_n)."""
    W, b = [0.75, -1.5], 0.25
    model = MLP.from_weights([[W]], [[b]], "identity")
    xs = [[1.0, 2.0], [-0.5, 0.5], [3.0, -1.0]]
    ts = [0.5, -2.0, 1.0]
    residuals = [W[0] * x[0] + W[1] * x[1] + b - t for x, t in zip(xs, ts)]
    E, grads, _ = batched(model, make_loss("squared"), xs, ts)
    assert math.isclose(E, 0.5 * sum(r * r for r in residuals), rel_tol=1e-15)
    expected = [sum(r * x[j] for r, x in zip(residuals, xs)) for j in range(2)] + [sum(residuals)]
    assert grads == pytest.approx(expected, rel=1e-15, abs=1e-15)


def test_gradients_match_central_differences() -> None:
    model = MLP(3, [4, 3], activations=["tanh", "softmax"], seed=7)
    loss_fn = make_loss("categorical", "mean")
    rng = np.random.default_rng(0)
    xs, ts = rng.uniform(-1, 1, (6, 3)), np.array([0, 2, 1, 1, 0, 2])
    _, grads, step = batched(model, loss_fn, xs, ts)
    h = 1e-6
    for p, g in zip(model.parameters(), grads):
        p.data += h
        up = step(xs, ts)
        p.data -= 2 * h
        down = step(xs, ts)
        p.data += h
        assert abs((up - down) / (2 * h) - g) <= 1e-7
    model.zero_grad()


def test_a_last_smaller_batch_is_not_traced_again() -> None:
    model = MLP(2, [3, 1], activations=["relu", "sigmoid"], seed=2)
    step = CompiledLoss(model, make_loss("binary", "mean"), batched=True)
    step([[0.1, 0.2]] * 8, [1.0] * 8)
    step([[0.3, -0.2]] * 3, [0.0] * 3)
    step([[0.3, -0.2]], [0.0])
    assert step.traces == 1


@pytest.mark.parametrize("batch_size", [None, 4, 1])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_train_batched_follows_the_eager_run(batch_size: int | None, output: str) -> None:
    """10 examples in batches of 4: a last batch of 2; shuffled by the same seed rule as eager."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (10, 2))
    if output == "sigmoid":
        t: Any = (X[:, 0] * X[:, 1] > 0).astype(float)
        sizes, loss_fn = [4, 1], make_loss("binary")
    else:
        t = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
        sizes, loss_fn = [4, 3], make_loss("categorical", "mean")
    runs = []
    for is_batched in (False, True):
        model = MLP(2, sizes, activations=["tanh", output], seed=1)
        data = (X, t) if is_batched else (X.tolist(), t.tolist())
        history = train(
            model, loss_fn, *data, Adam(model.parameters(), lr=0.05), epochs=6,
            batch_size=batch_size, seed=5, compiled=True, batched=is_batched,
        )  # fmt: skip
        runs.append((history.loss, [p.data for p in model.parameters()]))
    assert runs[1][0] == pytest.approx(runs[0][0], rel=1e-10)
    assert runs[1][1] == pytest.approx(runs[0][1], rel=1e-9, abs=1e-12)
    assert runs[1][0][-1] < runs[1][0][0]


def test_train_batched_needs_compiled() -> None:
    model = MLP(1, [1], activations="identity")
    with pytest.raises(ValueError, match="compiled=True"):
        train(model, make_loss("squared"), [[1.0]], [1.0], SGD(model.parameters(), lr=0.1), batched=True)


# ------------------------------------------------------------------ the matrix form
def test_the_source_is_the_lecture_matrix_form() -> None:
    model = MLP(2, [16, 16, 1], activations=["tanh", "tanh", "identity"], seed=0)
    step = CompiledLoss(model, make_loss("squared"), batched=True)
    assert step.source == ""
    step([[0.5, 1.0]] * 4, [0.0] * 4)
    source = step.source
    for line in [
        "Z0 = X  # (B, 2)",
        "A1 = _dot(Z0, W1.T) + b1  # (B, 16)",
        "Z1 = _tanh(A1)  # (B, 16)",
        "A3 = _dot(Z2, W3.T) + b3  # (B, 1)",
        "Delta2 = _tanh_derivative(A2) * _dot(Delta3, W3)  # (B, 16)",
        "dE_dW2[...] = _dot(Delta2.T, Z1)  # (16, 16)",
        "dE_db2[...] = _dot(ones, Delta2)  # (16,)",
        "Wb2 = w[48:320].reshape(16, 17)  # W[2] | b[2]",
    ]:
        assert f"    {line}\n" in source, line
    assert "a1_1" not in source  # no per-unit code


def test_the_matrix_form_gathers_columns_and_scatters_into_unused_parameters() -> None:
    """A loss on the first layer alone, with the inputs swapped: the columns of X are gathered
    (x_2, x_1), and the second layer's parameters, unused, get a gradient of 0."""

    def loss_fn(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        ys = [model.layers[0](list(reversed(model.inputs(x)))) for x in xs]
        return squared_error(ys, ts, reduction="mean")

    model = MLP(2, [2, 1], activations=["sigmoid", "identity"], seed=6)
    xs, ts = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]], [[0.1, 0.9], [0.4, 0.2], [0.7, 0.3]]
    step = assert_agree(model, loss_fn, loss_fn, xs, ts, 1 / 3)
    assert step.compiled is not None and step.compiled.form == "matrix"
    assert "    Z0 = X[:, [1, 0]]  # (B, 2)\n" in step.source
    assert "    in_order = _array([0, 1, 2, 3, 4, 5])  # the parameter of each entry of G\n" in step.source
    assert "        grads[in_order] = G\n" in step.source
    _, grads, _ = batched(model, loss_fn, xs, ts)
    assert grads[6:] == [0.0, 0.0, 0.0] and all(g != 0.0 for g in grads[:6])


def test_the_scalar_compiled_step_shows_its_source_too() -> None:
    model = MLP(1, [1], activations="identity")
    step = CompiledLoss(model, make_loss("squared"))
    step([[1.0]], [0.5])
    assert step.source.startswith("def forward_backward(") and "d_W1_11" in step.source


def test_a_graph_that_is_not_a_network_is_compiled_per_node_with_sanitised_labels() -> None:
    def loss_fn(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        w, b = model.parameters()
        ys = []
        for x in xs:
            (x1,) = model.inputs(x)
            u = w * x1 + b
            u.label = "u'); import os; os.system('x') #"
            ys.append((u * u).tanh() + x1.exp())
        return squared_error(ys, ts)

    model = MLP(1, [1], activations="identity", seed=3)
    xs, ts = [[0.5], [-1.0], [0.25]], [0.1, 0.2, 0.3]
    step = assert_agree(model, loss_fn, loss_fn, xs, ts, 1.0)
    assert step.compiled is not None and step.compiled.form == "per node"
    assert "os.system" not in step.source and "import os" not in step.source and "')" not in step.source
    assert "    u_import_os_os_system_x = mul + b1_1\n" in step.source
    assert "@" not in step.source  # one operation per node, no matrices


def program_loss(program: Program) -> Loss:
    """E = 1/2 sum_n (f(x_n1, parameters) - t_n)^2 with f the random program."""

    def loss_fn(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        params = model.parameters()[: len(program.inputs) - 1]
        return squared_error([program.run(VALUE_OPS, [model.inputs(x)[0], *params])[-1] for x in xs], ts)

    return loss_fn


@settings(deadline=None)
@given(program=programs(min_inputs=2, max_inputs=5, max_operations=10), B=st.integers(1, 5))
def test_random_graphs_agree_with_the_eager_engine(program: Program, B: int) -> None:
    n = len(program.inputs)
    model = MLP(max(1, n - 2), [1], activations="identity")
    for p, value in zip(model.parameters(), program.inputs[1:]):
        p.data = value
    # Examples near the program's own inputs, where its guards hold.
    xs = [[program.inputs[0] * (1 + 1e-3 * k)] + [0.0] * (model.n_inputs - 1) for k in range(B)]
    ts = [0.25 * k for k in range(B)]
    loss_fn = program_loss(program)
    assert_agree(model, loss_fn, loss_fn, xs, ts, 1.0)


# ------------------------------------------------------------------ losses that do not split
def centred(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    ys = [model(x) for x in xs]
    mean = sum_values(ys) * (1.0 / len(ys))
    return squared_error([y - mean for y in ys], ts)  # type: ignore[operator]


def over_the_largest(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    ys = [model(x) for x in xs]
    top = max(ys, key=lambda y: y.data)  # type: ignore[union-attr]
    return squared_error([y / top for y in ys], ts)  # type: ignore[operator]


def per_n_squared(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    return squared_error([model(x) for x in xs], ts) * (1.0 / len(xs) ** 2)


def with_a_weight_penalty(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    penalty = sum_values([p * p for p in model.parameters()])
    return squared_error([model(x) for x in xs], ts) + 0.01 * penalty


def product_of_errors(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    E = Value.constant(1.0)
    for x, t in zip(xs, ts):
        E = E * squared_error(model(x), t)
    return E


@pytest.mark.parametrize(
    "loss_fn", [centred, over_the_largest, per_n_squared, with_a_weight_penalty, product_of_errors]
)
def test_a_loss_that_does_not_split_over_the_examples_is_refused(loss_fn: Loss) -> None:
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=0)
    step = CompiledLoss(model, loss_fn, batched=True)
    with pytest.raises(NotSeparableError, match="does not split into a sum over examples") as error:
        step([[0.5, 1.0], [1.0, -1.0]], [0.5, 0.25])
    assert isinstance(error.value, ValueError) and "batched=False" in str(error.value)
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_python_sum_of_per_example_errors_is_accepted() -> None:
    def loss_fn(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        return sum((model(x) - t) ** 2 for x, t in zip(xs, ts))  # type: ignore[return-value, operator]

    model = MLP(2, [3, 1], activations=["sigmoid", "identity"], seed=4)
    assert_agree(model, loss_fn, loss_fn, [[0.5, 1.0], [1.0, -1.0], [0.0, 2.0]], [0.5, 0.25, 1.0], 1.0)


# ------------------------------------------------------------------ numpy missing
def test_without_numpy_batched_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    model = MLP(1, [1], activations="identity")
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now fails, as if not installed
    with pytest.raises(ImportError, match=r'pip install "micrograd_lite\[fast\]"') as error:
        CompiledLoss(model, make_loss("squared"), batched=True)
    assert isinstance(error.value, NumpyMissingError)
    with pytest.raises(NumpyMissingError, match="numpy is not installed"):
        train(model, make_loss("squared"), [[1.0]], [1.0], SGD(model.parameters(), lr=0.1),
              compiled=True, batched=True)  # fmt: skip
    # Everything else works without numpy.
    assert CompiledLoss(model, make_loss("squared"))([[1.0]], [0.5]) >= 0.0


def test_importing_the_package_does_not_import_numpy() -> None:
    code = (
        "import sys, micrograd_lite\n"
        "from micrograd_lite import MLP, CompiledLoss, squared_error\n"
        "m = MLP(1, [1], activations='identity')\n"
        "CompiledLoss(m, lambda m, xs, ts: squared_error([m(x) for x in xs], ts))([[1.0]], [0.5])\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ detect_anomaly
def huge_inputs_loss(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    return squared_error([model(x) for x in xs], ts)


@pytest.mark.parametrize("network", [["tanh", "identity"], ["relu", "sigmoid"]])
@pytest.mark.parametrize("first", ["finite", "not finite"])
def test_detect_anomaly_raises_the_eager_error(network: list[Any], first: str) -> None:
    """The first example traces fine and the batch overflows (the batched step replays eagerly),
    or the trace itself meets the inf (the eager step runs at once): either way, the eager error."""
    loss_fn = make_loss("squared") if network[-1] == "identity" else make_loss("binary unpaired")
    xs, ts = [[0.5, 1.0], [1e308, 1e308], [0.0, 0.0]], [0.5, 1.0, 0.0]
    if first == "not finite":
        xs = [xs[1], xs[0], xs[2]]
    messages, traces = [], []
    for is_batched in (False, True):
        model = MLP(2, [3, 1], activations=network, seed=0)
        for p in model.parameters():
            p.data = abs(p.data) + 0.5  # every a[1]_i of the second example overflows
        step = CompiledLoss(model, loss_fn, batched=is_batched)
        with detect_anomaly(), pytest.raises(AnomalyError) as error:
            step(xs, ts)
        messages.append(str(error.value))
        traces.append(step.traces)
        assert all(p.grad == 0.0 for p in model.parameters())
    assert messages[0] == messages[1]
    assert "forward pass produced inf at node 'a[1]_1' (op 'linear')" in messages[0]
    assert traces[1] == (1 if first == "finite" else 0)


def test_detect_anomaly_changes_nothing_on_a_finite_step() -> None:
    model = MLP(2, [3, 2], activations=["tanh", "softmax"], seed=0)
    loss_fn = make_loss("categorical")
    xs, ts = [[0.5, 1.0], [1.0, -1.0]], [0, 1]
    E, g, _ = batched(model, loss_fn, xs, ts)
    model.zero_grad()
    with detect_anomaly():
        assert CompiledLoss(model, loss_fn, batched=True)(xs, ts) == E
    assert [p.grad for p in model.parameters()] == g


def test_outside_detect_anomaly_non_finite_numbers_flow_as_ieee() -> None:
    model = MLP(1, [1], activations="identity")
    model.parameters()[0].data = 1e300
    E = CompiledLoss(model, make_loss("squared"), batched=True)([[1e300]], [0.0])
    assert E == math.inf


# ------------------------------------------------------------------ the inputs
@pytest.mark.parametrize(
    ("xs", "ts", "error", "match"),
    [
        ([[1.0, math.nan]], [1.0], ValueError, "finite"),
        ([[1.0, 2.0, 3.0]], [1.0], ValueError, "2 features"),
        ([[1.0, 2.0], [1.0]], [1.0, 1.0], ValueError, "rectangular"),
        ([[True, 2.0]], [1.0], TypeError, "real numbers"),
        (np.array([[True, False]]), [1.0], TypeError, "dtype bool"),
        ([[1.0, "2"]], [1.0], TypeError, "real numbers"),
        ("ab", [1.0], TypeError, "xs must be"),
        ([[1.0, 2.0]], [1.0, 2.0], ValueError, "1 examples but 2 targets"),
        ([[1.0, 2.0]], [math.inf], ValueError, "t_1 must be finite"),
        ([[1.0, 2.0]], ["a"], TypeError, "target t_1"),
        (np.zeros((0, 2)), [], ValueError, "empty"),
        # float64 arrays, the common case, are checked as closely as lists
        (np.array([[1.0, math.nan]]), np.array([1.0]), ValueError, "finite"),
        (np.array([[1.0, math.inf]]), np.array([1.0]), ValueError, "finite"),
        (np.array([[1.0, 2.0, 3.0]]), np.array([1.0]), ValueError, "2 features"),
        (np.array([1.0, 2.0]), np.array([1.0]), ValueError, "2-D"),
        (np.array([[1.0, 2.0]]), np.array([math.nan]), ValueError, "t_1 must be finite"),
        (np.array([[1.0, 2.0]] * 2), np.array([[0.0], [-math.inf]]), ValueError, "t_2 must be finite"),
        (np.array([[1.0, 2.0]]), np.array([1.0, 2.0]), ValueError, "1 examples but 2 targets"),
        (np.array([[1.0, 2.0]]), np.array(1.0), ValueError, "1-D or 2-D|targets"),
    ],
)
def test_bad_inputs_are_clear_errors(xs: Any, ts: Any, error: type[Exception], match: str) -> None:
    model = MLP(2, [1], activations="identity")
    with pytest.raises(error, match=match):
        CompiledLoss(model, make_loss("squared"), batched=True)(xs, ts)


def test_a_class_index_out_of_range_is_refused() -> None:
    model = MLP(2, [3], activations="softmax")
    with pytest.raises(ValueError, match=r"class index t_2 = 3 is not in 0\.\.2"):
        CompiledLoss(model, make_loss("categorical"), batched=True)([[1.0, 2.0]] * 2, [0, 3])


def test_a_float64_array_is_used_without_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    model = MLP(2, [1], activations="identity")
    seen = []
    step = CompiledLoss(model, make_loss("squared"), batched=True)
    step([[1.0, 2.0]], [0.0])
    assert step.compiled is not None
    function = step.compiled.function

    def spy(X: Any, *args: Any) -> Any:
        seen.append(X)
        return function(X, *args)

    monkeypatch.setattr(step.compiled, "function", spy)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    step(X, np.array([0.0, 1.0]))
    assert seen[0] is X


# ------------------------------------------------------------------ the errors on arrays
@settings(deadline=None)
@given(
    op=st.sampled_from(sorted(losses.TERMS)),
    K=st.integers(1, 4),
    data=st.data(),
)
def test_the_errors_on_arrays_agree_with_the_float_functions(op: str, K: int, data: st.DataObject) -> None:
    B = data.draw(st.integers(1, 4))
    if op in ("binary cross-entropy", "categorical cross-entropy"):
        y = st.floats(1e-3, 1 - 1e-3)
    else:
        y = st.floats(-40.0, 40.0)
    t = st.sampled_from([0.0, 1.0, 0.25, 0.5])
    Y = np.array([[data.draw(y) for _ in range(K)] for _ in range(B)])
    T = np.array([[data.draw(t) for _ in range(K)] for _ in range(B)])
    value, d_Y, d_T = array_numerics.TERMS[op](Y, T)
    for n in range(B):
        expected, local = losses.TERMS[op](Y[n].tolist(), T[n].tolist())
        assert math.isclose(value[n], expected, rel_tol=1e-13, abs_tol=1e-300)
        for ours, theirs in zip([*d_Y[n], *d_T[n]], local):
            assert math.isclose(ours, theirs, rel_tol=1e-13, abs_tol=1e-15), (ours, theirs)


# ------------------------------------------------------------------ moving numbers to and from numpy
def test_parameter_copy_reads_values_and_adds_gradients_in_order() -> None:
    from micrograd_lite.batched import parameter_copy, read_parameter_values

    parameters = [Value(float(k) + 0.5, f"p{k}") for k in range(5)]
    for k, p in enumerate(parameters):
        p.grad = -float(k)
    values = np.zeros(5)
    read_parameter_values(parameters, values)
    assert values.tolist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    parameter_copy(5).add_gradients(parameters, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert [p.grad for p in parameters] == [1.0, 1.0, 1.0, 1.0, 1.0]  # added, not set
    assert all(type(p.grad) is float for p in parameters)


def test_parameter_copy_of_many_parameters_is_loops_and_does_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from micrograd_lite import batched
    from micrograd_lite.batched import parameter_copy, read_parameter_values

    monkeypatch.setattr(batched, "STRAIGHT_LINE_PARAMETERS", 3)
    monkeypatch.setattr(batched, "_COPIES", {})
    parameters = [Value(float(k) - 1.5, f"p{k}") for k in range(4)]
    values = np.zeros(4)
    read_parameter_values(parameters, values)
    assert values.tolist() == [-1.5, -0.5, 0.5, 1.5]
    parameter_copy(4).add_gradients(parameters, [1.0, 2.0, 3.0, 4.0])
    parameter_copy(4).add_gradients(parameters, [1.0, 2.0, 3.0, 4.0])
    assert [p.grad for p in parameters] == [2.0, 4.0, 6.0, 8.0]
    with pytest.raises(TypeError, match="holds str"):
        parameters[2].data = "x"  # type: ignore[assignment]
        read_parameter_values(parameters, values)


def test_a_parameter_that_holds_no_number_is_a_clear_error() -> None:
    from micrograd_lite.batched import read_parameter_values

    parameters = [Value(1.0, "W[1]_11"), Value(2.0, "b[1]_1")]
    parameters[1].data = "2"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"parameter b\[1\]_1 holds str '2', not a number"):
        read_parameter_values(parameters, np.zeros(2))


def test_the_ones_vector_is_shared_and_read_only() -> None:
    ones = array_numerics.ones(7)
    assert ones.tolist() == [1.0] * 7 and array_numerics.ones(7) is ones
    with pytest.raises(ValueError, match="read-only"):
        ones[0] = 2.0


def test_a_step_reads_the_parameters_anew_every_call() -> None:
    """The gathered values are never reused: a change of p.data between calls is seen."""
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=1)
    step = CompiledLoss(model, make_loss("squared"), batched=True)
    X, t = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([0.3, -0.2])
    step(X, t)
    for p in model.parameters():
        p.data *= 1.5
    model.zero_grad()
    E = step(X, t)
    model.zero_grad()
    expected = make_loss("squared")(model, X.tolist(), t.tolist())
    expected.backward()
    assert math.isclose(E, expected.data, rel_tol=1e-12)


def test_threads_sharing_one_batched_step_each_get_their_own_batch() -> None:
    """The compiled code reads the weights and writes the gradients in shared arrays: steps from
    several threads run one at a time, so every thread's gradients are its own batch's."""
    import threading

    model = MLP(2, [8, 1], activations=["tanh", "identity"], seed=2)
    step = CompiledLoss(model, make_loss("squared"), batched=True)
    rng = np.random.default_rng(5)
    batches = [(rng.normal(size=(16, 2)), rng.normal(size=16)) for _ in range(4)]
    expected = [0.0] * len(model.parameters())
    for X, t in batches:
        model.zero_grad()
        step(X, t)
        expected = [e + p.grad for e, p in zip(expected, model.parameters())]
    model.zero_grad()
    steps = 40
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a race would show
    try:
        threads = [
            threading.Thread(target=lambda X=X, t=t: [step(X, t) for _ in range(steps)]) for X, t in batches
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(0.005)
    for e, p in zip(expected, model.parameters()):
        assert math.isclose(p.grad, steps * e, rel_tol=1e-9, abs_tol=1e-9)
