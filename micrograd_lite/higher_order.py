r"""Derivatives of derivatives: :func:`grad` and :func:`hessian`.

``grad(E, inputs)`` walks the same topological order as ``backward()`` and applies the same rule
edge by edge, ``delta[parent] += delta[node] * d(node)/d(parent)``, but keeps the deltas to itself:
it returns $\partial E / \partial x$ for each input and leaves every ``grad`` as it was, like
``torch.autograd.grad``.

``create_graph=False``: the deltas are floats, multiplied by the nodes' stored ``local_grads``
in ``backward()``'s order, so the results equal ``backward()``'s numbers bit for bit.

``create_graph=True``: the deltas are Values, and so are the local derivatives. Each comes from the
same text as the engine's: an elementwise operation's derivative expression in
:data:`~micrograd_lite.primitives.PRIMITIVES` (``"b"``, ``"div(-out, b)"``, ``"out * sigmoid(-a)"``)
is evaluated on the node's input Values and on the node itself as ``out``, its functions replaced
by their Value forms (:data:`ON_VALUES`: ``div`` is ``/``, ``exp`` is ``Value.exp``...). A
comparison in an expression (relu's ``a <= 0.0``) reads numbers: its branches are constant, of
derivative 0. The operations of many inputs say theirs below (:data:`NARY_DERIVATIVES`):
``linear``'s $z_j$, $W_j$, 1; ``softmax``'s $y_k(\delta_{kj} - y_j)$; each error's from its terms.
The returned Values carry their own graph, an ordinary graph of Values: ``grad`` of it gives the
next order, to any order, and the drawings, the stepper and the compiler take it as any other.
Its numbers agree with ``backward()``'s to rounding (``tanh``'s $1 - \tanh^2$ is
$4 \sigma(2a) \sigma(-2a)$ here, a chain of Values).

A graph can only be differentiated again where each node is what its operation makes of its
inputs: before using a node's derivative as Values, ``grad`` recomputes its value and local
derivatives from its inputs' numbers and refuses, naming the node, one that differs (made by hand,
or whose inputs changed after it was computed).

``backward()`` and the walk it shares with the stepper are untouched: first-order training pays
nothing for this module.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

from micrograd_lite import numerics
from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import SoftmaxOutput, Value, softmax, sum_values
from micrograd_lite.losses import TERMS
from micrograd_lite.primitives import FUNCTIONS, PRIMITIVES, Primitive, linear_value, softmax_terms

__all__ = ["NARY_DERIVATIVES", "ON_VALUES", "grad", "hessian", "local_derivative_values"]

#: A local derivative as a Value, or a plain number where it is constant.
Scalar = Value | float


# ------------------------------------------------------- the table's functions on Values
def _data(x: Scalar) -> float:
    return x.data if isinstance(x, Value) else x


def _div(x: Scalar, y: Scalar) -> Scalar:
    r"""$x / y$."""
    if isinstance(x, Value) or isinstance(y, Value):
        return x / y
    return numerics.div(x, y)


def _pow(x: Scalar, y: Scalar) -> Scalar:
    r"""$x^y$."""
    if isinstance(x, Value) or isinstance(y, Value):
        return x**y
    return numerics.pow(x, y)


def _exp(x: Scalar) -> Scalar:
    r"""$e^x$."""
    return x.exp() if isinstance(x, Value) else numerics.exp(x)


def _log(x: Scalar) -> Scalar:
    r"""$\ln x$."""
    return x.log() if isinstance(x, Value) else numerics.log(x)


def _sigmoid(x: Scalar) -> Scalar:
    r"""$\sigma(x)$."""
    return x.sigmoid() if isinstance(x, Value) else numerics.sigmoid(x)


def _tanh(x: Scalar) -> Scalar:
    r"""$\tanh x$."""
    return x.tanh() if isinstance(x, Value) else math.tanh(x)


def _expm1(x: Scalar) -> Scalar:
    r"""$e^x - 1$."""
    return x.expm1() if isinstance(x, Value) else numerics.expm1(x)


def _log1p(x: Scalar) -> Scalar:
    r"""$\ln(1 + x)$."""
    return x.log1p() if isinstance(x, Value) else numerics.log1p(x)


def _sqrt(x: Scalar) -> Scalar:
    r"""$\sqrt{x}$."""
    return x.sqrt() if isinstance(x, Value) else numerics.sqrt(x)


def _abs(x: Scalar) -> Scalar:
    r"""$|x|$."""
    return abs(x) if isinstance(x, Value) else math.fabs(x)


def _tanh_derivative(x: Scalar) -> Scalar:
    r"""$\tanh'(x) = 4 \sigma(2x) \sigma(-2x)$: no $1 - \tanh^2$ cancellation where $\tanh$ saturates."""
    if not isinstance(x, Value):
        return numerics.tanh_derivative(x)
    return 4.0 * (x * 2.0).sigmoid() * (x * -2.0).sigmoid()


