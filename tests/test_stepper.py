"""The stepper: the order and the gradients of ``backward()``, bit for bit, and the steps written out.

Every comparison of floats is exact (``float.hex``): the stepper drives the very generator that
``backward()`` uses, so nothing may differ in the last bit.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import MLP, Value, squared_error, sum_values, topological_order, worked_example
from micrograd_lite.stepper import Recording, Step, backward_steps, record_steps
from micrograd_lite.testing.programs import Program
from micrograd_lite.testing.strategies import NetworkCase, networks, programs


def grads(root: Value) -> list[str]:
    """Every node's grad, in topological order, exactly."""
    return [node.grad.hex() for node in topological_order(root)]


def interior_reversed(root: Value) -> list[Value]:
    return [n for n in reversed(topological_order(root)) if n.parents]


def run_steps(root: Value, seed: float = 1.0) -> list[Step]:
    return list(backward_steps(root, seed))


def check_records(root: Value, steps: list[Step], seed: float = 1.0) -> None:
    """Each record says what its step did: replaying the contributions gives every total and delta."""
    assert [s.node for s in steps] == interior_reversed(root)
    assert [s.index for s in steps] == list(range(len(steps)))
    running: dict[Value, float] = {}
    for step in steps:
        if step.index == 0:
            assert step.node is root and step.delta == seed
        else:
            assert step.delta.hex() == running[step.node].hex()  # final once every user has pushed
        assert len(step.edges) == len(step.node.parents)
        for edge, parent, local in zip(step.edges, step.node.parents, step.node.local_grads):
            assert edge.parent is parent and edge.local.hex() == local.hex()
            assert edge.contribution.hex() == (step.delta * local).hex()
            running[parent] = running.get(parent, 0.0) + edge.contribution
        for edge in step.edges:  # a record's total is the parent's grad after the whole step
            assert edge.total.hex() == running[edge.parent].hex()
    for node, total in running.items():  # the last running total is the final gradient
        assert node.grad.hex() == total.hex()


# ------------------------------------------------------------------ random graphs
@given(programs(max_operations=14))
def test_stepper_equals_backward_on_random_graphs(program: Program) -> None:
    _, first = program.values()
    _, second = program.values()  # an identical graph, built the same way
    a, b = first[-1], second[-1]
    a.backward()
    expected = grads(a)  # before the second pass: constant leaves are shared between the copies
    recording = record_steps(b)
    assert grads(b) == expected
    assert [s.node for s in recording] == interior_reversed(b)
    check_records(b, recording.steps)
    check_running_totals(recording)


def check_running_totals(recording: Recording) -> None:
    """Per edge, the parent's grad right after that edge: the engine's sums, parallel edges included."""
    running = dict(recording.start)
    for step in recording:
        for slot, edge in enumerate(step.edges):
            running[edge.parent] = running.get(edge.parent, 0.0) + edge.contribution
            assert recording.running_total(step, slot).hex() == running[edge.parent].hex()
        for edge in step.edges:
            assert running[edge.parent].hex() == edge.total.hex()


@given(networks(max_width=3, max_layers=3, max_examples=2), st.sampled_from([1.0, -0.5, 3.0]))
def test_stepper_equals_backward_on_random_networks(case: NetworkCase, seed: float) -> None:
    E1 = case.error(case.build())
    E2 = case.error(case.build())
    E1.backward(seed)
    expected = grads(E1)
    steps = run_steps(E2, seed)
    assert grads(E2) == expected
    check_records(E2, steps, seed)


def test_stepper_equals_backward_on_the_worked_example() -> None:
    by_backward = worked_example()  # delta_table calls E.backward()
    stepped = worked_example()
    assert stepped.root is not None and by_backward.root is not None
    stepped.root.zero_grad()
    steps = run_steps(stepped.root)
    assert grads(stepped.root) == grads(by_backward.root)
    assert [s.node for s in steps] == interior_reversed(stepped.root)
    check_records(stepped.root, steps)
    labels = [s.node.label for s in steps]
    assert labels[:3] == ["E", "y", "a[3]_1"] and labels[-1] == "a[1]_1"


def test_leaves_accumulate_across_passes_as_with_backward() -> None:
    def build() -> Value:
        x = Value(0.7, label="x")
        return (x * x + x.tanh()) * 3.0

    a, b = build(), build()
    a.backward()
    a.backward()
    run_steps(b)
    run_steps(b)
    assert grads(a) == grads(b)


