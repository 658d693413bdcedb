"""Expression programs: one random graph, many interpreters.

A :class:`Program` is a straight-line list of :class:`Step` s over numbered slots.
Slots ``0 .. n-1`` are the inputs ``x_1 .. x_n``; step ``k`` writes slot ``n + k``
from earlier slots (so shared subexpressions are slots used more than once)::

    Program(inputs=(0.5, -1.0), steps=(
        Step("*", (0, 1)),          # slot 2 = x_1 * x_2
        Step("+", (2,), 1.0),       # slot 3 = slot 2 + 1
        Step("log", (3,)),          # slot 4 = log(slot 3)
        Step("sum", (2, 4)),        # slot 5 = slot 2 + slot 4, the output
    ))

The same program runs on anything that has ``+ - * / **`` and an :class:`Ops`
table for the rest: :data:`VALUE_OPS` builds a micrograd_lite graph,
:data:`FLOAT_OPS` computes with plain ``math`` floats, :func:`mpmath_ops` with
arbitrary precision, and ``make_ops`` with the functions of any array library
(HIPS autograd's numpy, PyTorch). Comparing the interpretations is how the tests
check the engine against independent references.

:class:`GraphBuilder` appends steps *guarded* so that the program is
differentiable, and its derivatives well conditioned, at its inputs: ``log``,
``log1p``, ``sqrt`` and non-integer powers get a positive argument of at least 1/4
(``x*x + c`` when the drawn one is not; a Value exponent's base is also kept away
from 1, where ``ln a`` loses its digits), divisors stay away from 0, ``relu`` and
``abs`` are shifted away from their kink, and the
arguments of ``exp``, ``expm1``, ``sigmoid``, ``tanh`` and ``softmax`` are scaled (by an
exact power of two) into ``[-4, 4]``, where ``1 - tanh^2`` and ``s (1 - s)`` lose
no digits. Every slot is kept within ``[-16, 16]`` the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from micrograd_lite.engine import Value, linear, softmax, sum_values
from micrograd_lite.primitives import PRIMITIVES, Guard, Primitive


def _formula(p: Primitive, *names: str) -> str:
    """``p``'s formula with its inputs renamed (``a * b`` as ``x * y``)."""
    return re.sub(r"\b\w+\b", lambda m: dict(zip(p.inputs, names)).get(m.group(0), m.group(0)), p.formula)


#: The one- and two-input operations of :mod:`micrograd_lite.primitives`, in the table's order.
UNARY = tuple(p.name for p in PRIMITIVES.values() if p.arity == 1)
BINARY = tuple(p.name for p in PRIMITIVES.values() if p.arity == 2)
#: A two-input operation with the step's constant ``c`` second (``x + c``) or, ``r`` forms, first.
WITH_CONSTANT = (*BINARY, *("r" + op for op in BINARY))

#: The operations a :class:`Step` may name, with what they compute.
#: ``+ - * / **`` take two slots, or one slot and the step's constant (``x + c``);
#: the ``r`` forms put the constant first (``c - x``, ``c / x``, ``c ** x``).
OPS: dict[str, str] = {
    **{op: f"{_formula(PRIMITIVES[op], 'x', 'y')}, or {_formula(PRIMITIVES[op], 'x', 'c')}" for op in BINARY},
    **{"r" + op: _formula(PRIMITIVES[op], "c", "x") for op in BINARY},
    **{op: _formula(PRIMITIVES[op], "x") for op in UNARY},
    "sum": "sum_values(x_1 .. x_n)",
    "linear": "linear(W_1..W_n, z_1..z_n, b): sum_j W_j z_j + b; 2n + 1 slots",
    "softmax": "softmax(a_1 .. a_K)[c]: the c-th output (c an int)",
}


class Step(NamedTuple):
    """One operation: ``op`` applied to the slots ``args`` (and the constant ``const``)."""

    op: str
    args: tuple[int, ...]
    const: float | None = None


#: An interpreter's functions for the operations that are not Python operators.
Ops = Mapping[str, Callable[..., Any]]


class _Elementary(NamedTuple):
    """The elementary functions of one library, for the primitives' reference formulas."""

    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]
    tanh: Callable[[Any], Any]


def _reference(p: Primitive, lib: _Elementary) -> Callable[..., Any]:
    return lambda *args: p.reference(lib, *args)