def _pow_base_derivative(a: Scalar, n: Scalar, out: Scalar) -> Scalar:
    r"""$d(a^n)/da = n a^{n-1}$; 0 for a number $n = 0$, as the float form.

    A Value $n = 0$ keeps its term ($n a^{n-1}$ is 0, its derivative in $n$ is $a^{-1}$), except at
    $a = 0$, where the float form's 0 is kept (there is no derivative in $n$ there)."""
    if _data(n) == 0.0 and (not isinstance(n, Value) or _data(a) == 0.0):
        return 0.0
    return n * _pow(a, n - 1.0)


def _pow_exponent_derivative(a: Scalar, n: Scalar, out: Scalar) -> Scalar:
    r"""$d(a^n)/dn = a^n \ln a$; 0 where $a = 0$ and $n \ge 0$, as the float form."""
    if _data(a) == 0.0 and _data(n) >= 0.0:
        return 0.0
    return out * _log(a)


#: The Value form of each function of :data:`~micrograd_lite.primitives.FUNCTIONS` (on plain
#: numbers, each is the float form itself).
ON_VALUES: dict[str, Callable[..., Scalar]] = {
    "div": _div,
    "pow": _pow,
    "exp": _exp,
    "log": _log,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "expm1": _expm1,
    "log1p": _log1p,
    "sqrt": _sqrt,
    "abs": _abs,
    "tanh_derivative": _tanh_derivative,
    "pow_base_derivative": _pow_base_derivative,
    "pow_exponent_derivative": _pow_exponent_derivative,
}
if set(ON_VALUES) != set(FUNCTIONS):  # a new function in the table needs its Value form here
    raise RuntimeError(f"ON_VALUES lacks {sorted(set(FUNCTIONS) - set(ON_VALUES))}")


class _OnValues(ast.NodeTransformer):
    """A derivative expression of the table, rewritten to run on Values: each function call goes to
    its Value form, and a variable inside a comparison is read as its number."""

    def __init__(self, variables: Sequence[str]) -> None:
        self.variables = set(variables)
        self.comparing = 0

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.comparing += 1
        self.generic_visit(node)
        self.comparing -= 1
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in FUNCTIONS:
            return ast.Name("_" + node.id, ast.Load())
        if node.id in self.variables and self.comparing:
            return ast.Call(ast.Name("_data", ast.Load()), [node], [])
        return node


_NAMESPACE: dict[str, Callable[..., Scalar]] = {"_" + name: fn for name, fn in ON_VALUES.items()}
_NAMESPACE["_data"] = _data


def _on_values(p: Primitive) -> tuple[Callable[..., Scalar], ...]:
    """Each local derivative of ``p`` as a function of its inputs and ``out``, Values or numbers.

    Made from the table's own text (checked by :mod:`~micrograd_lite.primitives` when the table
    was built), never from user data.
    """
    variables = (*p.inputs, "out")
    functions = []
    for i, expression in enumerate(p.derivatives):
        tree = ast.fix_missing_locations(_OnValues(variables).visit(ast.parse(expression, mode="eval")))
        source = f"lambda {', '.join(variables)}: {ast.unparse(tree)}"
        where = f"<micrograd_lite.higher_order {p.name!r} derivative {i}>"
        functions.append(eval(compile(source, where, "eval"), dict(_NAMESPACE)))
    return tuple(functions)


_PRIMITIVE_DERIVATIVES = {name: _on_values(p) for name, p in PRIMITIVES.items()}


# ------------------------------------------------------ operations of many inputs
def _sum_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$df/dv_k = 1$."""
    return (1.0,) * len(node.parents)


def _linear_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$da/dW_j = z_j$, $da/dz_j = W_j$, $da/db = 1$: the parents themselves."""
    n = (len(node.parents) - 1) // 2
    w, z = node.parents[:n], node.parents[n : 2 * n]
    return (*z, *w, 1.0)


