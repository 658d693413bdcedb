"""``Value``: a scalar that remembers how it was made.

Each node of the computation graph stores four things:

* ``data``: its value, a float;
* ``parents``: the nodes it was computed from, in order;
* ``local_grads``: the local derivative d(node)/d(parent) for each parent, in the
  same order. This is what a per-node ``_backward`` closure would compute; it is
  evaluated once, in the forward pass, where the inputs are at hand, and stored
  as plain numbers. Storing numbers keeps a node small (no function object, no
  cells) and makes reference cycles impossible: nothing a node holds can point
  back at the node, so a graph is freed by reference counting alone;
* ``grad``: dE/d(node), filled in by :meth:`Value.backward`. For a unit's
  pre-activation ``a[l]_i`` this is the lecture's ``delta[l]_i``.

``parents`` and ``local_grads`` read as tuples, but nearly every node has one or
two inputs, and such a node keeps each input beside its local derivative in
fields of its own: ``parent_a``, ``local_a``, ``parent_b``, ``local_b``
(``parent_b`` is None for one input). A binary node is then one object, with
no tuples: the cycle collector, which still scans every object a program keeps,
has a third as many to scan, and the backward pass reads the fields directly.
Leaves and nodes of many inputs have ``parent_a`` None and keep the two tuples
in a field of their own, ``_edges`` (None for a leaf; the operations of one or
two inputs do not even write it).

Every operation is written the same way: the forward value, then how the result
depends on each input, side by side, once, in the table of
:mod:`micrograd_lite.primitives`. The methods of :class:`Value` are generated from
it at import time (``inspect.getsource(Value.__mul__)`` shows one); ``sum_values``,
``linear`` and ``softmax``, of many inputs, are below. The backward pass itself lives in
:mod:`micrograd_lite.autodiff`, the module under this one (it walks any node with
parents and local derivatives, and imports nothing from here); it is one rule applied edge by edge:
``parent.grad += node.grad * d(node)/d(parent)``.

Floating-point edge cases (overflow, ``log(0)``, division by zero) follow the
policy in :mod:`micrograd_lite.numerics`: IEEE results, never an exception.

``no_grad()`` and ``detect_anomaly()`` hold for the thread (and the asyncio task)
that opened them, as PyTorch's grad mode does: one :class:`contextvars.ContextVar`
holds the mode (and ``detect_anomaly()``'s hook for each new node), and every block
removes exactly its own entry when it closes. ``detect_anomaly()``'s check of each
push lives with the backward pass, in :mod:`micrograd_lite.autodiff`.
"""

from __future__ import annotations

import contextvars
import linecache
import numbers
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, Union, cast

from micrograd_lite import numerics
from micrograd_lite.autodiff import backpropagate_all, topological_order, without_last
from micrograd_lite.primitives import (
    PRIMITIVES,
    SOURCE_NAMESPACE,
    Primitive,
    linear_value,
    softmax_terms,
)

Number = int | float
Operand = Union["Value", int, float]
Hook = Callable[["Value"], None]


# ------------------------------------------------------------ grad mode, anomaly mode
class _EnableGrad:
    """The entry an ``enable_grad()`` block adds among the ``no_grad()`` blocks' entries."""

    __slots__ = ()


class _Mode:
    """What the current thread or task is doing: the open ``no_grad()`` (and ``enable_grad()``)
    blocks and the open ``detect_anomaly()`` blocks' creation hooks, innermost last. Immutable: a block
    entering or leaving sets a new one. (The backward pass's check lives with the
    backward pass: :func:`micrograd_lite.autodiff.checking_pushes`.)"""

    __slots__ = ("anomaly", "grad_enabled", "no_grad", "on_create")

    def __init__(self, no_grad: tuple[object, ...], anomaly: tuple[Hook, ...]) -> None:
        self.no_grad = no_grad
        self.anomaly = anomaly
        self.grad_enabled = not no_grad or isinstance(no_grad[-1], _EnableGrad)  # the innermost block decides
        # Called with every new node (by _fill, below).
        self.on_create: Hook | None = anomaly[-1] if anomaly else None