def test_parallel_edges_show_each_running_total() -> None:
    x = Value(1.0, label="x")
    x.grad = 5.0  # an earlier pass: leaves accumulate
    E = x + x
    E.label = "E"
    recording = record_steps(E)
    (step,) = recording.steps
    assert [e.total for e in step.edges] == [7.0, 7.0]  # the record: x.grad after the whole step
    assert [recording.running_total(step, k) for k in (0, 1)] == [6.0, 7.0]
    assert recording.edge_lines(step) == ["x.grad += 1 * 1 = 1 -> 6", "x.grad += 1 * 1 = 1 -> 7"]
    check_running_totals(recording)


def test_stopping_early_leaves_a_partial_pass() -> None:
    x = Value(2.0, label="x")
    y = x * 3.0
    E = y.exp()
    steps = backward_steps(E)
    first = next(steps)
    assert first.node is E and y.grad == E.data and x.grad == 0.0  # x not reached yet
    rest = list(steps)
    assert [s.node for s in rest] == [y] and x.grad == 3.0 * E.data


def test_a_leaf_root_has_no_steps() -> None:
    x = Value(1.5)
    assert run_steps(x) == [] and x.grad == 1.0
    recording = record_steps(Value(2.0, label="w"))
    assert len(recording) == 0 and "0 steps" in repr(recording)


# ------------------------------------------------------------------ the lecture's form
def recorded_worked_example() -> tuple[Recording, dict[str, Value]]:
    table = worked_example()
    assert table.root is not None
    table.root.zero_grad()
    recording = record_steps(table.root)
    return recording, {n.label: n for n in recording.order if n.label}


def test_units_are_recognised_with_the_lecture_terms() -> None:
    recording, node = recorded_worked_example()
    units = {s.node.label: recording.unit_delta(s) for s in recording}
    recognised = {k for k, u in units.items() if u is not None}
    assert recognised == {"a[1]_1", "a[1]_2", "a[2]_1", "a[2]_2", "a[3]_1"}
    output = units["a[3]_1"]
    assert output is not None and output.terms is None and output.z is node["y"]
    for l in (1, 2):
        for i in (1, 2):
            unit = units[f"a[{l}]_{i}"]
            assert unit is not None and unit.terms is not None and unit.activation == "sigmoid"
            # z[l]_i feeds a[l+1]_k through W[l+1]_ki: one term per unit k of the next layer
            want = {(f"a[{l + 1}]_{k}", f"W[{l + 1}]_{k}{i}") for k in ((1,) if l == 2 else (1, 2))}
            assert {(t.child.label, t.weight.label) for t in unit.terms} == want
            for t in unit.terms:
                assert t.delta == t.child.grad and t.local == t.weight.data
            # The engine's own arithmetic: z's grad is the sum of the terms, a's grad is f' times it.
            total = 0.0
            for t in unit.terms:
                total += t.contribution
            assert total.hex() == unit.dE_dz.hex() == unit.z.grad.hex()
            assert (0.0 + unit.dE_dz * unit.f_prime).hex() == unit.a.grad.hex()
    assert all(recording.unit_delta(s) is None for s in recording if s.node.op != "linear")


def test_the_steps_written_out() -> None:
    recording, _ = recorded_worked_example()
    by_label = {s.node.label: k for k, s in enumerate(recording)}
    hidden = recording.text(by_label["a[2]_1"])
    assert "delta[2]_1 = f'(a[2]_1) sum_k delta[3]_k W[3]_k1" in hidden
    assert "(delta[3]_1 W[3]_11)" in hidden and "f = sigmoid" in hidden
    first_layer = recording.formula(recording[by_label["a[1]_2"]])
    assert first_layer[0] == "delta[1]_2 = f'(a[1]_2) sum_k delta[2]_k W[2]_k2"
    assert "delta[2]_1 W[2]_12" in first_layer[1] and "delta[2]_2 W[2]_22" in first_layer[1]
    output = recording.formula(recording[by_label["a[3]_1"]])
    assert output[0] == "delta[3]_1 = dE/dy f'(a[3]_1)"
    assert recording.formula(recording[0]) == ["dE/dE = 1 (the seed: the backward pass starts here)"]
    z = recording.formula(recording[by_label["z[1]_1"]])
    assert z[0].startswith("dE/dz[1]_1 = sum over the nodes that use z[1]_1:")
    step = recording[by_label["a[3]_1"]]
    lines = recording.edge_lines(step)
    assert len(lines) == len(step.edges)
    assert lines[0].startswith("W[3]_11.grad += -0.50853 * ")
    assert all(" -> " in line and " = " in line for line in lines)
    assert "step 3 of 11: a[3]_1 (linear), delta = " + repr(step.delta) in recording.text(2)


