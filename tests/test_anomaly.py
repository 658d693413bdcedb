"""``detect_anomaly()``: the first nan or inf raises AnomalyError saying what, where and from what.

Outside the context the numerics policy holds (nan and inf flow through, as in PyTorch); inside it
the first non-finite value (forward) or gradient (backward) stops the program with a message naming
the node's label and operation, its inputs' values (forward) or delta and local derivative
(backward), and the file and line of the user's code that created the node.
"""

from __future__ import annotations

import inspect
import math

import pytest

from micrograd_lite import MLP, Value, linear, squared_error, sum_values
from micrograd_lite.anomaly import AnomalyError, detect_anomaly


def here() -> str:
    """``file:line`` of the caller's next line."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return f"{frame.f_back.f_code.co_filename}:{frame.f_back.f_lineno + 1}"


# ---------------------------------------------------------------------------- forward pass


def test_forward_nan_names_the_operation_its_inputs_and_the_line() -> None:
    x = Value(-1.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        site = here()
        x.log()
    message = str(info.value)
    assert "forward pass produced nan" in message
    assert "op 'log'" in message
    assert "inputs: [x=-1.0]" in message
    assert f"created at {site}" in message


def test_forward_inf_is_an_anomaly_too() -> None:
    with (
        detect_anomaly(),
        pytest.raises(AnomalyError, match=r"produced inf .*op 'exp'.*inputs: \[a=1000.0\]"),
    ):
        Value(1000.0, label="a").exp()


def test_forward_names_the_label_of_a_labelled_node() -> None:
    w = [Value(1e308, label="W[1]_11"), Value(1e308, label="W[1]_12")]
    z = [Value(2.0, label="x_1"), Value(1.0, label="x_2")]
    b = Value(0.0, label="b[1]_1")
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        site = here()
        linear(w, z, b, label="a[1]_1")
    message = str(info.value)
    assert "node 'a[1]_1' (op 'linear')" in message
    assert "W[1]_11=1e+308" in message and "x_1=2.0" in message and "b[1]_1=0.0" in message
    assert site in message


def test_forward_in_a_network_points_at_the_users_line_not_the_library() -> None:
    model = MLP.from_weights([[[1e308, 1e308]], [[1.0]]], [[0.0], [0.0]], ["identity", "identity"])
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        site = here()
        model([2.0, 1.0])
    message = str(info.value)
    assert "node 'a[1]_1' (op 'linear')" in message
    assert "W[1]_11=1e+308" in message and "x_1=2.0" in message
    assert f"created at {site}" in message  # the call in this file, not a line of nn.py


def test_a_leaf_holding_nan_is_caught_where_it_is_made() -> None:
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        site = here()
        Value(math.nan, label="w")
    assert "node 'w' (op 'leaf')" in str(info.value) and "inputs: [none]" in str(info.value)
    assert site in str(info.value)


def test_it_stops_at_the_first_anomaly() -> None:
    reached = []
    with detect_anomaly(), pytest.raises(AnomalyError, match="op 'log'"):
        y = Value(-1.0).log()  # the first nan
        reached.append(y)
        (y * 2).exp()  # would be the second
    assert reached == []


# --------------------------------------------------------------------------- backward pass


def test_backward_names_the_edge_where_a_gradient_became_infinite() -> None:
    with detect_anomaly():
        x = Value(0.0, label="x")
        site = here()
        root = x**0.5  # forward 0.0 is fine; d/dx = 0.5 * 0^-0.5 = inf
        E = sum_values([root, x], label="E")
        with pytest.raises(AnomalyError) as info:
            E.backward()
    message = str(info.value)
    assert "backward pass produced grad inf for node 'x' (op 'leaf')" in message
    assert "while pushing from node (unlabelled) (op '**')" in message
    assert "delta=1.0" in message and "local derivative=inf" in message and "parent data=0.0" in message
    assert f"was created at {site}" in message


def test_backward_nan_from_zero_times_inf() -> None:
    with detect_anomaly():
        x = Value(0.0, label="x")
        y = (x**0.5) * 0.0  # delta 0 reaches the ** node, times the local inf: nan
        with pytest.raises(AnomalyError, match=r"backward pass produced grad nan for node 'x'"):
            y.backward()


def test_graph_built_outside_the_context() -> None:
    x = Value(0.0, label="x")
    root = x**0.5
    with detect_anomaly(), pytest.raises(AnomalyError, match="created outside detect_anomaly"):
        root.backward()


# ----------------------------------------------------------------------------- the context


def test_outside_the_context_nan_and_inf_flow_as_the_numerics_policy_says() -> None:
    y = Value(-1.0).log()
    assert math.isnan(y.data)
    x = Value(0.0)
    root = x**0.5
    root.backward()
    assert x.grad == math.inf


def test_hooks_are_restored_after_an_anomaly_and_after_nesting() -> None:
    with pytest.raises(AnomalyError), detect_anomaly():
        Value(-1.0).log()
    assert math.isnan(Value(-1.0).log().data)  # detection is off again
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):  # the outer context still detects
            Value(-1.0).log()
    assert math.isnan(Value(-1.0).log().data)


def test_a_finite_training_step_is_unchanged_by_detection() -> None:
    def step() -> list[float]:
        model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=4)
        E = squared_error([model([0.5, -1.0]), model([1.0, 2.0])], [0.3, -0.2])
        E.backward()
        return [p.grad for p in model.parameters()]

    plain = step()
    with detect_anomaly():
        checked = step()
    assert checked == plain


def test_a_constant_exponent_at_a_negative_base_is_not_an_anomaly() -> None:
    """(x - 3) ** 2 at x < 3: the number 2 is part of the operation, so no nan is computed at all.

    With a constant Value as exponent, d/dn = y ln(x - 3) is nan, but nothing depends on the constant.
    """
    with detect_anomaly():
        x = Value(1.0, "x")
        E = (x - 3) ** 2
        E.backward()
    assert x.grad == 2 * (1.0 - 3)
    assert len(E.parents) == 1 and E.exponent == 2.0  # type: ignore[attr-defined]
    with detect_anomaly():
        x = Value(1.0, "x")
        E = (x - 3) ** Value.constant(2)
        E.backward()
    assert x.grad == 2 * (1.0 - 3)
    exponent = E.parents[1]
    assert exponent.op == "const" and math.isnan(exponent.grad)  # computed, and harmless


def test_graphs_made_inside_the_context_are_still_freed() -> None:
    """Creation sites are remembered weakly: a training loop inside detect_anomaly() does not leak."""
    import gc
    import tracemalloc

    model = MLP(2, [4, 1], ["tanh", "identity"], seed=0)

    def step() -> None:
        model.zero_grad()
        squared_error([model([0.5, -1.0]), model([1.0, 0.25])], [0.3, -0.2]).backward()

    with detect_anomaly():
        for _ in range(20):
            step()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    assert grown < 20_000, grown  # a leak would keep ~200 graphs of ~40 nodes: hundreds of KB