def make_ops(
    exp: Callable[[Any], Any],
    log: Callable[[Any], Any],
    tanh: Callable[[Any], Any],
    sigmoid: Callable[[Any], Any] | None = None,
    relu: Callable[[Any], Any] | None = None,
    identity: Callable[[Any], Any] | None = None,
) -> dict[str, Callable[..., Any]]:
    """An :data:`Ops` table from elementary functions: every primitive by its reference formula
    (:mod:`micrograd_lite.primitives`), which uses only ``exp``, ``log``, ``tanh`` and operators.

    ``sigmoid`` is then ``1 / (1 + exp(-x))``, ``relu`` ``x if x > 0 else 0 * x``; pass a library's
    own to use it instead. ``sum``, ``linear`` and ``softmax`` are expanded into ``+``, ``*``, ``/``
    and ``exp`` (softmax without subtracting the largest logit: the builder keeps logits in ``[-4, 4]``).
    """

    def total(terms: Sequence[Any]) -> Any:
        out = terms[0]
        for term in terms[1:]:
            out = out + term
        return out

    def affine(args: Sequence[Any]) -> Any:
        n = (len(args) - 1) // 2
        out: Any = 0.0
        for w, z in zip(args[:n], args[n : 2 * n]):
            out = out + w * z
        return out + args[-1]

    def soft(args: Sequence[Any], k: int) -> Any:
        e = [exp(a) for a in args]
        return e[k] / total(e)

    lib = _Elementary(exp, log, tanh)
    ops: dict[str, Callable[..., Any]] = {op: _reference(p, lib) for op, p in PRIMITIVES.items()}
    given = {"sigmoid": sigmoid, "relu": relu, "identity": identity}
    ops.update({op: fn for op, fn in given.items() if fn is not None})
    ops.update({"sum": total, "linear": affine, "softmax": soft})
    return ops


def _value_linear(args: Sequence[Value]) -> Value:
    n = (len(args) - 1) // 2
    return linear(args[:n], args[n : 2 * n], args[-1])


def _engine_op(p: Primitive) -> Callable[..., Any]:
    """The engine's own operation: the Value method, or for two inputs the Python operator
    (so that a number on either side works, as in ``2.0 - x``)."""
    if p.arity == 1:
        return cast(Callable[..., Any], getattr(Value, p.method))
    return _reference(p, _Elementary(Value.exp, Value.log, Value.tanh))


#: micrograd_lite: each step is the engine's own operation (``sum_values``, ``linear``, ``softmax``).
VALUE_OPS: Ops = {
    **{op: _engine_op(p) for op, p in PRIMITIVES.items()},
    "sum": sum_values,
    "linear": _value_linear,
    "softmax": lambda args, k: softmax(args)[k],
}

#: Plain Python floats and :mod:`math`, sharing no code with the engine.
FLOAT_OPS: Ops = make_ops(math.exp, math.log, math.tanh)


def mpmath_ops() -> Ops:
    """Arbitrary precision (set it with ``mpmath.workdps``); needs :mod:`mpmath`."""
    import mpmath  # type: ignore[import-untyped]

    return make_ops(mpmath.exp, mpmath.log, mpmath.tanh)


def apply_step(step: Step, slots: Sequence[Any], ops: Ops) -> Any:
    """The value of one step, its arguments read from ``slots``."""
    op, c = step.op, step.const
    args = [slots[i] for i in step.args]
    if op in ("sum", "linear"):
        return ops[op](args)
    if op == "softmax":
        return ops[op](args, int(c or 0))
    if op[0] == "r" and op[1:] in BINARY:  # the constant comes first: c + x, c - x, c * x, c / x, c ** x
        return ops[op[1:]](c, args[0])
    if op in BINARY and len(args) == 1:  # x + c
        return ops[op](args[0], c)
    if op in PRIMITIVES:
        return ops[op](*args)
    raise ValueError(f"unknown operation {op!r} in {step}")


