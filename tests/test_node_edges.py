"""How a node stores its parents and local derivatives, and the order every walk takes them in.

A node of one or two inputs keeps them in its own fields (``parent_a``/``local_a``,
``parent_b``/``local_b``): one object for the cycle collector, no tuple. Leaves and nodes of many
inputs keep ``_edges``. ``parents`` and ``local_grads`` read as tuples either way, and the walks
(``topological_order``, ``backward()``, ``backpropagate``) take the parents in that order: the
references below are plain recursive walks over ``parents`` and a float loop over ``local_grads``,
and the engine must match them exactly (the same order of additions, so the same last bits).
"""

from __future__ import annotations

import copy
import gc
import math
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    Value,
    backpropagate,
    linear,
    no_grad,
    softmax,
    sum_values,
    topological_order,
)
from micrograd_lite.primitives import PRIMITIVES

# ----------------------------------------------------------------------------- references


def reference_order(root: Value) -> list[Value]:
    """Depth-first, parents in the order of ``node.parents``, each node after its parents (recursive:
    the graphs here are small)."""
    order: list[Value] = []
    seen = {id(root)}

    def visit(node: Value) -> None:
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                visit(parent)
        order.append(node)

    visit(root)
    return order


def reference_grads(root: Value) -> dict[int, float]:
    """d root / d node for every node of a fresh graph, summed edge by edge in the reference order."""
    order = reference_order(root)
    grads = {id(node): 0.0 for node in order}
    grads[id(root)] = 1.0
    for node in reversed(order):
        for parent, local in zip(node.parents, node.local_grads):
            grads[id(parent)] += grads[id(node)] * local
    return grads


# ----------------------------------------------------------------------------- the fields


def test_a_node_of_one_or_two_inputs_holds_no_tuple() -> None:
    """Each node is one object for the cycle collector: it refers to its parents and to
    untracked numbers and strings only (a tuple of parents would be a second tracked object)."""
    x, y = Value(0.75, "x"), Value(1.25, "y")
    for p in PRIMITIVES.values():
        node: Value = getattr(x, p.method)(y) if p.arity == 2 else getattr(x, p.method)()
        inputs = (x, y) if p.arity == 2 else (x,)
        tracked = [r for r in gc.get_referents(node) if gc.is_tracked(r) and r is not type(node)]
        assert sorted(map(id, tracked)) == sorted({id(v) for v in inputs}), (p.name, tracked)
        assert not any(isinstance(r, tuple) for r in gc.get_referents(node)), p.name
        assert node.parents == inputs and len(node.local_grads) == len(inputs), p.name
        assert (node.parent_a, node.parent_b) == (x, y if p.arity == 2 else None)
    power = x**2.0  # a number exponent: one input
    assert power.parents == (x,) and power.local_grads == (2 * 0.75,) and power.exponent == 2.0


def test_parents_and_local_grads_read_in_order() -> None:
    a, b = Value(3.0, "a"), Value(-2.0, "b")
    assert (a * b).parents == (a, b) and (a * b).local_grads == (-2.0, 3.0)
    assert (b * a).parents == (b, a) and (b * a).local_grads == (3.0, -2.0)
    assert (a - b).local_grads == (1.0, -1.0)
    t = a.tanh()
    assert t.parents == (a,) and len(t.local_grads) == 1
    assert math.isclose(t.local_grads[0], 1 - math.tanh(3.0) ** 2, rel_tol=1e-12)
    assert a.parents == () and a.local_grads == () and a.parent_a is None and a._edges is None
    s = sum_values([a, b, a])
    assert s.parents == (a, b, a) and s.local_grads == (1.0, 1.0, 1.0) and s.parent_a is None
    ys = softmax([a, b, a * b])
    assert ys[0].parents is ys[2].parents  # the K outputs share one tuple of logits


def test_hand_made_nodes_of_any_number_of_parents() -> None:
    x, y, z = Value(1.0, "x"), Value(2.0, "y"), Value(3.0, "z")
    for parents, local in [((), ()), ([x], [2.0]), ([x, y], [2.0, 3.0]), ([x, y, z], [2.0, 3.0, 4.0])]:
        node = Value(10.0, "f", parents, local, "f")  # lists, as the checks allow
        assert node.parents == tuple(parents) and node.local_grads == tuple(local)
        for v in (x, y, z):
            v.grad = 0.0
        node.backward()
        assert [v.grad for v in (x, y, z)] == [*local, *[0.0] * (3 - len(local))]
    twice = Value(1.0, None, (x, x), (2.0, 5.0), "f")  # one parent on both edges: the two add up
    x.grad = 0.0
    twice.backward()
    assert twice.parents == (x, x) and x.grad == 7.0


