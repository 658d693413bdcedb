"""Hardening: parameter files (JSON, bit-exact, validated) and clear errors for bad input.

* ``save_parameters`` / ``load_parameters`` round-trip every float bit for bit (also ``-0.0``,
  subnormals, ``1e308``); a bad file (garbage, wrong types, wrong shapes, non-finite numbers, missing
  or extra keys, deep nesting) raises ``ValueError`` naming what is wrong and where, and the network
  is left exactly as it was.
* A table of bad calls across the public API: each raises the expected exception type with a message
  that names the argument.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    delta_table,
    lecture_network,
    linear,
    serialization,
    softmax,
    squared_error,
    sum_values,
    topological_order,
    worked_example,
)
from micrograd_lite.serialization import load_parameters, save_parameters
from micrograd_lite.testing import gradcheck
from micrograd_lite.testing.strategies import NetworkCase, networks

# ------------------------------------------------------------------------ parameter files


def bits(model: MLP) -> list[str]:
    """Every parameter as ``float.hex``: equal lists mean bit-identical parameters (sign of 0 too)."""
    return [p.data.hex() for p in model.parameters()]


def saved(model: MLP) -> str:
    f = io.StringIO()
    save_parameters(model, f)
    return f.getvalue()


any_float = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def wild_networks(draw: st.DrawFn) -> MLP:
    """Networks whose parameters are any finite floats: subnormals, -0.0, +-1.7e308."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    weights = [
        [draw(st.lists(any_float, min_size=n, max_size=n)) for _ in range(m)]
        for n, m in itertools.pairwise(sizes)
    ]
    biases = [draw(st.lists(any_float, min_size=m, max_size=m)) for m in sizes[1:]]
    activations = draw(
        st.lists(
            st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
            min_size=len(weights),
            max_size=len(weights),
        )
    )
    return MLP.from_weights(weights, biases, activations)  # type: ignore[arg-type]


@given(wild_networks())
def test_round_trip_is_bit_exact_for_any_finite_parameters(model: MLP) -> None:
    copy = MLP.from_weights(
        [[[0.0] * len(row) for row in W] for W in model.weights()],
        [[0.0] * len(b) for b in model.biases()],
        [layer.activation for layer in model.layers],  # type: ignore[misc]
    )
    load_parameters(copy, io.StringIO(saved(model)))
    assert bits(copy) == bits(model)


@settings(deadline=None)
@given(case=networks(), seed=st.integers(0, 2**32))
def test_round_trip_through_a_file(
    tmp_path_factory: pytest.TempPathFactory, case: NetworkCase, seed: int
) -> None:
    model = case.build()
    path = tmp_path_factory.mktemp("params") / "model.json"
    save_parameters(model, path)
    other = MLP(case.sizes[0], case.sizes[1:], case.activations, seed=seed)  # type: ignore[arg-type]
    assert load_parameters(other, str(path)) is other
    assert bits(other) == bits(model)
    assert other(case.x[0]) is not None
    assert os.listdir(path.parent) == ["model.json"]  # no temporary file left behind


def test_the_file_is_plain_json_recording_sizes_and_activations() -> None:
    model = MLP(2, [3, 1], activations=["tanh", "sigmoid"], seed=1)
    document = json.loads(saved(model))
    assert document["format"] == "micrograd_lite.parameters" and document["version"] == 1
    assert document["sizes"] == [2, 3, 1]
    assert document["activations"] == ["tanh", "sigmoid"]
    assert document["W"] == model.weights() and document["b"] == model.biases()
    source = Path(serialization.__file__).read_text()
    assert "import pickle" not in source and "json.load" in source


def test_lecture_network_round_trip() -> None:
    model = lecture_network()
    text = saved(model)
    assert "[0.15, -0.25]" in text  # repr: the lecturer's numbers read as written
    other = lecture_network(seed=5)
    load_parameters(other, io.StringIO(text))
    assert other.weights() == model.weights()


