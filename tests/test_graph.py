"""One graph, walked once: :class:`micrograd_lite.graph.Graph` and the views that share it.

The graph's answers (children, units, reachability) are checked against brute-force computations
from the nodes' parents; the views are checked to walk the graph (compute the topological order)
exactly once per call, by counting the calls of ``topological_order`` wherever it is bound.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

import micrograd_lite.autodiff as autodiff
from micrograd_lite import MLP, Value, draw, paths, record_steps, squared_error, step_page, worked_example
from micrograd_lite.graph import Graph
from micrograd_lite.naming import node_names


def worked_root() -> Value:
    table = worked_example()
    assert table.root is not None
    return table.root


def ancestors(node: Value) -> set[Value]:
    """Every node ``node`` is computed from (brute force, an explicit stack)."""
    seen: set[Value] = set()
    stack = list(node.parents)
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(v.parents)
    return seen


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Value]]:
    """The roots of every ``topological_order`` call made while the test runs, wherever it is bound."""
    calls: list[Value] = []
    original = autodiff.topological_order

    def counted(root: Value) -> list[Value]:
        calls.append(root)
        return original(root)

    for name, module in list(sys.modules.items()):
        if name.startswith("micrograd_lite") and getattr(module, "topological_order", None) is original:
            monkeypatch.setattr(module, "topological_order", counted)
    yield calls


# ------------------------------------------------------------------ walked once


@pytest.mark.parametrize("layout", ["columns", pytest.param("svg", marks=pytest.mark.needs_dot)])
def test_one_step_page_computes_the_topological_order_once(walks: list[Value], layout: str) -> None:
    E = worked_root()
    E.backward()  # grads to zero first: the page zeroes them over the same walk
    walks.clear()
    page = step_page(E, layout=layout)  # type: ignore[arg-type]
    assert page.layout == layout
    assert walks == [E]
    assert all(node.grad == ref for node, ref in zip(page.recording.order, grads_of_fresh_backward()))


def grads_of_fresh_backward() -> list[float]:
    E = worked_root()
    for node in autodiff.topological_order(E):
        node.grad = 0.0
    E.backward()
    return [node.grad for node in autodiff.topological_order(E)]


def test_the_fixture_counts_the_walks_of_backward(walks: list[Value]) -> None:
    E = worked_root()
    walks.clear()
    E.zero_grad()
    E.backward()
    assert walks == [E, E]  # so a view that walks twice would be seen


def test_a_highlighted_drawing_and_a_path_listing_walk_the_graph_once(walks: list[Value]) -> None:
    E = worked_root()
    walks.clear()
    draw(E, highlight="W[1]_12")
    assert walks == [E]
    walks.clear()
    found = paths(E, "W[1]_12")
    assert len(found) == 2 and walks == [E]
    walks.clear()
    record_steps(E)
    assert walks == [E]


def test_a_graph_handed_on_is_not_walked_again(walks: list[Value]) -> None:
    E = worked_root()
    graph = Graph(E)
    walks.clear()
    recording = record_steps(graph)
    draw(graph, view="units", highlight="x_2")
    assert walks == []
    assert recording.graph is graph and recording.names is graph.names


# ------------------------------------------------------------------ what a graph knows


def test_children_are_every_use_of_a_node_once_per_edge_in_order() -> None:
    x = Value(2.0, label="x")
    y = x * x + x.tanh()
    graph = Graph(y)
    expected: dict[Value, list[Value]] = {}
    for node in graph.order:
        for parent in node.parents:
            expected.setdefault(parent, []).append(node)
    assert graph.children == expected
    (square,) = [v for v in graph.order if v.op == "*"]
    assert graph.children[x].count(square) == 2  # x * x: two edges
    assert graph.index[y] == len(graph) - 1 and y in graph and Value(1.0) not in graph


def test_units_of_the_worked_example_are_its_five_units_in_three_layers() -> None:
    graph = Graph(worked_root())
    units = {unit.a.label: unit for unit in graph.units.values()}
    assert sorted(units) == ["a[1]_1", "a[1]_2", "a[2]_1", "a[2]_2", "a[3]_1"]
    for label, unit in units.items():
        assert unit.layer == int(label[2]) and unit.n == 2
        assert unit.z is not None and unit.z.op == "sigmoid" and unit.z.parents == (unit.a,)


def test_reachable_from_is_every_node_that_depends_on_the_start() -> None:
    model = MLP(3, [4, 4, 1], activations="tanh", seed=3)
    E = squared_error(model([0.5, -1.0, 2.0]), 1.0)
    graph = Graph(E)
    for start in graph.order[::7]:
        expected = {v for v in graph.order if start in ancestors(v)} | {start}
        assert graph.reachable_from(start) == expected
    assert graph.reachable_from(Value(1.0)) == set()


def test_names_and_kinds_are_computed_once_per_graph() -> None:
    graph = Graph(worked_root())
    assert graph.names is graph.names and graph.kinds is graph.kinds
    assert graph.names == node_names(graph.order)
    assert graph.node("W[1]_12", "wrt").label == "W[1]_12"
    assert repr(graph).startswith("<Graph: ")


def test_a_graph_of_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="root must be a Value"):
        Graph([Value(1.0)])  # type: ignore[arg-type]


# ------------------------------------------------------------------ the walk's check


def test_a_push_check_runs_once_per_pushed_node_and_only_inside_its_block() -> None:
    x = Value(1.5, label="x")
    E = (x * x).tanh() + x
    seen: list[Value] = []
    with autodiff.checking_pushes(seen.append):
        E.backward()
    assert seen == [v for v in reversed(autodiff.topological_order(E)) if v.parents]
    seen.clear()
    E.backward()
    assert seen == []


def test_push_checks_hold_for_their_thread_and_leave_out_of_order() -> None:
    E = Value(2.0) * Value(3.0)
    other: list[Value] = []

    def in_another_thread() -> None:
        E.backward()

    with autodiff.checking_pushes(other.append):
        thread = threading.Thread(target=in_another_thread)
        thread.start()
        thread.join()
    assert other == []  # the other thread's pass ran no check of this thread's block
    first, second = [], []  # type: ignore[var-annotated]
    a, b = autodiff.checking_pushes(first.append), autodiff.checking_pushes(second.append)
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)  # closed out of order: the inner block's check stays
    E.backward()
    assert (len(first), len(second)) == (0, 1)
    b.__exit__(None, None, None)
    E.backward()
    assert (len(first), len(second)) == (0, 1)
