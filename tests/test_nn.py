"""``Neuron``, ``Layer``, ``MLP``: the lecture's notation, shapes, initialisation and errors.

Forward values and gradients are compared with an independent forward pass written here on plain
floats (``m = math``) and on mpmath numbers (``m = mpmath``, differentiated by ``mpmath.diff``).
"""

from __future__ import annotations

import math
import random
from typing import Any

import mpmath
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from micrograd_lite import MLP, Layer, Module, Neuron, Value, no_grad, squared_error, topological_order

HIDDEN = ["sigmoid", "tanh", "relu", "identity"]


def act(m: Any, f: str, a: Any) -> Any:
    if f == "sigmoid":
        return 1 / (1 + m.exp(-a))
    if f == "tanh":
        return m.tanh(a)
    if f == "relu":
        return a if a > 0 else 0 * a
    return a


def forward(m: Any, W: Any, b: Any, acts: list[str], x: list[Any]) -> tuple[list[list[Any]], list[list[Any]]]:
    """The lecture's forward pass: every a[l] and z[l] (index 0: empty, x)."""
    a_all: list[list[Any]] = [[]]
    z_all = [list(x)]
    for Wl, bl, f in zip(W, b, acts):
        z = z_all[-1]
        a = [sum(w * zj for w, zj in zip(row, z)) + bi for row, bi in zip(Wl, bl)]
        if f == "softmax":
            top = max(a)
            e = [m.exp(ai - top) for ai in a]
            out = [ei / sum(e) for ei in e]
        else:
            out = [act(m, f, ai) for ai in a]
        a_all.append(a)
        z_all.append(out)
    return a_all, z_all


def idx(*indices: int) -> str:
    """The lecture's subscripts: W[1]_12, but W[2]_1,12 once an index exceeds 9."""
    return "".join(map(str, indices)) if max(indices) < 10 else ",".join(map(str, indices))


def expected_labels(sizes: list[int]) -> set[str]:
    labels = {f"x_{j}" for j in range(1, sizes[0] + 1)}
    L = len(sizes) - 1
    for l in range(1, L + 1):
        for i in range(1, sizes[l] + 1):
            labels |= {f"W[{l}]_{idx(i, j)}" for j in range(1, sizes[l - 1] + 1)}
            labels |= {f"b[{l}]_{i}", f"a[{l}]_{i}"}
            if l < L:
                labels.add(f"z[{l}]_{i}")
            else:
                labels.add("y" if sizes[L] == 1 else f"y_{i}")
    return labels


def graph_nodes(outputs: Any) -> list[Value]:
    outputs = outputs if isinstance(outputs, list) else [outputs]
    seen: dict[int, Value] = {}
    for y in outputs:
        for node in topological_order(y):
            seen[id(node)] = node
    return list(seen.values())


# ----------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("sizes", "activations"),
    [
        ([2, 2, 2, 1], "sigmoid"),
        ([3, 4, 2], ["tanh", "softmax"]),
        ([1, 3, 3, 2], ["relu", "tanh", "identity"]),
        ([3, 12, 1], ["tanh", "identity"]),  # W[2]_1,12
        ([12, 11, 10], ["sigmoid", "softmax"]),  # W[1]_11,12, y_10
    ],
)
def test_every_node_of_a_forward_pass_carries_its_lecture_label(sizes: list[int], activations: Any) -> None:
    model = MLP(sizes[0], sizes[1:], activations=activations, seed=0)
    y = model([0.1 * j for j in range(1, sizes[0] + 1)])
    nodes = graph_nodes(y)
    labels = [n.label for n in nodes]
    assert None not in labels
    assert len(set(labels)) == len(labels)  # one node per label
    assert set(labels) == expected_labels(sizes)


def test_labels_with_indices_above_nine() -> None:
    model = MLP(3, [12, 1], activations=["tanh", "identity"], seed=0)
    labels = {n.label for n in graph_nodes(model([1.0, 2.0, 3.0]))}
    assert {"W[2]_1,12", "W[2]_19", "W[1]_12,3", "W[1]_93", "b[1]_12", "a[1]_12", "z[1]_12"} <= labels
    assert "W[2]_112" not in labels and "W[1]_123" not in labels


