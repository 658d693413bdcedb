"""Input standardisation and the training loop: hand-computed statistics, a zero-variance feature,
loss going down on XOR and two moons, eager and compiled runs equal bit for bit, minibatches, the
progress bar, and bad arguments."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    SGD,
    Adam,
    GradientDescent,
    Momentum,
    Standardizer,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    squared_error,
    train,
)
from micrograd_lite import training as training_module
from micrograd_lite.compiled_loss import CompiledLoss
from micrograd_lite.datasets import three_blobs, two_moons, xor


def bce(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    return binary_cross_entropy([model(x) for x in xs], ts)


def cce(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
    return categorical_cross_entropy([model(x) for x in xs], ts)


def accuracy(model: MLP, X: list[list[float]], t: list[int]) -> float:
    return sum((model(x).data > 0.5) == bool(tn) for x, tn in zip(X, t)) / len(X)  # type: ignore[union-attr]


def classifier(width: int = 4, seed: int = 0) -> MLP:
    return MLP(2, [width, 1], activations=["tanh", "sigmoid"], seed=seed)


# ------------------------------------------------------------------ Standardizer


def test_standardizer_by_hand() -> None:
    X = [[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]]
    s = Standardizer().fit(X)
    assert s.mean == [2.0, 30.0]
    # Population standard deviation: sqrt(sum (x - mean)^2 / N).
    assert s.std == pytest.approx([math.sqrt(2 / 3), math.sqrt((400 + 100 + 900) / 3)], rel=1e-15)
    Z = s.transform(X)
    for j in range(2):
        column = [row[j] for row in Z]
        assert sum(column) == pytest.approx(0.0, abs=1e-15)
        assert sum(v * v for v in column) / 3 == pytest.approx(1.0, rel=1e-14)
    # Other data is mapped with the training statistics, not its own.
    assert s.transform([[2.0, 30.0], [4.0, 30.0]]) == [[0.0, 0.0], [pytest.approx(2 / math.sqrt(2 / 3)), 0.0]]
    assert s.fit_transform(X) == Z
    assert X == [[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]]  # the input is left alone


@given(
    st.lists(
        st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=3),
        min_size=2,
        max_size=30,
    )
)
def test_standardized_features_have_mean_0_and_std_1(X: list[list[float]]) -> None:
    s = Standardizer()
    Z = s.fit_transform(X)
    assert s.std is not None
    for j in range(3):
        column = [row[j] for row in Z]
        if min(r[j] for r in X) == max(r[j] for r in X):
            assert column == [0.0] * len(X) and s.std[j] == 1.0
            continue
        mean = sum(column) / len(column)
        assert abs(mean) < 1e-9
        if s.std[j] > 1e-6:  # far from the rounding floor of the data
            assert sum((v - mean) ** 2 for v in column) / len(column) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("constant", [0.0, 0.1, -3.7, 1e300])
def test_a_zero_variance_feature_is_centred_not_divided_by_zero(constant: float) -> None:
    # Three 0.1s average to 0.10000000000000002: a computed mean would leave a std of 1e-17.
    X = [[constant, 1.0], [constant, 2.0], [constant, 4.0]]
    s = Standardizer().fit(X)
    assert s.mean is not None and s.std is not None
    assert s.mean[0] == constant and s.std[0] == 1.0
    Z = s.transform(X)
    assert [row[0] for row in Z] == [0.0, 0.0, 0.0]
    assert all(math.isfinite(v) for row in Z for v in row)
    # Data unlike the training data moves by the plain difference.
    assert s.transform([[constant + 2.0, 2.0]])[0][0] == (constant + 2.0) - constant


@pytest.mark.parametrize("scale", [1e-200, 1e-5, 1e200, 1e300])
def test_standardizing_does_not_depend_on_the_scale(scale: float) -> None:
    """No squares underflow to 0 (a std of 0) or overflow to inf: the feature's scale drops out."""
    X = [[scale * v] for v in (1.0, 2.0, 4.0, -3.0)]
    expected = Standardizer().fit_transform([[1.0], [2.0], [4.0], [-3.0]])
    assert Standardizer().fit_transform(X) == [[pytest.approx(row[0], rel=1e-13)] for row in expected]


