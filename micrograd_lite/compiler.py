"""Compile a traced graph into straight-line Python: backpropagation written out.

:func:`compile_graph` walks a graph once, in the shared topological order, and
writes a plain-float function: the forward lines, parents before children, then
one line per node of the backward pass, in exactly the order ``backward()``
takes. Each delta line is the sum over the node's outgoing edges of
``d_child * (local derivative)``, in the order ``backward()`` adds them, so the
chain rule reads as the lecture writes it. Variables are named from the lecture
labels (``a[3]_1`` becomes ``a3_1``, its delta ``d_a3_1``)::

    a3_1 = 0.0 + W3_11 * z2_1 + W3_12 * z2_2 + b3_1
    ...
    d_a3_1 = d_y * (y * _sigmoid(-a3_1))
    d_W3_11 = d_a3_1 * z2_1
    d_z2_1 = d_a3_1 * W3_11

Bit for bit. The generated code calls the same float functions as the eager
engine (:mod:`micrograd_lite.numerics`, the loss terms of :mod:`micrograd_lite.losses`)
and adds in the same order, so its results equal the engine's exactly. Sums
are written as builtin ``sum`` computes them: ``0.0 + t_1 + t_2 + ...`` left to
right where ``sum`` is that plain loop (CPython before 3.12), a call of ``sum``
itself where it compensates rounding (3.12 and later). The one difference: the
engine starts a delta at 0.0 and adds, ``0.0 + (-0.0)`` is ``0.0``, so a
gradient that is exactly zero may differ in sign. ``accumulate=True`` starts
from given gradients instead, and then even that agrees.

The code written for each node comes from its operation's entry in
:mod:`micrograd_lite.primitives`: an elementwise operation's forward value and
local derivatives are the same expressions the engine's methods are generated
from, so the two cannot drift; ``sum``, ``linear``, ``softmax`` and the errors
call (or write out) the same float arithmetic as the engine. The tests compare
compiled and eager results bit for bit, per table entry and on random graphs.

Only what it can reproduce. The compiled code recomputes every node from its
``op``, so before writing anything :func:`compile_graph` runs each node's code on
its inputs' numbers and refuses, naming the node, any node whose result is not
its ``data`` and ``local_grads`` bit for bit (a hand-made ``Value(5.0, op="exp")``)
or whose number of inputs does not fit its operation.

Safety: every identifier is built from a whitelist (``[A-Za-z0-9_]``, never a
keyword, never starting with ``_`` or ``d_``); labels are sanitised, never
trusted; numbers are written with ``repr``. No user text reaches the source.
Repeated names get ``__2``, ``__3``, ... from a counter per name, so naming is
linear in the size of the graph.

:class:`micrograd_lite.compiled_loss.CompiledLoss` wraps this for training: it
traces ``loss_fn(model, xs, ts)``, re-traces when the architecture or the structure of the data changes, and
otherwise runs the compiled code, adding the gradients into each parameter's
``grad`` exactly as ``backward()`` would.
"""

from __future__ import annotations

import keyword
import math
import numbers
import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from micrograd_lite import losses
from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import PowerOutput, SoftmaxOutput, Value
from micrograd_lite.primitives import (
    CHUNK,
    OPERATIONS,
    SEQUENTIAL_SUM,
    SOURCE_NAMESPACE,
    WORDS,
    NaryOperation,
    Primitive,
    loss_function_name,
    running_sum_source,
    softmax_terms,
    tuple_source,
)

# What the generated code may call: nothing else is in its namespace.
_NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "_sum": sum,
    "_inf": math.inf,
    "_nan": math.nan,
    "_softmax": softmax_terms,
    "_finite": lambda values: all(map(math.isfinite, values)),
    **SOURCE_NAMESPACE,  # the functions the primitives' expressions call
}
_NAMESPACE.update({loss_function_name(op): fn for op, fn in losses.TERMS.items()})
# How sums are written (see micrograd_lite.primitives), under the names the tests read.
_SEQUENTIAL_SUM, _CHUNK = SEQUENTIAL_SUM, CHUNK

_MAX_NAME = 40

_NOT_ALLOWED = re.compile(r"[^0-9A-Za-z]+")
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?|\(?-?[\d.e+-]+\)?")