def document(**changes: Any) -> dict[str, Any]:
    """A valid file for ``MLP(2, [2, 1], ["tanh", "identity"])`` with some keys changed."""
    doc: dict[str, Any] = {
        "format": "micrograd_lite.parameters",
        "version": 1,
        "sizes": [2, 2, 1],
        "activations": ["tanh", "identity"],
        "W": [[[0.5, -0.5], [0.25, 1.0]], [[2.0, -1.0]]],
        "b": [[0.0, 0.1], [0.2]],
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


def with_entry(key: str, path: tuple[int, ...], value: Any) -> str:
    doc = document()
    target = doc[key]
    for i in path[:-1]:
        target = target[i]
    target[path[-1]] = value
    return json.dumps(doc)


BAD_FILES: list[tuple[str, str, str]] = [
    ("not json", "this is not JSON", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("truncated", json.dumps(document())[:-10], "not valid JSON"),
    ("list at top", "[1, 2, 3]", "top level must be a JSON object, got list"),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("missing b", json.dumps(document(b=...)), "missing key(s) 'b'"),
    ("missing two", json.dumps(document(W=..., sizes=...)), "missing key(s) 'sizes', 'W'"),
    ("extra key", json.dumps(document(comment="hi")), "unexpected key(s) 'comment'"),
    ("wrong format", json.dumps(document(format="torch")), "format must be 'micrograd_lite.parameters'"),
    ("version 2", json.dumps(document(version=2)), "version 2 is not supported"),
    ("version true", json.dumps(document(version=True)), "version True is not supported"),
    (
        "other sizes",
        json.dumps(document(sizes=[2, 3, 1])),
        "sizes [2, 3, 1] do not match the model's [2, 2, 1]",
    ),
    ("float sizes", json.dumps(document(sizes=[2.0, 2, 1])), "sizes [2.0, 2, 1] do not match"),
    ("sizes not a list", json.dumps(document(sizes="2-2-1")), "sizes '2-2-1' do not match"),
    (
        "activations",
        json.dumps(document(activations=["relu", "identity"])),
        "activations ['relu', 'identity'] do not",
    ),
    ("W not a list", json.dumps(document(W={"0": 1})), "W must be a list, got dict"),
    (
        "one layer of W",
        json.dumps(document(W=[[[0.5, -0.5], [0.25, 1.0]]])),
        "W has 1 entries, the model needs 2",
    ),
    (
        "three rows",
        json.dumps(document(W=[[[0.5, -0.5], [0.25, 1.0], [0.0, 0.0]], [[2.0, -1.0]]])),
        "W[1] (W[0] in the file) has 3 entries",
    ),
    ("long row", with_entry("W", (1, 0), [2.0, -1.0, 3.0]), "row 1 of W[2] has 3 entries, the model needs 2"),
    (
        "string weight",
        with_entry("W", (0, 0, 1), "0.5"),
        "W[1]_12 (W[0][0][1] in the file) must be a number, got str",
    ),
    (
        "bool weight",
        with_entry("W", (0, 1, 0), True),
        "W[1]_21 (W[0][1][0] in the file) must be a number, got bool",
    ),
    (
        "null weight",
        with_entry("W", (1, 0, 1), None),
        "W[2]_12 (W[1][0][1] in the file) must be a number, got NoneType",
    ),
    (
        "nested weight",
        with_entry("W", (1, 0, 1), [1.0]),
        "W[2]_12 (W[1][0][1] in the file) must be a number, got list",
    ),
    ("NaN bias", json.dumps(document()).replace("[0.2]", "[NaN]"), "NaN is not a finite number"),
    ("Infinity", json.dumps(document()).replace("[0.2]", "[-Infinity]"), "-Infinity is not a finite number"),
    (
        "1e400",
        json.dumps(document()).replace("[0.2]", "[1e400]"),
        "b[2]_1 (b[1][0] in the file) must be finite",
    ),
    (
        "huge int",
        json.dumps(document()).replace("[0.2]", "[1" + "0" * 400 + "]"),
        "b[2]_1 (b[1][0] in the file) must be finite",
    ),
    ("short b", with_entry("b", (0,), [0.0]), "b[1] (b[0] in the file) has 1 entries, the model needs 2"),
    ("b scalar", with_entry("b", (1,), 0.2), "b[2] (b[1] in the file) must be a list, got float"),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD_FILES], ids=[i for i, _, _ in BAD_FILES]
)
def test_bad_files_are_rejected_and_leave_the_network_unchanged(text: str, message: str) -> None:
    model = MLP(2, [2, 1], activations=["tanh", "identity"], seed=3)
    before = bits(model)
    assert load_parameters(MLP(2, [2, 1], ["tanh", "identity"]), io.StringIO(json.dumps(document())))
    with pytest.raises(ValueError) as info:
        load_parameters(model, io.StringIO(text))
    assert message in str(info.value)
    assert str(info.value).startswith("parameter file: ")
    assert bits(model) == before


def test_a_bad_last_number_changes_nothing(tmp_path: Path) -> None:
    """Validation runs over the whole file before the first assignment."""
    model = MLP(2, [2, 1], activations=["tanh", "identity"], seed=3)
    before = bits(model)
    path = tmp_path / "p.json"
    path.write_text(with_entry("b", (1, 0), "oops"))
    with pytest.raises(ValueError, match=r"b\[2\]_1"):
        load_parameters(model, path)
    assert bits(model) == before


def test_oversized_files_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serialization, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="larger than 100 characters"):
        load_parameters(MLP(2, [2, 1], ["tanh", "identity"]), io.StringIO(json.dumps(document())))