def test_a_single_example_is_centred() -> None:
    assert Standardizer().fit_transform([[5.0, -2.0]]) == [[0.0, 0.0]]


@pytest.mark.parametrize(
    ("X", "match"),
    [
        ([], "empty"),
        ([[]], "same, non-zero number"),
        ([[1.0, 2.0], [3.0]], "same, non-zero number"),
        ([[1.0, math.nan]], "nan or inf"),
        ([[math.inf, 1.0]], "nan or inf"),
    ],
)
def test_standardizer_bad_training_data(X: list[list[float]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Standardizer().fit(X)


def test_standardizer_transform_needs_fit_and_the_same_width() -> None:
    with pytest.raises(ValueError, match="call fit"):
        Standardizer().transform([[1.0]])
    s = Standardizer().fit([[1.0, 2.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="example 2 has 3 features, expected 2"):
        s.transform([[1.0, 2.0], [1.0, 2.0, 3.0]])


# ------------------------------------------------------------------ training: the loss goes down


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: GradientDescent(p, lr=0.05),
        lambda p: Momentum(p, lr=0.02, momentum=0.9),
        lambda p: Adam(p, lr=0.05),
    ],
    ids=["gradient descent", "momentum", "adam"],
)
def test_xor_is_learned(make_optimizer: Any) -> None:
    X, t = xor(n=40, seed=0)
    model = classifier()
    history = train(model, bce, X, t, make_optimizer(model.parameters()), epochs=150)
    assert len(history.loss) == 150
    assert history.loss[-1] < 0.05 * history.loss[0]
    assert accuracy(model, X, t) == 1.0


def test_two_moons_is_learned_with_minibatches() -> None:
    X, t = two_moons(n=60, seed=0)
    model = classifier(width=8)
    history = train(model, bce, X, t, SGD(model.parameters(), lr=0.1), epochs=60, batch_size=8, seed=1)
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert accuracy(model, X, t) >= 0.9


def test_full_batch_gradient_descent_is_the_lecture_rule() -> None:
    """train(..., GradientDescent) on y = w x + b equals W(new) = W(old) - eta sum_n grad E_n, by hand."""
    xs, ts = [[1.0], [-2.0], [0.5]], [0.5, 1.5, -1.0]
    w, b, eta = 0.3, -0.1, 0.05
    model = MLP.from_weights([[[w]]], [[b]], activations="identity")
    history = train(
        model,
        lambda m, x, t: squared_error([m(xn) for xn in x], t),
        xs,
        ts,
        GradientDescent(model.parameters(), lr=eta),
        epochs=4,
    )
    for epoch in range(4):
        residuals = [w * x[0] + b - tn for x, tn in zip(xs, ts)]
        assert history.loss[epoch] == pytest.approx(0.5 * sum(r * r for r in residuals), rel=1e-14)
        w, b = (
            w - eta * sum(r * x[0] for r, x in zip(residuals, xs)),
            b - eta * sum(residuals),
        )
    assert [p.data for p in model.parameters()] == pytest.approx([w, b], rel=1e-14)


# ------------------------------------------------------------------ eager and compiled agree


@pytest.mark.parametrize("batch_size", [None, 7, 40, 1000])
@pytest.mark.parametrize(
    "make_optimizer",
    [lambda p: GradientDescent(p, lr=0.02), lambda p: Momentum(p, lr=0.02), lambda p: Adam(p, lr=0.05)],
    ids=["gradient descent", "momentum", "adam"],
)
def test_eager_and_compiled_histories_are_identical(make_optimizer: Any, batch_size: int | None) -> None:
    X, t = two_moons(n=40, seed=3)
    runs = []
    for compiled in (False, True):
        model = classifier(width=5, seed=2)
        history = train(
            model,
            bce,
            X,
            t,
            make_optimizer(model.parameters()),
            epochs=12,
            batch_size=batch_size,
            seed=4,
            compiled=compiled,
        )
        runs.append((history.loss, [p.data for p in model.parameters()]))
    assert runs[0] == runs[1]  # bit for bit: the losses after every epoch and the final weights


def test_eager_and_compiled_agree_for_softmax_and_class_indices() -> None:
    X, t = three_blobs(n=30, seed=1)
    runs = []
    for compiled in (False, True):
        model = MLP(2, [4, 3], activations=["relu", "softmax"], seed=5)
        history = train(
            model, cce, X, t, Adam(model.parameters(), lr=0.05), epochs=10, batch_size=8, compiled=compiled
        )
        runs.append((history.loss, [p.data for p in model.parameters()]))
    assert runs[0] == runs[1]
    assert runs[0][0][-1] < runs[0][0][0]


def test_compiled_minibatches_trace_once_per_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """40 examples in batches of 16 give batches of 16, 16 and 8: two traces, not two every epoch."""
    traced = []

    class Counting(CompiledLoss):
        def _trace(self, *args: Any, **kwargs: Any) -> None:
            traced.append(len(args[0]))
            super()._trace(*args, **kwargs)

    monkeypatch.setattr(training_module, "CompiledLoss", Counting)
    X, t = xor(n=40)
    model = classifier()
    train(model, bce, X, t, SGD(model.parameters(), lr=0.05), epochs=5, batch_size=16, compiled=True)
    assert sorted(traced) == [8, 16]


# ------------------------------------------------------------------ minibatches


class Recorder(SGD):
    """SGD that counts its steps."""

    steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


@pytest.mark.parametrize(("n", "batch_size", "steps"), [(10, None, 1), (10, 3, 4), (10, 5, 2), (10, 10, 1)])
def test_one_step_per_minibatch_and_every_example_once_per_epoch(
    n: int, batch_size: int | None, steps: int
) -> None:
    X, t = xor(n=n)
    seen: list[list[tuple[float, ...]]] = []

    def loss(model: MLP, xs: list[Any], ts: list[Any]) -> Value:
        seen.append([tuple(x) for x in xs])
        return bce(model, xs, ts)

    model = classifier()
    opt = Recorder(model.parameters(), lr=0.01)
    train(model, loss, X, t, opt, epochs=3, batch_size=batch_size, seed=7)
    assert opt.steps == 3 * steps
    for epoch in range(3):
        batches = seen[epoch * steps : (epoch + 1) * steps]
        assert sorted(x for batch in batches for x in batch) == sorted(tuple(x) for x in X)
        if batch_size is not None:
            assert [len(b) for b in batches[:-1]] == [batch_size] * (steps - 1)
    if batch_size is not None and batch_size < n:
        assert seen[0] != seen[steps]  # reshuffled every epoch


def test_the_shuffle_follows_the_seed() -> None:
    X, t = two_moons(n=30)

    def history(seed: int) -> list[float]:
        model = classifier()
        return train(
            model, bce, X, t, SGD(model.parameters(), lr=0.05), epochs=5, batch_size=4, seed=seed
        ).loss

    assert history(1) == history(1)
    assert history(1) != history(2)
    assert history(np.int64(1)) == history(1)  # any integer type is the int it equals


def test_numpy_arrays_and_integer_types_are_accepted() -> None:
    X, t = two_moons(n=12)

    def run(**kwargs: Any) -> list[float]:
        model = classifier()
        return train(model, bce, epochs=3, optimizer=SGD(model.parameters(), lr=0.05), **kwargs).loss

    expected = run(X=X, t=t, batch_size=5, seed=2)
    assert run(X=np.array(X), t=np.array(t), batch_size=np.int64(5), seed=np.int32(2)) == expected


def test_zero_epochs_leave_the_model_alone() -> None:
    X, t = xor(n=8)
    model = classifier()
    before = [p.data for p in model.parameters()]
    assert train(model, bce, X, t, Adam(model.parameters()), epochs=0).loss == []
    assert [p.data for p in model.parameters()] == before


# ------------------------------------------------------------------ progress


def test_progress_bar_with_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    X, t = xor(n=8)
    model = classifier()
    train(model, bce, X, t, Adam(model.parameters()), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err


def test_progress_without_tqdm(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    X, t = xor(n=8)
    model = classifier()
    history = train(model, bce, X, t, Adam(model.parameters()), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and f"E = {history.loss[-1]:.6g}" in err


def test_no_output_without_progress(capsys: pytest.CaptureFixture[str]) -> None:
    X, t = xor(n=8)
    model = classifier()
    train(model, bce, X, t, Adam(model.parameters()), epochs=3)
    assert capsys.readouterr() == ("", "")


# ------------------------------------------------------------------ bad arguments


def good() -> dict[str, Any]:
    X, t = xor(n=8)
    model = classifier()
    return {"model": model, "loss_fn": bce, "X": X, "t": t, "optimizer": Adam(model.parameters())}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"epochs": -1}, ValueError, "epochs"),
        ({"epochs": 2.5}, TypeError, "epochs must be an int, got float"),
        ({"epochs": True}, TypeError, "epochs must be an int, got bool"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -4}, ValueError, "batch_size"),
        ({"batch_size": 2.0}, TypeError, "batch_size"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"t": [0, 1, 1]}, ValueError, "8 examples but t has 3 targets"),
        ({"X": [], "t": []}, ValueError, "empty"),
        ({"loss_fn": "bce"}, TypeError, "loss_fn"),
        ({"optimizer": "adam"}, TypeError, "Optimizer"),
        ({"loss_fn": lambda m, xs, ts: 1.0}, TypeError, "must return E as a Value"),
        ({"model": object()}, TypeError, "model must be an MLP, got object"),
        ({"model": None}, TypeError, "model must be an MLP, got NoneType"),
        ({"seed": None}, TypeError, r"seed must be an int, got NoneType .*seed=random.randrange"),
        ({"seed": 1.5}, TypeError, "seed must be an int, got float 1.5"),
        ({"seed": "abc"}, TypeError, "seed must be an int, got str 'abc'"),
        ({"seed": True}, TypeError, "seed must be an int, got bool"),
        ({"X": object()}, TypeError, "X must be a list"),
        ({"t": 5}, TypeError, "t must be a list"),
        ({"X": "abcdefgh"}, TypeError, "X must be a list"),
    ],
)
def test_bad_arguments(change: dict[str, Any], error: type[Exception], match: str) -> None:
    kwargs = {"epochs": 1, **good(), **change}
    with pytest.raises(error, match=match):
        train(**kwargs)