# ----------------------------------------------------------------------------- parameters


def numbered_weights(sizes: list[int]) -> tuple[list[list[list[float]]], list[list[float]]]:
    """W[l]_ij = l + i/10 + j/100 and b[l]_i = -(l + i/10): every number tells where it sits."""
    W = [
        [[l + i / 10 + j / 100 for j in range(1, sizes[l - 1] + 1)] for i in range(1, sizes[l] + 1)]
        for l in range(1, len(sizes))
    ]
    b = [[-(l + i / 10) for i in range(1, sizes[l] + 1)] for l in range(1, len(sizes))]
    return W, b


def test_parameters_order_is_layer_unit_weights_then_bias() -> None:
    sizes = [3, 2, 2]
    W, b = numbered_weights(sizes)
    model = MLP.from_weights(W, b, activations=["tanh", "identity"])
    expected_labels = []
    expected_values = []
    for l in (1, 2):
        for i in range(1, sizes[l] + 1):
            expected_labels += [f"W[{l}]_{i}{j}" for j in range(1, sizes[l - 1] + 1)] + [f"b[{l}]_{i}"]
            expected_values += [*W[l - 1][i - 1], b[l - 1][i - 1]]
    params = model.parameters()
    assert [p.label for p in params] == expected_labels
    assert [p.data for p in params] == expected_values
    assert len({id(p) for p in params}) == len(params) == 3 * 2 + 2 + 2 * 2 + 2
    assert model.sizes == sizes and model.n_inputs == 3


def test_from_weights_round_trip() -> None:
    W, b = numbered_weights([2, 3, 1])
    model = MLP.from_weights(W, b, activations=["relu", "sigmoid"])
    assert model.weights() == W and model.biases() == b
    seeded = MLP(4, [5, 3, 2], activations=["tanh", "tanh", "softmax"], seed=9)
    copy = MLP.from_weights(seeded.weights(), seeded.biases(), activations=["tanh", "tanh", "softmax"])
    x = [0.3, -1.2, 2.0, 0.5]
    assert [v.data for v in copy(x)] == [v.data for v in seeded(x)]
    assert [p.data for p in copy.parameters()] == [p.data for p in seeded.parameters()]


@given(
    seed=st.integers(0, 2**32),
    n_in=st.integers(1, 6),
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
)
def test_seeded_initialisation(seed: int, n_in: int, widths: list[int]) -> None:
    """PyTorch's nn.Linear default, drawn from random.Random(seed) in parameters() order."""
    model = MLP(n_in, widths, activations="tanh", seed=seed)
    assert [p.data for p in model.parameters()] == [
        p.data for p in MLP(n_in, widths, "tanh", seed).parameters()
    ]
    rng = random.Random(seed)
    fan_in = [n_in, *widths]
    for layer, n in zip(model.layers, fan_in):
        bound = 1 / math.sqrt(n)
        for p in layer.parameters():
            assert -bound <= p.data <= bound
            assert p.data == rng.uniform(-bound, bound)


def test_different_seeds_give_different_weights() -> None:
    a = MLP(3, [4, 1], "sigmoid", seed=1).weights()
    b = MLP(3, [4, 1], "sigmoid", seed=2).weights()
    assert a != b


# ------------------------------------------- Module: one parameters(), named_parameters(), zero_grad()


def lecture_parameter_names(sizes: list[int]) -> list[str]:
    """``W[l]_ij`` then ``b[l]_i``, unit by unit, layer by layer; ``i,j`` once an index exceeds 9."""
    names = []
    for l in range(1, len(sizes)):
        for i in range(1, sizes[l] + 1):
            for j in range(1, sizes[l - 1] + 1):
                names.append(f"W[{l}]_{i}{j}" if i < 10 and j < 10 else f"W[{l}]_{i},{j}")
            names.append(f"b[{l}]_{i}")
    return names


