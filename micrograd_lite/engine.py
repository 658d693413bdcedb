"""``Value``: a scalar that remembers how it was made.

Each node of the computation graph stores four things:

* ``data``: its value, a float;
* ``parents``: the nodes it was computed from, an ordered tuple;
* ``local_grads``: the local derivative d(node)/d(parent) for each parent, in the
  same order. This is what a per-node ``_backward`` closure would compute; it is
  evaluated once, in the forward pass, where the inputs are at hand, and stored
  as plain numbers. Storing numbers keeps a node small (no function object, no
  cells) and makes reference cycles impossible: nothing a node holds can point
  back at the node, so a graph is freed by reference counting alone;
* ``grad``: dE/d(node), filled in by :meth:`Value.backward`. For a unit's
  pre-activation ``a[l]_i`` this is the lecture's ``delta[l]_i``.

Every operation below is written the same way: the forward value, then how the
result depends on each input, side by side. The backward pass itself lives in
:mod:`micrograd_lite.autodiff`; it is one rule applied edge by edge:
``parent.grad += node.grad * d(node)/d(parent)``.

Floating-point edge cases (overflow, ``log(0)``, division by zero) follow the
policy in :mod:`micrograd_lite.numerics`: IEEE results, never an exception.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Union

from micrograd_lite import numerics

Number = int | float
Operand = Union["Value", int, float]

_grad_enabled = True

# Set by ``anomaly.detect_anomaly()``: called with every new node while it is on.
# Kept to one global test per node (``is not None``) so the hot path pays nothing else.
_on_create: Callable[[Value], None] | None = None
# Likewise called by the backward pass with each node right after it pushed its delta.
_on_pushed: Callable[[Value], None] | None = None


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block operations record no graph: results are leaves.

    Use it for evaluation and for parameter updates, as in PyTorch. The setting is
    process-wide (not per thread).
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (False inside ``no_grad``)."""
    return _grad_enabled


def _to_float(x: object, what: str) -> float:
    """Convert a real number to float; anything else is a clear TypeError."""
    if isinstance(x, numbers.Real):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(f"{what}: {type(x).__name__} {x!r:.40} is too large for a float") from None
    raise TypeError(
        f"{what} must be a Value or a real number (int or float), got "
        f"{type(x).__name__} {x!r:.60}; convert it with float(...) or wrap it in Value(...)"
    )


def _check_label(label: object) -> str | None:
    if label is None or isinstance(label, str):
        return label
    raise TypeError(f"label must be a str or None, got {type(label).__name__} {label!r:.60}")


