"""The table of primitives (:mod:`micrograd_lite.primitives`), walked entry by entry.

For every elementwise operation: the engine's generated method, the table's float functions and
the compiled code agree bit for bit, at safe operands and at special numbers; its local and second
derivatives agree with mpmath's differentiation of the entry's independent reference formula; its
array templates (what batched steps run) agree with the engine on every example of a batch.
An operation added to the table is checked by these tests without a line more. And every module
that used to keep its own list of operations now reads the table.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import Value, compile_graph, detect_anomaly, losses, nn
from micrograd_lite.batched import namespace as batched_namespace
from micrograd_lite.compiler import literal
from micrograd_lite.engine import PowerOutput
from micrograd_lite.graph import ACTIVATION_OPS
from micrograd_lite.graph_views import op_symbol
from micrograd_lite.naming import LOSS_OPS, node_names
from micrograd_lite.primitives import (
    FUNCTIONS,
    OPERATIONS,
    PRIMITIVES,
    Domain,
    NaryOperation,
    Primitive,
    array_namespace,
    loss_function_name,
)
from micrograd_lite.testing.programs import BINARY, OPS, UNARY, WITH_CONSTANT, make_ops
from micrograd_lite.testing.strategies import HIDDEN, safe_floats
from micrograd_lite.testing.tolerances import error_scales

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 710.0, -750.0]
SPECIAL += [math.inf, -math.inf, math.nan]


def same(a: float, b: float) -> bool:
    """Equal bit for bit (the sign of zero included); any two NaNs are the same."""
    if a != a or b != b:
        return a != a and b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def floats_in(domain: Domain) -> st.SearchStrategy[float]:
    plain = st.floats(domain.lo, domain.hi, allow_nan=False, allow_infinity=False)
    if domain.away_from_zero:
        return st.builds(lambda m, s: m if s else -m, plain, st.booleans())
    return plain


def operands(p: Primitive, special: bool) -> st.SearchStrategy[tuple[float, ...]]:
    each = [st.sampled_from(SPECIAL) if special else floats_in(d) for d in p.domains]
    return st.tuples(*each)


def moderate(p: Primitive) -> st.SearchStrategy[tuple[float, ...]]:
    """Operands in the entry's domains, tiny magnitudes taken as 0: a finite difference at
    50 digits cannot resolve ``(1 + h)^n`` for ``n = 1e-300``."""
    return st.tuples(*[floats_in(d).map(lambda x: 0.0 if abs(x) < 1e-6 else x) for d in p.domains])


def apply(p: Primitive, leaves: list[Value]) -> Value:
    """The engine's own method for ``p`` on Value inputs."""
    out: Value = getattr(leaves[0], p.method)(*leaves[1:])
    return out


# ================================================================ eager == table == compiled
def check_bit_for_bit(p: Primitive, xs: tuple[float, ...], number_input: bool = False) -> None:
    if number_input:  # x ** 2.5: the number is part of the operation
        leaves = [Value(xs[0], "a")]
        node: Value = getattr(leaves[0], p.method)(xs[1])
        assert isinstance(node, PowerOutput) and len(node.parents) == 1
        local = p.local_derivatives(*xs, node.data)[:-1]
    else:
        leaves = [Value(x, name) for x, name in zip(xs, p.inputs)]
        node = apply(p, leaves)
        local = p.local_derivatives(*xs, node.data)
    assert node.op == p.name
    assert same(node.data, p.forward(*xs)), f"{p.name}{xs}: method {node.data!r}, table {p.forward(*xs)!r}"
    assert len(node.local_grads) == len(local) == len(leaves)
    for i, (ours, table) in enumerate(zip(node.local_grads, local)):
        assert same(ours, table), f"{p.name}{xs} d/d{p.inputs[i]}: method {ours!r}, table {table!r}"
    # Compiled from the same entry: value and every gradient bit for bit (accumulate=True adds
    # into the given zeros exactly as backward() adds into a leaf's grad).
    graph = compile_graph(node, leaves, [], accumulate=True)
    result = graph([leaf.data for leaf in leaves], [])
    node.backward()
    assert same(result.value, node.data), f"{p.name}{xs}: compiled {result.value!r}, eager {node.data!r}"
    for leaf, compiled in zip(leaves, result.input_grads):
        assert same(compiled, leaf.grad), f"{p.name}{xs}: compiled grad {compiled!r}, eager {leaf.grad!r}"


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_every_entry_eager_and_compiled_agree_bit_for_bit(name: str, data: st.DataObject) -> None:
    p = PRIMITIVES[name]
    xs = data.draw(operands(p, special=data.draw(st.booleans(), label="special")), label="operands")
    check_bit_for_bit(p, xs)
    if p.number_input is not None:
        check_bit_for_bit(p, xs, number_input=True)


