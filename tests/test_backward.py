"""The backward pass: node reuse, depth, determinism, memory, accumulation, ``no_grad``.

Expected gradients are closed forms in plain floats or mpmath derivatives, never the engine's own.
"""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Value,
    backpropagate,
    categorical_cross_entropy,
    is_grad_enabled,
    linear,
    no_grad,
    softmax,
    squared_error,
    sum_values,
    topological_order,
)

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter (default recursion limit, own hash seed); its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# ----------------------------------------------------------------------------- node reuse


def test_doubling_twice_gives_four() -> None:
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert c.data == 12.0
    assert b.grad == 2.0
    assert a.grad == 4.0


def test_square_by_self_multiplication() -> None:
    a = Value(-1.75)
    (a * a).backward()
    assert a.grad == 2 * -1.75


@given(x=st.floats(-3, 3))
def test_diamond(x: float) -> None:
    """a feeds two paths that rejoin: d = (2a) * sigmoid(a); dd/da = 2 s + 2a s (1 - s)."""
    a = Value(x)
    b = a * 2
    c = a.sigmoid()
    d = b * c
    d.backward()
    s = 1 / (1 + math.exp(-x))
    assert math.isclose(a.grad, 2 * s + 2 * x * s * (1 - s), rel_tol=1e-12, abs_tol=1e-15)


def test_exponentially_many_paths_cost_one_visit_per_edge() -> None:
    """v <- 0.75 v + 0.5 v, 200 times: 2^200 paths from x to the root, d root/dx = 1.25^200."""
    x = Value(1.0)
    v = x
    for _ in range(200):
        v = v * 0.75 + v * 0.5
    pushed = list(backpropagate(v))
    interior = [n for n in topological_order(v) if n.parents]
    assert len(pushed) == len(interior) == 3 * 200  # each interior node pushed exactly once
    assert len({id(n) for n in pushed}) == len(pushed)
    assert math.isclose(x.grad, 1.25**200, rel_tol=1e-12)


# A random DAG: every step applies one of these to earlier nodes; values stay in [-2, 2].
STEPS: dict[str, tuple[int, Callable[..., Any]]] = {
    "avg": (2, lambda m, u, v: (u + v) * 0.5),
    "half_diff": (2, lambda m, u, v: (u - v) * 0.5),
    "tanh_times": (2, lambda m, u, v: m.tanh(u) * v),
    "sigmoid": (1, lambda m, u: 1 / (1 + m.exp(-u))),
    "tanh": (1, lambda m, u: m.tanh(u)),
}
ENGINE_STEPS: dict[str, Callable[..., Value]] = {
    "avg": lambda u, v: (u + v) * 0.5,
    "half_diff": lambda u, v: (u - v) * 0.5,
    "tanh_times": lambda u, v: u.tanh() * v,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
}


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[float], list[tuple[str, list[int]]]]:
    leaves = draw(st.lists(st.floats(-2, 2), min_size=1, max_size=3))
    recipe = []
    for k in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(sorted(STEPS)))
        arity = STEPS[name][0]
        recipe.append((name, [draw(st.integers(0, len(leaves) + k - 1)) for _ in range(arity)]))
    return leaves, recipe


def evaluate(m: Any, leaves: list[Any], recipe: list[tuple[str, list[int]]]) -> Any:
    nodes = list(leaves)
    for name, args in recipe:
        nodes.append(STEPS[name][1](m, *(nodes[i] for i in args)))
    return nodes[-1]


@given(dag=dags())
def test_random_dag_against_mpmath(dag: tuple[list[float], list[tuple[str, list[int]]]]) -> None:
    """Random graphs with heavy reuse (MyGrad's idea): every leaf's grad against mpmath."""
    leaves, recipe = dag
    xs = [Value(v) for v in leaves]
    nodes = list(xs)
    for name, args in recipe:
        nodes.append(ENGINE_STEPS[name](*(nodes[i] for i in args)))
    root = nodes[-1]
    root.backward()
    with mpmath.workdps(50):
        mp_leaves = [mpmath.mpf(v) for v in leaves]
        assert math.isclose(
            root.data, float(evaluate(mpmath, mp_leaves, recipe)), rel_tol=1e-12, abs_tol=1e-14
        )
        for k, x in enumerate(xs):

            def along_k(t: Any, k: int = k) -> Any:
                return evaluate(mpmath, [*mp_leaves[:k], t, *mp_leaves[k + 1 :]], recipe)

            exact = float(mpmath.diff(along_k, mp_leaves[k]))
            assert math.isclose(x.grad, exact, rel_tol=1e-10, abs_tol=1e-13), (k, x.grad, exact)