class Value:
    """A scalar node of a computation graph.

    ``Value(data, label=...)`` makes a leaf (an input or a parameter). Operations
    on Values, with plain numbers on either side, make new nodes; plain numbers
    become constant leaves (``op == "const"``).
    """

    # __weakref__ lets detect_anomaly() remember where nodes were made without keeping them alive.
    __slots__ = ("__weakref__", "data", "grad", "label", "local_grads", "op", "parents")

    data: float
    grad: float
    parents: tuple[Value, ...]
    local_grads: tuple[float, ...]
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
            data = _to_float(data, "Value data")
        if label is not None and type(label) is not str:
            label = _check_label(label)
        self.data = data
        self.grad = 0.0
        if parents and not _grad_enabled:  # no_grad: a result is a leaf
            parents, local_grads = (), ()
        self.parents = parents
        self.local_grads = local_grads  # type: ignore[assignment]  # tuple or list, read only
        self.op = op
        self.label = label
        if _on_create is not None:
            _on_create(self)

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
            c = Value(float(x), None, (), (), "const")
            # Zero is left out (0.0 == -0.0 as a key); nan never matches a key anyway.
            if x and x == x and len(_constants) < _MAX_SHARED_CONSTANTS:
                _constants[x] = c
            return c
        return Value(_to_float(x, "operand"), None, (), (), "const")

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label is not None else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"

    def __float__(self) -> float:
        return self.data

    # ------------------------------------------------------ binary operations
    def __add__(self, other: Operand) -> Value:
        """$f(a, b) = a + b$; $df/da = 1$, $df/db = 1$."""
        if not isinstance(other, Value):
            other = Value.constant(other)
        return Value(self.data + other.data, None, (self, other), _ONE_ONE, "+")

    def __radd__(self, other: Number) -> Value:
        return Value.constant(other) + self

    def __sub__(self, other: Operand) -> Value:
        """$f(a, b) = a - b$; $df/da = 1$, $df/db = -1$."""
        if not isinstance(other, Value):
            other = Value.constant(other)
        return Value(self.data - other.data, None, (self, other), _ONE_MINUS_ONE, "-")

    def __rsub__(self, other: Number) -> Value:
        return Value.constant(other) - self

    def __mul__(self, other: Operand) -> Value:
        """$f(a, b) = a b$; $df/da = b$, $df/db = a$."""
        if not isinstance(other, Value):
            other = Value.constant(other)
        a, b = self.data, other.data
        return Value(a * b, None, (self, other), (b, a), "*")

    def __rmul__(self, other: Number) -> Value:
        return Value.constant(other) * self

    def __truediv__(self, other: Operand) -> Value:
        """$f(a, b) = a / b$; $df/da = 1/b$, $df/db = -a/b^2$."""
        if not isinstance(other, Value):
            other = Value.constant(other)
        a, b = self.data, other.data
        local = (numerics.div(1.0, b), numerics.div(-a, b * b))
        return Value(numerics.div(a, b), None, (self, other), local, "/")

    def __rtruediv__(self, other: Number) -> Value:
        return Value.constant(other) / self

    def __pow__(self, other: Operand) -> Value:
        r"""$f(a, n) = a^n$; $df/da = n a^{n-1}$, $df/dn = a^n \ln a$.

        With a number exponent the exponent is a constant leaf (its edge derivative
        is still recorded, so the drawing can show it). As in PyTorch, $df/da = 0$
        for $n = 0$ and $df/dn = 0$ where $a = 0$ and $n \ge 0$ (not ``0 * -inf``).
        """
        if not isinstance(other, Value):
            other = Value.constant(other)
        a, n = self.data, other.data
        out = numerics.pow(a, n)
        d_a = 0.0 if n == 0.0 else n * numerics.pow(a, n - 1.0)
        d_n = 0.0 if (a == 0.0 and n >= 0.0) else out * numerics.log(a)
        return Value(out, None, (self, other), (d_a, d_n), "**")

    def __rpow__(self, other: Number) -> Value:
        return Value.constant(other) ** self

    # ------------------------------------------------------- unary operations
    def __neg__(self) -> Value:
        """$f(a) = -a$; $df/da = -1$."""
        return Value(-self.data, None, (self,), _MINUS_ONE, "neg")

    def exp(self) -> Value:
        """$f(a) = e^a$; $df/da = e^a$ (the output itself)."""
        out = numerics.exp(self.data)
        return Value(out, None, (self,), (out,), "exp")

    def log(self) -> Value:
        r"""$f(a) = \ln a$; $df/da = 1/a$."""
        a = self.data
        return Value(numerics.log(a), None, (self,), (numerics.div(1.0, a),), "log")

    def sigmoid(self) -> Value:
        r"""$\sigma(a) = 1/(1 + e^{-a})$; $\sigma'(a) = \sigma(a)(1 - \sigma(a)) \le 1/4$."""
        s = numerics.sigmoid(self.data)
        return Value(s, None, (self,), (s * (1.0 - s),), "sigmoid")

    def tanh(self) -> Value:
        r"""$\tanh a$; $\tanh'(a) = 1 - \tanh^2 a$."""
        t = math.tanh(self.data)  # stable: saturates to +-1, never overflows
        return Value(t, None, (self,), (1.0 - t * t,), "tanh")

    def relu(self) -> Value:
        r"""$\max(0, a)$; derivative 1 for $a > 0$, else 0 (0 at the kink, as PyTorch)."""
        a = self.data
        out = a if (a > 0.0 or a != a) else 0.0  # keeps nan
        return Value(out, None, (self,), (_ONE if a > 0.0 else _ZERO), "relu")

    def identity(self) -> Value:
        """$f(a) = a$; $df/da = 1$. A node of its own, so it can carry a label."""
        return Value(self.data, None, (self,), _ONE, "identity")

    # --------------------------------------------------------------- backward
    def backward(self, seed: float = 1.0) -> None:
        """Fill in ``grad`` = d(self)/d(node) for every node of the graph.

        Leaves you made (inputs, parameters) accumulate across calls, as in
        PyTorch; call ``zero_grad`` between steps. Interior nodes and constants
        hold the latest pass's gradient. ``seed`` is d(E)/d(self) (1 for the loss itself).
        """
        from micrograd_lite.autodiff import backpropagate

        seed = _to_float(seed, "backward(seed)")
        for _ in backpropagate(self, seed):
            pass

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this graph."""
        from micrograd_lite.autodiff import topological_order

        for node in topological_order(self):
            node.grad = 0.0


_MAX_SHARED_CONSTANTS = 4096
_constants: dict[float, Value] = {}

# Shared local-derivative tuples: most nodes of a graph reuse one of these
# instead of allocating their own.
_ONE = (1.0,)
_ZERO = (0.0,)
_MINUS_ONE = (-1.0,)
_ONE_ONE = (1.0, 1.0)
_ONE_MINUS_ONE = (1.0, -1.0)


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
    parents = tuple(as_value(t) for t in terms)
    if not parents:  # the empty sum is the constant 0, as Python's sum([]) is 0
        return Value(0.0, label, (), (), "const")
    total = sum(p.data for p in parents)
    return Value(float(total), label, parents, (1.0,) * len(parents), "sum")


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
    w = [v.data for v in weights]
    z = [v.data for v in inputs]
    total = sum(map(operator.mul, w, z)) + bias.data
    return Value(total, label, (*weights, *inputs, bias), (*z, *w, 1.0), "linear")


class SoftmaxOutput(Value):
    """Output ``y_k`` of a softmax: a Value that also records its position ``index`` (k, 0-based).

    The pairing with cross-entropy and the compiler read ``index``, so they never
    have to guess which output a node is (outputs that underflow to 0 look alike).
    """

    __slots__ = ("index",)

    def __init__(
        self,
        data: float,
        label: str | None,
        parents: tuple[Value, ...],
        local_grads: Sequence[float],
        index: int,
    ) -> None:
        super().__init__(data, label, parents, local_grads, "softmax")
        self.index = index


def softmax(logits: Sequence[Value], labels: Sequence[str | None] | None = None) -> list[Value]:
    r"""$y_k = e^{a_k} / \sum_j e^{a_j}$ over K units ("output units depend on each other").

    Each ``y_k`` is one node whose parents are all of ``a_1..a_K``, with
    $dy_k/da_j = y_k (\delta_{kj} - y_j)$. Computed with the largest logit
    subtracted first, so no exponential overflows.
    """
    if isinstance(logits, Value) or not isinstance(logits, Iterable):
        raise TypeError(f"softmax: logits must be a list of Values [a_1 .. a_K], got {type(logits).__name__}")
    a = tuple(logits)
    if len(a) == 0:
        raise ValueError("softmax needs at least one logit")
    for v in a:
        if not isinstance(v, Value):
            raise TypeError(f"softmax takes Values, got {type(v).__name__}; wrap numbers in Value(...)")
    y = numerics.softmax([v.data for v in a])
    if labels is None:
        labels = [f"y_{k}" for k in range(1, len(a) + 1)]
    elif len(labels) != len(a):
        raise ValueError(f"softmax: {len(a)} logits but {len(labels)} labels; give one label per output")
    return [
        SoftmaxOutput(yk, label, a, tuple(yk * ((1.0 if j == k else 0.0) - yj) for j, yj in enumerate(y)), k)
        for k, (yk, label) in enumerate(zip(y, labels))
    ]