_DEFAULT_MODE = _Mode((), ())
_mode: contextvars.ContextVar[_Mode] = contextvars.ContextVar("micrograd_lite_mode", default=_DEFAULT_MODE)
# How many no_grad()/detect_anomaly() blocks are open, in any thread. While it is 0 every
# context is in the default mode, and a new node need not look its mode up: the hot
# path pays one test of a global, as before the modes were per thread.
_open_blocks = 0
_open_blocks_lock = threading.Lock()


@contextmanager
def _mode_block(no_grad: bool, on_create: Hook | None = None, enable_grad: bool = False) -> Iterator[None]:
    """Add one entry to this context's mode for the duration of the block.

    Leaving removes exactly that entry, whatever else was opened or closed in the
    meantime: blocks that overlap without nesting (two generators closed out of
    order) leave the mode as it was before both.
    """
    global _open_blocks
    entry: Any = (_EnableGrad() if enable_grad else object()) if no_grad else on_create
    with _open_blocks_lock:
        _open_blocks += 1
    try:
        mode = _mode.get()
        if no_grad:
            _mode.set(_Mode((*mode.no_grad, entry), mode.anomaly))
        else:
            _mode.set(_Mode(mode.no_grad, (*mode.anomaly, entry)))
        try:
            yield
        finally:
            mode = _mode.get()
            if no_grad:
                _mode.set(_Mode(without_last(mode.no_grad, entry), mode.anomaly))
            else:
                _mode.set(_Mode(mode.no_grad, without_last(mode.anomaly, entry)))
    finally:
        with _open_blocks_lock:
            _open_blocks -= 1


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block operations record no graph: results are leaves.

    Use it for evaluation and for parameter updates, as in PyTorch. It holds for the
    thread (and asyncio task) that opened it: other threads keep recording. Values
    are the same as with the graph, bit for bit (the cross-entropies still pair
    with a sigmoid's or softmax's logits).
    """
    with _mode_block(no_grad=True):
        yield


@contextmanager
def enable_grad() -> Iterator[None]:
    """Within this block operations record the graph, also inside ``no_grad()``, as PyTorch's
    ``enable_grad``: for a function whose value is itself a derivative (``grad`` of a graph it
    builds), evaluated where graphs are off, such as ``gradcheck``'s central differences.
    Of nested ``no_grad()`` and ``enable_grad()`` blocks, the innermost decides."""
    with _mode_block(no_grad=True, enable_grad=True):
        yield


def is_grad_enabled() -> bool:
    """Whether operations in this thread or task record the graph (False inside ``no_grad``)."""
    return _mode.get().grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly()`` is active in this thread or task."""
    return bool(_open_blocks) and _mode.get().on_create is not None


# ------------------------------------------------------------------- checking input
def _check_label(label: object) -> str | None:
    if label is None:
        return None
    if isinstance(label, str):
        # A plain copy: a str subclass's own methods (an overridden replace()) never run on a label.
        return str.__str__(label)
    raise TypeError(f"label must be a str or None, got {type(label).__name__} {label!r:.60}")


def _check_edges(parents: object, local_grads: object) -> tuple[tuple[Value, ...], tuple[float, ...]]:
    """``parents`` and ``local_grads`` of a node made with ``Value(...)``: one derivative per parent."""
    for what, given in (("parents", parents), ("local_grads", local_grads)):
        if isinstance(given, (str, bytes, Value)) or not isinstance(given, Sequence):
            raise TypeError(
                f"Value {what} must be a tuple (one entry per parent), got {type(given).__name__} "
                f"{given!r:.60}; for one parent write (p,)"
            )
    checked_parents: list[Value] = []
    for i, p in enumerate(cast(Sequence[object], parents)):
        if not isinstance(p, Value):
            raise TypeError(f"Value parents[{i}] must be a Value, got {type(p).__name__} {p!r:.60}")
        checked_parents.append(p)
    local = tuple(
        numerics.to_float(g, f"Value local_grads[{i}]")
        for i, g in enumerate(cast(Sequence[object], local_grads))
    )
    if len(local) != len(checked_parents):
        raise ValueError(
            f"Value has {len(checked_parents)} parents but {len(local)} local_grads; "
            "give d(node)/d(parent) for each parent, in the same order"
        )
    return tuple(checked_parents), local