def test_named_parameters_are_the_lecture_labels_in_parameters_order() -> None:
    sizes = [12, 3, 11, 1]  # indices above 9 on both sides of a weight's subscript
    model = MLP(sizes[0], sizes[1:], activations="tanh", seed=0)
    named = list(model.named_parameters())
    assert len(named) == len(model.parameters())
    assert all(p is q for (_, p), q in zip(named, model.parameters()))
    assert [name for name, _ in named] == lecture_parameter_names(sizes)
    by_name = dict(named)
    assert by_name["W[1]_1,12"] is model.layers[0].neurons[0].W[11]
    assert by_name["W[2]_11,3"] is model.layers[1].neurons[10].W[2]
    assert by_name["b[2]_11"] is model.layers[1].neurons[10].b


def test_neuron_layer_and_mlp_share_one_module_mechanism() -> None:
    model = MLP(2, [3, 2], activations=["tanh", "softmax"], seed=0)
    layer, neuron = model.layers[1], model.layers[1].neurons[0]
    for module in (model, layer, neuron):
        assert isinstance(module, Module)
    for cls in (MLP, Layer, Neuron):  # inherited, not three copies
        assert "zero_grad" not in vars(cls) and "named_parameters" not in vars(cls)
    assert [name for name, _ in layer.named_parameters()] == [
        "W[2]_11",
        "W[2]_12",
        "W[2]_13",
        "b[2]_1",
        "W[2]_21",
        "W[2]_22",
        "W[2]_23",
        "b[2]_2",
    ]
    assert [name for name, _ in neuron.named_parameters()] == ["W[2]_11", "W[2]_12", "W[2]_13", "b[2]_1"]
    assert model.parameters() == [*model.layers[0].parameters(), *layer.parameters()]


def test_zero_grad_at_every_level_clears_exactly_that_module() -> None:
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=4)
    squared_error(model([0.7, -1.3]), 2.0).backward()
    assert all(p.grad != 0.0 for p in model.parameters())
    unit = model.layers[0].neurons[1]
    others = [p for p in model.parameters() if all(p is not q for q in unit.parameters())]
    before = [p.grad for p in others]
    unit.zero_grad()
    assert [p.grad for p in unit.parameters()] == [0.0] * 3
    assert [p.grad for p in others] == before
    model.layers[1].zero_grad()
    assert [p.grad for p in model.layers[1].parameters()] == [0.0] * 4
    assert any(p.grad != 0.0 for p in model.layers[0].parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# ----------------------------------------------------------------------------- the graph's shape


def test_preactivation_is_one_linear_node_with_the_lecture_edges() -> None:
    model = MLP(3, [4, 2, 1], activations=["tanh", "relu", "sigmoid"], seed=5)
    trace = model.forward([0.5, -1.0, 2.0])
    assert trace.a[0] == [] and trace.z[0] is trace.x
    assert [v.label for v in trace.x] == ["x_1", "x_2", "x_3"]
    assert trace.output is trace.z[3][0]
    for l, layer in enumerate(model.layers, start=1):
        z_prev = trace.z[l - 1]
        assert len(trace.a[l]) == len(trace.z[l]) == layer.n_out
        for i, neuron in enumerate(layer.neurons):
            a, z = trace.a[l][i], trace.z[l][i]
            assert a.op == "linear" and a.label == f"a[{l}]_{i + 1}"
            assert a.parents == (*neuron.W, *z_prev, neuron.b)
            # da/dz_j = W_ij ... (z first, then W, then 1): local grads (z..., W..., 1)
            assert tuple(a.local_grads) == (*(v.data for v in z_prev), *(w.data for w in neuron.W), 1.0)
            assert z.parents == (a,) and z.op == layer.activation


def test_activation_per_layer() -> None:
    acts = ["sigmoid", "tanh", "relu", "identity"]
    model = MLP(2, [2, 2, 2, 1], activations=acts, seed=0)
    trace = model.forward([1.0, -1.0])
    assert [layer.activation for layer in model.layers] == acts
    assert [{z.op for z in trace.z[l]} for l in range(1, 5)] == [{f} for f in acts]
    assert MLP(2, [3, 1], activations="tanh").layers[1].activation == "tanh"


def test_softmax_output_layer() -> None:
    model = MLP(2, [3, 4], activations=["tanh", "softmax"], seed=0)
    trace = model.forward([0.5, 0.25])
    y = trace.output
    assert isinstance(y, list) and [v.label for v in y] == ["y_1", "y_2", "y_3", "y_4"]
    for v in y:
        assert v.op == "softmax" and v.parents == tuple(trace.a[2])
    assert math.isclose(math.fsum(v.data for v in y), 1.0, rel_tol=1e-15)


SHAPES = st.tuples(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=1, max_size=3))


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[Any], list[Any], list[str], list[float], list[float]]:
    d, widths = draw(SHAPES)
    sizes = [d, *widths]
    coef = st.floats(-2, 2)
    W = [[[draw(coef) for _ in range(sizes[l - 1])] for _ in range(sizes[l])] for l in range(1, len(sizes))]
    b = [[draw(coef) for _ in range(sizes[l])] for l in range(1, len(sizes))]
    acts = [draw(st.sampled_from(HIDDEN)) for _ in widths[:-1]]
    acts.append(draw(st.sampled_from([*HIDDEN, "softmax"])))
    x = [draw(coef) for _ in range(d)]
    t = [draw(coef) for _ in range(widths[-1])]
    return W, b, acts, x, t