@given(dag=dags())
def test_topological_order_lists_each_node_once_after_its_parents(
    dag: tuple[list[float], list[tuple[str, list[int]]]],
) -> None:
    leaves, recipe = dag
    nodes = [Value(v) for v in leaves]
    for name, args in recipe:
        nodes.append(ENGINE_STEPS[name](*(nodes[i] for i in args)))
    root = nodes[-1]
    order = topological_order(root)
    position = {id(n): k for k, n in enumerate(order)}
    assert len(position) == len(order)  # no node twice
    assert order[-1] is root
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    # Every node the root depends on is listed: walk the parents independently.
    reachable, todo = {id(root)}, [root]
    while todo:
        for parent in todo.pop().parents:
            if id(parent) not in reachable:
                reachable.add(id(parent))
                todo.append(parent)
    assert reachable == set(position)


# ----------------------------------------------------------------------------- depth


def test_million_deep_chain_at_the_default_recursion_limit() -> None:
    """v <- v * c a million times: backward and freeing need no recursion.

    Runs in a fresh interpreter: the recursion limit is Python's default, and a crash while
    freeing the chain would show as a failed test, not a dead test run.
    """
    out = run_python(
        """
        import gc, json, sys
        from micrograd_lite import Value
        limit = sys.getrecursionlimit()
        x, c = Value(1.5, label="x"), Value(1.00001, label="c")
        v = x
        for _ in range(1_000_000):
            v = v * c
        v.backward()
        result = dict(limit=limit, limit_after=sys.getrecursionlimit(), data=v.data, dx=x.grad, dc=c.grad)
        del v
        result["collected"] = gc.collect()
        print(json.dumps(result))
        """
    )
    r = json.loads(out)
    assert r["limit"] == r["limit_after"] <= 10_000
    n, x, c = 1_000_000, 1.5, 1.00001
    assert math.isclose(r["data"], x * c**n, rel_tol=1e-8)
    assert math.isclose(r["dx"], c**n, rel_tol=1e-8)  # d(x c^n)/dx
    assert math.isclose(r["dc"], n * x * c ** (n - 1), rel_tol=1e-8)  # d(x c^n)/dc: c used n times
    assert r["collected"] == 0  # freed by reference counting alone


# ----------------------------------------------------------------------------- determinism

DETERMINISM_SCRIPT = """
    import os, random
    from micrograd_lite import MLP, Value, squared_error
    # Scramble the heap first, differently in each process: nodes then land at unrelated
    # addresses, so an order that leaked from id() or hash() would differ between runs.
    rng = random.Random(int(os.environ["HEAP_NOISE"]))
    junk = [Value(0.0) for _ in range(rng.randrange(1000, 5000))]
    rng.shuffle(junk)
    del junk[: len(junk) // 2]
    model = MLP(3, [6, 5, 2], activations=["tanh", "sigmoid", "identity"], seed=11)
    xs = [[0.3 * k - 1.0, (-0.7) ** k, 0.1 * k * k] for k in range(6)]
    ts = [[0.5 - 0.2 * k, 0.1 * k] for k in range(6)]
    E = squared_error([model(x) for x in xs], ts)
    E.backward()
    print(E.data.hex(), *(p.grad.hex() for p in model.parameters()))
"""


def test_gradients_are_bit_identical_across_processes() -> None:
    runs = [
        run_python(DETERMINISM_SCRIPT, env={"PYTHONHASHSEED": seed, "HEAP_NOISE": seed})
        for seed in ("0", "1", "4242")
    ]
    assert runs[0] == runs[1] == runs[2]
    grads = [float.fromhex(h) for h in runs[0].split()[1:]]
    assert len(grads) == (3 * 6 + 6) + (6 * 5 + 5) + (5 * 2 + 2)
    assert sum(g != 0.0 for g in grads) > len(grads) // 2  # the comparison is not of zeros


# ----------------------------------------------------------------------------- memory


def _live_values() -> int:
    # Shared constant leaves (op "const") are kept by the engine on purpose; everything else must go.
    return sum(1 for o in gc.get_objects() if type(o) is Value and o.op != "const")