# ------------------------------------------------------- methods made from the table
# The generated methods run in this module's namespace, as if written here: they read
# _open_blocks (rebound by every block) and the classes below. The primitives' functions
# (_exp, _tanh_derivative, ...) join it.
_GENERATED_NAMESPACE: dict[str, Any] = globals()
if set(SOURCE_NAMESPACE) & set(_GENERATED_NAMESPACE):
    raise RuntimeError(
        f"a primitive's function shadows a name of the engine: {set(SOURCE_NAMESPACE) & set(globals())}"
    )
_GENERATED_NAMESPACE.update(SOURCE_NAMESPACE)
#: How the generated methods' file names start (``detect_anomaly`` skips them as the package's own).
GENERATED_FILENAME = "<micrograd_lite.engine: "


def _method_source(p: Primitive, method: str) -> str:
    """The source of ``Value.<method>`` for primitive ``p``: what one would write by hand.

    The inputs are ``self`` and ``other``; an input used once is read in place
    (``self.data + other.data``), otherwise bound to its name first. The new node's fields
    are written one by one (no helper call, no tuple: this is the hot path of every
    operation): its value and op, then each input beside d(value)/d(input), then a
    gradient of 0. Inside a ``no_grad()`` or ``detect_anomaly()`` block, :func:`_apply_mode`
    makes it a leaf or reports it.
    """
    reads = ("self.data", "other.data")
    lines = [f"def {method}(self{', other' if p.arity == 2 else ''}):"]
    if p.arity == 2 and p.number_input is None:
        lines += ["    if not isinstance(other, Value):", "        other = Value.constant(other)"]
    templates = (p.value_template, *p.derivative_templates)

    def node(
        inputs: tuple[str, ...], local: list[str], cls: str, records: tuple[tuple[str, str], ...]
    ) -> list[str]:
        body: list[str] = []
        names: dict[str, str] = {}
        for name, read in zip(p.inputs, inputs):
            if read == name:  # bound already
                names[name] = name
            elif sum(t.count("{" + name + "}") for t in templates) == 1 and not records:
                names[name] = read
            else:
                body.append(f"    {name} = {read}")
                names[name] = name
        value = p.value_template.format(**names)
        if any("{out}" in t for t in p.derivative_templates):
            body.append(f"    out = {value}")
            value = "out"
        body += [f"    node = _new({cls})", f"    node.data = {value}", f"    node.op = {p.name!r}"]
        for slot, parent, template in zip("ab", ("self", "other"), local):
            derivative = template.format(**names, out="out")
            body += [f"    node.parent_{slot} = {parent}", f"    node.local_{slot} = {derivative}"]
        if len(local) == 1:
            body += ["    node.parent_b = None", "    node.local_b = 0.0"]
        body += ["    node.grad = 0.0", "    node.label = None"]
        body += [f"    node.{attribute} = {names[input_name]}" for attribute, input_name in records]
        return [*body, "    if _open_blocks:", "        _apply_mode(node)", "    return node"]

    if p.number_input is None:
        lines += node(reads[: p.arity], list(p.derivative_templates), p.node_class, p.records)
        return "\n".join(lines) + "\n"
    # A Value for the number input: an input node like any other. A plain number: part of the operation.
    assert p.inputs[-1] == p.number_input and p.node_class == "Value", "the number input comes last"
    cls, attribute = p.number_node
    lines.append("    if isinstance(other, Value):")
    lines += ["    " + line for line in node(reads, list(p.derivative_templates), "Value", ())]
    number = p.number_input
    lines.append(f"    {number} = _to_float(other, {attribute!r})")
    lines += node((reads[0], number), list(p.derivative_templates[:-1]), cls, ((attribute, number),))
    return "\n".join(lines) + "\n"


def _generate(op: str, method: str, source: str, doc: str | None) -> Any:
    """Compile ``source`` (made from the table, never from user data) into the function ``method``."""
    filename = f"{GENERATED_FILENAME}Value.{method}>"
    assert method not in _GENERATED_NAMESPACE, f"{method} would replace a name of the engine"
    exec(compile(source, filename, "exec"), _GENERATED_NAMESPACE)
    function = _GENERATED_NAMESPACE.pop(method)
    function.__qualname__ = f"Value.{method}"
    function.__module__ = __name__
    function.__doc__ = doc
    function.primitive = PRIMITIVES[op]  # which entry it was made from
    # inspect.getsource() and tracebacks read the generated lines from here.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return function