def test_save_refuses_non_finite_parameters_and_keeps_the_old_file(tmp_path: Path) -> None:
    model = MLP(2, [2, 1], "sigmoid", seed=0)
    path = tmp_path / "model.json"
    save_parameters(model, path)
    old = path.read_text()
    model.layers[1].neurons[0].W[1].data = math.inf
    with pytest.raises(ValueError, match=r"cannot save W\[2\]_12 = inf"):
        save_parameters(model, path)
    assert path.read_text() == old
    assert os.listdir(tmp_path) == ["model.json"]


def test_wrong_argument_types(tmp_path: Path) -> None:
    model = MLP(2, [1], "sigmoid", seed=0)
    with pytest.raises(TypeError, match="model must be an MLP, got str"):
        save_parameters("model", tmp_path / "x.json")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model must be an MLP, got dict"):
        load_parameters({}, tmp_path / "x.json")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path_or_file must be a path or a text file object, got int"):
        save_parameters(model, 3)  # type: ignore[arg-type]
    save_parameters(model, tmp_path / "x.json")
    with open(tmp_path / "x.json", "rb") as binary, pytest.raises(TypeError, match="text mode"):
        load_parameters(model, binary)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        load_parameters(model, tmp_path / "missing.json")


# ------------------------------------------------------------------ bad input, everywhere

BadCall = tuple[str, Callable[[], object], type[Exception], str]


def model() -> MLP:
    return MLP(2, [2, 1], activations=["tanh", "sigmoid"], seed=0)


def pair() -> list[Value]:
    return softmax([Value(1.0), Value(2.0)])


