"""Hardening of the compiler and of compiled training steps.

* ``detect_anomaly()`` holds for compiled steps: the same ``AnomalyError`` (node, operation, inputs,
  line) as the eager step, also for a non-finite value that vanishes before the loss (``1 / inf``) and
  for one that appears only in the backward pass; outside the context nothing is checked.
* Naming is linear: the k-th repeat of a name is one look-up, not k (counted, not timed).
* Nodes the compiler cannot reproduce are refused by name: wrong number of inputs, own data or own
  local derivatives, leaves changed after the graph was built.
* Numbers: an integer too large for a float is a ValueError naming the argument; numpy scalars,
  fractions and ints are accepted as the floats they equal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from micrograd_lite import (
    MLP,
    GradientDescent,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    compiler,
    linear,
    softmax,
    squared_error,
    sum_values,
    train,
)
from micrograd_lite.anomaly import AnomalyError, detect_anomaly
from micrograd_lite.compiled_loss import CompiledLoss
from micrograd_lite.compiler import compile_graph
from micrograd_lite.datasets import xor
from micrograd_lite.training import History

LossFn = Callable[[MLP, list[list[Value]], list[Any]], Value]


def sse(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
    return squared_error([model(x) for x in xs], ts)


def anomaly_of(run: Callable[[], object]) -> str:
    """The message of the AnomalyError that ``run`` raises inside ``detect_anomaly()``."""
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        run()
    return str(info.value)


# ------------------------------------------------------------------------ detect_anomaly


def diverging_run(compiled: bool) -> tuple[MLP, Callable[[], object]]:
    """Gradient descent with a step far too large: the loss overflows after a few epochs."""
    X, t = xor(n=8)
    model = MLP(2, [4, 1], activations=["relu", "identity"], seed=0)
    optimizer = GradientDescent(model.parameters(), lr=5.0)
    return model, lambda: train(model, sse, X, t, optimizer, epochs=60, compiled=compiled)


def test_a_diverging_compiled_run_stops_with_the_eager_error() -> None:
    eager_model, eager_run = diverging_run(compiled=False)
    compiled_model, compiled_run = diverging_run(compiled=True)
    message = anomaly_of(eager_run)
    assert "forward pass produced inf at node 'E_" in message  # the loss term that overflowed
    assert anomaly_of(compiled_run) == message  # same node, operation, inputs and line
    # It stopped at the same step: the parameters are where the eager run left them.
    assert [p.data for p in compiled_model.parameters()] == [p.data for p in eager_model.parameters()]


def test_without_detect_anomaly_the_compiled_run_lets_nan_flow() -> None:
    _, run = diverging_run(compiled=True)
    history = run()
    assert isinstance(history, History)
    assert math.isnan(history.loss[-1])


def overflow_inside(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
    """E is finite, but on the way one node is inf: exp(1000 y) overflows and 1 / inf is 0."""
    ys = [model(x) for x in xs]
    vanishing = sum_values([1.0 / (y * 1000.0).exp() for y in ys])
    return squared_error(ys, ts) + vanishing


def test_a_non_finite_value_that_vanishes_before_the_loss_is_still_caught() -> None:
    xs, ts = [[1.0, 2.0], [3.0, -1.0]], [0.5, 0.1]
    model = MLP(2, [1], activations="identity", seed=0)
    loss = CompiledLoss(model, overflow_inside)
    assert math.isfinite(loss(xs, ts))  # outside the context: a finite loss, nothing raised
    model.zero_grad()
    eager = anomaly_of(lambda: overflow_inside(model, [list(x) for x in xs], ts).backward())
    assert "forward pass produced inf at node (unlabelled) (op 'exp')" in eager
    assert anomaly_of(lambda: loss(xs, ts)) == eager


def root_of_zero(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
    """sqrt(y - y) is 0, finite; its derivative 0.5 / sqrt(0) is inf: a backward-pass anomaly."""
    ys = [model(x) for x in xs]
    return squared_error(ys, ts) + sum_values([(y - y) ** 0.5 for y in ys])


def test_a_gradient_that_becomes_infinite_is_the_eager_error() -> None:
    xs, ts = [[1.0, 2.0]], [0.5]
    eager_model, compiled_model = (MLP(2, [1], activations="identity", seed=0) for _ in range(2))
    eager = anomaly_of(lambda: root_of_zero(eager_model, [list(x) for x in xs], ts).backward())
    assert eager.startswith("backward pass produced grad inf")
    loss = CompiledLoss(compiled_model, root_of_zero)
    assert anomaly_of(lambda: loss(xs, ts)) == eager
    # Outside the context the compiled step runs on, with the same non-finite gradients as eager.
    compiled_model.zero_grad()
    loss(xs, ts)
    eager_model.zero_grad()
    root_of_zero(eager_model, [list(x) for x in xs], ts).backward()
    assert [str(p.grad) for p in compiled_model.parameters()] == [
        str(p.grad) for p in eager_model.parameters()
    ]


def test_class_index_targets_replay_as_the_eager_step_sees_them() -> None:
    """The replay hands loss_fn the targets as train() does: class indices stay ints."""
    xs, ts = [[1e6, -1e6], [0.5, 0.5]], [2, np.int64(0)]

    def cce_unpaired(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
        return categorical_cross_entropy([model(x) for x in xs], ts, paired=False)

    eager_model, compiled_model = (MLP(2, [3], activations="softmax", seed=1) for _ in range(2))
    eager = anomaly_of(lambda: cce_unpaired(eager_model, [list(x) for x in xs], [2, 0]).backward())
    loss = CompiledLoss(compiled_model, cce_unpaired)
    assert anomaly_of(lambda: loss(xs, ts)) == eager


def test_finite_steps_under_detect_anomaly_are_the_same_numbers() -> None:
    X, t = xor(n=8)
    results = []
    for checked in (False, True):
        model = MLP(2, [4, 1], activations=["tanh", "sigmoid"], seed=0)
        optimizer = GradientDescent(model.parameters(), lr=0.5)
        loss = CompiledLoss(model, lambda m, xs, ts: binary_cross_entropy([m(x) for x in xs], ts))
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            if checked:
                with detect_anomaly():
                    losses.append(loss(X, t))
            else:
                losses.append(loss(X, t))
            optimizer.step()
        results.append((losses, [p.data for p in model.parameters()]))
    assert results[0] == results[1]


def test_the_checking_graph_is_used_only_inside_detect_anomaly() -> None:
    model = MLP(2, [1], activations="identity", seed=0)
    loss = CompiledLoss(model, sse)
    loss([[1.0, 2.0]], [0.5])
    assert loss.compiled is not None and not loss.compiled.check_finite
    assert "_finite" not in loss.compiled.source
    with detect_anomaly():
        loss([[1.0, 2.0]], [0.5])
        assert loss.compiled.check_finite and "_finite(" in loss.compiled.source
    loss([[1.0, 2.0]], [0.5])
    assert not loss.compiled.check_finite
    assert loss.traces == 2  # one graph each way, both kept


def test_check_finite_reports_every_value_and_gradient() -> None:
    x, w = Value(2.0, "x"), Value(3.0, "w")
    root = (1.0 / (x * w).exp()) * 0.0 + x * w  # exp(x w) overflows for large x w, yet root stays finite
    graph = compile_graph(root, [x], [w], check_finite=True)
    assert graph([2.0], [3.0]).finite is True
    overflowing = graph([400.0], [3.0])
    assert math.isfinite(overflowing.value) and overflowing.finite is False
    assert compile_graph(root, [x], [w])([400.0], [3.0]).finite is None


# ------------------------------------------------------------------------ linear naming


class CountingSet(set[str]):
    """A set that counts membership tests."""

    lookups = 0

    def __contains__(self, item: object) -> bool:
        CountingSet.lookups += 1
        return super().__contains__(item)


def test_repeated_names_cost_a_constant_number_of_lookups_each() -> None:
    """The k-th repeat of a base name used to try base__2 .. base__k in turn: n^2/2 look-ups."""
    n = 3000
    names = compiler.NodeNames(["inputs", "x__5"])
    names.taken = CountingSet(names.taken)
    CountingSet.lookups = 0
    handed = [names.new(Value(0.0, "x")) for _ in range(n)]
    assert len(set(handed)) == n
    assert "x__5" not in handed  # a reserved name is stepped over
    assert handed[:6] == ["x", "x__2", "x__3", "x__4", "x__6", "x__7"]
    assert CountingSet.lookups <= 3 * n


def test_an_unlabelled_chain_compiles_with_distinct_names() -> None:
    v0 = Value(0.5, "v")
    v = v0
    for _ in range(3000):
        v = v * 1.0001 + 0.0001
    graph = compile_graph(v, [v0], [], name="mul__2")  # the function's name is one a node would get
    assert graph.source.startswith("def mul__2(")
    assert "    mul__3 = " in graph.source and "    mul__2 = " not in graph.source
    v.backward()
    assert graph([0.5], []).input_grads == (v0.grad,)


# ------------------------------------------------------------- nodes it cannot reproduce


def refused(root: Value, inputs: list[Value], message: str) -> str:
    with pytest.raises(ValueError, match=message) as info:
        compile_graph(root, inputs, [])
    return str(info.value)


def test_a_hand_made_node_with_its_own_data_is_refused() -> None:
    x = Value(1.0, "x")
    fake = Value(5.0, "f", (x,), (1.0,), "exp")  # exp(1) is 2.718..., not 5
    text = refused(fake, [x], r"cannot compile node 'f' \(op 'exp'\): its data is 5.0")
    assert "2.718281828459045" in text


def test_a_hand_made_node_with_its_own_local_derivative_is_refused() -> None:
    x = Value(1.0, "x")
    fake = Value(math.exp(1.0), "f", (x,), (7.0,), "exp")  # right data, wrong derivative
    refused(fake, [x], r"node 'f' \(op 'exp'\): its local derivative with respect to input 1 is 7.0")


@pytest.mark.parametrize(
    ("op", "n_parents", "expected"),
    [
        ("+", 1, "exactly 2"),
        ("*", 3, "exactly 2"),
        ("tanh", 2, "exactly 1"),
        ("linear", 2, "an odd number"),
        ("squared error", 3, "an even number"),
    ],
)
def test_a_node_with_the_wrong_number_of_inputs_is_refused(op: str, n_parents: int, expected: str) -> None:
    leaves = [Value(float(k + 1), f"x_{k + 1}") for k in range(n_parents)]
    fake = Value(1.0, "g", tuple(leaves), (1.0,) * n_parents, op)
    pattern = (
        rf"node 'g' \(op '{re.escape(op)}'\): it has {n_parents} input\(s\); operation .* takes {expected}"
    )
    refused(fake, leaves, pattern)


def test_a_node_with_too_few_local_derivatives_is_refused() -> None:
    x, w = Value(2.0, "x"), Value(3.0, "w")
    fake = Value(6.0, None, (x, w), (3.0, 2.0), "*")
    fake.local_grads = (3.0,)  # Value(...) itself refuses this; a node changed afterwards is caught here
    refused(fake, [x, w], r"\(unlabelled\) \(op '\*'\): it has 2 input\(s\) but 1 local derivatives")


def test_a_softmax_index_out_of_range_is_refused() -> None:
    a = [Value(0.5, "a_1"), Value(-0.5, "a_2")]
    y = softmax(a)[1]
    y.index = 2
    refused(y, a, "output index 2 of 2")


def test_a_graph_whose_leaves_changed_is_refused() -> None:
    w, z, b = Value(2.0, "w"), Value(3.0, "z"), Value(1.0, "b")
    a = linear([w], [z], b, label="a")
    w.data = 5.0  # after the graph was built: a.data is stale
    text = refused(a, [w, z, b], r"node 'a' \(op 'linear'\): its data is 7.0")
    assert "has not changed since the graph was built" in text


def test_engine_nodes_with_nan_and_negative_zero_are_reproduced() -> None:
    """NaN (whatever its payload) and the sign of zero: what the engine made, the check accepts."""
    x, y = Value(-0.0, "x"), Value(math.inf, "y")
    root = (x * 1.0) + (y - y) + (-x).relu() + (x / x)
    graph = compile_graph(root, [x, y], [])
    assert math.isnan(graph([-0.0, math.inf], []).value)


# ------------------------------------------------------------------------------ numbers


def test_an_integer_too_large_for_a_float_is_a_value_error_naming_the_argument() -> None:
    x, w = Value(1.0, "x"), Value(2.0, "w")
    graph = compile_graph(x * w, [x], [w], accumulate=True)
    with pytest.raises(ValueError, match=r"inputs\[0\] is too large for a float \(int of about 10\^400\)"):
        graph([10**400], [1.0])
    with pytest.raises(ValueError, match=r"parameters\[0\] is too large"):
        graph([1.0], [-(10**400)])
    with pytest.raises(ValueError, match=r"grads\[1\] is too large"):
        graph([1.0], [1.0], [0.0, 10**309])
    loss = CompiledLoss(MLP(2, [1], activations="identity", seed=0), sse)
    with pytest.raises(ValueError, match="x_1 is too large for a float"):
        loss([[10**400, 1.0]], [0.5])
    with pytest.raises(ValueError, match="target t_2 is too large for a float"):
        loss([[1.0, 1.0], [1.0, 1.0]], [0.5, 10**400])


def test_every_real_number_type_is_the_float_it_equals() -> None:
    x, w = Value(1.0, "x"), Value(2.0, "w")
    graph = compile_graph((x * w).tanh(), [x], [w])
    expected = graph([0.5], [3.0])
    for inputs, parameters in (
        ([np.float32(0.5)], [np.int64(3)]),
        ([Fraction(1, 2)], [3]),
        ([np.float64(0.5)], [np.float16(3.0)]),
    ):
        assert graph(inputs, parameters) == expected


def test_compiled_loss_takes_numpy_scalars_as_the_eager_step_does() -> None:
    def cce(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
        return categorical_cross_entropy([model(x) for x in xs], ts)

    plain, numpy_typed = (MLP(2, [3], activations="softmax", seed=0) for _ in range(2))
    E = CompiledLoss(plain, cce)([[0.5, 1.0], [-1.0, 0.25]], [2, 0])
    E_np = CompiledLoss(numpy_typed, cce)(
        [[np.float32(0.5), np.int64(1)], [np.float64(-1.0), Fraction(1, 4)]], [np.int64(2), np.uint8(0)]
    )
    assert E_np == E
    assert [p.grad for p in numpy_typed.parameters()] == [p.grad for p in plain.parameters()]
    with pytest.raises(TypeError, match="target t_1 must be a number"):
        CompiledLoss(plain, cce)([[0.5, 1.0]], [np.bool_(True)])