@dataclass(frozen=True)
class Program:
    """A random expression graph, drawn at ``inputs``; its output is the last slot."""

    inputs: tuple[float, ...]
    steps: tuple[Step, ...]

    @property
    def n_slots(self) -> int:
        return len(self.inputs) + len(self.steps)

    def run(
        self,
        ops: Ops,
        inputs: Sequence[Any] | None = None,
        overrides: Mapping[int, Any] | None = None,
    ) -> list[Any]:
        """Every slot's value, computed with ``ops`` (the output is the last one).

        ``inputs`` defaults to :attr:`inputs`; ``overrides`` replaces the value of
        a slot as soon as it is computed, which makes ``run`` a function of an
        interior slot (its derivative is that slot's delta).
        """
        slots = list(self.inputs if inputs is None else inputs)
        if len(slots) != len(self.inputs):
            raise ValueError(f"the program has {len(self.inputs)} inputs, got {len(slots)}")
        if overrides:
            for i, v in overrides.items():
                if i < len(slots):
                    slots[i] = v
        for step in self.steps:
            value = apply_step(step, slots, ops)
            if overrides and len(slots) in overrides:
                value = overrides[len(slots)]
            slots.append(value)
        return slots

    def function(self, ops: Ops) -> Callable[..., Any]:
        """``f(*inputs)``: the output as a function of the inputs, e.g. for :func:`gradcheck`."""

        def f(*inputs: Any) -> Any:
            return self.run(ops, inputs)[-1]

        return f

    def values(self) -> tuple[list[Value], list[Value]]:
        """``(leaves, slots)``: fresh input leaves ``x_1 .. x_n`` and every slot as a Value."""
        leaves = [Value(x, label=f"x_{j}") for j, x in enumerate(self.inputs, start=1)]
        return leaves, self.run(VALUE_OPS, leaves)

    def __str__(self) -> str:
        names = [f"x_{j}" for j in range(1, len(self.inputs) + 1)]
        lines = [f"inputs: {', '.join(f'{n} = {x!r}' for n, x in zip(names, self.inputs))}"]
        for k, step in enumerate(self.steps, start=len(self.inputs)):
            args = ", ".join(names[i] for i in step.args)
            const = "" if step.const is None else f", c={step.const!r}"
            lines.append(f"v_{k} = {step.op}({args}{const})")
            names.append(f"v_{k}")
        return "\n".join(lines)


#: Guard margins (see the module docstring).
LIMIT = 16.0  # every public slot stays in [-LIMIT, LIMIT]
SQUASH = 4.0  # arguments of exp, sigmoid, tanh and softmax lie in [-SQUASH, SQUASH]
POSITIVE = 0.25  # log arguments and non-integer power bases are at least this
NONZERO = 0.25  # divisors are at least this far from 0
KINK = 0.05  # relu arguments are at least this far from 0
NOT_ONE = 0.1  # the base of a Value exponent is at least this far from 1

Uniform = Callable[[float, float], float]