@given(net=networks())
def test_forward_and_gradients_against_an_independent_forward_pass(net: Any) -> None:
    W, b, acts, x, t = net
    a_ref, z_ref = forward(math, W, b, acts, x)
    assume(all(abs(ai) > 1e-6 for l, f in enumerate(acts, 1) if f == "relu" for ai in a_ref[l]))  # no kink
    model = MLP.from_weights(W, b, acts)
    trace = model.forward(x)
    for l in range(1, len(acts) + 1):
        for ai, zi, a_exp, z_exp in zip(trace.a[l], trace.z[l], a_ref[l], z_ref[l]):
            assert math.isclose(ai.data, a_exp, rel_tol=1e-12, abs_tol=1e-13)
            assert math.isclose(zi.data, z_exp, rel_tol=1e-12, abs_tol=1e-13)
    y = trace.z[-1]
    E = squared_error(y[0] if len(y) == 1 else y, t[0] if len(y) == 1 else t)
    E.backward()

    flat = [v for Wl, bl in zip(W, b) for row, bi in zip(Wl, bl) for v in (*row, bi)]  # parameters() order

    def loss(*params: Any) -> Any:
        it = iter(params)
        Wm = [[[next(it) for _ in row] + [next(it)] for row in Wl] for Wl in W]
        _, z = forward(
            mpmath, [[r[:-1] for r in Wl] for Wl in Wm], [[r[-1] for r in Wl] for Wl in Wm], acts, x
        )
        return sum((tk - yk) ** 2 for tk, yk in zip(t, z[-1])) / 2

    with mpmath.workdps(50):
        args = [mpmath.mpf(v) for v in flat]
        for k, p in enumerate(model.parameters()):
            exact = float(mpmath.diff(lambda v, k=k: loss(*args[:k], v, *args[k + 1 :]), args[k]))
            assert math.isclose(p.grad, exact, rel_tol=1e-9, abs_tol=1e-12), (p.label, p.grad, exact)


def test_forward_works_under_no_grad() -> None:
    """Evaluation, as the no_grad docstring suggests: same numbers, no graph."""
    model = MLP(2, [3, 1], activations=["tanh", "sigmoid"], seed=4)
    expected = forward(math, model.weights(), model.biases(), ["tanh", "sigmoid"], [0.5, -2.0])
    with no_grad():
        y = model([0.5, -2.0])
        trace = model.forward([0.5, -2.0])
    assert y.parents == () and math.isclose(y.data, expected[1][2][0], rel_tol=1e-12)
    assert [v.data for v in trace.a[1]] == pytest.approx(expected[0][1], rel=1e-12)
    assert trace.output.data == y.data