def literal(x: float) -> str:
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def times(delta: str, local: str) -> str:
    """``delta * local``; a local of 1.0 is left out (``x * 1.0`` is ``x`` exactly)."""
    if local == "1.0":
        return delta
    return f"{delta} * {local}" if _SIMPLE.fullmatch(local) else f"{delta} * ({local})"


class NodeNames:
    """Unique, whitelisted Python identifiers for the nodes of a graph.

    A label is sanitised into a base name of ``[A-Za-z0-9]`` runs joined by single
    underscores; its k-th repeat is ``base__k``. A base never holds ``__``, so
    ``base__k`` names no other base's node, and a counter per base makes each new
    name one dictionary look-up (the loop only steps over reserved names).
    """

    def __init__(self, reserved: Sequence[str]) -> None:
        self.taken: set[str] = set(reserved)
        self.repeats: dict[str, int] = {}  # base name -> how many times it has been handed out

    def new(self, node: Value) -> str:
        raw = node.label if node.label else WORDS.get(node.op, node.op) or "v"
        base = _NOT_ALLOWED.sub("_", raw.replace("[", "").replace("]", "_"))[:_MAX_NAME].strip("_") or "v"
        # base is now [A-Za-z0-9] runs joined by single underscores: it never holds "__".
        if base[0].isdigit() or base.startswith("d_") or keyword.iskeyword(base):
            base = "v_" + base
        k = self.repeats.get(base, 0)
        while True:
            k += 1
            name = base if k == 1 else f"{base}__{k}"
            if name not in self.taken and ("d_" + name) not in self.taken:
                break
        self.repeats[base] = k
        assert name.isidentifier() and not keyword.iskeyword(name)
        self.taken.update((name, "d_" + name))
        return name


def describe(node: Value) -> str:
    name = repr(node.label[:80]) if node.label is not None else "(unlabelled)"
    return f"node {name} (op {node.op!r:.40})"


def table_entry(node: Value) -> Primitive | NaryOperation:
    """The table entry of a node's operation; a ValueError for an operation the table lacks."""
    operation = OPERATIONS.get(node.op)
    if operation is None:
        raise ValueError(
            f"cannot compile operation {node.op!r:.40} ({describe(node)}): it has no code template; "
            "the compiler knows the operations of micrograd_lite.primitives.OPERATIONS"
        )
    return operation


def check_arity(node: Value) -> None:
    """Refuse a node whose number of inputs (or local derivatives) its operation cannot have."""
    op, n, operation = node.op, len(node.parents), table_entry(node)
    if isinstance(operation, NaryOperation):
        ok, expected = operation.accepts(n), operation.expected
    elif operation.number_input is not None and isinstance(node, PowerOutput):  # a number input
        ok, expected = (
            n == operation.arity - 1,
            f"exactly {operation.arity - 1} (the {operation.number_input} is a number)",
        )
    else:
        ok, expected = n == operation.arity, f"exactly {operation.arity}"
    if not ok:
        raise ValueError(
            f"cannot compile {describe(node)}: it has {n} input(s); operation {op!r} takes {expected}; "
            "the compiler reproduces only nodes made by micrograd_lite's operations"
        )
    if len(node.local_grads) != n:
        raise ValueError(
            f"cannot compile {describe(node)}: it has {n} input(s) but "
            f"{len(node.local_grads)} local derivatives"
        )


def softmax_index(node: Value) -> int:
    """Which ``y_k`` of its softmax a node is, as ``softmax()`` recorded it."""
    if not isinstance(node, SoftmaxOutput):
        raise ValueError(f"cannot compile a 'softmax' node that softmax() did not make ({node.label!r})")
    if not 0 <= node.index < len(node.parents):
        raise ValueError(f"cannot compile {describe(node)}: output index {node.index} of {len(node.parents)}")
    return node.index


def _node_code(node: Value, out: str, p: list[str], vector: str | None) -> tuple[list[str], list[str]]:
    """The statements that compute node ``out`` from its inputs ``p``, and its local derivatives, as source.

    An elementwise operation is written from its entry of :data:`~micrograd_lite.primitives.PRIMITIVES`
    (a number exponent from the node's ``exponent``); an operation of many inputs by its entry's
    source writer. A softmax output reads the vector ``vector`` of its group of logits, computed
    here when ``vector`` is ``_Y_`` + ``out`` (the group's first output).
    """
    operation = table_entry(node)
    if isinstance(operation, NaryOperation):
        if operation.several_outputs:
            assert vector is not None
            return operation.source(out, p, softmax_index(node), vector)
        return operation.source(out, p, 0, "")
    if operation.number_input is not None and isinstance(node, PowerOutput):
        p = [*p, literal(node.exponent)]  # the number is part of the operation: written from the node
        return [f"{out} = {operation.value_source(*p)}"], operation.derivative_sources(p, out)[:-1]
    return [f"{out} = {operation.value_source(*p)}"], operation.derivative_sources(p, out)


