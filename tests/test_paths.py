"""Paths from a node to the root: enumeration, counting, and their sum = the gradient."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    TooManyPathsError,
    Value,
    count_paths,
    linear,
    path_sum,
    paths,
    sum_values,
    topological_order,
    worked_example,
)
from micrograd_lite.paths import iter_paths, nodes_on_paths


def by_label(root: Value, label: str) -> Value:
    (node,) = [v for v in topological_order(root) if v.label == label]
    return node


def close(total: float, grad: float, products: list[float]) -> bool:
    """Equal up to rounding: the tolerance scales with the terms summed (they may cancel)."""
    scale = sum(abs(p) for p in products) + abs(grad)
    return abs(total - grad) <= 1e-12 * scale + 1e-300


# ------------------------------------------------------- the worked example
def test_worked_example_first_layer_weight_has_the_lectures_two_paths() -> None:
    table = worked_example()
    E = table.root
    assert E is not None
    w = by_label(E, "W[1]_12")
    found = paths(E, w)
    chains = [[v.label for v in p.nodes] for p in found]
    assert chains == [
        ["W[1]_12", "a[1]_1", "z[1]_1", "a[2]_1", "z[2]_1", "a[3]_1", "y", "E"],
        ["W[1]_12", "a[1]_1", "z[1]_1", "a[2]_2", "z[2]_2", "a[3]_1", "y", "E"],
    ]
    # da[1]_1/dW[1]_12 = x_2 = 2, the first factor of both paths.
    assert [p.local_grads[0] for p in found] == [2.0, 2.0]
    total = sum(p.product for p in found)
    assert close(total, w.grad, [p.product for p in found])
    assert w.grad == table.grad("W[1]_12")
    assert count_paths(E, w) == 2


def test_path_factors_are_the_stored_local_derivatives_and_product_multiplies_them() -> None:
    E = worked_example().root
    assert E is not None
    for p in paths(E, by_label(E, "x_1")):
        assert p.nodes[-1] is E
        assert len(p) == len(p.nodes) - 1 == len(p.local_grads)
        for k, (parent, child) in enumerate(zip(p.nodes, p.nodes[1:])):
            assert child.parents[p.slots[k]] is parent
            assert p.local_grads[k] == child.local_grads[p.slots[k]]
        assert p.product == pytest.approx(math.prod(p.local_grads), rel=1e-15)
    text = paths(E, by_label(E, "W[3]_11"))[0].text()
    assert text.startswith("W[3]_11 -> a[3]_1 -> y -> E: ")


# ------------------------------------------------------ random graphs (hypothesis)
UNARY: list[Callable[[Value], Value]] = [
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: -a,
    lambda a: (a**2).tanh(),
    lambda a: a.tanh().exp(),
    lambda a: a.relu() + 0.5,
]
BINARY: list[Callable[[Value, Value], Value]] = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: (a * b).tanh(),
    lambda a, b: a / (1.0 + b * b),
]


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[Value, list[Value]]:
    """A random expression graph whose operands are drawn from every node made so far.

    Operands are reused freely, so subexpressions are shared and parallel edges
    (``a + a``, ``a * a``) occur; values stay bounded (tanh, sigmoid) so no
    product overflows.
    """
    n_leaves = draw(st.integers(1, 4))
    leaves = [
        Value(draw(st.floats(-2.0, 2.0, allow_nan=False)), label=f"x_{j}") for j in range(1, n_leaves + 1)
    ]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["unary", "binary", "sum", "linear"]))
        pick = st.integers(0, len(nodes) - 1)
        if kind == "unary":
            nodes.append(draw(st.sampled_from(UNARY))(nodes[draw(pick)]))
        elif kind == "binary":
            nodes.append(draw(st.sampled_from(BINARY))(nodes[draw(pick)], nodes[draw(pick)]))
        elif kind == "sum":
            nodes.append(sum_values([nodes[draw(pick)] for _ in range(draw(st.integers(1, 3)))]))
        else:
            k = draw(st.integers(1, 2))
            ws = [nodes[draw(pick)] for _ in range(k)]
            zs = [nodes[draw(pick)] for _ in range(k)]
            nodes.append(linear(ws, zs, nodes[draw(pick)]).tanh())
    # The root depends on the last node and, often, on earlier ones too.
    extra = [nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(draw(st.integers(0, 2)))]
    root = sum_values([nodes[-1], *extra]) if extra else nodes[-1]
    return root, leaves


def reference_paths(root: Value, wrt: Value) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every path as (node ids, slots), by building the path lists node by node (small graphs only)."""
    found: dict[Value, list[tuple[tuple[int, ...], tuple[int, ...]]]] = {wrt: [((id(wrt),), ())]}
    for node in topological_order(root):
        if node is wrt:
            continue
        here = []
        for slot, parent in enumerate(node.parents):
            for ids, slots in found.get(parent, []):
                here.append(((*ids, id(node)), (*slots, slot)))
        if here:
            found[node] = here
    return set(found.get(root, []))