def test_inputs_keep_given_values() -> None:
    model = MLP(2, [1], activations="identity", seed=0)
    x1 = Value(2.0, label="mine")
    xs = model.inputs([x1, 3])
    assert xs[0] is x1 and xs[1].label == "x_2" and xs[1].data == 3.0


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: MLP(0, [1]), ValueError, ["n_inputs"]),
        (lambda: MLP(2.5, [1]), TypeError, ["n_inputs", "float"]),
        (lambda: MLP(2, []), ValueError, ["layer_sizes"]),
        (lambda: MLP(2, [2, 0]), ValueError, ["layer_sizes", "layer 2"]),
        (lambda: MLP(2, "21"), TypeError, ["layer_sizes"]),
        (lambda: MLP(2, [1], activations="softplus"), ValueError, ["activation", "softplus"]),
        (lambda: MLP(2, [2, 1], activations=["tanh"]), ValueError, ["activations", "layers"]),
        (lambda: MLP(2, [2, 1], activations=["softmax", "tanh"]), ValueError, ["softmax", "layer 1"]),
        (lambda: MLP.from_weights([], []), ValueError, ["weights"]),
        (lambda: MLP.from_weights([[[1.0]]], []), ValueError, ["bias"]),
        (lambda: MLP.from_weights([[]], [[]]), ValueError, ["W[1]"]),
        (lambda: MLP.from_weights([[[]]], [[0.0]]), ValueError, ["weight"]),
        (lambda: MLP.from_weights([[[1.0, 2.0], [3.0]]], [[0.0, 0.0]]), ValueError, ["W[1]", "row 2"]),
        (lambda: MLP.from_weights([[[1.0, 2.0]]], [[0.0, 1.0]]), ValueError, ["b[1]"]),
        (
            lambda: MLP.from_weights([[[1.0], [2.0]], [[1.0, 2.0, 3.0]]], [[0.0, 0.0], [0.0]]),
            ValueError,
            ["W[2]"],
        ),
        (lambda: MLP.from_weights([[[1.0, math.nan]]], [[0.0]]), ValueError, ["W[1]_12", "finite"]),
        (lambda: MLP.from_weights([[[1.0, 2.0]]], [[math.inf]]), ValueError, ["b[1]_1", "finite"]),
        (lambda: MLP.from_weights([[["a", 2.0]]], [[0.0]]), TypeError, ["W[1]_11", "str"]),
        (lambda: MLP.from_weights([[[True, 2.0]]], [[0.0]]), TypeError, ["W[1]_11", "bool"]),
        (lambda: MLP(2, [1], "sigmoid", seed=0)([1.0]), ValueError, ["x", "2"]),
        (lambda: MLP(2, [1], "sigmoid", seed=0).forward([1.0, 2.0, 3.0]), ValueError, ["x", "2"]),
        (lambda: MLP(2, [1], "sigmoid", seed=0)(1.0), TypeError, ["x", "float"]),
        (lambda: MLP(2, [1], "sigmoid", seed=0)([1.0, math.nan]), ValueError, ["x_2", "finite"]),
        (lambda: MLP(2, [1], "sigmoid", seed=0)([1.0, "a"]), TypeError, ["x_2", "str"]),
        (
            lambda: MLP(2, [3, 2], activations=["tanh", "softmax"]).layers[1].neurons[0]([Value(0.0)] * 3),
            ValueError,
            ["softmax"],
        ),
    ],
    ids=[
        "n_inputs 0",
        "n_inputs float",
        "no layers",
        "empty layer size",
        "layer_sizes str",
        "unknown activation",
        "too few activations",
        "hidden softmax",
        "no weights",
        "no biases",
        "empty W",
        "empty W row",
        "ragged W",
        "too many biases",
        "W[2] columns",
        "nan weight",
        "inf bias",
        "str weight",
        "bool weight",
        "too few inputs",
        "too many inputs",
        "x not a list",
        "nan input",
        "str input",
        "softmax neuron alone",
    ],
)
def test_clear_errors(make: Any, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_unit_subclass_adds_its_own_parameters() -> None:
    """``Layer`` lists a plain unit's parameters itself, and asks a subclass for its own."""

    class ScaledNeuron(Neuron):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gain = Value(1.0, "gain")

        def collect_parameters(self, found: list[Value]) -> None:
            super().collect_parameters(found)
            found.append(self.gain)

    model = MLP(2, [2, 1], activations=["tanh", "identity"], seed=0)
    plain = model.layers[0].neurons[0]
    scaled = ScaledNeuron([w.data for w in plain.W], plain.b.data, "tanh", layer=1, index=1)
    model.layers[0].neurons[0] = scaled
    labels = [p.label for p in model.parameters()]
    assert labels[:4] == ["W[1]_11", "W[1]_12", "b[1]_1", "gain"]
    assert len(labels) == 3 * 2 + 1 + 3