def test_graph_is_freed_without_the_cycle_collector() -> None:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = _live_values()
        model = MLP(4, [8, 8, 3], activations=["tanh", "relu", "softmax"], seed=3)
        ys = [model([0.1 * k, -0.2, 0.3 * k, 1.0]) for k in range(4)]
        E = categorical_cross_entropy(ys, [0, 1, 2, 1])
        E.backward()
        trace = model.forward([1.0, 2.0, 3.0, 4.0])
        assert _live_values() > before + 200  # the census does see the graph
        del model, ys, E, trace
        assert _live_values() == before  # freed by reference counting, gc still disabled
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector would free stays in gc.garbage
        gc.collect()
        leaked = [o for o in gc.garbage if type(o).__module__.startswith("micrograd_lite")]
        assert leaked == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()


# ----------------------------------------------------------------------------- accumulation


def _graph(x: Value, w: Value) -> Value:
    h = (x * w).tanh()
    return h * h + x


def _closed_form(x: float, w: float) -> tuple[float, float]:
    """E = tanh(xw)^2 + x: (dE/dx, dE/dw)."""
    t = math.tanh(x * w)
    d = 2 * t * (1 - t * t)
    return d * w + 1, d * x


def test_leaves_accumulate_and_interior_nodes_hold_the_latest_pass() -> None:
    x, w = Value(0.7), Value(-1.3)
    E = _graph(x, w)
    E.backward()
    dx, dw = _closed_form(0.7, -1.3)
    assert math.isclose(x.grad, dx, rel_tol=1e-12) and math.isclose(w.grad, dw, rel_tol=1e-12)
    first = (x.grad, w.grad)
    interior = [n for n in topological_order(E) if n.parents]
    deltas = [n.grad for n in interior]
    E.backward()
    assert (x.grad, w.grad) == (2 * first[0], 2 * first[1])
    assert [n.grad for n in interior] == deltas  # not doubled
    assert E.grad == 1.0


def test_constants_hold_the_latest_pass() -> None:
    x = Value(0.25)
    E = x * 3.5
    E.backward()
    E.backward()
    assert x.grad == 2 * 3.5
    constant = E.parents[1]
    assert constant.op == "const" and constant.grad == 0.25  # d(3.5 x)/d(3.5) = x, not doubled


def test_backward_seed() -> None:
    x = Value(2.0)
    y = x * x
    y.backward(seed=0.5)
    assert y.grad == 0.5 and x.grad == 0.5 * 2 * 2.0


def test_zero_grad_on_a_value_clears_the_whole_graph() -> None:
    x, w = Value(0.7), Value(-1.3)
    E = _graph(x, w)
    E.backward()
    E.zero_grad()
    assert all(n.grad == 0.0 for n in topological_order(E))
    E.backward()
    dx, dw = _closed_form(0.7, -1.3)
    assert math.isclose(x.grad, dx, rel_tol=1e-12) and math.isclose(w.grad, dw, rel_tol=1e-12)


def test_zero_grad_on_an_mlp() -> None:
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=1)
    E = squared_error(model([0.5, -1.0]), 2.0)
    E.backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    first = [p.grad for p in model.parameters()]
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    E.backward()
    assert [p.grad for p in model.parameters()] == first


# ----------------------------------------------------------------------------- no_grad


def test_no_grad_results_are_leaves() -> None:
    x = Value(1.5)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2 + 1
        s = sum_values([x, y])
        a = linear([x], [y], x)
        p = softmax([x, y])
        e = x.exp().log().tanh()
    assert is_grad_enabled()
    for node in (y, s, a, *p, e):
        assert node.parents == () and len(node.local_grads) == 0
    assert y.data == 4.0 and s.data == 5.5 and a.data == 1.5 * 4.0 + 1.5
    assert math.isclose(e.data, math.tanh(1.5), rel_tol=1e-15)
    y.backward()
    assert x.grad == 0.0  # nothing links y to x


def test_no_grad_restores_the_previous_state_on_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), no_grad():
        raise RuntimeError("boom")
    assert is_grad_enabled()
    x = Value(1.0)
    assert (x + 1).parents[0] is x


def test_no_grad_nests() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()  # the outer block is still active
        assert (Value(1.0) + 1).parents == ()
    assert is_grad_enabled()