# ================================================================ eager == batched (arrays)
def close(ours: float, eager: float) -> bool:
    """Within 1e-12 relative (numpy's exp and log may differ from libm's in the last bits),
    the same infinity, or both NaN."""
    if ours != ours or eager != eager:
        return ours != ours and eager != eager
    if math.isinf(ours) or math.isinf(eager):
        return ours == eager
    return abs(ours - eager) <= 1e-12 * abs(eager)


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_every_entry_on_arrays_agrees_with_the_eager_engine(name: str, data: st.DataObject) -> None:
    """The entry's array templates, run on a batch of operands at once (as batched steps run
    them), against the engine's method on each example: value and every local derivative."""
    p = PRIMITIVES[name]
    batch = [
        data.draw(operands(p, special=data.draw(st.booleans(), label="special")), label=f"example {n}")
        for n in range(data.draw(st.integers(1, 6), label="batch"))
    ]
    namespace = batched_namespace()  # what batched code runs in
    for number_input in (False, True) if p.number_input is not None else (False,):
        columns = {f"in_{i}": np.array([xs[i] for xs in batch]) for i in range(p.arity)}
        names = list(columns)
        if number_input:  # x ** n with the number n written into the code, one n for the batch
            batch = [(xs[0], batch[0][1]) for xs in batch]
            columns = {"in_0": np.array([xs[0] for xs in batch])}
            names = ["in_0", literal(batch[0][1])]  # as the compiler writes it
        with np.errstate(all="ignore"):
            out = eval(p.array_value_source(*names), namespace, columns)
            local = [
                eval(source, namespace, {**columns, "out": out})
                for source in p.array_derivative_sources(names, "out")
            ]
        for n, xs in enumerate(batch):
            leaves = [Value(x) for x in xs]
            node = getattr(leaves[0], p.method)(xs[1]) if number_input else apply(p, leaves)
            value = float(np.broadcast_to(out, (len(batch),))[n])
            assert close(value, node.data), f"{name}{xs}: batched {value!r}, eager {node.data!r}"
            for i, eager in enumerate(node.local_grads):
                ours = float(np.broadcast_to(local[i], (len(batch),))[n])
                assert close(ours, eager), f"{name}{xs} d/d{p.inputs[i]}: batched {ours!r}, eager {eager!r}"


def test_every_function_the_templates_call_has_an_array_form() -> None:
    namespace = array_namespace()
    assert {"_" + name for name in FUNCTIONS} <= set(namespace)
    assert {loss_function_name(op) for op in losses.TERMS} <= set(namespace)


# ================================================================ derivatives against mpmath
class MpmathLibrary:
    exp, log, tanh = mpmath.exp, mpmath.log, mpmath.tanh


def reference(p: Primitive) -> Any:
    return lambda *args: p.reference(MpmathLibrary, *args)