def _unary(op: str) -> Callable[[Value], Value]:
    """``Value.<method>()`` for the one-input primitive ``op``."""
    p = PRIMITIVES[op]
    function: Callable[[Value], Value] = _generate(op, p.method, _method_source(p, p.method), p.doc)
    function.__annotations__ = {"return": "Value"}
    return function


def _binary(op: str) -> Callable[[Value, Operand], Value]:
    """``Value.<method>(other)`` for the two-input primitive ``op``; a number ``other`` becomes a
    constant leaf (or, for a number input such as ``**``'s exponent, part of the operation)."""
    p = PRIMITIVES[op]
    function: Callable[[Value, Operand], Value] = _generate(op, p.method, _method_source(p, p.method), p.doc)
    function.__annotations__ = {"other": "Operand", "return": "Value"}
    return function


def _reflected(op: str) -> Callable[[Value, Number], Value]:
    """``number <op> value``: the number as a constant leaf on the left."""
    p = PRIMITIVES[op]
    assert p.reflected is not None
    source = f"def {p.reflected}(self, other):\n    return Value.constant(other) {p.symbol} self\n"
    function: Callable[[Value, Number], Value] = _generate(op, p.reflected, source, None)
    function.__annotations__ = {"other": "Number", "return": "Value"}
    return function