@given(random_graphs())
def test_path_products_sum_to_the_gradient_on_random_graphs(graph: tuple[Value, list[Value]]) -> None:
    root, leaves = graph
    root.zero_grad()
    root.backward()
    for x in leaves:
        found = paths(root, x)
        products = [p.product for p in found]
        assert close(sum(products), x.grad, products), (x.label, sum(products), x.grad)
        assert close(path_sum(root, x), x.grad, products)


@given(random_graphs())
def test_paths_are_exactly_the_reference_paths_and_count_paths_counts_them(
    graph: tuple[Value, list[Value]],
) -> None:
    root, leaves = graph
    order = topological_order(root)
    for wrt in [*leaves, *order[:: max(1, len(order) // 5)]]:
        found = paths(root, wrt)
        listed = {(tuple(id(v) for v in p.nodes), p.slots) for p in found}
        assert len(listed) == len(found)  # no path listed twice
        assert listed == reference_paths(root, wrt)
        assert count_paths(root, wrt) == len(found)
        on_path = nodes_on_paths(root, wrt)
        assert on_path == {v for p in found for v in p.nodes}


# ----------------------------------------------------------------- counting
@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("layers", [2, 3, 4, 5])
def test_count_paths_on_an_mlp_is_the_lectures_closed_form(width: int, layers: int) -> None:
    model = MLP(2, [width] * (layers - 1) + [1], activations="tanh", seed=width + layers)
    y = model([0.3, -0.7])
    assert isinstance(y, Value)
    w = model.layers[0].neurons[0].W[1]  # W[1]_12
    assert w.label == "W[1]_12"
    assert count_paths(y, w) == width ** (layers - 2)
    x_1 = by_label(y, "x_1")
    assert count_paths(y, x_1) == width ** (layers - 1)  # one more layer of fan-out
    if width ** (layers - 2) <= 1000:
        assert len(paths(y, w)) == width ** (layers - 2)


def test_count_paths_on_a_wide_deep_mlp_without_enumerating() -> None:
    model = MLP(3, [8] * 7 + [1], activations="relu", seed=1)  # L = 8 weight layers
    y = model([0.1, 0.2, 0.3])
    assert isinstance(y, Value)
    assert count_paths(y, model.layers[0].neurons[2].W[0]) == 8**6


def diamonds(n: int) -> tuple[Value, Value]:
    """``n`` diamonds in a row, ``b = a * 0.5 + a * 0.5``: 2^n paths from the first ``a`` to the end."""
    a = first = Value(1.5, label="a")
    for _ in range(n):
        a = a * 0.5 + a * 0.5
    return a, first


def test_a_chain_of_100_diamonds_has_2_to_the_100_paths() -> None:
    root, a = diamonds(100)
    n = count_paths(root, a)
    assert n == 2**100
    assert n > 10**30
    assert isinstance(n, int)
    root.backward()
    assert a.grad == 1.0
    assert path_sum(root, a) == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(TooManyPathsError, match=r"1,267,650,600,228,229,401,496,703,205,376 paths"):
        paths(root, a)
    first_three = [p for _, p in zip(range(3), iter_paths(root, a))]
    assert all(len(p) == 200 for p in first_three)  # two edges per diamond: a -> a * 0.5 -> sum
    assert len({p.slots for p in first_three}) == 3
    short = first_three[0].text(max_edges=4)
    chain = "a -> mul_1 -> add_1 -> ... (200 edges) ... -> mul_199 -> add_100"
    assert short == f"{chain}: 0.5 * 1 * ... * 0.5 * 1 = 7.889e-31"


def test_parallel_edges_are_separate_paths() -> None:
    a = Value(3.0, label="a")
    assert count_paths(a + a, a) == 2
    assert count_paths(a * a, a) == 2
    cube = a * a * a
    assert count_paths(cube, a) == 3
    cube.backward()
    found = paths(cube, a)
    assert len(found) == 3
    assert sum(p.product for p in found) == pytest.approx(a.grad) == pytest.approx(27.0)


def test_trivial_and_unreachable_cases() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * 2.0
    assert count_paths(c, c) == 1
    assert [len(p) for p in paths(c, c)] == [0]
    assert paths(c, c)[0].product == 1.0
    assert count_paths(c, b) == 0
    assert paths(c, b) == []
    assert path_sum(c, b) == 0.0
    assert nodes_on_paths(c, b) == set()


def test_enumeration_cap_is_checked_before_enumerating() -> None:
    root, a = diamonds(12)
    assert len(paths(root, a, max_paths=4096)) == 4096
    with pytest.raises(TooManyPathsError, match=r"max_paths=4,095.*count_paths"):
        paths(root, a, max_paths=4095)


def test_a_path_far_longer_than_the_recursion_limit() -> None:
    x = Value(0.1, label="x")
    v = x
    for _ in range(20_000):
        v = v.tanh()
    assert count_paths(v, x) == 1
    (p,) = paths(v, x)
    assert len(p) == 20_000
    v.backward()
    assert p.product == pytest.approx(x.grad, rel=1e-9)
