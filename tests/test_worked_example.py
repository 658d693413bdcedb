"""The lecture's worked example (2-2-2-1 sigmoid network, binary cross-entropy) against its closed forms.

The forward pass and every closed form of the notes are computed here with plain floats and
``math.exp``, never through the engine:

    dE/dz[3]       = -t / z[3] + (1 - t) / (1 - z[3])      (grad of the y node, paired=False)
    dz[3]/da[3]    = z[3] (1 - z[3])                         (local grad of the edge y -> a[3])
    delta[3]       = z[3] - t
    delta[l]       = f'(a[l]) * W[l+1]^T delta[l+1]
    dE/dW[l]_ij    = delta[l]_i z[l-1]_j,     dE/db[l]_i = delta[l]_i

Agreement is required to 1e-12 relative to the size of the terms a quantity is made of (a sum
that cancels cannot be more accurate than its largest term, in either computation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import MLP, DeltaTable, delta_table, lecture_network, worked_example
from micrograd_lite.worked_example import BIASES, WEIGHTS, T, X

Matrices = list[list[list[float]]]
Vectors = list[list[float]]


@dataclass
class Q:
    """A closed-form number and the size of the terms it was summed from."""

    value: float
    scale: float


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def closed_forms(
    W: Matrices, b: Vectors, x: list[float], t: float
) -> tuple[dict[tuple[int, int], tuple[Q, Q, Q]], dict[str, Q], Q, Q, Q]:
    """Units {(l, i): (a, z, delta)}, parameter grads {label: dE/dp}, E, dE/dz[3], dz[3]/da[3]."""
    z: list[list[Q]] = [[Q(v, abs(v)) for v in x]]
    a: list[list[Q]] = [[]]
    for l in (1, 2, 3):
        a_l, z_l = [], []
        for row, bias in zip(W[l - 1], b[l - 1]):
            terms = [w * zj.value for w, zj in zip(row, z[l - 1])] + [bias]
            total = Q(math.fsum(terms), sum(abs(v) for v in terms))
            a_l.append(total)
            z_l.append(Q(sigmoid(total.value), sigmoid(total.value)))
        a.append(a_l)
        z.append(z_l)
    z3 = z[3][0].value
    E = -t * math.log(z3) - (1 - t) * math.log(1 - z3)
    dE_dz3 = Q(-t / z3 + (1 - t) / (1 - z3), abs(t / z3) + abs((1 - t) / (1 - z3)))
    # z (1 - z) is made of the terms z and z^2: where z is near 1 the subtraction cancels.
    dz3_da3 = Q(z3 * (1 - z3), z3 * (1 + z3))
    delta: dict[int, list[Q]] = {3: [Q(z3 - t, abs(z3) + abs(t))]}
    for l in (2, 1):
        delta[l] = []
        for i, zi in enumerate(z[l]):
            slope = zi.value * (1 - zi.value)  # sigma'(a[l]_i)
            slope_scale = zi.value * (1 + zi.value)  # the size of its terms z and z^2
            back = [W[l][k][i] * delta[l + 1][k].value for k in range(len(W[l]))]  # W[l+1]^T delta[l+1]
            scale = sum(abs(W[l][k][i]) * delta[l + 1][k].scale for k in range(len(W[l])))
            delta[l].append(Q(slope * math.fsum(back), slope_scale * scale))
    grads: dict[str, Q] = {}
    units = {}
    for l in (1, 2, 3):
        for i in range(len(W[l - 1])):
            d = delta[l][i]
            units[(l, i + 1)] = (a[l][i], z[l][i], d)
            for j, zj in enumerate(z[l - 1]):
                grads[f"W[{l}]_{i + 1}{j + 1}"] = Q(d.value * zj.value, d.scale * abs(zj.value))
            grads[f"b[{l}]_{i + 1}"] = d
    return units, grads, Q(E, abs(E)), dE_dz3, dz3_da3


def agrees(actual: float, expected: Q) -> bool:
    return abs(actual - expected.value) <= 1e-12 * max(abs(expected.value), expected.scale) + 1e-300


def check_table(table: DeltaTable, W: Matrices, b: Vectors, x: list[float], t: float) -> None:
    units, grads, E, dE_dz3, dz3_da3 = closed_forms(W, b, x, t)
    assert [(r.layer, r.index) for r in table.units] == list(units)
    for row in table.units:
        a, z, delta = units[(row.layer, row.index)]
        assert agrees(row.a, a), (row, a)
        assert agrees(row.z, z), (row, z)
        assert agrees(row.delta, delta), (row, delta)
    assert [p.label for p in table.parameters] == list(grads)
    for p in table.parameters:
        assert agrees(p.grad, grads[p.label]), (p, grads[p.label])
        assert table.grad(p.label) == p.grad
    assert agrees(table.E, E)
    # The lecture's chain E -> z[3] -> a[3], edge by edge, read off the graph.
    assert table.trace is not None and table.root is not None
    y = table.trace.z[3][0]
    a3 = table.trace.a[3][0]
    assert table.root.parents[0] is y and y.parents == (a3,) and y.label == "y"
    assert table.root.parents[1].label == "t" and table.root.parents[1].data == t  # t is a leaf of E
    assert agrees(y.grad, dE_dz3)  # dE/dz[3]
    assert agrees(y.local_grads[0], dz3_da3)  # dz[3]/da[3]
    assert agrees(table.root.local_grads[0], dE_dz3)  # the same number, stored on the edge E -> y
    # dE/dW[3]_11 = (z[3] - t) z[2]_1, the notes' final line, on its own.
    z3, z21 = units[(3, 1)][1].value, units[(2, 1)][1].value
    assert agrees(table.grad("W[3]_11"), Q((z3 - t) * z21, (abs(z3) + abs(t)) * z21))


coef = st.floats(-3, 3, allow_nan=False)
matrices = st.tuples(
    st.lists(st.lists(coef, min_size=2, max_size=2), min_size=2, max_size=2),
    st.lists(st.lists(coef, min_size=2, max_size=2), min_size=2, max_size=2),
    st.lists(st.lists(coef, min_size=2, max_size=2), min_size=1, max_size=1),
)
bias_vectors = st.tuples(
    st.lists(coef, min_size=2, max_size=2),
    st.lists(coef, min_size=2, max_size=2),
    st.lists(coef, min_size=1, max_size=1),
)


@given(
    W=matrices, b=bias_vectors, x=st.lists(coef, min_size=2, max_size=2), t=st.sampled_from([0, 1, 0.0, 1.0])
)
def test_engine_gradients_equal_the_lecture_closed_forms(
    W: tuple[Vectors, ...], b: tuple[list[float], ...], x: list[float], t: float
) -> None:
    weights, biases = list(W), list(b)
    table = worked_example(x=x, t=t, weights=weights, biases=biases)
    assert table.x == x and table.t == t
    check_table(table, weights, biases, x, float(t))


def test_default_worked_example() -> None:
    table = worked_example()
    check_table(table, WEIGHTS, BIASES, list(X), T)
    text = table.to_text()
    for header in ("a[l]_i", "z[l]_i", "delta[l]_i", "dE/d(parameter)", "binary cross entropy"):
        assert header in text
    for unit in ("[1]_1", "[1]_2", "[2]_1", "[2]_2", "[3]_1 (y)"):
        assert unit in text
    labels = [f"W[{l}]_{i}{j}" for l, n in ((1, 2), (2, 2), (3, 1)) for i in range(1, n + 1) for j in (1, 2)]
    labels += ["b[1]_1", "b[1]_2", "b[2]_1", "b[2]_2", "b[3]_1"]
    lines = text.splitlines()
    for label in labels:
        assert any(line.split()[:1] == [label] for line in lines), label
    assert str(table) == text


def test_seeded_worked_example() -> None:
    model = lecture_network(seed=3)
    table = worked_example(seed=3)
    check_table(table, model.weights(), model.biases(), list(X), T)


def test_lecture_network_argument_errors() -> None:
    with pytest.raises(ValueError, match="seed"):
        lecture_network(weights=WEIGHTS, biases=BIASES, seed=1)
    with pytest.raises(ValueError, match="together"):
        lecture_network(weights=WEIGHTS)


def test_delta_table_shows_one_example_alone() -> None:
    """Parameter grads are zeroed first: a second table of the same model is not doubled."""
    model = MLP.from_weights(WEIGHTS, BIASES, "sigmoid")
    first = delta_table(model, [0.5, -1.0], 0, paired=False)
    second = delta_table(model, [0.5, -1.0], 0, paired=False)
    assert [p.grad for p in first.parameters] == [p.grad for p in second.parameters]
    check_table(second, WEIGHTS, BIASES, [0.5, -1.0], 0.0)