class Value:
    """A scalar node of a computation graph.

    ``Value(data, label=...)`` makes a leaf (an input or a parameter). Operations
    on Values, with plain numbers on either side, make new nodes; plain numbers
    become constant leaves (``op == "const"``), except a number exponent (``x ** 2``),
    which is part of its operation, as in PyTorch.

    ``Value(data, label, parents, local_grads, op)`` makes a node of your own
    operation: one local derivative (a real number) per parent Value, checked.

    ``parents`` and ``local_grads`` read as tuples. A node of one or two inputs (nearly
    every node) stores them in its own fields: ``parent_a`` with ``local_a`` =
    d(node)/d(parent_a), and ``parent_b`` with ``local_b`` (``parent_b`` is None for
    one input). A leaf, and a node of more inputs (``sum_values``, ``linear``, ``softmax``,
    the losses), has ``parent_a`` None and keeps ``_edges``: None for a leaf, else the
    pair of tuples ``(parents, local_grads)`` (``_edges`` is read only where ``parent_a``
    is None: a node of one or two inputs need not set it). So a binary node is one
    object, with no tuple of its own for the cycle collector to track and scan.
    """

    # __weakref__ lets detect_anomaly() remember where nodes were made without keeping them alive.
    __slots__ = (
        "__weakref__",
        "_edges",
        "data",
        "grad",
        "label",
        "local_a",
        "local_b",
        "op",
        "parent_a",
        "parent_b",
    )

    data: float
    grad: float
    parent_a: Value | None
    local_a: float
    parent_b: Value | None  # read only where parent_a is a Value
    local_b: float
    _edges: tuple[tuple[Value, ...], tuple[float, ...]] | None  # only where parent_a is None
    op: str
    label: str | None

    def __init__(
        self,
        data: float,
        label: str | None = None,
        parents: tuple[Value, ...] = (),
        local_grads: Sequence[float] = (),
        op: str = "",
    ) -> None:
        if type(data) is not float:
            data = numerics.to_float(data, "Value data")
        if label is not None and type(label) is not str:
            label = _check_label(label)
        if type(op) is not str:
            raise TypeError(f"Value op must be a str (the operation's name), got {type(op).__name__}")
        if parents or local_grads:
            parents, local_grads = _check_edges(parents, local_grads)
        else:  # a leaf (an empty list counts as no parents)
            parents, local_grads = (), ()
        _fill(self, data, parents, local_grads, op, label)

    # ------------------------------------------------------------------ edges
    @property
    def parents(self) -> tuple[Value, ...]:
        """The nodes this one was computed from, in order (``()`` for a leaf).

        Every walk of the graph lists a node's parents in this order (``backward()``,
        the stepper, the drawings): parent_a, then parent_b, or the stored tuple."""
        a = self.parent_a
        if a is None:
            edges = self._edges
            return () if edges is None else edges[0]
        b = self.parent_b
        return (a,) if b is None else (a, b)

    @parents.setter
    def parents(self, parents: Sequence[Value]) -> None:
        _store_edges(self, tuple(parents), self.local_grads)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(node)/d(parent) for each parent, in the order of ``parents``."""
        if self.parent_a is None:
            edges = self._edges
            return () if edges is None else edges[1]
        return (self.local_a,) if self.parent_b is None else (self.local_a, self.local_b)

    @local_grads.setter
    def local_grads(self, local_grads: Sequence[float]) -> None:
        _store_edges(self, self.parents, tuple(local_grads))

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def constant(x: object) -> Value:
        """A plain number as a constant leaf of the graph.

        Constants are shared: ``v * 2`` and ``w * 2`` point at one leaf holding 2.0,
        which keeps loops such as ``v = v * 1.0001 + 0.0001`` from allocating a new
        leaf per step. Like interior nodes, a constant's ``grad`` is reset by each
        backward pass: it holds d(root)/d(constant) summed over its uses in that graph.
        """
        if type(x) is float or type(x) is int:
            c = _constants.get(x)
            if c is not None:
                return c
            c = _node(Value, _operand(x), (), (), "const")
            # Zero is left out (0.0 == -0.0 as a key); nan never matches a key anyway.
            if x and x == x and len(_constants) < _MAX_SHARED_CONSTANTS:
                _constants[x] = c
            return c
        return _node(Value, _operand(x), (), (), "const")

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label is not None else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"

    def __float__(self) -> float:
        return self.data

    # ------------------------------------------------------------ operations
    # Each operation's forward value and local derivatives are one entry of
    # micrograd_lite.primitives.PRIMITIVES; its method is generated from that entry
    # (``inspect.getsource(Value.__mul__)`` shows the code). A line here gives it its type.
    __add__ = _binary("+")
    __radd__ = _reflected("+")
    __sub__ = _binary("-")
    __rsub__ = _reflected("-")
    __mul__ = _binary("*")
    __rmul__ = _reflected("*")
    __truediv__ = _binary("/")
    __rtruediv__ = _reflected("/")
    __pow__ = _binary("**")
    __rpow__ = _reflected("**")
    __neg__ = _unary("neg")
    exp = _unary("exp")
    log = _unary("log")
    log1p = _unary("log1p")
    expm1 = _unary("expm1")
    sqrt = _unary("sqrt")
    __abs__ = _unary("abs")
    abs = __abs__  # x.abs() as in PyTorch; abs(x) calls __abs__
    sigmoid = _unary("sigmoid")
    tanh = _unary("tanh")
    relu = _unary("relu")
    identity = _unary("identity")

    # ------------------------------------------------------------ comparisons
    # Ordering compares data, so sorted(values), max(values) and `if loss < best` work.
    # == and hash stay identity (object's): a Value is a node, usable in sets and as a dict
    # key, and Value(1.0) == Value(1.0) is False. So v <= w and v >= w may hold while v != w.
    def __lt__(self, other: Operand) -> bool:
        """``self.data < other`` (a Value's ``data`` or a real number)."""
        o = _compared(other)
        return NotImplemented if o is None else self.data < o

    def __le__(self, other: Operand) -> bool:
        """``self.data <= other`` (a Value's ``data`` or a real number)."""
        o = _compared(other)
        return NotImplemented if o is None else self.data <= o

    def __gt__(self, other: Operand) -> bool:
        """``self.data > other`` (a Value's ``data`` or a real number)."""
        o = _compared(other)
        return NotImplemented if o is None else self.data > o

    def __ge__(self, other: Operand) -> bool:
        """``self.data >= other`` (a Value's ``data`` or a real number)."""
        o = _compared(other)
        return NotImplemented if o is None else self.data >= o

    # --------------------------------------------------------------- backward
    def backward(self, seed: float = 1.0) -> None:
        """Fill in ``grad`` = d(self)/d(node) for every node of the graph.

        Leaves you made (inputs, parameters) accumulate across calls, as in
        PyTorch; call ``zero_grad`` between steps. Interior nodes and constants
        hold the latest pass's gradient. ``seed`` is d(E)/d(self) (1 for the loss itself).
        """
        backpropagate_all(self, numerics.to_float(seed, "backward(seed)"))

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this graph."""
        for node in topological_order(self):
            node.grad = 0.0

    # ------------------------------------------------------------ copying
    def __copy__(self) -> Value:
        """A new node with the same data, grad, label and the same parents (shared)."""
        new = _new(type(self))
        for name in _slot_names(type(self)):
            if hasattr(self, name):
                setattr(new, name, getattr(self, name))
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """A copy of this node and of every node it was computed from, at any depth.

        Iterative (a graph a million nodes deep copies at Python's default recursion
        limit); nodes shared in the graph stay shared in the copy, and ``memo`` is
        honoured as :func:`copy.deepcopy` does, so copying a model copies each parameter once.
        """
        if id(self) in memo:
            done: Value = memo[id(self)]
            return done
        keep_alive: list[object] = memo.setdefault(id(memo), [])
        for node in topological_order(self):
            if id(node) in memo:
                continue
            new = _new(type(node))
            for name in _slot_names(type(node)):
                if hasattr(node, name):
                    setattr(new, name, getattr(node, name))  # floats, str, tuples of floats: immutable
            a = node.parent_a
            if a is not None:
                b = node.parent_b
                new.parent_a = memo[id(a)]
                new.parent_b = None if b is None else memo[id(b)]
            elif node._edges is not None:
                parents, local_grads = node._edges
                # One tuple may be shared (a softmax's outputs share their logits): keep it shared.
                if id(parents) not in memo:
                    memo[id(parents)] = tuple(memo[id(p)] for p in parents)
                    keep_alive.append(parents)
                new._edges = (memo[id(parents)], local_grads)
            memo[id(node)] = new
            keep_alive.append(node)
        copied: Value = memo[id(self)]
        return copied

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle a leaf (an input, a parameter); refuse a node computed from others.

        Pickling follows references recursively, so a graph would fail a few hundred
        nodes deep. Models pickle (their parameters are leaves); for files, use
        ``save_parameters`` (JSON, never pickle).
        """
        if self.parents:
            raise TypeError(
                f"cannot pickle a Value computed from other Values ({self.op!r} node"
                f"{'' if self.label is None else ' ' + repr(self.label)}): only leaves pickle. "
                "Pickle the numbers (node.data), copy a graph with copy.deepcopy, or store a model's "
                "parameters with micrograd_lite.save_parameters(model, path)"
            )
        return super().__reduce_ex__(protocol)


_V = TypeVar("_V", bound=Value)


def _fill(
    node: Value,
    data: float,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    op: str,
    label: str | None,
) -> None:
    """Set a new node's fields, honouring this context's ``no_grad()`` and ``detect_anomaly()``."""
    node.data = data
    node.grad = 0.0
    node.label = label
    node.op = op
    _store_edges(node, parents, local_grads)
    if _open_blocks:
        _apply_mode(node)


def _apply_mode(node: Value) -> None:
    """A node was just made while some ``no_grad()`` or ``detect_anomaly()`` block is open,
    in some thread: honour this context's mode. Under ``no_grad()`` the node becomes a leaf;
    under ``detect_anomaly()`` its hook sees the node."""
    mode = _mode.get()
    if not mode.grad_enabled:
        _store_edges(node, (), ())
    if mode.on_create is not None:
        mode.on_create(node)


def _store_edges(node: Value, parents: tuple[Value, ...], local_grads: tuple[float, ...]) -> None:
    """Store a node's parents and local derivatives: one or two (as many as there are
    derivatives) in the node's own fields, none or more as the tuples ``_edges``."""
    n = len(parents)
    if n == len(local_grads) and 1 <= n <= 2:
        node.parent_a, node.local_a = parents[0], local_grads[0]
        node.parent_b, node.local_b = (parents[1], local_grads[1]) if n == 2 else (None, 0.0)
        node._edges = None
    else:
        node.parent_a, node.parent_b, node.local_a, node.local_b = None, None, 0.0, 0.0
        node._edges = (parents, local_grads) if parents or local_grads else None


def _operand(x: object) -> float:
    """A plain number on either side of an operation, as a float."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return numerics.to_float(x, "operand")
    raise TypeError(
        f"operand must be a Value or a real number (an int or a float), got {type(x).__name__} "
        f"{x!r:.60}; convert it with float(...) or wrap it in Value(...)"
    )


def _compared(x: object) -> float | int | None:
    """What a comparison compares ``x`` with: a Value's ``data``, a number (an ``int`` as it is:
    Python compares it with a float exactly, also beyond the float range), or ``None``, for which
    the comparison returns ``NotImplemented`` and Python raises ``TypeError``."""
    if isinstance(x, Value):
        return x.data
    if type(x) is float or type(x) is int:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return numerics.to_float(x, "comparison operand")  # numpy scalars, Fraction
    return None


_new = object.__new__
_to_float = numerics.to_float


def _node(
    cls: type[_V],
    data: float,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    op: str,
    label: str | None = None,
) -> _V:
    """A node made by this package with arguments that are right by construction: the unchecked
    twin of ``Value(...)``, for constants and the operations of many inputs (``sum_values``,
    ``linear``, ``softmax``). The operations of one or two inputs write their fields themselves."""
    node: _V = _new(cls)
    _fill(node, data, parents, local_grads, op, label)
    return node


_slot_names_of: dict[type, tuple[str, ...]] = {}


def _slot_names(cls: type) -> tuple[str, ...]:
    """Every field of a Value class (its own and inherited ``__slots__``)."""
    names = _slot_names_of.get(cls)
    if names is None:
        names = tuple(
            name
            for klass in reversed(cls.__mro__)
            for name in getattr(klass, "__slots__", ())
            if name != "__weakref__"
        )
        _slot_names_of[cls] = names
    return names


class PowerOutput(Value):
    """``a ** n`` for a number ``n``: a node of one parent (``a``) that records ``exponent`` (a float).

    Drawings show its operation as ``**n``; the compiler writes ``n`` from ``exponent``.
    """

    __slots__ = ("exponent",)

    exponent: float

    def __init__(
        self,
        data: float,
        label: str | None,
        parents: tuple[Value, ...],
        local_grads: Sequence[float],
        exponent: float,
    ) -> None:
        super().__init__(data, label, parents, local_grads, "**")
        self.exponent = numerics.to_float(exponent, "exponent")


class SigmoidOutput(Value):
    """``sigma(a)``: a Value that also records ``logit``, the value of ``a``.

    The cross-entropy pairs with it through ``logit``, so it gives the same number
    with and without ``no_grad()`` (where the node has no parents).
    """

    __slots__ = ("logit",)

    logit: float

    def __init__(
        self,
        data: float,
        label: str | None,
        parents: tuple[Value, ...],
        local_grads: Sequence[float],
        logit: float,
    ) -> None:
        super().__init__(data, label, parents, local_grads, "sigmoid")
        self.logit = numerics.to_float(logit, "logit")


_MAX_SHARED_CONSTANTS = 4096
_constants: dict[float, Value] = {}

for _primitive in PRIMITIVES.values():
    for _name in (_primitive.method, _primitive.reflected):
        if _name is not None and getattr(Value.__dict__.get(_name), "primitive", None) is not _primitive:
            raise RuntimeError(
                f"primitive {_primitive.name!r} has no method {_name} in Value: declare it in the class body "
                f"({_name} = _unary({_primitive.name!r}), _binary or _reflected)"
            )


def as_value(x: Operand) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding it."""
    return x if isinstance(x, Value) else Value.constant(x)


