r"""Batched training steps: one example's graph, compiled to numpy code that runs a whole batch at once.

``CompiledLoss(model, loss_fn, batched=True)`` (and ``train(..., compiled=True, batched=True)``)
traces ``loss_fn`` on ONE example and compiles that graph to code in which every number of the
example is an array over the batch: ``E_n`` for every n at once, and the parameters' gradients
summed over the batch, added into each ``p.grad`` as ``backward()`` adds them.

Two ways to write the code, both from the same table of operations
(:mod:`micrograd_lite.primitives`, whose array templates call :mod:`micrograd_lite.array_numerics`):

* the lecture's matrix form (:mod:`micrograd_lite.matrix_form`), where the graph is a network's
  layers: ``A3 = Z2 @ W3.T + b3``, ``Delta2 = f'(A2) * (Delta3 @ W3)``, ``dE_dW3 = Delta3.T @ Z2``;
* otherwise one array operation per scalar node (:func:`compile_per_node`), the straight-line code
  of :mod:`micrograd_lite.compiler` with arrays in place of floats.

Only losses that split into a sum over examples. Batched code computes ``E_n`` for each example
from that example alone, so ``E`` must be ``sum_n E_n`` (or its mean, ``1/N sum_n E_n``, as
``reduction="mean"`` of the library's losses). :func:`trace_one_example` checks it: it traces
``loss_fn`` on one example and on two copies of it, and accepts the loss only if, in the second
graph, no node but the final sum (and the mean's factor 1/2) depends on both copies, each copy's
term is a copy of the one-example graph node for node (same operations, parameters and constants),
and no term depends on no example. A batch statistic (a mean of the outputs over the batch, a
normalisation by the batch's largest output), a factor that is not 1/N, or a term counted once per
batch (a penalty on the weights) is refused with a :class:`NotSeparableError`. As with any tracer,
Python control flow on the numbers, or on ``len(xs)`` beyond 2, is fixed at the trace.

Numbers: the same formulas as the eager engine, on arrays; ``E`` and every gradient agree with
``loss_fn(model, xs, ts).backward()`` to about 1e-12 relative, not bit for bit: the sums over the
batch (``E = sum_n E_n``, ``dE/dW = Delta.T @ Z``) are added in numpy's order, not the engine's.
IEEE results, never an exception (the step runs under ``numpy.errstate(all="ignore")``).

numpy is the optional extra ``fast``: without it a batched step raises :class:`NumpyMissingError`.
Nothing here imports numpy until a batched step is made.
"""

from __future__ import annotations

import importlib
import itertools
import math
import numbers
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from micrograd_lite import compiler
from micrograd_lite.autodiff import topological_order
from micrograd_lite.compiler import NodeNames, check_arity, literal, softmax_index, table_entry, times
from micrograd_lite.engine import PowerOutput, Value
from micrograd_lite.errors import InputTypeError, InputValueError, MicrogradLiteError
from micrograd_lite.primitives import NaryOperation, array_namespace, running_sum_source, tuple_source

Reduction = Literal["sum", "mean"]
#: How a target is given: a number per example, a list of numbers, or a class index (one-hot).
TargetKind = Literal["number", "list", "class"]
INSTALL = 'pip install "micrograd_lite[fast]"'


class NumpyMissingError(MicrogradLiteError, ImportError):
    """A batched step without numpy (an ``ImportError``): install the extra ``fast``."""


class NotSeparableError(InputValueError):
    """A loss that is not a sum (or mean) of per-example errors, given to a batched step."""


def require_numpy() -> ModuleType:
    """numpy, or a :class:`NumpyMissingError` that says how to install it."""
    imported = sys.modules.get("numpy")  # the common case, once numpy is loaded: no import machinery
    if imported is not None:
        return imported
    try:
        return importlib.import_module("numpy")
    except ImportError:
        raise NumpyMissingError(
            f"batched=True runs the batch as numpy arrays, and numpy is not installed: {INSTALL} "
            "(or use batched=False)"
        ) from None


def errors_ignored() -> Any:
    """``numpy.errstate(all="ignore")``: IEEE results (inf, nan), never a warning or an exception."""
    return require_numpy().errstate(all="ignore")


def total(E_n: Any) -> float:
    """``sum_n E_n`` as a float (``numpy.add.reduce``: ``E_n.sum()`` costs a Python-level call more)."""
    return float(require_numpy().add.reduce(E_n))