def assert_close(ours: float, exact: Any, rel: float, what: str, floor: float = 1e-300) -> None:
    """Within ``rel`` of mpmath's number, or within ``floor`` of it where that is about 0 (a finite
    difference gives ~1e-60, not 0, for a derivative that is 0)."""
    exact_float = float(exact)
    tolerance = max(rel * abs(exact_float), floor)
    assert abs(mpmath.mpf(ours) - exact) <= tolerance, f"{what}: {ours!r}, mpmath {exact_float!r}"


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_every_entry_local_derivatives_against_mpmath(name: str, data: st.DataObject) -> None:
    """d out/d input_i of the table (as the engine computes it) against mpmath.diff of the
    reference formula (built from exp, log, tanh and operators only), at 50 digits."""
    p = PRIMITIVES[name]
    xs = data.draw(moderate(p), label="operands")
    node = apply(p, [Value(x) for x in xs])
    f = reference(p)
    with mpmath.workdps(50):
        point = [mpmath.mpf(x) for x in xs]
        assert_close(node.data, f(*point), 1e-15, f"{name}{xs} value")
        for i in range(p.arity):
            order = tuple(1 if j == i else 0 for j in range(p.arity))
            exact = mpmath.diff(f, point, order) if p.arity > 1 else mpmath.diff(f, point[0])
            assert_close(node.local_grads[i], exact, 1e-14, f"{name}{xs} d/d{p.inputs[i]}", floor=1e-40)


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_every_entry_second_derivatives_against_mpmath(name: str, data: st.DataObject) -> None:
    """The magnitudes the tolerances use, |d^2 out/d x_i d x_j|, against mpmath."""
    p = PRIMITIVES[name]
    xs = data.draw(moderate(p), label="operands")
    out = p.forward(*xs)
    hessian = p.second_derivatives(*xs, out)
    f = reference(p)
    with mpmath.workdps(50):
        point = [mpmath.mpf(x) for x in xs]
        for i in range(p.arity):
            for j in range(p.arity):
                order = [0] * p.arity
                order[i] += 1
                order[j] += 1
                exact = mpmath.diff(f, point, tuple(order)) if p.arity > 1 else mpmath.diff(f, point[0], 2)
                what = f"{name}{xs} d2/d{p.inputs[i]}d{p.inputs[j]}"
                assert_close(hessian[i][j], abs(exact), 1e-9, what, floor=1e-30)


# ================================================================ the table's own checks
def test_an_expression_is_checked_when_the_entry_is_made() -> None:
    """A typo in a new entry fails at import, naming the entry."""
    entry = PRIMITIVES["exp"]
    fields = {k: getattr(entry, k) for k in ("symbol", "word", "formula", "doc", "method")}
    fields.update(second_derivatives=entry.second_derivatives, reference=entry.reference)
    fields.update(inputs=("a",), domains=entry.domains, guards=entry.guards)
    with pytest.raises(ValueError, match=r"primitive 'twice'.*unknown name 'b'"):
        Primitive("twice", value="a + b", derivatives=("2.0",), **fields)
    with pytest.raises(ValueError, match="calls something not in FUNCTIONS"):
        Primitive("twice", value="eval('a')", derivatives=("2.0",), **fields)
    with pytest.raises(ValueError, match="write numbers as floats"):
        Primitive("twice", value="2 * a", derivatives=("2.0",), **fields)
    with pytest.raises(ValueError, match="1 inputs but 2 derivatives"):
        Primitive("twice", value="2.0 * a", derivatives=("2.0", "1.0"), **fields)
    twice = Primitive("twice", value="2.0 * a", derivatives=("2.0",), **fields)
    assert twice.forward(3.0) == 6.0 and twice.local_derivatives(3.0, 6.0) == (2.0,)
    assert twice.value_source("x") == "2.0 * x"