def test_written_out_names_for_unlabelled_nodes_and_constants() -> None:
    x = Value(0.5, label="x")
    E = (x * 2.0 + x).relu()
    recording = record_steps(E)
    text = "\n".join(recording.text(k) for k in range(len(recording)))
    # Unlabelled nodes are named by operation and a counter, the same name in every line.
    assert recording.text(0).startswith("step 1 of 3: relu_1 (relu), ")
    assert "step 2 of 3: add_1 (+)" in text and "step 3 of 3: mul_1 (*)" in text
    assert "drelu_1/dadd_1" in text and "add_1.grad += " in text
    assert "#" not in text and "(" + "relu_1)" not in text
    # The constant 2 has no gradient anyone uses: no line pushes to it (before: "(2).grad += ...").
    assert ".grad +=" in text and "(2).grad" not in text
    assert recording.edge_lines(recording[2]) == ["x.grad += 1 * 2 = 2 -> 3"]
    assert len(recording.edge_parts(recording[2])) == 2  # the record itself keeps both edges


def test_long_sums_are_shortened() -> None:
    # Each unit of layer 1 feeds the 12 units of layer 2: a sum of 12 terms.
    wide = MLP(2, [2, 12, 1], activations=["tanh", "tanh", "identity"], seed=2)
    E2 = squared_error(wide([0.3, -0.2]), 0.5)
    recording = record_steps(E2)
    first = next(s for s in recording if s.node.label == "a[1]_1")
    unit = recording.unit_delta(first)
    assert unit is not None and unit.terms is not None and len(unit.terms) == 12
    line = recording.formula(first)[1]
    assert "more terms" in line and line.count(" + ") < 12


def test_record_steps_needs_a_value() -> None:
    with pytest.raises(TypeError, match="needs a Value"):
        record_steps(1.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ indexes, arguments, size
def test_negative_step_indexes_count_from_the_end_like_a_list() -> None:
    recording, _ = recorded_worked_example()
    n = len(recording)
    assert recording.text(-1).startswith(f"step {n} of {n}: ")  # before: "step 0 of 11"
    assert recording.text(-1) == recording.text(n - 1)
    assert recording.text(-n) == recording.text(0)
    with pytest.raises(
        IndexError, match=r"step index 11 is out of range for 11 steps \(valid: 0..10, or -11..-1"
    ):
        recording.text(11)
    with pytest.raises(IndexError, match="step index -12 is out of range"):
        recording.text(-12)
    with pytest.raises(TypeError, match="index must be an int"):
        recording.text(1.0)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="no steps"):
        record_steps(Value(1.0, label="w")).text(0)


def test_a_seed_that_is_not_a_number_is_named_in_the_error() -> None:
    x = Value(1.0, label="x")
    with pytest.raises(TypeError, match=r"seed must be a real number.*got str 'a'"):
        record_steps(x * 2.0, seed="a")  # type: ignore[arg-type]
    assert record_steps(x * 2.0, seed=2).seed == 2.0


def test_recording_a_wide_sum_is_linear_in_its_fan_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work counted, not timed: ``parents.count(p)`` per parent compared every pair of the 4,000 terms."""
    n = 4000
    terms = [Value(float(k), label=f"v_{k}") for k in range(n)]
    E = sum_values([*terms, terms[0]])  # one parallel edge, so the running totals need the check
    calls = [0]

    def counting_eq(a: object, b: object) -> bool:  # what list.count calls per element
        calls[0] += 1
        return a is b

    monkeypatch.setattr(Value, "__eq__", counting_eq)
    recording = record_steps(E)
    assert calls[0] < 10 * n  # before: about n * n = 16,000,000
    monkeypatch.undo()
    (step,) = recording.steps
    assert [recording.running_total(step, slot) for slot in (0, n)] == [0.0 + 1.0, 2.0]  # v_0 twice