@dataclass(frozen=True)
class ParameterCopy:
    """Moves numbers between ``count`` parameters and numpy, in straight-line code.

    ``read_values(parameters, out)`` writes their ``data`` into the float64 array ``out`` (packed
    as C doubles in one call, then copied in one); ``add_gradients(parameters, grads)`` adds
    ``grads[i]`` into ``parameters[i].grad``, as ``backward()`` adds. One statement per parameter,
    with no loop: the two are most of what a batched step spends outside numpy.
    """

    count: int
    read_values: Callable[[Sequence[Value], Any], None]
    add_gradients: Callable[[Sequence[Value], list[float]], None]


_COPIES: dict[int, ParameterCopy] = {}
#: Up to this many parameters the copy is one statement per parameter (about 40 ms to compile at
#: 2,410); above it, loops (100,000 statements would take about 2 s to compile, for a few per cent).
STRAIGHT_LINE_PARAMETERS = 4096


def parameter_copy(count: int) -> ParameterCopy:
    """The :class:`ParameterCopy` for ``count`` parameters (made once per count)."""
    copy = _COPIES.get(count)
    if copy is None:
        np = require_numpy()
        if count <= STRAIGHT_LINE_PARAMETERS:
            names = [f"p{i}" for i in range(count)]
            unpack = f"    {tuple_source(names)} = parameters" if count else ""
            lines = [
                "def read_values(parameters, out):",
                unpack,
                f"    _copyto(out, _frombuffer(_pack({', '.join(f'{p}.data' for p in names)})))",
                "def add_gradients(parameters, grads):",
                unpack,
                *(f"    {p}.grad += grads[{i}]" for i, p in enumerate(names)),
                "    return None",
            ]
        else:  # the same as loops: straight-line code this long would take seconds to compile
            lines = [
                "def read_values(parameters, out):",
                "    _copyto(out, _frombuffer(_pack(*[p.data for p in parameters])))",
                "def add_gradients(parameters, grads):",
                "    for p, g in _zip(parameters, grads):",
                "        p.grad += g",
            ]
        source = "\n".join([*lines, ""])
        scope: dict[str, Any] = {
            "__builtins__": {},
            "_copyto": np.copyto,
            "_frombuffer": np.frombuffer,
            "_pack": struct.Struct(f"{count}d").pack,
            "_zip": zip,
        }
        # The source is built from integers and fixed templates only.
        exec(compile(source, "<micrograd_lite parameter copy>", "exec"), scope)
        if len(_COPIES) >= 8:
            _COPIES.clear()
        copy = _COPIES[count] = ParameterCopy(count, scope["read_values"], scope["add_gradients"])
    return copy


def read_parameter_values(parameters: Sequence[Value], out: Any) -> None:
    """Write the parameters' values into the float64 array ``out`` (:class:`ParameterCopy`), checked."""
    try:
        parameter_copy(len(parameters)).read_values(parameters, out)
    except struct.error:
        bad = next(p for p in parameters if isinstance(p.data, bool) or not isinstance(p.data, numbers.Real))
        raise InputTypeError(
            f"parameter {bad.label or '(unlabelled)'} holds {type(bad.data).__name__} {bad.data!r:.60}, "
            "not a number: give it a float (p.data = 0.5)"
        ) from None


