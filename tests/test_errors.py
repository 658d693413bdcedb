"""One error hierarchy: every public error class derives from ``MicrogradLiteError``.

* Each class also derives from the builtin that names its kind, so ``except ValueError`` keeps working.
* Across ``nn``, ``datasets``, ``optim``, ``training``, ``serialization`` and ``CompiledLoss``, an
  argument of the wrong type is a ``TypeError`` (never a ``ValueError``) and a wrong value a
  ``ValueError`` (never a ``TypeError``); both are ``MicrogradLiteError``s naming the argument.
* Numbers come in through one set of helpers in ``numerics``: these modules import no ``numbers``.
* ``LossFunction`` is defined once.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import math
import pkgutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import micrograd_lite
from micrograd_lite import (
    MLP,
    SGD,
    Adam,
    CompiledLoss,
    GradientDescent,
    Layer,
    Momentum,
    Neuron,
    Standardizer,
    Value,
    binary_cross_entropy,
    compiled_loss,
    datasets,
    load_parameters,
    numerics,
    save_parameters,
    train,
    training,
)
from micrograd_lite.errors import InputTypeError, InputValueError, MicrogradLiteError, ParameterFileError

PACKAGE = Path(micrograd_lite.__file__).parent


# ---------------------------------------------------------------------- the hierarchy


def public_error_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined (not imported) in a module of the package, private ones aside."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="micrograd_lite."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_public_error_class_derives_from_the_base() -> None:
    classes = public_error_classes()
    names = {qualified.rsplit(".", 1)[1] for qualified in classes}
    # The walk must have found the package's errors, or the check below says nothing.
    assert {
        "MicrogradLiteError",
        "InputTypeError",
        "InputValueError",
        "ParameterFileError",
        "AnomalyError",
        "GraphTooLargeError",
        "GraphvizError",
        "GraphvizNotFoundError",
        "TooManyPathsError",
        "GradcheckError",
    } <= names
    outside = [qualified for qualified, cls in classes.items() if not issubclass(cls, MicrogradLiteError)]
    assert outside == []


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("InputTypeError", TypeError),
        ("InputValueError", ValueError),
        ("ParameterFileError", ValueError),
        ("AnomalyError", ArithmeticError),
        ("GraphTooLargeError", ValueError),
        ("TooManyPathsError", ValueError),
        ("GraphvizError", RuntimeError),
        ("GraphvizNotFoundError", RuntimeError),
        ("GradcheckError", AssertionError),
    ],
)
def test_each_error_is_also_the_builtin_of_its_kind(name: str, builtin: type[Exception]) -> None:
    (cls,) = [c for q, c in public_error_classes().items() if q.rsplit(".", 1)[1] == name]
    assert issubclass(cls, builtin) and issubclass(cls, MicrogradLiteError)


def test_a_type_error_is_not_a_value_error_nor_the_reverse() -> None:
    assert not issubclass(InputTypeError, ValueError)
    assert not issubclass(InputValueError, TypeError)
    assert issubclass(ParameterFileError, InputValueError)


def test_the_errors_are_importable_from_the_package() -> None:
    for name in ("MicrogradLiteError", "InputTypeError", "InputValueError", "ParameterFileError"):
        assert name in micrograd_lite.__all__
        assert getattr(micrograd_lite, name).__module__ == "micrograd_lite.errors"


# --------------------------------------------------- wrong type -> TypeError, wrong value -> ValueError


def model() -> MLP:
    return MLP(2, [2, 1], activations=["tanh", "sigmoid"], seed=0)


def bce(m: MLP, xs: list[list[Value]], ts: list[Value]) -> Value:
    return binary_cross_entropy([m(x) for x in xs], ts)


def train_with(**change: object) -> object:
    m = model()
    arguments: dict[str, object] = {
        "model": m,
        "loss_fn": bce,
        "X": [[0.0, 1.0], [1.0, 0.0]],
        "t": [1, 0],
        "optimizer": GradientDescent(m.parameters(), lr=0.1),
        "epochs": 1,
        **change,
    }
    return train(**arguments)  # type: ignore[arg-type]


def parameter_file(**change: object) -> str:
    out = io.StringIO()
    save_parameters(model(), out)
    return out.getvalue().replace('"version": 1', f'"version": {change.get("version", 1)}')


def leaf() -> list[Value]:
    return [Value(1.0)]


def nan_model() -> MLP:
    m = MLP.from_weights([[[1.0]]], [[0.0]])
    m.parameters()[0].data = math.nan
    return m


# (what is called, the call, the argument its message names)
Call = tuple[str, Callable[[], object], str]

WRONG_TYPES: list[Call] = [
    # nn
    ("MLP(n_inputs=2.5)", lambda: MLP(2.5, [1]), "n_inputs"),  # type: ignore[arg-type]
    ("MLP(n_inputs='2')", lambda: MLP("2", [1]), "n_inputs"),  # type: ignore[arg-type]
    ("MLP(layer_sizes=3)", lambda: MLP(2, 3), "layer_sizes"),  # type: ignore[arg-type]
    ("MLP(layer_sizes=[2.0])", lambda: MLP(2, [2.0]), "layer_sizes[0]"),  # type: ignore[list-item]
    ("MLP(activations=None)", lambda: MLP(2, [1], None), "activations"),  # type: ignore[arg-type]
    ("MLP(activations=[5])", lambda: MLP(2, [1], [5]), "activation"),  # type: ignore[list-item]
    ("MLP(seed=1.5)", lambda: MLP(2, [1], seed=1.5), "seed"),  # type: ignore[arg-type]
    ("model('ab')", lambda: model()("ab"), "x"),
    ("model([1, None])", lambda: model()([1.0, None]), "x_2"),  # type: ignore[list-item]
    ("from_weights(None)", lambda: MLP.from_weights(None, None), "weights"),  # type: ignore[arg-type]
    ("from_weights(str weight)", lambda: MLP.from_weights([[["a"]]], [[0.0]]), "W[1]_11"),  # type: ignore[list-item]
    ("Neuron(weights=5)", lambda: Neuron(5, 0.0), "weights"),  # type: ignore[arg-type]
    ("Neuron(bias='0')", lambda: Neuron([1.0], "0"), "b[1]_1"),  # type: ignore[arg-type]
    ("Layer(weights='ab')", lambda: Layer("ab", [0.0]), "weights"),  # type: ignore[arg-type]
    ("Layer(biases=0.0)", lambda: Layer([[1.0]], 0.0), "biases"),  # type: ignore[arg-type]
    # datasets
    ("xor(n=2.5)", lambda: datasets.xor(n=2.5), "n"),  # type: ignore[arg-type]
    ("xor(noise='0.1')", lambda: datasets.xor(noise="0.1"), "noise"),  # type: ignore[arg-type]
    ("xor(seed=None)", lambda: datasets.xor(seed=None), "seed"),  # type: ignore[arg-type]
    ("circles(factor=True)", lambda: datasets.circles(factor=True), "factor"),
    ("spirals(turns='1')", lambda: datasets.spirals(turns="1"), "turns"),  # type: ignore[arg-type]
    # optim
    ("SGD(lr='0.1')", lambda: SGD(leaf(), lr="0.1"), "lr"),  # type: ignore[arg-type]
    ("SGD(lr=None)", lambda: SGD(leaf(), lr=None), "lr"),  # type: ignore[arg-type]
    ("SGD(parameters=3)", lambda: SGD(3, lr=0.1), "parameters"),  # type: ignore[arg-type]
    ("SGD([1.0])", lambda: SGD([1.0], lr=0.1), "parameters"),  # type: ignore[list-item]
    ("Momentum(momentum=True)", lambda: Momentum(leaf(), lr=0.1, momentum=True), "momentum"),
    ("Adam(betas=0.9)", lambda: Adam(leaf(), betas=0.9), "betas"),  # type: ignore[arg-type]
    ("Adam(eps='1e-8')", lambda: Adam(leaf(), eps="1e-8"), "eps"),  # type: ignore[arg-type]
    # training
    ("train(epochs=2.5)", lambda: train_with(epochs=2.5), "epochs"),
    ("train(epochs=True)", lambda: train_with(epochs=True), "epochs"),
    ("train(batch_size=2.0)", lambda: train_with(batch_size=2.0), "batch_size"),
    ("train(seed=None)", lambda: train_with(seed=None), "seed"),
    ("train(model=None)", lambda: train_with(model=None), "model"),
    ("train(loss_fn='bce')", lambda: train_with(loss_fn="bce"), "loss_fn"),
    ("train(optimizer='adam')", lambda: train_with(optimizer="adam"), "optimizer"),
    ("train(X=object())", lambda: train_with(X=object()), "X"),
    ("Standardizer.fit(5)", lambda: Standardizer().fit(5), "X"),  # type: ignore[arg-type]
    ("Standardizer.fit([1.0])", lambda: Standardizer().fit([1.0]), "example 1"),  # type: ignore[list-item]
    ("Standardizer.fit([['a']])", lambda: Standardizer().fit([["a"]]), "example 1"),  # type: ignore[list-item]
    # serialization
    ("save_parameters('model')", lambda: save_parameters("model", io.StringIO()), "model"),  # type: ignore[arg-type]
    ("save_parameters(path=3)", lambda: save_parameters(model(), 3), "path_or_file"),  # type: ignore[arg-type]
    ("load_parameters({})", lambda: load_parameters({}, io.StringIO()), "model"),  # type: ignore[arg-type]
    ("load_parameters(binary)", lambda: load_parameters(model(), io.BytesIO(b"{}")), "path_or_file"),  # type: ignore[arg-type]
    # compiled steps
    ("CompiledLoss(model=None)", lambda: CompiledLoss(None, bce), "model"),  # type: ignore[arg-type]
    ("CompiledLoss(loss_fn=3)", lambda: CompiledLoss(model(), 3), "loss_fn"),  # type: ignore[arg-type]
    ("compiled step(x str)", lambda: CompiledLoss(model(), bce)([["1", 2.0]], [1]), "x_1"),
]

WRONG_VALUES: list[Call] = [
    # nn
    ("MLP(n_inputs=0)", lambda: MLP(0, [1]), "n_inputs"),
    ("MLP(layer_sizes=[])", lambda: MLP(2, []), "layer_sizes"),
    ("MLP(layer_sizes=[3, 0])", lambda: MLP(2, [3, 0]), "layer_sizes[1]"),
    ("MLP(activation 'swish')", lambda: MLP(2, [1], "swish"), "activation"),  # type: ignore[arg-type]
    ("MLP(hidden softmax)", lambda: MLP(2, [2, 1], ["softmax", "identity"]), "softmax"),
    ("model(3 features)", lambda: model()([1.0, 2.0, 3.0]), "x"),
    ("model(nan)", lambda: model()([1.0, math.nan]), "x_2"),
    ("from_weights(nan)", lambda: MLP.from_weights([[[math.nan]]], [[0.0]]), "W[1]_11"),
    ("from_weights(10**400)", lambda: MLP.from_weights([[[10**400]]], [[0.0]]), "W[1]_11"),
    ("Neuron([])", lambda: Neuron([], 0.0), "weight"),
    ("Layer(ragged)", lambda: Layer([[1.0, 2.0], [3.0]], [0.0, 0.0]), "W[1]"),
    # datasets
    ("xor(n=0)", lambda: datasets.xor(n=0), "n"),
    ("xor(noise=-1)", lambda: datasets.xor(noise=-1.0), "noise"),
    ("xor(noise=nan)", lambda: datasets.xor(noise=math.nan), "noise"),
    ("circles(factor=1)", lambda: datasets.circles(factor=1.0), "factor"),
    ("spirals(turns=0)", lambda: datasets.spirals(turns=0.0), "turns"),
    # optim
    ("SGD(lr=0)", lambda: SGD(leaf(), lr=0.0), "lr"),
    ("SGD(lr=inf)", lambda: SGD(leaf(), lr=math.inf), "lr"),
    ("SGD([])", lambda: SGD([], lr=0.1), "parameters"),
    ("Momentum(momentum=1)", lambda: Momentum(leaf(), lr=0.1, momentum=1.0), "momentum"),
    ("Adam(3 betas)", lambda: Adam(leaf(), betas=(0.9, 0.9, 0.9)), "betas"),  # type: ignore[arg-type]
    ("Adam(betas[1]=1)", lambda: Adam(leaf(), betas=(0.9, 1.0)), "betas[1]"),
    ("Adam(eps=0)", lambda: Adam(leaf(), eps=0.0), "eps"),
    # training
    ("train(epochs=-1)", lambda: train_with(epochs=-1), "epochs"),
    ("train(batch_size=0)", lambda: train_with(batch_size=0), "batch_size"),
    ("train(t too short)", lambda: train_with(t=[1]), "t has 1 targets"),
    ("train(X empty)", lambda: train_with(X=[], t=[]), "X"),
    (
        "train(another model's optimizer)",
        lambda: train_with(optimizer=SGD(model().parameters(), 0.1)),
        "optimizer",
    ),
    ("Standardizer.fit([])", lambda: Standardizer().fit([]), "X"),
    ("Standardizer.fit(10**400)", lambda: Standardizer().fit([[10**400]]), "example 1"),
    ("Standardizer.transform(unfitted)", lambda: Standardizer().transform([[1.0]]), "fit"),
    # serialization
    (
        "load_parameters(version 2)",
        lambda: load_parameters(model(), io.StringIO(parameter_file(version=2))),
        "version",
    ),
    ("load_parameters(garbage)", lambda: load_parameters(model(), io.StringIO("{nope")), "JSON"),
    ("save_parameters(nan weight)", lambda: save_parameters(nan_model(), io.StringIO()), "W[1]_11"),
    # compiled steps
    ("compiled step(nan x)", lambda: CompiledLoss(model(), bce)([[math.nan, 2.0]], [1]), "inputs"),
    ("compiled step(3 targets)", lambda: CompiledLoss(model(), bce)([[1.0, 2.0]], [1, 0, 1]), "targets"),
]


def ids(calls: list[Call]) -> list[str]:
    return [name for name, _, _ in calls]


@pytest.mark.parametrize(("name", "call", "argument"), WRONG_TYPES, ids=ids(WRONG_TYPES))
def test_a_wrong_type_is_a_type_error(name: str, call: Callable[[], object], argument: str) -> None:
    with pytest.raises(TypeError) as info:
        call()
    assert isinstance(info.value, MicrogradLiteError), f"{type(info.value).__name__}: {info.value}"
    assert not isinstance(info.value, ValueError)
    assert argument in str(info.value), str(info.value)


@pytest.mark.parametrize(("name", "call", "argument"), WRONG_VALUES, ids=ids(WRONG_VALUES))
def test_a_wrong_value_is_a_value_error(name: str, call: Callable[[], object], argument: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert isinstance(info.value, MicrogradLiteError), f"{type(info.value).__name__}: {info.value}"
    assert not isinstance(info.value, TypeError)
    assert argument in str(info.value), str(info.value)


def test_a_bad_parameter_file_is_a_parameter_file_error() -> None:
    with pytest.raises(ParameterFileError, match=r"^parameter file: "):
        load_parameters(model(), io.StringIO("[1, 2]"))


# ---------------------------------------------------------------------- one helper, one definition


@pytest.mark.parametrize(
    ("x", "minimum", "expected"), [(1, 1, 1), (0, 0, 0), (7, 1, 7), (True, 1, TypeError), (2.0, 1, TypeError)]
)
def test_to_count_takes_ints_at_least_the_minimum(x: object, minimum: int, expected: object) -> None:
    if expected is TypeError:
        with pytest.raises(InputTypeError, match="k must be an int"):
            numerics.to_count(x, "k", minimum)
    else:
        assert numerics.to_count(x, "k", minimum) == expected


@pytest.mark.parametrize(
    ("x", "minimum", "message"), [(0, 1, "a positive int, got 0"), (-1, 0, "an int >= 0, got -1")]
)
def test_to_count_below_the_minimum_is_a_value_error(x: int, minimum: int, message: str) -> None:
    with pytest.raises(InputValueError, match=f"k must be {message}"):
        numerics.to_count(x, "k", minimum)


def test_to_count_takes_numpy_integers() -> None:
    assert numerics.to_count(np.int64(3), "k") == 3 and type(numerics.to_count(np.int64(3), "k")) is int


@pytest.mark.parametrize("module", ["nn", "optim", "datasets", "training", "serialization"])
def test_numbers_come_in_through_numerics_only(module: str) -> None:
    """No per-module copy of 'a finite real number': these modules never test ``numbers.Real`` themselves."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
        if isinstance(node, ast.Import) or node.module is None
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "numbers" not in imported


def test_the_loss_function_type_is_defined_once() -> None:
    assert training.LossFunction is compiled_loss.LossFunction
    definitions = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "LossFunction" for target in node.targets
            ):
                definitions.append(path.name)
    assert definitions == ["compiled_loss.py"]