def _recompute_functions(nodes: Sequence[Value]) -> list[Callable[..., tuple[float, ...]]]:
    """For each node, its code from :func:`_node_code` as a function of its inputs' values.

    Each function returns the node's value and local derivatives, as the compiled
    code computes them. Nodes whose code reads alike (the same operation, number
    of inputs and whatever else the code depends on) share one function.
    """
    kinds: dict[tuple[str, ...], int] = {}
    kind_of: list[int] = []
    source = []
    for node in nodes:
        p = [f"p{j}" for j in range(len(node.parents))]
        statements, local = _node_code(node, "out", p, "_Y_out")
        body = (*statements, f"return {tuple_source(['out', *local])}")
        if body not in kinds:
            kinds[body] = len(kinds)
            source.append(f"def recompute_{kinds[body]}({', '.join(p)}):")
            source.extend("    " + line for line in body)
        kind_of.append(kinds[body])
    namespace = dict(_NAMESPACE)
    exec(compile("\n".join(source) + "\n", "<micrograd_lite node check>", "exec"), namespace)
    functions = [namespace[f"recompute_{k}"] for k in range(len(kinds))]
    return [functions[k] for k in kind_of]


@dataclass(frozen=True)
class CompiledResult:
    """The root's value and its gradients with respect to the inputs and the parameters.

    ``finite`` is set by a graph compiled with ``check_finite=True``: whether every
    node's value and gradient in this call was finite (``None`` when not checked).
    """

    value: float
    input_grads: tuple[float, ...]
    parameter_grads: tuple[float, ...]
    finite: bool | None = None


def _to_float(x: object, what: str) -> float:
    """A real number (int, float, Fraction, numpy scalar, ...) as a float.

    Anything else, ``bool`` included, is a TypeError; an integer too large for a
    float is a ValueError. Both name ``what``.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__} {x!r:.60}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(
            f"{what} is too large for a float ({type(x).__name__} of about 10^{_digits(x)}): "
            "use a number below 1.8e308"
        ) from None


def _digits(x: object) -> int:
    """Roughly how many decimal digits a huge integer has, without converting it to text."""
    return int(int(x).bit_length() * 0.30103) if isinstance(x, numbers.Integral) else 309


def _floats(values: object, what: str, n: int) -> tuple[float, ...]:
    """``values`` as a tuple of ``n`` floats; anything but real numbers is a TypeError."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a sequence of {n} numbers, got {type(values).__name__}")
    if len(values) != n:
        raise ValueError(f"{what} must hold {n} numbers, got {len(values)}")
    out = tuple(values)
    if set(map(type, out)) - {float}:  # the slow path only when something is not a float
        out = tuple(_to_float(v, f"{what}[{i}]") for i, v in enumerate(out))
    return out


class CompiledGraph:
    """A graph compiled to a plain-float function; call it with new numbers.

    ``graph(inputs, parameters)`` returns a :class:`CompiledResult`. Compiled
    with ``accumulate=True`` it also takes ``grads``, the gradients to add to
    (one per returned gradient: the inputs' if ``input_grads``, then the
    parameters'), as ``backward()`` adds into a leaf's ``grad``; zeros by default.
    """

    def __init__(
        self,
        source: str,
        function: Callable[..., Any],
        n_inputs: int,
        n_parameters: int,
        input_grads: bool = True,
        accumulate: bool = False,
        check_finite: bool = False,
    ) -> None:
        self.source = source
        self.function = function
        self.n_inputs, self.n_parameters = n_inputs, n_parameters
        self.input_grads, self.accumulate, self.check_finite = input_grads, accumulate, check_finite
        self.n_grads = (n_inputs if input_grads else 0) + n_parameters

    def __call__(
        self, inputs: Sequence[float], parameters: Sequence[float], grads: Sequence[float] | None = None
    ) -> CompiledResult:
        x = _floats(inputs, "inputs", self.n_inputs)
        w = _floats(parameters, "parameters", self.n_parameters)
        if not self.accumulate:
            if grads is not None:
                raise TypeError("grads is only taken by a graph compiled with accumulate=True")
            results = self.function(x, w)
        else:
            g = (0.0,) * self.n_grads if grads is None else _floats(grads, "grads", self.n_grads)
            results = self.function(x, w, g)
        return CompiledResult(*results)