# ------------------------------------------------------------------------------ the data
def input_matrix(xs: object, n_inputs: int) -> Any:
    """``xs`` (lists of numbers or a 2-D array) as a float64 ``(B, d)`` array, checked.

    A float64 array is used as given (no copy). Booleans, text and ragged rows are a TypeError or
    ValueError naming ``xs``; so is a ``nan`` or ``inf``.
    """
    np = require_numpy()
    given: Any = xs
    if type(given) is np.ndarray and given.dtype == np.float64 and given.ndim == 2:  # the common case
        if 0 < given.shape[0] and given.shape[1] == n_inputs and np.isfinite(given).all():
            return given
    if isinstance(xs, np.ndarray):
        if xs.dtype.kind not in "fiu":
            raise InputTypeError(f"xs must hold real numbers, got an array of dtype {xs.dtype}")
        X = xs if xs.dtype == np.float64 else xs.astype(np.float64)
    else:
        if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
            raise InputTypeError(
                f"xs must be a list of examples or a 2-D numpy array, got {type(xs).__name__}"
            )
        try:  # the common case, lists of floats (or ints), tested in one C-level pass
            plain = set(map(type, itertools.chain.from_iterable(xs))) <= {float, int}
        except TypeError:
            plain = False
        for n, x in enumerate([] if plain else xs, start=1):
            if isinstance(x, (str, bytes)) or not isinstance(x, Sequence | np.ndarray):
                raise InputTypeError(f"x_{n} must be a list of numbers, got {type(x).__name__}")
            for v in x:
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise InputTypeError(f"x_{n} must hold real numbers, got {type(v).__name__} {v!r:.60}")
        try:
            X = np.array(xs, dtype=np.float64)
        except (ValueError, OverflowError):
            raise InputValueError(
                "xs must be rectangular: every example with the same number of features"
            ) from None
    if X.ndim != 2:
        raise InputValueError(f"xs must be 2-D (examples x features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise InputValueError("xs is empty: give at least one example")
    if X.shape[1] != n_inputs:
        raise InputValueError(
            f"each example must have {n_inputs} features (the model's inputs), got {X.shape[1]}"
        )
    if not np.isfinite(X).all():
        raise InputValueError("the inputs must be finite (no nan or inf)")
    return X


def target_matrix(ts: object, n_outputs: int, n_examples: int) -> tuple[Any, TargetKind]:
    """``ts`` as a float64 ``(B, k)`` array and how the targets were given.

    A 1-D array or list of numbers is one number per example (``(B, 1)``); ints with several
    outputs are class indices (one-hot rows); a 2-D array or lists of lists are ``k`` numbers each.
    """
    np = require_numpy()
    given: Any = ts
    if type(given) is np.ndarray and given.dtype == np.float64 and 0 < given.ndim < 3:
        # the common case, in few calls
        if len(given) == n_examples and np.isfinite(given).all():
            return (given.reshape(-1, 1), "number") if given.ndim == 1 else (given, "list")
    if isinstance(ts, (str, bytes)) or not isinstance(ts, Sequence | np.ndarray):
        raise InputTypeError(f"ts must be a list of targets or a numpy array, got {type(ts).__name__}")
    if isinstance(ts, np.ndarray) and ts.ndim == 0:
        raise InputValueError(f"ts must be 1-D or 2-D (one target per example), got a 0-D array {ts!r:.60}")
    if len(ts) != n_examples:
        raise InputValueError(f"{n_examples} examples but {len(ts)} targets")
    if isinstance(ts, np.ndarray):
        if ts.dtype.kind not in "fiu":
            raise InputTypeError(f"ts must hold real numbers, got an array of dtype {ts.dtype}")
        array = ts
    else:
        for n, t in enumerate(ts, start=1):
            items = t if isinstance(t, Sequence | np.ndarray) and not isinstance(t, (str, bytes)) else [t]
            for v in items:
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise InputTypeError(
                        f"target t_{n} must be a number, a class index or a list of numbers, got {v!r:.60}"
                    )
        try:
            array = np.array(ts)
        except (ValueError, OverflowError):
            raise InputValueError(
                "ts must be rectangular: every target with the same number of entries"
            ) from None
    kind: TargetKind
    if array.ndim == 1 and array.dtype.kind in "iu" and n_outputs > 1:
        bad = np.flatnonzero((array < 0) | (array >= n_outputs))
        if bad.size:
            n = int(bad[0])
            raise InputValueError(f"class index t_{n + 1} = {array[n]} is not in 0..{n_outputs - 1}")
        T = np.zeros((n_examples, n_outputs))
        T[np.arange(n_examples), array] = 1.0
        kind = "class"
    elif array.ndim == 1:
        T, kind = array.astype(np.float64).reshape(-1, 1), "number"
    elif array.ndim == 2:
        T, kind = array.astype(np.float64), "list"
    else:
        raise InputValueError(f"ts must be 1-D or 2-D, got shape {array.shape}")
    if not np.isfinite(T).all():
        n = int(np.flatnonzero(~np.isfinite(T).all(axis=1))[0])
        raise InputValueError(f"target t_{n + 1} must be finite")
    return T, kind


def plain_targets(T: Any, kind: TargetKind) -> list[Any]:
    """The targets as ``train`` passes them to an eager step: numbers, lists, or class indices."""
    if kind == "number":
        return [float(t) for t in T[:, 0]]
    if kind == "class":
        return [int(k) for k in T.argmax(axis=1)]
    return [list(map(float, row)) for row in T]


# ------------------------------------------------------------------------------ the trace
@dataclass
class Example:
    """One example's graph: ``E_n`` and its leaves (the example's ``x_j``, its targets flattened)."""

    root: Value
    inputs: list[Value]
    targets: list[Value]
    reduction: Reduction


def _leaves(x: Sequence[float], t: Sequence[float], kind: TargetKind) -> tuple[list[Value], Any, list[Value]]:
    xs = [Value(float(v), f"x_{j}") for j, v in enumerate(x, start=1)]
    if kind == "number":
        leaf = Value(float(t[0]), "t")
        return xs, leaf, [leaf]
    ts = [Value(float(v), f"t_{k}") for k, v in enumerate(t, start=1)]
    return xs, ts, ts


def _call(loss_fn: Callable[..., Any], model: Any, xs: list[list[Value]], ts: list[Any]) -> Value:
    E = loss_fn(model, xs, ts)
    if not isinstance(E, Value):
        raise InputTypeError(f"loss_fn must return E as a Value, got {type(E).__name__}")
    return E


def _is_constant(node: Value, value: float | None = None) -> bool:
    return not node.parents and node.op == "const" and (value is None or node.data == value)


def _strip(root: Value) -> tuple[Value, float]:
    """The node under a reduction's wrapper, and the wrapper's factor: ``E * c``, ``E / c``, ``0 + E``."""
    if len(root.parents) == 2:
        a, b = root.parents
        if root.op == "*" and _is_constant(b):
            return a, b.data
        if root.op == "*" and _is_constant(a):
            return b, a.data
        if root.op == "/" and _is_constant(b) and b.data != 0.0:
            return a, 1.0 / b.data
        if root.op == "+" and _is_constant(a, 0.0):
            return b, 1.0
        if root.op == "+" and _is_constant(b, 0.0):
            return a, 1.0
    if root.op == "sum" and len(root.parents) == 1:
        return root.parents[0], 1.0
    return root, 1.0


def _describe(node: Value) -> str:
    return compiler.describe(node)


def _refuse(why: str) -> NotSeparableError:
    return NotSeparableError(
        f"loss_fn does not split into a sum over examples: {why}. batched=True computes each E_n "
        "from example n alone, so E must be sum_n E_n (or its mean, as reduction='mean'); "
        "use batched=False for this loss"
    )


def _terms(root: Value, example_of: dict[int, int]) -> tuple[list[Value], float]:
    """The per-example terms of a two-example graph's final sum, and its factor (1 or 1/2).

    ``example_of`` maps each example leaf's id to its example (1 or 2). Refuses any node other
    than the sum that depends on both examples, and any term that depends on neither.
    """
    mask: dict[int, int] = {}
    for node in topological_order(root):
        m = example_of.get(id(node), 0)
        for parent in node.parents:
            m |= mask[id(parent)]
        mask[id(node)] = m
    top, factor = root, 1.0
    if root.op in ("*", "/") and mask[id(root)] == 3:
        top, factor = _strip(root)
        if top is root:
            raise _refuse(f"E = {_describe(root)} is not a sum over the examples")
        if factor != 0.5:
            raise _refuse(f"E is the sum over the examples times {factor!r}, neither 1 (sum) nor 1/N (mean)")
    terms: list[Value] = []
    stack = [top]
    while stack:
        node = stack.pop()
        if mask[id(node)] == 3:
            if node.op not in ("sum", "+"):
                raise _refuse(f"{_describe(node)} depends on several examples (a statistic of the batch?)")
            stack.extend(reversed(node.parents))
        elif mask[id(node)] == 0:
            if not _is_constant(node, 0.0):
                raise _refuse(
                    f"the term {_describe(node)} depends on no example: it would count once per batch"
                )
        else:
            # ``sum(...)`` of Python starts from 0: the first term is ``0 + E_1``.
            while node.op == "+" and any(_is_constant(v, 0.0) for v in node.parents):
                node = _strip(node)[0]
            terms.append(node)
    if [mask[id(t)] for t in terms] != [1, 2]:
        raise _refuse(f"E must hold one error term per example; with two examples it has {len(terms)}")
    return terms, factor


def _same_graph(one: Value, other: Value, leaf_map: dict[int, Value]) -> str | None:
    """Why ``other`` is not a copy of ``one`` node for node (leaves mapped by ``leaf_map``), or None."""
    a, b = topological_order(one), topological_order(other)
    if len(a) != len(b):
        return f"the one-example graph has {len(a)} nodes, an example's term {len(b)}"
    position = {id(node): i for i, node in enumerate(a)}
    position_b = {id(node): i for i, node in enumerate(b)}
    for n1, n2 in zip(a, b):
        if not n1.parents:
            expected = leaf_map.get(id(n1))
            if expected is not None:
                ok = n2 is expected
            elif n1.op == "const":
                ok = _is_constant(n2) and compiler.same_number(n1.data, n2.data)
            else:
                ok = n1 is n2  # a parameter, shared by every example
            if not ok:
                return f"leaf {_describe(n1)} differs"
            continue
        same = (
            n1.op == n2.op
            and len(n1.parents) == len(n2.parents)
            and all(position[id(p)] == position_b[id(q)] for p, q in zip(n1.parents, n2.parents))
            and getattr(n1, "exponent", None) == getattr(n2, "exponent", None)
            and getattr(n1, "index", None) == getattr(n2, "index", None)
        )
        if not same:
            return f"{_describe(n1)} differs"
    return None


def trace_one_example(
    model: Any, loss_fn: Callable[..., Any], x: Sequence[float], t: Sequence[float], kind: TargetKind
) -> Example:
    """Trace ``loss_fn`` on one example ``(x, t)``, and check it splits over examples (module docstring)."""
    xs1, t1, flat1 = _leaves(x, t, kind)
    one = _call(loss_fn, model, [xs1], [t1])
    copies = [_leaves(x, t, kind) for _ in range(2)]
    two = _call(loss_fn, model, [c[0] for c in copies], [c[1] for c in copies])
    example_of = {id(v): n for n, c in enumerate(copies, start=1) for v in (*c[0], *c[2])}
    terms, factor = _terms(two, example_of)
    root, own_factor = _strip(one)
    if own_factor != 1.0:
        raise _refuse(f"with one example E is its error times {own_factor!r}")
    for n, (term, (xs, _, flat)) in enumerate(zip(terms, copies), start=1):
        leaf_map = {id(v): w for v, w in zip((*xs1, *flat1), (*xs, *flat))}
        why = _same_graph(root, term, leaf_map)
        if why is not None:
            raise _refuse(f"example {n}'s error is not computed as one example's error ({why})")
    return Example(root, xs1, flat1, "mean" if factor == 0.5 else "sum")


# --------------------------------------------------------------------------- compiled code
@dataclass
class BatchedGraph:
    """Compiled batched code. Write the parameters' values (``parameters()`` order) into
    ``weights``, then ``function(X, T, scale)`` returns ``(E_n, grads, finite)``.

    ``X`` is ``(B, d)``, ``T`` ``(B, k)``, ``scale`` dE/dE_n (1, or 1/B for the mean); ``E_n`` is
    ``(B,)``, ``grads`` the parameters' gradients summed over the batch (a list of floats),
    ``finite`` whether every value and gradient was finite (``None`` unless compiled with
    ``check_finite``). ``form`` is ``"matrix"`` or ``"per node"``. The code takes its views of
    ``weights`` once, so a step reads the array in place: one call at a time.
    """

    source: str
    function: Callable[..., tuple[Any, list[float], bool | None]]
    form: str
    weights: Any


def namespace() -> dict[str, Any]:
    """What batched code may call: the array forms of the table's functions, and nothing else."""
    np = require_numpy()

    def total(d: Any, B: int) -> float:
        """A parameter's gradient summed over the batch (a number, the same for every example: B times)."""
        return float(d.sum()) if np.ndim(d) else B * float(d)

    def finite(values: Sequence[Any]) -> bool:
        return all(bool(np.isfinite(v).all()) for v in values)

    return {
        "__builtins__": {},
        "_sum": sum,
        "_inf": math.inf,
        "_nan": math.nan,
        "_total": total,
        "_finite": finite,
        "_array": np.array,
        **array_namespace(),
    }


def _node_code(node: Value, out: str, p: list[str], vector: str | None) -> tuple[list[str], list[str]]:
    """:func:`micrograd_lite.compiler`'s code for a node, written with the table's array templates."""
    operation = table_entry(node)
    if isinstance(operation, NaryOperation):  # their writers call _sum, _softmax, _*_terms: array forms here
        if operation.several_outputs:
            assert vector is not None
            return operation.source(out, p, softmax_index(node), vector)
        return operation.source(out, p, 0, "")
    if operation.number_input is not None and isinstance(node, PowerOutput):
        p = [*p, literal(node.exponent)]
        return [f"{out} = {operation.array_value_source(*p)}"], operation.array_derivative_sources(p, out)[
            :-1
        ]
    return [f"{out} = {operation.array_value_source(*p)}"], operation.array_derivative_sources(p, out)


def compile_per_node(
    example: Example, parameters: Sequence[Value], check_finite: bool = False
) -> BatchedGraph:
    """One array statement per node of the example's graph (the general form)."""
    root, inputs, targets = example.root, example.inputs, example.targets
    order = topological_order(root)
    leaves = [*inputs, *targets, *parameters]
    is_leaf_arg = {id(v) for v in leaves}
    for node in order:
        if not node.parents and node.op != "const" and id(node) not in is_leaf_arg:
            raise InputValueError(
                f"leaf {_describe(node)} of the traced graph is neither an input, a target nor a parameter "
                "of the model: loss_fn may use only the model's parameters, the inputs and the targets"
            )
    names = NodeNames(["X", "T", "w", "scale", "B", "batched_step", "make_step"])
    var: dict[int, str] = {id(v): names.new(v) for v in leaves}
    lines = ["def batched_step(X, T, scale):", "    B = X.shape[0]"]
    lines += [f"    {var[id(v)]} = X[:, {j}]  # (B,)" for j, v in enumerate(inputs)]
    lines += [f"    {var[id(v)]} = T[:, {k}]  # (B,)" for k, v in enumerate(targets)]
    if parameters:
        lines.append(f"    {tuple_source([var[id(p)] for p in parameters])} = w")
    lines.append("    # forward pass, one array operation per node of one example's graph")
    local_src: dict[int, list[str]] = {}
    softmax_of: dict[tuple[int, ...], str] = {}
    interior: list[Value] = []
    for node in order:
        if not node.parents:
            if id(node) not in is_leaf_arg:
                var[id(node)] = literal(node.data)
            continue
        check_arity(node)
        interior.append(node)
        out = var[id(node)] = names.new(node)
        vector = None
        if isinstance(entry := table_entry(node), NaryOperation) and entry.several_outputs:
            vector = softmax_of.setdefault(tuple(id(parent) for parent in node.parents), "_Y_" + out)
        statements, local_src[id(node)] = _node_code(node, out, [var[id(v)] for v in node.parents], vector)
        lines.extend("    " + line for line in statements)
    compiler.verify_nodes(interior)

    if check_finite:
        wanted = {id(v) for v in order if v.parents or id(v) in is_leaf_arg}
    else:
        wanted = {id(v) for v in parameters}
        for node in order:
            if any(id(p) in wanted for p in node.parents):
                wanted.add(id(node))
    lines.append("    # backward pass: each delta sums its edges in the order backward() pushes them")
    terms: dict[int, list[str]] = {id(root): ["scale"]}
    assigned: set[int] = set()
    for node in reversed(order):
        if id(node) not in wanted:
            continue
        delta = "d_" + var[id(node)]
        node_terms = terms.pop(id(node), [])
        if node_terms:
            lines.extend("    " + line for line in running_sum_source(delta, node_terms))
            assigned.add(id(node))
        for parent, local in zip(node.parents, local_src.get(id(node), ())):
            if id(parent) in wanted:
                terms.setdefault(id(parent), []).append(times(delta, local))
    grads = [f"_total(d_{var[id(p)]}, B)" if id(p) in assigned else "0.0" for p in parameters]
    lines.append(f"    grads = [{', '.join(grads)}]")
    check = "None"
    if check_finite:
        checked = [var[id(v)] for v in interior] + ["d_" + var[id(v)] for v in order if id(v) in assigned]
        check = f"_finite({tuple_source(checked)})"
    lines.append(f"    return {var[id(root)]}, grads, {check}")
    # As the matrix form: make_step(w) returns the step, which reads the parameters' values w.
    body = ["    " + line for line in lines]
    source = "\n".join(["def make_step(w):", *body, "    return batched_step", ""])
    scope = namespace()
    # The source is built from whitelisted identifiers, numbers and fixed templates only.
    exec(compile(source, "<micrograd_lite batched step>", "exec"), scope)
    weights = require_numpy().zeros(len(parameters))
    return BatchedGraph(source, scope["make_step"](weights), "per node", weights)