def test_an_optimizer_of_another_model() -> None:
    kwargs = good()
    kwargs["optimizer"] = Adam(classifier().parameters())
    with pytest.raises(ValueError, match="not the model's"):
        train(**kwargs)


def test_an_optimizer_over_some_of_the_parameters_trains_only_those() -> None:
    kwargs = good()
    model = kwargs["model"]
    first_layer = model.layers[0].parameters()
    kwargs["optimizer"] = GradientDescent(first_layer, lr=0.1)
    frozen = [p.data for p in model.layers[1].parameters()]
    train(**kwargs, epochs=3)
    assert [p.data for p in model.layers[1].parameters()] == frozen


def test_a_wrongly_sized_example_is_reported() -> None:
    kwargs = good()
    kwargs["X"] = [[1.0, 2.0, 3.0]] * 8
    with pytest.raises(ValueError, match="features"):
        train(**kwargs)


def test_standardizing_features_of_subnormal_size_gives_minus_one_and_one() -> None:
    # mean 2.5e-324 is not a float: computed in unscaled units the column maps to [0, 1]
    assert Standardizer().fit_transform([[0.0], [5e-324]]) == [[-1.0], [1.0]]
    assert Standardizer().fit_transform([[1e-320], [3e-320]]) == [[-1.0], [1.0]]


def test_standardizing_features_near_the_largest_float_does_not_overflow() -> None:
    # the sum 2.5e308 overflows (math.fsum raised OverflowError here)
    assert Standardizer().fit_transform([[1.5e308], [1e308]]) == [[1.0], [-1.0]]
    with pytest.raises(ValueError, match="too large for a float"):
        Standardizer().fit([[10**400]])