BAD_CALLS: list[BadCall] = [
    # Value and its operations
    ("Value(str)", lambda: Value("1.5"), TypeError, "Value data must be a real number"),  # type: ignore[arg-type]
    ("Value(None)", lambda: Value(None), TypeError, "got NoneType"),  # type: ignore[arg-type]
    ("Value(label=int)", lambda: Value(1.0, label=3), TypeError, "label must be a str or None, got int"),  # type: ignore[arg-type]
    ("Value + str", lambda: Value(1.0) + "a", TypeError, "operand must be a Value or a real number"),  # type: ignore[operator]
    ("Value * None", lambda: Value(1.0) * None, TypeError, "got NoneType"),  # type: ignore[operator]
    ("Value ** complex", lambda: Value(2.0) ** 1j, TypeError, "got complex"),  # type: ignore[operator]
    ("sum_values([str])", lambda: sum_values(["a"]), TypeError, "operand must be a Value"),  # type: ignore[list-item]
    (
        "linear(floats)",
        lambda: linear([Value(1.0)], [1.0], Value(0.0)),
        TypeError,
        "linear: inputs must be Values",
    ),  # type: ignore[list-item]
    ("linear(bias float)", lambda: linear([Value(1.0)], [Value(1.0)], 0.0), TypeError, "linear: bias"),  # type: ignore[arg-type]
    (
        "linear(mismatch)",
        lambda: linear([Value(1.0)], [Value(1.0), Value(2.0)], Value(0.0)),
        ValueError,
        "1 weights but 2 inputs",
    ),
    ("softmax([])", lambda: softmax([]), ValueError, "softmax needs at least one logit"),
    ("softmax(floats)", lambda: softmax([1.0, 2.0]), TypeError, "softmax takes Values, got float"),  # type: ignore[list-item]
    # MLP
    ("MLP(n_inputs=0)", lambda: MLP(0, [1]), ValueError, "n_inputs must be a positive int, got 0"),
    ("MLP(n_inputs=2.5)", lambda: MLP(2.5, [1]), TypeError, "n_inputs must be an int, got float 2.5"),  # type: ignore[arg-type]
    ("MLP(layer_sizes=[])", lambda: MLP(2, []), ValueError, "layer_sizes must name at least one layer"),
    (
        "MLP(zero-size layer)",
        lambda: MLP(2, [3, 0, 1]),
        ValueError,
        "layer_sizes[1] (layer 2) must be a positive int, got 0",
    ),
    ("MLP(layer_sizes=int)", lambda: MLP(2, 3), TypeError, "layer_sizes must be a list of ints, got int"),  # type: ignore[arg-type]
    ("MLP(activation name)", lambda: MLP(2, [1], "swish"), ValueError, "activation must be one of"),  # type: ignore[arg-type]
    (
        "MLP(activations count)",
        lambda: MLP(2, [2, 1], ["tanh"]),
        ValueError,
        "got 1 activations for 2 layers",
    ),  # type: ignore[list-item]
    ("MLP(activations=None)", lambda: MLP(2, [1], None), TypeError, "MLP needs activations"),
    (
        "MLP(hidden softmax)",
        lambda: MLP(2, [2, 1], ["softmax", "identity"]),
        ValueError,
        "softmax is an output activation",
    ),  # type: ignore[list-item]
    ("MLP(seed=str)", lambda: MLP(2, [1], seed="a"), TypeError, "seed must be an int, got str"),  # type: ignore[arg-type]
    ("model(short x)", lambda: model()([1.0]), ValueError, "x must have 2 features (x_1..x_2), got 1"),
    ("model(NaN)", lambda: model()([1.0, math.nan]), ValueError, "x_2 must be finite, got nan"),
    ("model(str)", lambda: model()("ab"), TypeError, "x must be a sequence of 2 numbers, got str"),
    ("model(None entry)", lambda: model()([1.0, None]), TypeError, "x_2 must be a real number, got NoneType"),  # type: ignore[list-item]
    (
        "from_weights([])",
        lambda: MLP.from_weights([], []),
        ValueError,
        "weights must hold at least one layer's W[l]",
    ),
    (
        "from_weights(empty W)",
        lambda: MLP.from_weights([[]], [[]]),
        ValueError,
        "layer 1 must have at least one unit",
    ),
    (
        "from_weights(empty row)",
        lambda: MLP.from_weights([[[]]], [[0.0]]),
        ValueError,
        "needs at least one weight",
    ),
    ("from_weights(flat)", lambda: MLP.from_weights([1.0], [[0.0]]), TypeError, "weights[0] must hold W[l]"),  # type: ignore[list-item]
    ("from_weights(None)", lambda: MLP.from_weights(None, None), TypeError, "weights must hold W[l]"),  # type: ignore[arg-type]
    (
        "from_weights(b flat)",
        lambda: MLP.from_weights([[[1.0]]], [0.0]),
        TypeError,
        "biases[0] must hold b[l]",
    ),  # type: ignore[list-item]
    (
        "from_weights(NaN)",
        lambda: MLP.from_weights([[[1.0, math.nan]]], [[0.0]]),
        ValueError,
        "W[1]_12 must be finite",
    ),
    (
        "from_weights(str)",
        lambda: MLP.from_weights([[["a"]]], [[0.0]]),
        TypeError,
        "W[1]_11 must be a real number, got str",
    ),  # type: ignore[list-item]
    (
        "from_weights(shapes)",
        lambda: MLP.from_weights([[[1.0], [2.0]], [[1.0, 2.0, 3.0]]], [[0.0, 0.0], [0.0]]),
        ValueError,
        "W[2] has 3 columns",
    ),
    ("from_weights(biases)", lambda: MLP.from_weights([[[1.0, 2.0]]], [[0.0, 1.0]]), ValueError, "b[1]"),
    # losses
    (
        "squared_error(float y)",
        lambda: squared_error(1.0, 1.0),
        TypeError,
        "squared_error: y must be a Value",
    ),  # type: ignore[arg-type]
    (
        "squared_error(NaN t)",
        lambda: squared_error(Value(1.0), math.nan),
        ValueError,
        "must be finite, got nan",
    ),
    ("squared_error(str t)", lambda: squared_error(Value(1.0), "a"), TypeError, "must be a number, got str"),  # type: ignore[arg-type]
    (
        "squared_error(sizes)",
        lambda: squared_error([Value(1.0), Value(2.0)], [1.0]),
        ValueError,
        "2 outputs but 1 targets",
    ),
    ("squared_error([])", lambda: squared_error([], []), ValueError, "squared_error"),
    (
        "reduction",
        lambda: squared_error(Value(1.0), 1.0, reduction="max"),
        ValueError,
        "reduction must be 'sum' or 'mean'",
    ),  # type: ignore[arg-type]
    ("bce(t > 1)", lambda: binary_cross_entropy(Value(0.5), 2.0), ValueError, "outside [0, 1]"),
    ("bce(t < 0)", lambda: binary_cross_entropy(Value(0.5), -0.1), ValueError, "outside [0, 1]"),
    ("bce(NaN t)", lambda: binary_cross_entropy(Value(0.5), math.nan), ValueError, "must be finite"),
    ("cce(class 2 of 2)", lambda: categorical_cross_entropy(pair(), 2), ValueError, "class index 2"),
    ("cce(class -1)", lambda: categorical_cross_entropy(pair(), -1), ValueError, "class index -1"),
    ("cce(class 1.5)", lambda: categorical_cross_entropy(pair(), 1.5), TypeError, "class index (int)"),  # type: ignore[arg-type]
    ("cce(3 of 2 entries)", lambda: categorical_cross_entropy(pair(), [1.0, 0.0, 0.0]), ValueError, "3"),
    (
        "cce(NaN entry)",
        lambda: categorical_cross_entropy(pair(), [math.nan, 1.0]),
        ValueError,
        "must be finite",
    ),
    ("cce(K = 1)", lambda: categorical_cross_entropy([Value(1.0)], 0), ValueError, "K >= 2"),
    # delta table and the worked example
    (
        "delta_table(str model)",
        lambda: delta_table("m", [1.0, 2.0], 1.0),
        TypeError,
        "model must be an MLP, got str",
    ),  # type: ignore[arg-type]
    (
        "delta_table(loss)",
        lambda: delta_table(model(), [1.0, 2.0], 1.0, loss="hinge"),
        ValueError,
        "loss must be one of",
    ),  # type: ignore[arg-type]
    ("delta_table(short x)", lambda: delta_table(model(), [1.0], 1.0), ValueError, "x must have 2 features"),
    ("delta_table(t = 2)", lambda: delta_table(model(), [1.0, 2.0], 2.0), ValueError, "outside [0, 1]"),
    ("worked_example(x)", lambda: worked_example(x=[1.0]), ValueError, "x must have 2 features"),
    ("worked_example(t)", lambda: worked_example(t=1.5), ValueError, "outside [0, 1]"),
    ("worked_example(seed)", lambda: worked_example(seed="a"), TypeError, "seed must be an int"),  # type: ignore[arg-type]
    ("lecture_network(both)", lambda: lecture_network([[[1.0]]], None, 1), ValueError, "not both"),
    # the testing toolkit
    ("gradcheck(no inputs)", lambda: gradcheck(lambda: Value(1.0), []), ValueError, "inputs is empty"),
    (
        "gradcheck(returns float)",
        lambda: gradcheck(lambda x: 1.0, [1.0]),
        TypeError,
        "fn must return a Value",
    ),  # type: ignore[arg-type, return-value]
    # the engine
    ("backward(seed=str)", lambda: Value(1.0).backward("x"), TypeError, "seed"),  # type: ignore[arg-type]
    ("topological_order(str)", lambda: topological_order("a"), TypeError, "root"),  # type: ignore[arg-type]
    ("sum_values(int)", lambda: sum_values(3), TypeError, "terms"),  # type: ignore[arg-type]
    ("softmax(Value)", lambda: softmax(Value(1.0)), TypeError, "logits"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(c, e, m, id=i) for i, c, e, m in BAD_CALLS],
)
def test_bad_input_gets_a_clear_error(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value), f"{type(info.value).__name__}: {info.value}"