def _softmax_values(logits: Sequence[Value]) -> list[Value]:
    """The K outputs of a softmax, again, as Values: a node knows its logits but not its siblings.
    Unlabelled, so a drawing of the derivative's graph does not show a second ``y_1``."""
    return softmax(list(logits), labels=[None] * len(logits))


def _others(values: Sequence[Value], k: int) -> Value:
    """$\\sum_{j \\ne k} v_j$, one node (no $1 - y_k$ cancellation)."""
    return sum_values([v for j, v in enumerate(values) if j != k])


def _softmax_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dy_k/da_j = y_k (\delta_{kj} - y_j)$; the diagonal's $1 - y_k$ as $\sum_{j \ne k} y_j$."""
    assert isinstance(node, SoftmaxOutput)
    y, k = _softmax_values(node.parents), node.index
    return tuple(y[k] * _others(y, k) if j == k else -(y[k] * y[j]) for j in range(len(y)))


def _halves(node: Value) -> tuple[tuple[Value, ...], tuple[Value, ...]]:
    """An error node's parents: its outputs (or logits), then its targets."""
    half = len(node.parents) // 2
    return node.parents[:half], node.parents[half:]


def _squared_error_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dE/dy_k = y_k - t_k$, $dE/dt_k = -(y_k - t_k)$."""
    y, t = _halves(node)
    r = [yk - tk for yk, tk in zip(y, t)]
    return (*r, *[-rk for rk in r])


def _sigmoid_cross_entropy_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dE/da_k = (1 - t_k) \sigma(a_k) - t_k \sigma(-a_k)$ ($= \sigma(a_k) - t_k$), $dE/dt_k = -a_k$."""
    a, t = _halves(node)
    d_a = [(1.0 - tk) * ak.sigmoid() - tk * (-ak).sigmoid() for ak, tk in zip(a, t)]
    return (*d_a, *[-ak for ak in a])


def _binary_cross_entropy_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dE/dy_k = (y_k - t_k) / (y_k (1 - y_k))$, $dE/dt_k = \ln(1 - y_k) - \ln y_k$.

    One formula for every target (the float form leaves out a term whose weight is 0, which
    would lose the derivative in $t_k$)."""
    y, t = _halves(node)
    d_y = [(yk - tk) / (yk * (1.0 - yk)) for yk, tk in zip(y, t)]
    return (*d_y, *[(1.0 - yk).log() - yk.log() for yk in y])


def _softmax_cross_entropy_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dE/da_k = y_k \sum_{j \ne k} t_j - t_k \sum_{j \ne k} y_j$ ($= y_k \sum_j t_j - t_k$),
    $dE/dt_k = \mathrm{logsumexp}(a) - a_k$, with the largest logit taken out of the exponentials."""
    a, t = _halves(node)
    y = _softmax_values(a)
    d_a = [y[k] * _others(t, k) - t[k] * _others(y, k) for k in range(len(a))]
    top = max(ak.data for ak in a)
    lse = sum_values([(ak - top).exp() for ak in a]).log() + top
    return (*d_a, *[lse - ak for ak in a])


def _categorical_cross_entropy_derivatives(node: Value) -> tuple[Scalar, ...]:
    r"""$dE/dy_k = -t_k / y_k$, $dE/dt_k = -\ln y_k$."""
    y, t = _halves(node)
    return (*[-(tk / yk) for yk, tk in zip(y, t)], *[-yk.log() for yk in y])


#: The local derivatives, as Values, of the operations of many inputs, by ``op``.
NARY_DERIVATIVES: dict[str, Callable[[Value], tuple[Scalar, ...]]] = {
    "sum": _sum_derivatives,
    "linear": _linear_derivatives,
    "softmax": _softmax_derivatives,
    "squared error": _squared_error_derivatives,
    "sigmoid cross-entropy": _sigmoid_cross_entropy_derivatives,
    "binary cross-entropy": _binary_cross_entropy_derivatives,
    "softmax cross-entropy": _softmax_cross_entropy_derivatives,
    "categorical cross-entropy": _categorical_cross_entropy_derivatives,
}