def test_assigning_parents_or_local_grads_keeps_the_other() -> None:
    x, w = Value(2.0, "x"), Value(3.0, "w")
    node = x * w
    node.local_grads = (5.0,)  # fewer derivatives than parents: kept as given (the compiler refuses it)
    assert node.parents == (x, w) and node.local_grads == (5.0,)
    node.parents = [x]
    assert node.parents == (x,) and node.local_grads == (5.0,) and node.parent_a is x
    node.backward()
    assert x.grad == 5.0 and w.grad == 0.0
    node.parents = (x, w, x)
    node.local_grads = [1.0, 2.0, 4.0]
    x.grad = w.grad = 0.0
    node.backward()
    assert node._edges == ((x, w, x), (1.0, 2.0, 4.0)) and (x.grad, w.grad) == (5.0, 2.0)


def test_no_grad_and_copies_keep_the_fields_consistent() -> None:
    x, y = Value(2.0, "x"), Value(3.0, "y")
    with no_grad():
        leaf = x * y
    assert leaf.parents == () and leaf.parent_a is None and leaf._edges is None and leaf.data == 6.0
    node = (x * y).tanh() + x
    clone = copy.deepcopy(node)
    a = clone.parent_a
    assert a is not None and a.parent_a is not None and a.parent_a.parent_b is not None
    assert a.parent_a.parent_b.label == "y" and a.parent_a.parent_b is not y
    assert clone.parent_b is a.parent_a.parent_a  # x, shared in the graph, shared in the copy
    shallow = copy.copy(node)
    assert shallow.parents == node.parents and shallow.local_grads == node.local_grads


# ----------------------------------------------------------------------------- the walks

GraphStep = Callable[[list[Value], list[int], float], list[Value]]

# Each step makes nodes of one kind from earlier nodes (picked by index) and a number in [-1, 1].
STEPS: dict[str, tuple[int, GraphStep]] = {
    "mul": (2, lambda v, i, c: [v[i[0]] * v[i[1]]]),
    "add": (2, lambda v, i, c: [v[i[0]] + v[i[1]]]),
    "sub_number": (1, lambda v, i, c: [v[i[0]] - c]),
    "number_times": (1, lambda v, i, c: [c * v[i[0]]]),
    "tanh": (1, lambda v, i, c: [v[i[0]].tanh()]),
    "sigmoid": (1, lambda v, i, c: [v[i[0]].sigmoid()]),
    "square": (1, lambda v, i, c: [v[i[0]] ** 2]),
    "sum3": (3, lambda v, i, c: [sum_values([v[k] for k in i])]),
    "sum1": (1, lambda v, i, c: [sum_values([v[i[0]]])]),
    "linear": (3, lambda v, i, c: [linear([v[i[0]]], [v[i[1]]], v[i[2]])]),
    "softmax": (3, lambda v, i, c: softmax([v[k] for k in i])),
    "hand_made3": (3, lambda v, i, c: [Value(c, None, tuple(v[k] for k in i), (c, 0.5, -c), "f")]),
    "hand_made1": (1, lambda v, i, c: [Value(c, None, (v[i[0]],), (c,), "g")]),
}


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Value], Value]:
    leaves = [Value(x) for x in draw(st.lists(st.floats(-1, 1), min_size=1, max_size=3))]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 14))):
        name = draw(st.sampled_from(sorted(STEPS)))
        arity, make = STEPS[name]
        picks = [draw(st.integers(0, len(nodes) - 1)) for _ in range(arity)]
        nodes += make(nodes, picks, draw(st.floats(-1, 1)))
    return leaves, nodes[draw(st.integers(len(leaves), len(nodes) - 1))]


@given(graph=graphs())
def test_every_walk_takes_the_parents_in_order(graph: tuple[list[Value], Value]) -> None:
    """The topological order is the depth-first order over ``parents``; backward() and
    backpropagate() add the gradients edge by edge in its reverse, bit for bit as the reference."""
    leaves, root = graph
    expected_order = reference_order(root)
    order = topological_order(root)
    assert [id(n) for n in order] == [id(n) for n in expected_order]
    expected = reference_grads(root)
    root.backward()
    assert {id(n): n.grad for n in order} == expected  # == on floats: the same sums, in the same order
    for leaf in leaves:
        leaf.grad = 0.0
    pushed = list(backpropagate(root))
    assert [id(n) for n in pushed] == [id(n) for n in reversed(expected_order) if n.parents]
    assert {id(n): n.grad for n in order} == expected