def sum_values(terms: Iterable[Operand], label: str | None = None) -> Value:
    r"""$f(v_1, \dots, v_n) = \sum_k v_k$ as one node; $df/dv_k = 1$.

    A sum of 100,000 terms is one node with 100,000 edges, not a chain of
    100,000 binary additions.
    """
    if isinstance(terms, (str, bytes)) or not isinstance(terms, Iterable):
        raise TypeError(
            f"sum_values: terms must be an iterable of Values or numbers, got {type(terms).__name__}"
        )
    label = _check_label(label)
    parents = tuple(as_value(t) for t in terms)
    if not parents:  # the empty sum is the constant 0, as Python's sum([]) is 0
        return _node(Value, 0.0, (), (), "const", label)
    total = sum(p.data for p in parents)
    return _node(Value, float(total), parents, (1.0,) * len(parents), "sum", label)


def linear(
    weights: Sequence[Value],
    inputs: Sequence[Value],
    bias: Value,
    label: str | None = None,
) -> Value:
    r"""A unit's pre-activation $a = \sum_j W_j z_j + b$ as one node.

    Parents are ``(W_1..W_n, z_1..z_n, b)`` and the edges carry the lecture's
    local derivatives: $da/dW_j = z_j$, $da/dz_j = W_j$, $da/db = 1$.
    """
    for what, group in (("weights", weights), ("inputs", inputs), ("bias", (bias,))):
        for v in group:
            if not isinstance(v, Value):
                raise TypeError(f"linear: {what} must be Values, got {type(v).__name__} {v!r:.60}")
    if len(weights) != len(inputs):
        raise ValueError(
            f"linear: {len(weights)} weights but {len(inputs)} inputs; each input needs exactly one weight"
        )
    if label is not None and type(label) is not str:
        label = _check_label(label)
    w = [v.data for v in weights]
    z = [v.data for v in inputs]
    return _node(
        Value, linear_value(w, z, bias.data), (*weights, *inputs, bias), (*z, *w, 1.0), "linear", label
    )


