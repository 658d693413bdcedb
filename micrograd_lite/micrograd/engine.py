"""micrograd 0.1.0's ``Value``, built on micrograd_lite's engine.

Code written for karpathy's micrograd runs with one line changed::

    from micrograd.engine import Value                    # before
    from micrograd_lite.micrograd.engine import Value     # after

micrograd's names are all here: ``Value(data, _children=(), _op='')``, ``.data``,
``.grad``, ``._prev``, ``._op``, ``._backward``, ``relu()``, ``+ - * / **`` with the
reflected operators, and ``backward()``. Underneath, a node is a micrograd_lite
:class:`~micrograd_lite.engine.Value` (a subclass): each primitive operation is the
engine's own (its forward value and its stored local derivatives), and ``backward()``
is the engine's iterative walk, so ``draw``, ``step_page``, ``record_steps`` and
``gradcheck`` work on these graphs. There is no second engine.

micrograd has four primitives (``+``, ``*``, ``** number``, ``relu``) and builds the
rest from them; so does this module, the same way, so a graph has micrograd's nodes
and its forward values are micrograd's, bit for bit::

    -a = a * -1      a - b = a + (-b)      a / b = a * b**-1      n / a = a**-1 * n

Where it differs from micrograd, on purpose:

* ``_backward`` is a property: it returns a function that pushes ``grad`` into the
  parents through the stored local derivatives (``parent.grad += local * grad``), as
  micrograd's closure does. A node keeps numbers, not closures, so it cannot be
  assigned; a new operation gives its local derivatives instead:
  ``Value(t, (x,), 'tanh', local_grads=(1 - t**2,))``.
* ``_prev`` is the set of parents, as in micrograd, made from the ordered tuple
  ``parents``. The backward pass walks the tuple, so gradients are summed in the same
  order in every run; micrograd's order follows the set's, which follows memory
  addresses, and the last bits of its gradients change from run to run.
* ``d(a**n)/da`` is the engine's ``n a^n / a`` (no rounding of ``n - 1``, no overflow
  on the way), not ``n * a**(n-1)``: the last bits can differ.
* ``data`` is always a float (``Value(2).data == 2.0``) and ``grad`` starts at 0.0.
* ``backward()`` twice on one graph: leaves accumulate (as in micrograd and PyTorch);
  interior nodes start again from 0, where micrograd adds their old gradient in again.
* ``2 ** a`` and ``a ** b`` with a Value ``b`` work (micrograd raises), and so do the
  engine's ``exp``, ``log``, ``tanh``, ``sigmoid``, ``identity``, ``log1p``, ``expm1``,
  ``sqrt``, ``abs`` and the comparisons ``< <= > >=`` (of ``data``; ``==`` is identity, as in
  micrograd); a bad operand is a ``TypeError`` naming it (micrograd's is an
  ``AssertionError`` or an ``AttributeError``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Union, cast

from micrograd_lite import engine
from micrograd_lite.engine import PowerOutput, SigmoidOutput

Number = int | float
Operand = Union["Value", engine.Value, int, float]


class Value(engine.Value):
    """A scalar node with micrograd's constructor and attributes (see the module docstring).

    ``Value(data)`` is a leaf. ``Value(data, _children, _op)`` is a node made by hand,
    as micrograd allows; its local derivatives d(node)/d(child) are ``local_grads``
    (one number per child, in order), by default 0, as micrograd's default
    ``_backward`` passes nothing on.
    """

    __slots__ = ()

    def __init__(
        self,
        data: float,
        _children: Iterable[engine.Value] = (),
        _op: str = "",
        *,
        label: str | None = None,
        local_grads: Sequence[float] | None = None,
    ) -> None:
        if isinstance(_children, (str, bytes, engine.Value)) or not isinstance(_children, Iterable):
            raise TypeError(
                f"Value _children must be a tuple of Values (the node's parents), got "
                f"{type(_children).__name__} {_children!r:.60}; for one parent write (p,)"
            )
        children = tuple(_children)
        if local_grads is None:
            local_grads = (0.0,) * len(children)
        super().__init__(data, label, children, local_grads, _op)

    # ---------------------------------------------------------- micrograd's names
    @property
    def _prev(self) -> set[engine.Value]:
        """The parents, as a set (micrograd's ``_prev``)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's name of the operation: ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``, ``''`` for a leaf."""
        if isinstance(self, PowerOutput):
            return f"**{_exponent_text(self.exponent)}"
        return _MICROGRAD_OP_NAMES.get(self.op, self.op)

    @property
    def _backward(self) -> Callable[[], None]:
        """A function that adds ``local * grad`` into each parent's ``grad`` (one edge each).

        It is made on request from the stored numbers, and holds this node only
        while it exists: the graph has no reference cycles.
        """

        def push_grad_to_parents() -> None:
            for parent, local in zip(self.parents, self.local_grads):
                parent.grad += local * self.grad

        return push_grad_to_parents

    @_backward.setter
    def _backward(self, function: object) -> None:
        raise AttributeError(
            "micrograd_lite keeps each node's local derivatives as numbers, not a _backward closure: "
            "instead of assigning out._backward, give them when making the node, one per child, e.g. "
            "out = Value(t, (x,), 'tanh', local_grads=(1 - t**2,))"
        )

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # ------------------------------------------ micrograd's primitives: the engine's operations
    def __add__(self, other: Operand) -> Value:
        """$a + b$; $d/da = d/db = 1$ (the engine's ``+``)."""
        return _adopt(engine.Value.__add__(self, _operand(other)))

    def __mul__(self, other: Operand) -> Value:
        """$a b$; $d/da = b$, $d/db = a$ (the engine's ``*``)."""
        return _adopt(engine.Value.__mul__(self, _operand(other)))

    def __pow__(self, other: Operand) -> Value:
        r"""$a^n$; $d/da = n a^{n-1}$ (the engine's ``**``; ``n`` may also be a Value)."""
        if isinstance(other, bool) or not isinstance(other, (int, float, engine.Value)):
            raise TypeError(
                f"exponent must be an int or a float (as in micrograd) or a Value, got "
                f"{type(other).__name__} {other!r:.60}"
            )
        return _adopt(engine.Value.__pow__(self, other))

    def relu(self) -> Value:
        r"""$\max(0, a)$; derivative 1 for $a > 0$, else 0 (the engine's ``relu``)."""
        return _adopt(engine.Value.relu(self))

    # ---------------------------- built from the primitives, as micrograd builds them
    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __sub__(self, other: Operand) -> Value:
        return self + (-other)

    def __rsub__(self, other: Number) -> Value:
        return other + (-self)

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def __truediv__(self, other: Operand) -> Value:
        return self * other**-1

    def __rtruediv__(self, other: Number) -> Value:
        return other * self**-1

    def __rpow__(self, other: Number) -> Value:
        return _constant(other) ** self

    # ------------------------------ the engine's other operations, as micrograd-style nodes
    def exp(self) -> Value:
        return _adopt(engine.Value.exp(self))

    def log(self) -> Value:
        return _adopt(engine.Value.log(self))

    def tanh(self) -> Value:
        return _adopt(engine.Value.tanh(self))

    def sigmoid(self) -> Value:
        return _adopt(engine.Value.sigmoid(self))

    def identity(self) -> Value:
        return _adopt(engine.Value.identity(self))

    def log1p(self) -> Value:
        return _adopt(engine.Value.log1p(self))

    def expm1(self) -> Value:
        return _adopt(engine.Value.expm1(self))

    def sqrt(self) -> Value:
        return _adopt(engine.Value.sqrt(self))

    def __abs__(self) -> Value:
        return _adopt(engine.Value.__abs__(self))

    abs = __abs__


class _PowerValue(Value, PowerOutput):
    """``a ** n`` for a number ``n``: the engine's power node, micrograd-style."""

    __slots__ = ()


class _SigmoidValue(Value, SigmoidOutput):
    """``sigma(a)``: the engine's sigmoid node, micrograd-style."""

    __slots__ = ()


# The engine makes nodes of these classes; each has a micrograd-style twin with the same fields.
_MICROGRAD_CLASS: dict[type[engine.Value], type[Value]] = {
    engine.Value: Value,
    PowerOutput: _PowerValue,
    SigmoidOutput: _SigmoidValue,
}

_MICROGRAD_OP_NAMES = {"relu": "ReLU", "const": ""}


def _adopt(node: engine.Value) -> Value:
    """The node an engine operation just made, now of the micrograd-style class.

    The twin class has exactly the fields of the engine's class, so the node itself
    changes class: nothing is copied, and ``no_grad()`` and ``detect_anomaly()`` saw
    it made as any other node.
    """
    node.__class__ = _MICROGRAD_CLASS[type(node)]
    return cast(Value, node)


def _operand(x: Operand) -> engine.Value:
    """micrograd's ``other if isinstance(other, Value) else Value(other)``."""
    return x if isinstance(x, engine.Value) else _constant(x)


def _constant(x: object) -> Value:
    """A number as a new constant leaf of its own, as micrograd makes one per use.

    (micrograd_lite's shared constants are of the engine's class, so they are not used here.)
    The engine's check of an operand gives the error for anything but a real number.
    """
    return Value(engine._operand(x), _op="const")


def _exponent_text(n: float) -> str:
    """``2`` for 2.0, as micrograd writes an int exponent in ``_op``; other floats as they are."""
    if n.is_integer() and abs(n) < 2.0**53:
        return str(int(n))
    return str(n)