def test_the_methods_are_generated_from_the_table_as_one_would_write_them() -> None:
    for p in PRIMITIVES.values():
        method = getattr(Value, p.method)
        assert method.primitive is p and method.__doc__ == p.doc
        source = inspect.getsource(method)
        assert source.startswith(f"def {p.method}(self") and f"    node.op = {p.name!r}\n" in source
        if p.reflected is not None:
            assert getattr(Value, p.reflected).primitive is p
    # Each input, then its local derivative, on the next line.
    assert (
        "    node.data = self.data + other.data\n"
        "    node.op = '+'\n"
        "    node.parent_a = self\n"
        "    node.local_a = 1.0\n"
        "    node.parent_b = other\n"
        "    node.local_b = 1.0\n"
    ) in inspect.getsource(Value.__add__)
    division = inspect.getsource(Value.__truediv__)
    assert "node.local_a = _div(1.0, b)\n" in division and "node.local_b = _div(-out, b)\n" in division


def test_a_number_on_the_left_is_a_constant_leaf() -> None:
    x = Value(3.0)
    for p in PRIMITIVES.values():
        if p.reflected is not None:
            node: Value = getattr(x, p.reflected)(2.0)
            assert node.op == p.name and node.parents[0].op == "const" and node.parents[1] is x
            assert same(node.data, p.forward(2.0, 3.0))


def test_anomaly_names_the_users_line_not_the_generated_method() -> None:
    """The generated methods are the package's code: detect_anomaly() points past them."""
    with detect_anomaly(), pytest.raises(Exception) as info:
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        Value(-1.0).log()
    assert f"test_primitives.py:{line}" in str(info.value)


def test_error_scales_refuses_an_operation_it_does_not_know() -> None:
    """It used to take an unknown operation's derivatives as exact, silently."""
    x = Value(2.0, "x")
    custom = Value(4.0, "f", (x,), (4.0,), "cube-ish")
    with pytest.raises(ValueError, match=r"operation 'cube-ish'.*add the operation"):
        error_scales(custom * 1.0)


def test_the_lists_that_other_modules_kept_now_come_from_the_table() -> None:
    elementwise_activations = {p.name for p in PRIMITIVES.values() if p.activation}
    assert set(nn.ACTIVATIONS) == elementwise_activations | {"softmax"}  # the Literal type matches
    assert ACTIVATION_OPS == elementwise_activations == set(HIDDEN)
    assert set(UNARY) | set(BINARY) == set(PRIMITIVES)
    assert set(WITH_CONSTANT) == set(BINARY) | {"r" + op for op in BINARY}
    assert set(OPS) == set(WITH_CONSTANT) | set(UNARY) | {"sum", "linear", "softmax"}
    assert set(make_ops(math.exp, math.log, math.tanh)) == set(PRIMITIVES) | {"sum", "linear", "softmax"}
    loss_ops = {name for name, o in OPERATIONS.items() if isinstance(o, NaryOperation) and o.loss}
    assert loss_ops == set(losses.TERMS) == LOSS_OPS
    for name in OPERATIONS:
        safe_floats(name)  # every operation has a domain
    with pytest.raises(ValueError, match="no safe domain for 'cbrt'"):
        safe_floats("cbrt")


def test_names_and_symbols_come_from_the_table() -> None:
    x = Value(2.0)
    nodes = [x * x, x + 1.0, x**2, x ** Value(3.0), x.tanh()]
    names = node_names(nodes)
    assert [names[v] for v in nodes] == ["mul_1", "add_1", "pow_1", "pow_2", "tanh_1"]
    assert [op_symbol(v) for v in nodes] == ["*", "+", "**2", "**", "tanh"]


@pytest.mark.parametrize("activation", sorted({p.name for p in PRIMITIVES.values() if p.activation}))
def test_a_neuron_applies_its_activation_from_the_table(activation: str) -> None:
    neuron = nn.Neuron([0.5, -0.25], 0.1, activation, layer=1, index=1)  # type: ignore[arg-type]
    z = neuron([Value(1.0), Value(2.0)])
    a = 0.5 * 1.0 + -0.25 * 2.0 + 0.1
    assert z.op == activation and z.label == "z[1]_1"
    assert same(z.data, PRIMITIVES[activation].forward(z.parents[0].data))
    assert z.parents[0].data == pytest.approx(a)