class GraphBuilder:
    """Grows a :class:`Program` one guarded operation at a time.

    ``uniform(lo, hi)`` supplies the constants (a hypothesis draw, or a seeded
    ``random.Random().uniform``). Every method returns the slot of its result;
    guard steps in between are slots of their own.
    """

    def __init__(self, inputs: Sequence[float], uniform: Uniform) -> None:
        if len(inputs) == 0:
            raise ValueError("a program needs at least one input")
        self.inputs = tuple(float(x) for x in inputs)
        for x in self.inputs:
            if not -LIMIT <= x <= LIMIT:
                raise ValueError(f"inputs must lie in [-{LIMIT}, {LIMIT}], got {x!r}")
        self.uniform = uniform
        self.steps: list[Step] = []
        self.values: list[float] = list(self.inputs)  # plain-float value of every slot

    def program(self) -> Program:
        return Program(self.inputs, tuple(self.steps))

    def emit(self, op: str, args: Sequence[int], const: float | None = None) -> int:
        """Append one unguarded step; its float value must be finite."""
        step = Step(op, tuple(args), const)
        value = float(apply_step(step, self.values, FLOAT_OPS))
        if not math.isfinite(value):
            raise AssertionError(f"guarded step {step} gave {value!r}")  # a bug in a guard
        self.steps.append(step)
        self.values.append(value)
        return len(self.values) - 1

    # ---------------------------------------------------------------- guards
    def scaled(self, i: int, limit: float) -> int:
        """``i``, or ``i * 2^-k`` (exact) when ``|slot i| > limit``."""
        v = abs(self.values[i])
        if v <= limit:
            return i
        k = math.ceil(math.log2(v / limit))
        while abs(self.values[i]) * 2.0**-k > limit:
            k += 1
        return self.emit("*", (i,), 2.0**-k)

    def positive(self, i: int) -> int:
        """``i`` if ``slot i >= POSITIVE``, else ``i * i + c`` with ``c`` in [POSITIVE, 2]."""
        if self.values[i] >= POSITIVE:
            return i
        square = self.emit("*", (i, i))
        return self.emit("+", (square,), self.uniform(POSITIVE, 2.0))

    def nonzero(self, i: int) -> int:
        """``i`` if ``|slot i| >= NONZERO``, else a positive guard of it."""
        return i if abs(self.values[i]) >= NONZERO else self.positive(i)

    def off_kink(self, i: int) -> int:
        """``i`` if ``|slot i| >= KINK``, else ``i + s`` with ``|s|`` in [2 KINK, 1]."""
        if abs(self.values[i]) >= KINK:
            return i
        s = self.uniform(2 * KINK, 1.0)
        return self.emit("+", (i,), s if self.uniform(-1.0, 1.0) >= 0.0 else -s)

    def away_from_one(self, i: int) -> int:
        """``i`` if ``|slot i - 1| >= NOT_ONE``, else ``i + c`` with ``c`` in [2 NOT_ONE, 1].

        For the base of a Value exponent: its edge ``d(a^n)/dn = a^n ln a`` loses all digits of
        ``ln a`` when ``a`` is within rounding of 1.
        """
        if abs(self.values[i] - 1.0) >= NOT_ONE:
            return i
        return self.emit("+", (i,), self.uniform(2 * NOT_ONE, 1.0))

    def public(self, i: int) -> int:
        """Keep every slot that later steps may use within [-LIMIT, LIMIT]."""
        return self.scaled(i, LIMIT)

    def guard(self, kind: Guard, i: int) -> int:
        """Slot ``i`` guarded for an input of kind ``kind`` (see :data:`micrograd_lite.primitives.Guard`)."""
        if kind in ("squash", "exponent"):
            return self.scaled(i, SQUASH)
        if kind == "positive":
            return self.positive(i)
        if kind == "base":  # d(a^n)/dn = a^n ln a needs a positive base, away from 1
            return self.away_from_one(self.positive(i))
        if kind == "nonzero":
            return self.nonzero(i)
        if kind == "off_kink":
            return self.off_kink(i)
        return i

    def constant(self, kind: Guard, other: Guard) -> tuple[float, Guard]:
        """A drawn constant for an input of kind ``kind``, and the guard the other input (of kind
        ``other``) then needs: the same, except that a number exponent relaxes its base's."""
        if kind == "nonzero":
            return self.uniform(NONZERO, 4.0) * (1.0 if self.uniform(-1.0, 1.0) >= 0.0 else -1.0), other
        if kind == "exponent":  # a number exponent: no d/dn edge, so the base need not avoid 1
            if self.uniform(0.0, 1.0) < 0.5:  # an integer power: any base
                return float(round(self.uniform(-0.49, 3.49))), None
            return self.uniform(-2.0, 3.0), "positive"
        if kind in ("base", "positive"):
            return self.uniform(POSITIVE, 3.0), other
        return self.uniform(-2.0, 2.0), other

    # ------------------------------------------------------------ operations
    def unary(self, op: str, a: int) -> int:
        if op not in UNARY:
            raise ValueError(f"{op!r} is not a unary operation")
        return self.public(self.emit(op, (self.guard(PRIMITIVES[op].guards[0], a),)))

    def binary(self, op: str, a: int, b: int) -> int:
        """``a op b`` for two slots, each guarded as its input needs (:mod:`micrograd_lite.primitives`)."""
        if op not in BINARY:
            raise ValueError(f"{op!r} is not a binary operation")
        first, second = PRIMITIVES[op].guards
        return self.public(self.emit(op, (self.guard(first, a), self.guard(second, b))))

    def with_constant(self, op: str, a: int) -> int:
        """``a op c`` or ``c op a`` (``r`` forms) with a drawn constant ``c``."""
        if op not in WITH_CONSTANT:
            raise ValueError(f"{op!r} takes no constant")
        guards = PRIMITIVES[op.removeprefix("r")].guards
        slot_guard, constant_guard = (guards[1], guards[0]) if op[0] == "r" else guards
        c, slot_guard = self.constant(constant_guard, slot_guard)
        return self.public(self.emit(op, (self.guard(slot_guard, a),), c))

    def sum(self, terms: Sequence[int]) -> int:
        return self.public(self.emit("sum", terms))

    def linear(self, weights: Sequence[int], inputs: Sequence[int], bias: int) -> int:
        if len(weights) != len(inputs) or not weights:
            raise ValueError("linear needs as many weights as inputs, at least one")
        return self.public(self.emit("linear", (*weights, *inputs, bias)))

    def softmax(self, logits: Sequence[int], k: int) -> int:
        if len(logits) < 2 or not 0 <= k < len(logits):
            raise ValueError("softmax needs at least two logits and an output index among them")
        scaled = [self.scaled(a, SQUASH) for a in logits]
        return self.emit("softmax", scaled, k)

    def finish(self, slots: Sequence[int]) -> Program:
        """The program whose output is the sum of ``slots`` (one ``sum`` step)."""
        self.emit("sum", slots)
        return self.program()