def same_number(computed: float, recorded: object) -> bool:
    """Equal bit for bit, except that any two NaNs are the same (their payloads may differ)."""
    try:
        r = float(recorded)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    if computed != computed or r != r:
        return computed != computed and r != r
    return computed == r and math.copysign(1.0, computed) == math.copysign(1.0, r)


def verify_nodes(nodes: Sequence[Value]) -> None:
    """Refuse the graph unless the compiled code reproduces every node's data and local derivatives.

    Each node's code runs on its inputs' ``data`` (:func:`_recompute_functions`);
    the results are compared with what the node holds as raw bytes first (one
    C-level comparison), and only on a difference number by number, to tell a
    real difference from two NaNs with different payloads.
    """
    recomputed: list[float] = []
    for node, recompute in zip(nodes, _recompute_functions(nodes)):
        recomputed.extend(recompute(*[p.data for p in node.parents]))
    recorded = [x for node in nodes for x in (node.data, *node.local_grads)]
    try:
        if array("d", recomputed).tobytes() == array("d", recorded).tobytes():
            return
    except (TypeError, OverflowError):  # a local derivative that is not a float
        pass
    k = 0
    for node in nodes:
        for j, r in enumerate((node.data, *node.local_grads)):
            if not same_number(recomputed[k + j], r):
                what = "its data" if j == 0 else f"its local derivative with respect to input {j}"
                raise ValueError(
                    f"cannot compile {describe(node)}: {what} is {r!r:.40}, but its operation gives "
                    f"{recomputed[k + j]!r} from its inputs' data. The compiler recomputes every node from "
                    "its op, so it takes only nodes made by micrograd_lite's operations, on leaves whose "
                    "data has not changed since the graph was built"
                )
        k += 1 + len(node.local_grads)