# ------------------------------------------------------------- one node's derivatives
def _primitive_inputs(p: Primitive, node: Value) -> tuple[Scalar, ...] | None:
    """A node's inputs in the order of ``p.inputs``, a number input (``x ** 2``'s 2) read from the
    node; None if the node has not the inputs ``p`` takes."""
    if len(node.parents) == p.arity:
        return node.parents
    number = getattr(node, p.number_node[1], None) if p.number_input is not None else None
    if len(node.parents) == p.arity - 1 and type(number) is float:
        return (*node.parents, number)
    return None


def _same(x: float, y: float) -> bool:
    return x == y or (x != x and y != y)


def _describe(node: Value) -> str:
    label = "" if node.label is None else f" {node.label[:80]!r}"
    return f"the {node.op[:40]!r} node{label} (value {node.data!r})"


def _check_reproduces(node: Value) -> None:
    """Refuse a node whose value and local derivatives are not what its operation computes from its
    inputs' numbers: its derivative as Values would describe another function."""
    op, parents = node.op, node.parents
    data = [v.data for v in parents]
    expected: tuple[float, tuple[float, ...]] | None = None
    p = PRIMITIVES.get(op)
    if p is not None:
        inputs = _primitive_inputs(p, node)
        if inputs is not None:
            x = [_data(v) for v in inputs]
            expected = p.forward(*x), p.local_derivatives(*x, node.data)[: len(parents)]
    elif op == "sum":
        expected = float(sum(data)), (1.0,) * len(data)
    elif op == "linear" and len(data) % 2 == 1:
        n = len(data) // 2
        expected = linear_value(data[:n], data[n : 2 * n], data[-1]), (*data[n : 2 * n], *data[:n], 1.0)
    elif op == "softmax" and isinstance(node, SoftmaxOutput) and 0 <= node.index < len(data):
        y, rows = softmax_terms(data)
        expected = y[node.index], rows[node.index]
    elif op in TERMS and len(data) % 2 == 0:
        half = len(data) // 2
        expected = TERMS[op](data[:half], data[half:])
    else:
        known = ", ".join(repr(name) for name in (*PRIMITIVES, *NARY_DERIVATIVES))
        raise ValueError(
            f"grad(create_graph=True) cannot differentiate {_describe(node)} again: operation {op[:40]!r} "
            f"has no derivative as Values (known: {known}). Build it from micrograd_lite's operations, "
            "or use create_graph=False"
        )
    if expected is None or not (
        _same(expected[0], node.data)
        and len(expected[1]) == len(node.local_grads)
        and all(_same(e, g) for e, g in zip(expected[1], node.local_grads))
    ):
        raise ValueError(
            f"grad(create_graph=True) cannot differentiate {_describe(node)} again: its value or local "
            "derivatives are not what its operation computes from its inputs (a node made by hand, or "
            "inputs changed after it was computed). Recompute the graph from micrograd_lite's operations, "
            "or use create_graph=False"
        )


def local_derivative_values(node: Value) -> tuple[Scalar, ...]:
    """d(node)/d(parent) for each parent of ``node``, as Values (or plain numbers where constant).

    Their numbers are ``node.local_grads`` up to rounding; their graphs give the next order.
    ``ValueError`` for a node whose operation has no such form or that its operation did not make.
    """
    _check_reproduces(node)
    p = PRIMITIVES.get(node.op)
    if p is not None:
        inputs = _primitive_inputs(p, node)
        assert inputs is not None  # checked above
        return tuple(d(*inputs, node) for d in _PRIMITIVE_DERIVATIVES[node.op][: len(node.parents)])
    return NARY_DERIVATIVES[node.op](node)


# ------------------------------------------------------------------------ grad
def _times(delta: Scalar, local: Scalar) -> Scalar:
    """``delta * local``, without a node for a factor of exactly 1."""
    if type(delta) is float and delta == 1.0:
        return local
    if type(local) is float and local == 1.0:
        return delta
    return delta * local


def _check_inputs(inputs: object) -> list[Value]:
    if isinstance(inputs, Value):
        return [inputs]
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(
            f"grad: inputs must be a Value or a list of Values, got {type(inputs).__name__} {inputs!r:.60}"
        )
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(
                f"grad: inputs[{i}] must be a Value (a node of the graph), got {type(x).__name__} {x!r:.60}"
            )
    return list(inputs)