class SoftmaxOutput(Value):
    """Output ``y_k`` of a softmax: a Value that also records its position ``index`` (k, 0-based)
    and ``logits``, the values of ``a_1..a_K`` (one tuple, shared by the K outputs).

    The pairing with cross-entropy and the compiler read these, so they never
    have to guess which output a node is (outputs that underflow to 0 look alike),
    and the pairing holds inside ``no_grad()`` too, where the outputs have no parents.
    """

    __slots__ = ("index", "logits")

    index: int
    logits: tuple[float, ...]

    def __init__(
        self,
        data: float,
        label: str | None,
        parents: tuple[Value, ...],
        local_grads: Sequence[float],
        index: int,
        logits: Sequence[float] | None = None,
    ) -> None:
        super().__init__(data, label, parents, local_grads, "softmax")
        self.index = numerics.to_index(index, "index")
        self.logits = (
            tuple(p.data for p in parents)
            if logits is None
            else tuple(numerics.to_float(a, f"logits[{j}]") for j, a in enumerate(logits))
        )


def softmax(logits: Sequence[Value], labels: Sequence[str | None] | None = None) -> list[Value]:
    r"""$y_k = e^{a_k} / \sum_j e^{a_j}$ over K units ("output units depend on each other").

    Each ``y_k`` is one node whose parents are all of ``a_1..a_K``, with
    $dy_k/da_j = y_k (\delta_{kj} - y_j)$; the diagonal's $1 - y_k$ is taken as
    $\sum_{j \ne k} y_j$, exact where $y_k$ rounds to 1. Computed with the largest
    logit subtracted first, so no exponential overflows.
    """
    if isinstance(logits, Value) or not isinstance(logits, Iterable):
        raise TypeError(f"softmax: logits must be a list of Values [a_1 .. a_K], got {type(logits).__name__}")
    a = tuple(logits)
    if len(a) == 0:
        raise ValueError("softmax needs at least one logit")
    for v in a:
        if not isinstance(v, Value):
            raise TypeError(f"softmax takes Values, got {type(v).__name__}; wrap numbers in Value(...)")
    if labels is None:
        labels = [f"y_{k}" for k in range(1, len(a) + 1)]
    elif len(labels) != len(a):
        raise ValueError(f"softmax: {len(a)} logits but {len(labels)} labels; give one label per output")
    labels = [_check_label(label) for label in labels]
    values = tuple(v.data for v in a)
    y, rows = softmax_terms(values)
    outputs: list[Value] = []
    for k, (yk, local, label) in enumerate(zip(y, rows, labels)):
        node = _node(SoftmaxOutput, yk, a, local, "softmax", label)
        node.index = k
        node.logits = values
        outputs.append(node)
    return outputs