def compile_graph(
    root: Value,
    inputs: Sequence[Value],
    parameters: Sequence[Value],
    name: str = "forward_backward",
    input_grads: bool = True,
    accumulate: bool = False,
    check_finite: bool = False,
) -> CompiledGraph:
    """Compile the graph of ``root`` into a function of new input and parameter values.

    ``inputs`` and ``parameters`` are leaves of the graph (they may also be unused);
    every other leaf must be a constant. The result returns ``root``'s value and
    d(root)/d(leaf) for each input and parameter, creating no Value objects.
    ``input_grads=False`` leaves out the inputs' gradients (``input_grads`` is
    then empty) and the work that only they need. ``accumulate=True``: see
    :class:`CompiledGraph`. ``name`` is the generated function's name.

    Every node is checked before anything is written: its number of inputs must
    fit its operation, and the code written for it, run at the graph's own
    numbers, must give its ``data`` and ``local_grads`` bit for bit. A node that
    fails (a hand-made node, or one whose leaves changed after it was computed)
    is refused with a ``ValueError`` naming it.

    ``check_finite=True`` computes every node's gradient that ``backward()``
    computes (constants aside), and each result's ``finite`` says whether every
    value and gradient was finite: what ``detect_anomaly()`` checks, in one test.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ValueError(f"name must be a plain identifier ([A-Za-z][A-Za-z0-9_]*), got {name!r:.80}")
    groups: list[list[Value]] = []
    for what, group in (("inputs", inputs), ("parameters", parameters)):
        if isinstance(group, (str, bytes, Value)) or not isinstance(group, Sequence):
            raise TypeError(f"{what} must be a list of Values, got {type(group).__name__}")
        for i, v in enumerate(group):
            if not isinstance(v, Value):
                raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__}")
            if v.parents:
                raise ValueError(
                    f"{what}[{i}] ({(v.label or v.op)!r:.80}) is computed from other nodes; "
                    "inputs and parameters must be leaves of the graph"
                )
        groups.append(list(group))
    inputs, parameters = groups
    leaves = [*inputs, *parameters]
    if len({id(v) for v in leaves}) != len(leaves):
        raise ValueError("a Value is listed twice among inputs and parameters")
    is_leaf_arg = {id(v) for v in leaves}
    order = topological_order(root)
    for node in order:
        if not node.parents and node.op != "const" and id(node) not in is_leaf_arg:
            raise ValueError(
                f"leaf {node.label or node.op or '(unlabelled)'!r:.80} = {node.data!r} is neither an input "
                "nor a parameter: list it in inputs= or parameters= (or make it a number, a constant)"
            )

    names = NodeNames(["inputs", "parameters", "grads", name])
    var: dict[int, str] = {id(v): names.new(v) for v in leaves}
    returned = [*(inputs if input_grads else []), *parameters]
    signature = "inputs, parameters, grads" if accumulate else "inputs, parameters"
    lines = [f"def {name}({signature}):"]
    for group, argument in ((inputs, "inputs"), (parameters, "parameters")):
        if group:
            lines.append(f"    {tuple_source([var[id(v)] for v in group])} = {argument}")
    if accumulate and returned:
        lines.append(f"    {tuple_source(['d_' + var[id(v)] for v in returned])} = grads")

    # ---- forward: one statement (or a few) per node, parents before children
    lines.append("    # forward pass, parents before children")
    local_src: dict[int, list[str]] = {}
    softmax_of: dict[tuple[int, ...], str] = {}  # one softmax vector per group of logits
    interior: list[Value] = []
    for node in order:
        if not node.parents:
            if id(node) not in is_leaf_arg:
                var[id(node)] = literal(node.data)
            continue
        check_arity(node)
        interior.append(node)
        out = names.new(node)
        var[id(node)] = out
        vector = None
        if isinstance(op_entry := OPERATIONS.get(node.op), NaryOperation) and op_entry.several_outputs:
            vector = softmax_of.setdefault(tuple(id(parent) for parent in node.parents), "_Y_" + out)
        statements, local_src[id(node)] = _node_code(node, out, [var[id(v)] for v in node.parents], vector)
        lines.extend("    " + line for line in statements)

    # ---- backward: only nodes on a path from a returned leaf to the root need a delta;
    # check_finite wants every delta backward() computes (all but the constants').
    if check_finite:
        wanted: set[int] = {id(v) for v in order if v.parents or id(v) in is_leaf_arg}
    else:
        wanted = {id(v) for v in returned}
        for node in order:
            if any(id(p) in wanted for p in node.parents):
                wanted.add(id(node))
    starts_from_grads = {id(v) for v in returned} if accumulate else set()
    lines.append("    # backward pass: each delta sums its edges in the order backward() pushes them")
    terms: dict[int, list[str]] = {}  # the contributions d_child * local, per node, in push order
    assigned: set[int] = set()
    if id(root) in wanted:
        terms[id(root)] = ["1.0"]
    for node in reversed(order):
        if id(node) not in wanted:
            continue
        # Every child of ``node`` comes later in the order: all its terms are known now.
        delta = "d_" + var[id(node)]
        node_terms = terms.pop(id(node), [])
        if id(node) in starts_from_grads:
            node_terms = [delta, *node_terms]
        if node_terms and node_terms != [delta]:
            lines.extend("    " + line for line in running_sum_source(delta, node_terms))
            assigned.add(id(node))
        for parent, local_expression in zip(node.parents, local_src.get(id(node), ())):
            if id(parent) in wanted:
                terms.setdefault(id(parent), []).append(times(delta, local_expression))

    def grad_of(v: Value) -> str:
        return "d_" + var[id(v)] if accumulate or id(v) in assigned else "0.0"

    d_in = tuple_source([grad_of(v) for v in inputs]) if input_grads else "()"
    d_par = tuple_source([grad_of(v) for v in parameters])
    returns = f"{var[id(root)]}, {d_in}, {d_par}"
    if check_finite:
        checked = [var[id(v)] for v in interior] + ["d_" + var[id(v)] for v in order if id(v) in assigned]
        returns += f", _finite({tuple_source(checked) if checked else '()'})"
    lines.append(f"    return {returns}")
    source = "\n".join(lines) + "\n"

    namespace = dict(_NAMESPACE)
    # The source is built from whitelisted identifiers, numbers and fixed templates only.
    exec(compile(source, f"<micrograd_lite compiled {name}>", "exec"), namespace)
    verify_nodes(interior)
    return CompiledGraph(
        source, namespace[name], len(inputs), len(parameters), input_grads, accumulate, check_finite
    )
