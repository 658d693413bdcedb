"""Compile a traced graph into straight-line Python: backpropagation written out.

:func:`compile_graph` walks a graph once, in the shared topological order, and
writes a plain-float function: the forward lines, then one line per edge of the
backward pass, ``d_parent += d_node * (local derivative)``, in exactly the order
``backward()`` takes. Variables are named from the lecture labels
(``a[3]_1`` becomes ``a3_1``, its delta ``d_a3_1``), so ``.source`` reads like the
lecture's derivation::

    a3_1 = _sum((W3_11 * z2_1, W3_12 * z2_2)) + b3_1
    ...
    d_a3_1 = d_E * (_L_E[0])
    d_W3_11 = d_a3_1 * (z2_1)

The generated code calls the same float functions as the eager engine
(:mod:`micrograd_lite.numerics`, the loss terms of :mod:`micrograd_lite.losses`)
and sums in the same order, so its results equal the engine's bit for bit.

Safety: every identifier is built from a whitelist (``[A-Za-z0-9_]``, never a
keyword, never starting with ``_`` or ``d_``); labels are sanitised, never
trusted; numbers are written with ``repr``. No user text reaches the source.

:class:`CompiledLoss` wraps this for training: it traces ``loss_fn(model, xs, ts)``
once, re-traces when the architecture or a structural input (the batch size, a
class index) changes, and otherwise runs the compiled code, adding the gradients
into each parameter's ``grad`` as ``backward()`` would.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from micrograd_lite import losses, numerics
from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import Value
from micrograd_lite.nn import MLP

# What the generated code may call: nothing else is in its namespace.
_NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "_sum": sum,
    "_float": float,
    "_inf": math.inf,
    "_nan": math.nan,
    "_div": numerics.div,
    "_pow": numerics.pow,
    "_exp": numerics.exp,
    "_log": numerics.log,
    "_sigmoid": numerics.sigmoid,
    "_tanh": math.tanh,
    "_softmax": numerics.softmax,
}
_TERMS_NAMES = {op: "_" + re.sub(r"[^a-z]+", "_", op) + "_terms" for op in losses.TERMS}
_NAMESPACE.update({_TERMS_NAMES[op]: fn for op, fn in losses.TERMS.items()})

_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "neg": "neg"}
_NOT_ALLOWED = re.compile(r"[^0-9A-Za-z]+")


def _literal(x: float) -> str:
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def _tuple(items: Iterable[str]) -> str:
    """A tuple display: ``()``, ``(a,)`` or ``(a, b)``."""
    parts = list(items)
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


def _times(delta: str, local: str) -> str:
    """``delta * local``; a local of 1.0 is left out (``x * 1.0`` is ``x`` exactly)."""
    if local == "1.0":
        return delta
    simple = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?|\(?-?[\d.e+-]+\)?", local)
    return f"{delta} * {local}" if simple else f"{delta} * ({local})"


class _Names:
    """Unique, whitelisted Python identifiers for the nodes of a graph."""

    def __init__(self) -> None:
        self.taken: set[str] = {"inputs", "parameters"}

    def new(self, node: Value) -> str:
        raw = node.label if node.label else _OP_NAMES.get(node.op, node.op) or "v"
        base = _NOT_ALLOWED.sub("_", raw.replace("[", "").replace("]", "_")).strip("_")
        base = base.replace("__", "_") if base else "v"
        if base[0].isdigit() or base.startswith("d_") or keyword.iskeyword(base):
            base = "v_" + base
        name, k = base, 2
        while name in self.taken or ("d_" + name) in self.taken:
            name, k = f"{base}__{k}", k + 1
        self.taken.update((name, "d_" + name))
        return name


def _softmax_index(node: Value) -> int:
    """Which ``y_k`` of its softmax a node is, recovered from its stored local derivatives."""
    y = numerics.softmax([p.data for p in node.parents])
    matches = [
        k
        for k in range(len(y))
        if y[k] == node.data
        and all(
            y[k] * ((1.0 if j == k else 0.0) - yj) == local
            for j, (yj, local) in enumerate(zip(y, node.local_grads))
        )
    ]
    if len(matches) != 1:
        raise ValueError(
            "cannot compile a softmax whose outputs are indistinguishable (outputs underflow to 0)"
        )
    return matches[0]


def _statements(node: Value, out: str, p: list[str]) -> tuple[list[str], list[str]]:
    """The forward statements that compute ``out`` and its local derivative per parent."""
    op = node.op
    if op == "softmax":
        k = _softmax_index(node)
        y = [f"_Y_{out}[{j}]" for j in range(len(p))]
        local = [f"{y[k]} * ({1.0 if j == k else 0.0} - {y[j]})" for j in range(len(p))]
        return [f"_Y_{out} = _softmax([{', '.join(p)}])", f"{out} = {y[k]}"], local
    if op in losses.TERMS:
        half = len(p) // 2
        call = f"{_TERMS_NAMES[op]}({_tuple(p[:half])}, {_tuple(p[half:])})"
        return [f"{out}, _L_{out} = {call}"], [f"_L_{out}[{i}]" for i in range(len(p))]
    forward, local = _expression(node, out, p)
    return [f"{out} = {forward}"], local


def _expression(node: Value, out: str, p: list[str]) -> tuple[str, list[str]]:
    """The forward expression of a one-output operation and its local derivatives, as source."""
    op = node.op
    if op == "+":
        return f"{p[0]} + {p[1]}", ["1.0", "1.0"]
    if op == "-":
        return f"{p[0]} - {p[1]}", ["1.0", "-1.0"]
    if op == "*":
        return f"{p[0]} * {p[1]}", [p[1], p[0]]
    if op == "/":
        return f"_div({p[0]}, {p[1]})", [f"_div(1.0, {p[1]})", f"_div(-{p[0]}, {p[1]} * {p[1]})"]
    if op == "**":
        return f"_pow({p[0]}, {p[1]})", [
            f"0.0 if {p[1]} == 0.0 else {p[1]} * _pow({p[0]}, {p[1]} - 1.0)",
            f"0.0 if ({p[0]} == 0.0 and {p[1]} >= 0.0) else {out} * _log({p[0]})",
        ]
    if op == "neg":
        return f"-{p[0]}", ["-1.0"]
    if op == "exp":
        return f"_exp({p[0]})", [out]
    if op == "log":
        return f"_log({p[0]})", [f"_div(1.0, {p[0]})"]
    if op == "sigmoid":
        return f"_sigmoid({p[0]})", [f"{out} * (1.0 - {out})"]
    if op == "tanh":
        return f"_tanh({p[0]})", [f"1.0 - {out} * {out}"]
    if op == "relu":
        return f"{p[0]} if ({p[0]} > 0.0 or {p[0]} != {p[0]}) else 0.0", [f"1.0 if {p[0]} > 0.0 else 0.0"]
    if op == "identity":
        return p[0], ["1.0"]
    if op == "sum":
        return f"_float(_sum({_tuple(p)}))", ["1.0"] * len(p)
    if op == "linear":
        n = (len(p) - 1) // 2
        w, z = p[:n], p[n : 2 * n]
        products = _tuple(f"{wj} * {zj}" for wj, zj in zip(w, z))
        return f"_sum({products}) + {p[-1]}", [*z, *w, "1.0"]
    raise ValueError(f"cannot compile operation {op!r}: it has no code template")


@dataclass(frozen=True)
class CompiledResult:
    """The loss value and its gradients with respect to the inputs and the parameters."""

    value: float
    input_grads: tuple[float, ...]
    parameter_grads: tuple[float, ...]


class CompiledGraph:
    """A graph compiled to a plain-float function; call it with new numbers."""

    def __init__(self, source: str, function: Callable[..., Any], n_inputs: int, n_parameters: int) -> None:
        self.source = source
        self._function = function
        self.n_inputs, self.n_parameters = n_inputs, n_parameters

    def __call__(self, inputs: Sequence[float], parameters: Sequence[float]) -> CompiledResult:
        if len(inputs) != self.n_inputs or len(parameters) != self.n_parameters:
            raise ValueError(
                f"compiled graph takes {self.n_inputs} inputs and {self.n_parameters} parameters, "
                f"got {len(inputs)} and {len(parameters)}"
            )
        value, d_inputs, d_parameters = self._function(tuple(inputs), tuple(parameters))
        return CompiledResult(value, d_inputs, d_parameters)


def compile_graph(
    root: Value, inputs: Sequence[Value], parameters: Sequence[Value], name: str = "forward_backward"
) -> CompiledGraph:
    """Compile the graph of ``root`` into a function of new input and parameter values.

    ``inputs`` and ``parameters`` are leaves of the graph (they may also be unused);
    every other leaf must be a constant. The result returns ``root``'s value and
    d(root)/d(leaf) for each input and parameter, creating no Value objects.
    """
    leaves = [*inputs, *parameters]
    for leaf in leaves:
        if not isinstance(leaf, Value):
            raise TypeError(f"inputs and parameters must be Values, got {type(leaf).__name__}")
    if len({id(v) for v in leaves}) != len(leaves):
        raise ValueError("a Value is listed twice among inputs and parameters")
    is_leaf_arg = {id(v) for v in leaves}
    order = topological_order(root)
    for node in order:
        if not node.parents and node.op != "const" and id(node) not in is_leaf_arg:
            raise ValueError(
                f"leaf {node.label or node.op or '(unlabelled)'} = {node.data!r} is neither an input nor a "
                "parameter: list it in inputs= or parameters= (or make it a number, a constant)"
            )

    names = _Names()
    var: dict[int, str] = {}
    for v in leaves:
        var[id(v)] = names.new(v)
    lines = [f"def {name}(inputs, parameters):"]
    if inputs:
        lines.append(f"    {_tuple(var[id(v)] for v in inputs)} = inputs")
    if parameters:
        lines.append(f"    {_tuple(var[id(v)] for v in parameters)} = parameters")
    lines.append("    # forward pass, parents before children")
    local_src: dict[int, list[str]] = {}
    for node in order:
        if not node.parents:
            if node.op == "const":
                var[id(node)] = _literal(node.data)
            continue
        out = names.new(node)
        var[id(node)] = out
        statements, local = _statements(node, out, [var[id(p)] for p in node.parents])
        lines.extend("    " + statement for statement in statements)
        local_src[id(node)] = local

    # Only nodes that lead from an input or parameter to the root need a delta.
    wanted: set[int] = set(is_leaf_arg)
    for node in order:
        if any(id(p) in wanted for p in node.parents):
            wanted.add(id(node))
    lines.append("    # backward pass: delta of each node, pushed edge by edge in backward()'s order")
    assigned: set[int] = set()
    if id(root) in wanted:
        lines.append(f"    d_{var[id(root)]} = 1.0")
        assigned.add(id(root))
    for node in reversed(order):
        if not node.parents or id(node) not in wanted:
            continue
        delta = "d_" + var[id(node)]
        for parent, local_expression in zip(node.parents, local_src[id(node)]):
            if id(parent) not in wanted:
                continue
            target = "d_" + var[id(parent)]
            operator = "+=" if id(parent) in assigned else "="
            assigned.add(id(parent))
            lines.append(f"    {target} {operator} {_times(delta, local_expression)}")

    def grad_of(v: Value) -> str:
        return "d_" + var[id(v)] if id(v) in assigned else "0.0"

    d_in = _tuple(grad_of(v) for v in inputs)
    d_par = _tuple(grad_of(v) for v in parameters)
    lines.append(f"    return {var[id(root)]}, {d_in}, {d_par}")
    source = "\n".join(lines) + "\n"
    namespace = dict(_NAMESPACE)
    # The source is built from whitelisted identifiers, numbers and fixed templates only.
    exec(compile(source, f"<micrograd_lite compiled {name}>", "exec"), namespace)
    return CompiledGraph(source, namespace[name], len(inputs), len(parameters))


# ---------------------------------------------------------------- training use
LossFunction = Callable[[MLP, list[list[Value]], list[Any]], Value]


def _as_numbers(ts: Sequence[Any], n_outputs: int) -> list[float | list[float]]:
    """Targets as numbers. An int is a class index when the model has several
    outputs (it becomes a one-hot list), and a plain number otherwise."""
    numbers: list[float | list[float]] = []
    for n, t in enumerate(ts, start=1):
        if isinstance(t, int) and not isinstance(t, bool) and n_outputs > 1:
            if not 0 <= t < n_outputs:
                raise ValueError(f"class index t_{n} = {t} is not in 0..{n_outputs - 1}")
            numbers.append([1.0 if k == t else 0.0 for k in range(n_outputs)])
        elif isinstance(t, (int, float)) and not isinstance(t, bool):
            numbers.append(float(t))
        elif isinstance(t, Sequence) and not isinstance(t, (str, bytes)):
            numbers.append([float(tk) for tk in t])
        else:
            raise TypeError(f"target t_{n} must be a number, a class index or a list of numbers")
    return numbers


class CompiledLoss:
    """``loss = CompiledLoss(model, loss_fn)``; ``loss(xs, ts)`` is a training step's
    forward and backward pass: it returns E and adds dE/d(parameter) into every
    parameter's ``grad``, exactly as ``loss_fn(model, xs, ts).backward()`` would.

    ``loss_fn(model, xs, ts)`` builds E from the model, the inputs (lists of
    Values) and the targets. The first call traces it and compiles the graph;
    later calls run the compiled code. It re-traces whenever the architecture
    (the parameter objects, each unit's activation and size) or the structure of
    the data (the number of examples, features per example, class-index targets)
    changes, so a compiled step is never silently stale. Targets are numbers;
    an int target is a class index when the model has several outputs (it is
    passed to ``loss_fn`` as a one-hot list). As with any tracer,
    Python control flow inside ``loss_fn`` that depends on the numbers
    themselves is not captured: E must be a fixed function of the inputs.
    """

    def __init__(self, model: MLP, loss_fn: LossFunction) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.compiled: CompiledGraph | None = None
        self.traces = 0
        self._key: tuple[Any, ...] | None = None
        self._parameters: list[Value] = []

    def _structure(self, xs: Sequence[Sequence[float]], ts: list[float | list[float]]) -> tuple[Any, ...]:
        architecture = tuple(
            (neuron.activation, len(neuron.W)) for layer in self.model.layers for neuron in layer.neurons
        )
        target_shape = tuple(len(t) if isinstance(t, list) else None for t in ts)
        return (architecture, tuple(len(x) for x in xs), target_shape)

    def __call__(self, xs: Sequence[Sequence[float]], ts: Sequence[Any]) -> float:
        parameters = self.model.parameters()
        if len(xs) != len(ts):
            raise ValueError(f"{len(xs)} examples but {len(ts)} targets")
        targets = _as_numbers(ts, self.model.layers[-1].n_out)
        key = self._structure(xs, targets)
        same_parameters = len(parameters) == len(self._parameters) and all(
            a is b for a, b in zip(parameters, self._parameters)
        )
        if self.compiled is None or key != self._key or not same_parameters:
            self._trace(xs, targets, parameters, key)
        assert self.compiled is not None
        numbers = [float(v) for x in xs for v in x]
        for t in targets:
            numbers.extend(t if isinstance(t, list) else (t,))
        result = self.compiled(numbers, [p.data for p in parameters])
        for p, g in zip(parameters, result.parameter_grads):
            p.grad += g
        return result.value

    def _trace(
        self,
        xs: Sequence[Sequence[float]],
        ts: list[float | list[float]],
        parameters: list[Value],
        key: tuple[Any, ...],
    ) -> None:
        x_leaves = [[Value(float(v), f"x_{j}") for j, v in enumerate(x, start=1)] for x in xs]
        t_leaves: list[Value | list[Value]] = [
            [Value(tk, f"t_{n},{k}") for k, tk in enumerate(t, start=1)]
            if isinstance(t, list)
            else Value(t, f"t_{n}")
            for n, t in enumerate(ts, start=1)
        ]
        root = self.loss_fn(self.model, x_leaves, t_leaves)
        flat_targets = [v for t in t_leaves for v in (t if isinstance(t, list) else (t,))]
        inputs = [v for row in x_leaves for v in row] + flat_targets
        self.compiled = compile_graph(root, inputs, parameters)
        self._key, self._parameters = key, list(parameters)
        self.traces += 1