def grad(root: Value, inputs: Value | Sequence[Value], create_graph: bool = False) -> list[Value]:
    r"""$\partial\,\mathrm{root} / \partial x$ for each ``x`` of ``inputs``, as Values, in order.

    Leaves every node's ``grad`` as it was (like ``torch.autograd.grad``). An input ``root`` does not
    depend on gets 0. ``create_graph=False``: each result is a new leaf holding ``backward()``'s number,
    bit for bit. ``create_graph=True``: each result is computed by Values from the inputs, so its
    graph can be differentiated again (``grad(grad(f, [x], True)[0], [x])`` is $f''$). Inside
    ``no_grad()`` its numbers are the same, and, as every result there, it is a leaf.
    """
    if not isinstance(root, Value):
        raise TypeError(f"grad: root must be a Value (the node to differentiate), got {type(root).__name__}")
    xs = _check_inputs(inputs)
    if not isinstance(create_graph, bool):
        raise TypeError(f"grad: create_graph must be True or False, got {type(create_graph).__name__}")
    if not root.parents and root.op not in ("", "const") and all(x is not root for x in xs):
        raise ValueError(
            f"grad: root is the result of operation {root.op[:40]!r} but has no parents: it was computed "
            "inside no_grad(), which records no graph, so every derivative would read 0. Compute it "
            "outside no_grad(), or inside enable_grad()"
        )
    order = topological_order(root)
    # Only nodes that depend on an input pass delta on towards one: the walk skips the rest.
    wanted = set(xs)
    leads: set[Value] = set()
    for node in order:
        if node in wanted or any(parent in leads for parent in node.parents):
            leads.add(node)
    if create_graph:
        deltas = _value_deltas(root, order, leads)
        results: list[Value] = []
        for x in xs:
            d = deltas.get(x, 0.0)
            results.append(d if isinstance(d, Value) else Value(d))
        return results
    numbers = _float_deltas(root, order, leads)
    return [Value(numbers.get(x, 0.0)) for x in xs]


def _float_deltas(root: Value, order: list[Value], leads: set[Value]) -> dict[Value, float]:
    """``backward()``'s arithmetic, in its order, on a dictionary instead of ``grad``."""
    deltas = dict.fromkeys(leads, 0.0)
    if root in leads:
        deltas[root] += 1.0
    for node in reversed(order):
        parents = node.parents
        if parents and node in leads:
            delta = deltas[node]
            for parent, local in zip(parents, node.local_grads):
                if parent in leads:
                    deltas[parent] += delta * local
    return deltas


def _value_deltas(root: Value, order: list[Value], leads: set[Value]) -> dict[Value, Scalar]:
    """The same walk with Values: each delta is a node computed from the graph's own nodes."""
    deltas: dict[Value, Scalar] = {root: 1.0}
    for node in reversed(order):
        delta = deltas.get(node)
        if delta is None or not node.parents or node not in leads:
            continue
        for parent, local in zip(node.parents, local_derivative_values(node)):
            if parent in leads:
                term = _times(delta, local)
                so_far = deltas.get(parent)
                deltas[parent] = term if so_far is None else so_far + term
    return deltas


# --------------------------------------------------------------------- hessian
def hessian(fn: Callable[..., Value], inputs: Sequence[float | Value]) -> list[list[float]]:
    r"""$H_{ij} = \partial^2 f / \partial x_i \partial x_j$ of ``fn(*inputs)``, as lists of floats.

    ``fn`` takes one Value per input and returns a Value. A number input is passed as a new leaf;
    a Value input is passed as itself (so ``hessian(lambda *p: loss(), model.parameters())`` is the
    Hessian of a model's loss in its parameters). Row i is ``grad`` of $\partial f/\partial x_i$.
    No ``grad`` is changed.
    """
    if not callable(fn):
        raise TypeError(
            f"hessian: fn must be callable (one Value per input -> a Value), got {type(fn).__name__}"
        )
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"hessian: inputs must be a list of numbers or Values, got {type(inputs).__name__}")
    xs = [
        x if isinstance(x, Value) else Value(numerics.to_float(x, f"hessian: inputs[{i}]"), f"x_{i + 1}")
        for i, x in enumerate(inputs)
    ]
    out = fn(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian: fn must return a Value, got {type(out).__name__} {out!r:.60}")
    first = grad(out, xs, create_graph=True)
    return [[d.data for d in grad(g, xs)] for g in first]
