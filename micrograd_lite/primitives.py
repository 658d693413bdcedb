r"""Every operation of the engine, declared once: what it computes, how it depends on its inputs,
and whatever else the package needs to know of it.

An elementwise operation is one :class:`Primitive` in :data:`PRIMITIVES`. Its forward value and
each local derivative are written once, side by side, as Python expressions of its inputs
(``a``, ``b``) and, for the derivatives, of its output ``out``::

    "*": value "a * b", derivatives ("b", "a")          # df/da = b, df/db = a

Everything that computes with an operation is made from that one text, so nothing can drift:

* the engine's method (``Value.__mul__``), generated at import time as the code one would write
  by hand (``inspect.getsource(Value.__mul__)`` shows it);
* :attr:`Primitive.forward` and :attr:`Primitive.local_derivatives`, the same expressions as
  plain-float functions;
* the compiler's source templates (:meth:`Primitive.value_source`, :meth:`Primitive.derivative_sources`);
* the batched compiler's array templates (:meth:`Primitive.array_value_source`, ...): the same
  expressions, their ``if``/``or`` made elementwise, calling the array form of each function
  (:func:`array_namespace`, :mod:`micrograd_lite.array_numerics`).

An expression may call only :data:`FUNCTIONS`: the numerics policy's safe ``exp``, ``expm1``,
``log``, ``log1p``, ``sqrt``, ``div``, ``pow``, ``sigmoid``, ``abs`` and the accurate derivative
helpers of :mod:`micrograd_lite.numerics`.

Beside the arithmetic, each entry says how drawings show the operation (``symbol``), the word of
generated node names (``mul_1``), its second derivatives (for :mod:`micrograd_lite.testing.tolerances`),
its safe operands (``domains``, for :func:`~micrograd_lite.testing.strategies.safe_floats`), the
guards the random-program builder puts before it (``guards``), an independent reference formula
from ``exp``, ``log``, ``tanh`` and operators (the oracles run it on mpmath, autograd and torch: it
must make a new value, never return its input, and keep its digits where the guards let it run),
and whether it is an activation (:mod:`micrograd_lite.nn`, the units view).

The operations of many inputs (:class:`NaryOperation`: ``sum``, ``linear``, ``softmax`` and the
per-example errors of :mod:`micrograd_lite.losses`) are entries of :data:`OPERATIONS` too: their
number of inputs, the source the compiler writes for them and their error propagation. Their
float arithmetic is one function each, which both the engine and the compiled code call
(:func:`linear_value`, :func:`softmax_terms`, builtin ``sum``, ``losses.TERMS``).

Adding an elementwise operation is one entry below plus its tests: ``tests/test_primitives.py``
walks the table and checks every entry's method against its compiled code bit for bit, and its
local and second derivatives against mpmath.
"""

from __future__ import annotations

import ast
import math
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from micrograd_lite import numerics

__all__ = [
    "FUNCTIONS",
    "OPERATIONS",
    "PRIMITIVES",
    "Domain",
    "NaryOperation",
    "Primitive",
    "linear_value",
    "softmax_terms",
]

#: What the expressions of :data:`PRIMITIVES` may call. Generated code (the engine's methods,
#: compiled graphs) sees each one as ``_`` + its name, so it never meets a variable's name.
FUNCTIONS: dict[str, Callable[..., float]] = {
    "div": numerics.div,
    "pow": numerics.pow,
    "exp": numerics.exp,
    "expm1": numerics.expm1,
    "log": numerics.log,
    "log1p": numerics.log1p,
    "sqrt": numerics.sqrt,
    "abs": math.fabs,  # a float for any float: abs(-0.0) is 0.0, abs(nan) is nan
    "sigmoid": numerics.sigmoid,
    "tanh": math.tanh,  # stable: it saturates to +-1, never overflows
    "tanh_derivative": numerics.tanh_derivative,
    "pow_base_derivative": numerics.pow_base_derivative,
    "pow_exponent_derivative": numerics.pow_exponent_derivative,
}
#: :data:`FUNCTIONS` under the names generated code calls them by.
SOURCE_NAMESPACE: dict[str, Any] = {"_" + name: fn for name, fn in FUNCTIONS.items()}

#: A guard the random-program builder (:class:`~micrograd_lite.testing.programs.GraphBuilder`)
#: applies to an input: scale into [-4, 4]; make positive; keep off a kink at 0; keep away from 0;
#: a power's base (positive, away from 1); a power's exponent (in [-4, 4]).
Guard = Literal["squash", "positive", "off_kink", "nonzero", "base", "exponent"] | None


@dataclass(frozen=True)
class Domain:
    """Operands where an input is defined and its derivatives lose no digits: ``[lo, hi]``,
    or ``lo <= |x| <= hi`` with ``away_from_zero``."""

    lo: float
    hi: float
    away_from_zero: bool = False


ANYWHERE = Domain(-1e3, 1e3)


# --------------------------------------------------------------- one text, three forms
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.IfExp, ast.Compare,
    ast.BoolOp, ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)  # fmt: skip


def _template(expression: str, variables: Sequence[str], where: str, more: Sequence[str] = ()) -> str:
    """``expression`` as a ``str.format`` template: each variable becomes ``{name}``, each
    function of :data:`FUNCTIONS` (and of ``more``) ``_name``. Anything else is refused, at import time."""
    functions = {*FUNCTIONS, *more}
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"{where}: {type(node).__name__} is not allowed in {expression!r}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in functions):
            raise ValueError(f"{where}: {expression!r} calls something not in FUNCTIONS")
        if isinstance(node, ast.Name):
            if node.id in variables:
                node.id = f"__{node.id}__"
            elif node.id in functions:
                node.id = "_" + node.id
            else:
                raise ValueError(f"{where}: unknown name {node.id!r} in {expression!r}")
        if isinstance(node, ast.Constant) and type(node.value) is not float:
            raise ValueError(f"{where}: write numbers as floats (1.0, not 1) in {expression!r}")
    text = ast.unparse(tree)
    for name in variables:
        text = text.replace(f"__{name}__", "{" + name + "}")
    return text


#: What an expression's conditionals become on arrays (``x if c else y`` is ``where(c, x, y)``):
#: batched code evaluates both branches for every example and picks one per example.
ARRAY_ONLY_FUNCTIONS = ("where", "logical_or", "logical_and", "logical_not")


class _OnArrays(ast.NodeTransformer):
    """Rewrite an expression's ``if``/``else``, ``or``, ``and``, ``not`` and chained comparisons
    into calls that work number by number on arrays (``where``, ``logical_or``, ...)."""

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return ast.Call(ast.Name("where", ast.Load()), [node.test, node.body, node.orelse], [])

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        name = "logical_or" if isinstance(node.op, ast.Or) else "logical_and"
        result = node.values[0]
        for value in node.values[1:]:
            result = ast.Call(ast.Name(name, ast.Load()), [result, value], [])
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.Call(ast.Name("logical_not", ast.Load()), [node.operand], [])
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        operands = [node.left, *node.comparators]
        pairs: list[ast.expr] = [
            ast.Compare(left, [op], [right]) for left, op, right in zip(operands, node.ops, operands[1:])
        ]
        result = pairs[0]
        for pair in pairs[1:]:
            result = ast.Call(ast.Name("logical_and", ast.Load()), [result, pair], [])
        return result


def _array_template(expression: str, variables: Sequence[str], where: str) -> str:
    """:func:`_template` of ``expression`` with its conditionals made elementwise (:class:`_OnArrays`)."""
    tree = ast.fix_missing_locations(_OnArrays().visit(ast.parse(expression, mode="eval")))
    return _template(ast.unparse(tree), variables, where, ARRAY_ONLY_FUNCTIONS)


def _float_function(params: Sequence[str], body: str, where: str) -> Callable[..., Any]:
    """``lambda params: body`` over :data:`SOURCE_NAMESPACE`; ``body`` is a fixed template of this module."""
    source = f"lambda {', '.join(params)}: {body}"
    return eval(compile(source, f"<micrograd_lite.primitives {where}>", "eval"), dict(SOURCE_NAMESPACE))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Primitive:
    """An elementwise operation of one or two inputs (see the module docstring).

    ``inputs`` names the inputs in ``value`` and ``derivatives``; ``derivatives[i]`` is
    d out / d inputs[i], an expression of the inputs and ``out``. ``method`` is the Value method
    that applies it (``reflected``: the method for a number on the left, ``2 * x``).
    ``number_input``: an input that, given as a plain number, is part of the operation rather
    than an input node (``x ** 2``); the node then has the other inputs only, is a
    ``number_node[0]`` (an engine class) and records the number as ``number_node[1]``.
    ``records``: fields the node keeps besides its value, ``(attribute, input)``, on a node of
    class ``node_class``. ``second_derivatives(*inputs, out)`` gives the magnitudes
    ``|d^2 out / d input_i d input_j|`` (row i, column j). ``reference(lib, *inputs)`` computes
    the value from ``lib.exp``, ``lib.log``, ``lib.tanh`` and Python operators only.
    """

    name: str
    symbol: str
    word: str
    formula: str
    doc: str
    inputs: tuple[str, ...]
    value: str
    derivatives: tuple[str, ...]
    method: str
    second_derivatives: Callable[..., tuple[tuple[float, ...], ...]]
    reference: Callable[..., Any]
    domains: tuple[Domain, ...]
    guards: tuple[Guard, ...]
    activation: bool = False
    reflected: str | None = None
    number_input: str | None = None
    number_node: tuple[str, str] = ("Value", "")
    node_class: str = "Value"
    records: tuple[tuple[str, str], ...] = ()
    #: Made from ``value`` and ``derivatives`` (never given).
    forward: Callable[..., float] = field(init=False, repr=False, compare=False)
    local_derivatives: Callable[..., tuple[float, ...]] = field(init=False, repr=False, compare=False)
    value_template: str = field(init=False, repr=False)
    derivative_templates: tuple[str, ...] = field(init=False, repr=False)
    #: The same expressions for arrays over a batch (conditionals made elementwise, see ``_OnArrays``).
    array_value_template: str = field(init=False, repr=False)
    array_derivative_templates: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        where = f"primitive {self.name!r}"
        n = len(self.inputs)
        for what, count in (("derivatives", len(self.derivatives)), ("domains", len(self.domains))):
            if count != n:
                raise ValueError(f"{where}: {n} inputs but {count} {what}")
        if len(self.guards) != n:
            raise ValueError(f"{where}: {n} inputs but {len(self.guards)} guards")
        value = _template(self.value, self.inputs, where)
        local = tuple(_template(d, (*self.inputs, "out"), where) for d in self.derivatives)
        names = {name: name for name in (*self.inputs, "out")}
        body = "(" + "".join(t.format(**names) + ", " for t in local) + ")"
        object.__setattr__(self, "value_template", value)
        object.__setattr__(self, "derivative_templates", local)
        object.__setattr__(self, "array_value_template", _array_template(self.value, self.inputs, where))
        object.__setattr__(
            self,
            "array_derivative_templates",
            tuple(_array_template(d, (*self.inputs, "out"), where) for d in self.derivatives),
        )
        object.__setattr__(self, "forward", _float_function(self.inputs, value.format(**names), where))
        object.__setattr__(self, "local_derivatives", _float_function((*self.inputs, "out"), body, where))

    @property
    def arity(self) -> int:
        return len(self.inputs)

    def value_source(self, *inputs: str) -> str:
        """The forward value as source, the inputs written as ``inputs`` (atoms: names, literals)."""
        return self.value_template.format(**dict(zip(self.inputs, inputs)))

    def derivative_sources(self, inputs: Sequence[str], out: str) -> list[str]:
        """Each local derivative as source, given the inputs' and the output's source."""
        names = {**dict(zip(self.inputs, inputs)), "out": out}
        return [t.format(**names) for t in self.derivative_templates]

    def array_value_source(self, *inputs: str) -> str:
        """:meth:`value_source` for arrays over a batch (the names of :func:`array_namespace`)."""
        return self.array_value_template.format(**dict(zip(self.inputs, inputs)))

    def array_derivative_sources(self, inputs: Sequence[str], out: str) -> list[str]:
        """:meth:`derivative_sources` for arrays over a batch."""
        names = {**dict(zip(self.inputs, inputs)), "out": out}
        return [t.format(**names) for t in self.array_derivative_templates]


# ------------------------------------------------------------------ second derivatives
def _zero1(a: float, out: float) -> tuple[tuple[float, ...], ...]:
    return ((0.0,),)


def _zero2(a: float, b: float, out: float) -> tuple[tuple[float, ...], ...]:
    return ((0.0, 0.0), (0.0, 0.0))


def _inv(x: float) -> float:
    return math.inf if x == 0.0 else 1.0 / x


def _abs_pow(a: float, k: float) -> float:
    """``|a|^k``, ``inf`` where it overflows or ``a = 0`` with ``k < 0``."""
    if a == 0.0:
        return 0.0 if k > 0.0 else (1.0 if k == 0.0 else math.inf)
    try:
        return float(abs(a) ** k)
    except OverflowError:
        return math.inf


def _div_second(a: float, b: float, out: float) -> tuple[tuple[float, ...], ...]:
    # d/db (1/b) = -1/b^2; d/db (-a/b^2) = 2a/b^3
    ib2 = _inv(b * b)
    return ((0.0, ib2), (ib2, 2.0 * abs(a) * _inv(abs(b) ** 3)))


def _pow_second(a: float, n: float, out: float) -> tuple[tuple[float, ...], ...]:
    # d2/da2 = n (n-1) a^(n-2); d2/da dn = a^(n-1) (1 + n ln a); d2/dn2 = a^n ln^2 a
    if a == 0.0:
        return ((math.inf, math.inf), (math.inf, math.inf))
    la = math.log(abs(a))
    dd_aa = abs(n * (n - 1.0)) * _abs_pow(a, n - 2.0) if n not in (0.0, 1.0) else 0.0
    dd_an = _abs_pow(a, n - 1.0) * abs(1.0 + n * la)
    dd_nn = _abs_pow(a, n) * la * la
    return ((dd_aa, dd_an), (dd_an, dd_nn))


# ----------------------------------------------------------------------- the table
_SQUASHING = Domain(-6.0, 6.0)  # beyond, sigma' and tanh' are tiny next to the values they come from
_OFF_ZERO = Domain(1e-3, 1e3, away_from_zero=True)

_TABLE = (
    Primitive(
        "+", "+", "add", "a + b", "$f(a, b) = a + b$; $df/da = 1$, $df/db = 1$.",
        inputs=("a", "b"), value="a + b", derivatives=("1.0", "1.0"),
        method="__add__", reflected="__radd__",
        second_derivatives=_zero2, reference=lambda lib, a, b: a + b,
        domains=(ANYWHERE, ANYWHERE), guards=(None, None),
    ),
    Primitive(
        "-", "-", "sub", "a - b", "$f(a, b) = a - b$; $df/da = 1$, $df/db = -1$.",
        inputs=("a", "b"), value="a - b", derivatives=("1.0", "-1.0"),
        method="__sub__", reflected="__rsub__",
        second_derivatives=_zero2, reference=lambda lib, a, b: a - b,
        domains=(ANYWHERE, ANYWHERE), guards=(None, None),
    ),
    Primitive(
        "*", "*", "mul", "a * b", "$f(a, b) = a b$; $df/da = b$, $df/db = a$.",
        inputs=("a", "b"), value="a * b", derivatives=("b", "a"),
        method="__mul__", reflected="__rmul__",
        second_derivatives=lambda a, b, out: ((0.0, 1.0), (1.0, 0.0)), reference=lambda lib, a, b: a * b,
        domains=(ANYWHERE, ANYWHERE), guards=(None, None),
    ),
    Primitive(
        "/", "/", "div", "a / b",
        "$f(a, b) = a / b$; $df/da = 1/b$, $df/db = -a/b^2$, computed as $-(a/b)/b$.\n\n"
        "(``-a/(b*b)`` would overflow at ``b = 1e-200`` and underflow at ``b = 1e200``.)",
        inputs=("a", "b"), value="div(a, b)", derivatives=("div(1.0, b)", "div(-out, b)"),
        method="__truediv__", reflected="__rtruediv__",
        second_derivatives=_div_second, reference=lambda lib, a, b: a / b,
        domains=(ANYWHERE, _OFF_ZERO), guards=(None, "nonzero"),
    ),
    Primitive(
        "**", "**", "pow", "a ** n",
        "$f(a, n) = a^n$; $df/da = n a^{n-1}$, and for a Value exponent $df/dn = a^n \\ln a$.\n\n"
        "A number exponent (``x ** 2``) is part of the operation, as in micrograd and\n"
        "PyTorch: the node has one parent and records ``exponent``. A Value exponent\n"
        "(``x ** y``, ``2 ** x``) is a parent with its own edge. As in PyTorch,\n"
        "$df/da = 0$ for $n = 0$ and $df/dn = 0$ where $a = 0$ and $n \\ge 0$.\n"
        "Both derivatives come from :mod:`micrograd_lite.numerics`, which computes\n"
        "them without intermediate over- or underflow.",
        inputs=("a", "n"), value="pow(a, n)",
        derivatives=("pow_base_derivative(a, n, out)", "pow_exponent_derivative(a, n, out)"),
        method="__pow__", reflected="__rpow__", number_input="n", number_node=("PowerOutput", "exponent"),
        second_derivatives=_pow_second, reference=lambda lib, a, n: a**n,
        domains=(Domain(1e-3, 1e2), Domain(-3.0, 3.0)), guards=("base", "exponent"),
    ),
    Primitive(
        "neg", "neg", "neg", "-a", "$f(a) = -a$; $df/da = -1$.",
        inputs=("a",), value="-a", derivatives=("-1.0",), method="__neg__",
        second_derivatives=_zero1, reference=lambda lib, a: -a, domains=(ANYWHERE,), guards=(None,),
    ),
    Primitive(
        "exp", "exp", "exp", "exp(a)", "$f(a) = e^a$; $df/da = e^a$ (the output itself).",
        inputs=("a",), value="exp(a)", derivatives=("out",), method="exp",
        second_derivatives=lambda a, out: ((abs(out),),), reference=lambda lib, a: lib.exp(a),
        domains=(Domain(-50.0, 50.0),), guards=("squash",),
    ),
    Primitive(
        "log", "log", "log", "ln(a)", "$f(a) = \\ln a$; $df/da = 1/a$.",
        inputs=("a",), value="log(a)", derivatives=("div(1.0, a)",), method="log",
        second_derivatives=lambda a, out: ((_inv(a * a),),), reference=lambda lib, a: lib.log(a),
        domains=(Domain(1e-3, 1e3),), guards=("positive",),
    ),
    Primitive(
        "log1p", "log1p", "log1p", "ln(1 + a)",
        "$f(a) = \\ln(1 + a)$; $df/da = 1/(1 + a)$.\n\n"
        "Accurate where $a$ is tiny (``log1p(1e-20)`` is 1e-20; ``log(1 + a)`` gives 0 there).\n"
        "As ``log``: $-\\infty$ at $a = -1$, ``nan`` below, where $df/da$ is still $1/(1 + a)$, as PyTorch.",
        inputs=("a",), value="log1p(a)", derivatives=("div(1.0, 1.0 + a)",), method="log1p",
        second_derivatives=lambda a, out: ((_inv((1.0 + a) * (1.0 + a)),),),
        # ln(1 + a) rounds 1 + a first: the random programs keep a >= 1/4, where that costs no digits.
        reference=lambda lib, a: lib.log(1.0 + a),
        domains=(Domain(-0.9, 1e3),), guards=("positive",),
    ),
    Primitive(
        "expm1", "expm1", "expm1", "exp(a) - 1",
        "$f(a) = e^a - 1$; $df/da = e^a$.\n\n"
        "Accurate where $a$ is tiny (``expm1(1e-20)`` is 1e-20; ``exp(a) - 1`` gives 0 there).\n"
        "The derivative is computed as $e^a$, not as ``out + 1`` (PyTorch's), which is 0\n"
        "once $e^a - 1$ rounds to $-1$ (for $a$ below about $-37.4$).",
        inputs=("a",), value="expm1(a)", derivatives=("exp(a)",), method="expm1",
        second_derivatives=lambda a, out: ((numerics.exp(a),),),
        # e^a - 1 = tanh(a/2) (e^a + 1): no cancellation, so it is exact to rounding for any a.
        reference=lambda lib, a: lib.tanh(a * 0.5) * (lib.exp(a) + 1.0),
        domains=(Domain(-50.0, 50.0),), guards=("squash",),
    ),
    Primitive(
        "sqrt", "sqrt", "sqrt", "sqrt(a)",
        "$f(a) = \\sqrt{a}$; $df/da = 1/(2 \\sqrt{a})$, computed as $0.5 / f(a)$.\n\n"
        "As PyTorch: ``nan`` for $a < 0$ (and its derivative), $df/da = \\infty$ at $a = 0$.",
        inputs=("a",), value="sqrt(a)", derivatives=("div(0.5, out)",), method="sqrt",
        second_derivatives=lambda a, out: ((_inv(4.0 * abs(a) * out),),),
        reference=lambda lib, a: a**0.5,
        domains=(Domain(1e-3, 1e3),), guards=("positive",),
    ),
    Primitive(
        "abs", "abs", "abs", "|a|",
        "$f(a) = |a|$; $df/da = 1$ for $a > 0$, $-1$ for $a < 0$.\n\n"
        "At the kink $df/da = 0$, as PyTorch (its ``sgn(0)``); at ``nan`` it is 0 too, as PyTorch.",
        inputs=("a",), value="abs(a)", derivatives=("1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0",),
        method="__abs__",
        # sqrt(a^2), not ``a if a > 0 else -a``: that returns the input itself, and an oracle's
        # graph (PyTorch's) would then hold one tensor for two nodes.
        second_derivatives=_zero1, reference=lambda lib, a: (a * a) ** 0.5,
        domains=(_OFF_ZERO,), guards=("off_kink",),
    ),
    Primitive(
        "sigmoid", "sigmoid", "sigmoid", "sigma(a)",
        "$\\sigma(a) = 1/(1 + e^{-a})$; $\\sigma'(a) = \\sigma(a)(1 - \\sigma(a)) \\le 1/4$.\n\n"
        "$1 - \\sigma(a)$ is computed as $\\sigma(-a)$: the subtraction would give 0 once\n"
        "$\\sigma(a)$ rounds to 1 (at $a = 40$ the true derivative is 4.2e-18). The node\n"
        "records its input's value as ``logit``, so a cross-entropy can pair with it\n"
        "even inside ``no_grad()``.",
        inputs=("a",), value="sigmoid(a)", derivatives=("out * sigmoid(-a)",), method="sigmoid",
        node_class="SigmoidOutput", records=(("logit", "a"),), activation=True,
        second_derivatives=lambda a, out: ((out * (1.0 - out) * abs(1.0 - 2.0 * out),),),
        reference=lambda lib, a: 1.0 / (1.0 + lib.exp(-a)),
        domains=(_SQUASHING,), guards=("squash",),
    ),
    Primitive(
        "tanh", "tanh", "tanh", "tanh(a)",
        "$\\tanh a$; $\\tanh'(a) = 1 - \\tanh^2 a$, computed from $e^{-2|a|}$ (no cancellation).",
        inputs=("a",), value="tanh(a)", derivatives=("tanh_derivative(a)",), method="tanh", activation=True,
        second_derivatives=lambda a, out: ((2.0 * abs(out) * (1.0 - out * out),),),
        reference=lambda lib, a: lib.tanh(a), domains=(_SQUASHING,), guards=("squash",),
    ),
    Primitive(
        "relu", "relu", "relu", "max(0, a)",
        "$\\max(0, a)$; derivative 1 for $a > 0$, 0 for $a \\le 0$ (0 at the kink), as PyTorch.\n\n"
        "At ``nan`` the value stays ``nan`` and the derivative is 1: the gradient passes,\n"
        'as in PyTorch (whose rule is "0 where $a \\le 0$").',
        inputs=("a",), value="a if a > 0.0 or a != a else 0.0", derivatives=("0.0 if a <= 0.0 else 1.0",),
        method="relu", activation=True,
        second_derivatives=_zero1, reference=lambda lib, a: a if a > 0 else 0.0 * a,
        domains=(_OFF_ZERO,), guards=("off_kink",),
    ),
    Primitive(
        "identity", "identity", "identity", "a",
        "$f(a) = a$; $df/da = 1$. A node of its own, so it can carry a label.",
        inputs=("a",), value="a", derivatives=("1.0",), method="identity", activation=True,
        second_derivatives=_zero1, reference=lambda lib, a: a, domains=(ANYWHERE,), guards=(None,),
    ),
)  # fmt: skip

#: Every elementwise operation, by its ``op`` (the name a node records).
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}


# ------------------------------------------------------ operations of many inputs
Terms = tuple[float, tuple[float, ...]]


def linear_value(w: Sequence[float], z: Sequence[float], b: float) -> float:
    r"""$a = \sum_j W_j z_j + b$: builtin ``sum`` of the products, then the bias. The engine calls it;
    the compiled code writes the same sum out (:func:`builtin_sum_source`)."""
    total: float = sum(map(operator.mul, w, z)) + b
    return total


def softmax_terms(a: list[float] | tuple[float, ...]) -> tuple[list[float], list[tuple[float, ...]]]:
    r"""$y_k = e^{a_k} / \sum_j e^{a_j}$ and $dy_k/da_j = y_k (\delta_{kj} - y_j)$, row k for output k.

    The diagonal's $1 - y_k$ is the sum of the other outputs, exact where $y_k$ rounds to 1.
    The engine and the compiled code both call this.
    """
    y = numerics.softmax(a)
    others = numerics.sums_of_others(y)  # 1 - y_k
    rows = [
        tuple(yk * others[k] if j == k else yk * (0.0 - yj) for j, yj in enumerate(y))
        for k, yk in enumerate(y)
    ]
    return y, rows


# Builtin sum of floats is ((0.0 + t_1) + t_2) + ... before Python 3.12; from 3.12
# on it compensates rounding, and the compiled code must call it to match.
SEQUENTIAL_SUM = sys.version_info < (3, 12) and sum([1e100, 1.0, -1e100]) == 0.0
# Terms per line: ``a + b + ...`` nests one level per term, and the compiler recurses on it.
CHUNK = 64


def tuple_source(items: Sequence[str]) -> str:
    """A tuple display: ``()``, ``(a,)`` or ``(a, b)``."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def running_sum_source(target: str, terms: Sequence[str]) -> list[str]:
    """``target = t_1 + t_2 + ...`` added left to right, at most :data:`CHUNK` terms a line."""
    lines = [f"{target} = {' + '.join(terms[:CHUNK])}"]
    for start in range(CHUNK, len(terms), CHUNK - 1):
        lines.append(f"{target} = {target} + {' + '.join(terms[start : start + CHUNK - 1])}")
    return lines


def builtin_sum_source(target: str, terms: Sequence[str], then: str | None = None) -> list[str]:
    """``target = sum(terms)`` (``+ then``), bit for bit as builtin ``sum`` of floats."""
    if not SEQUENTIAL_SUM:
        return [f"{target} = _sum({tuple_source(terms)})" + (f" + {then}" if then else "")]
    return running_sum_source(target, ["0.0", *terms, *([then] if then else [])])


#: ``source(out, inputs, index, vector)``: the statements computing ``out`` and its local derivatives.
#: ``index`` and ``vector`` serve an operation of several outputs (softmax): which output, and the
#: variable holding the group's results (computed by the group's first output).
SourceWriter = Callable[[str, list[str], int, str], tuple[list[str], list[str]]]
#: ``local_errors(inputs, out, errors)``: see :mod:`micrograd_lite.testing.tolerances`.
LocalErrors = Callable[[Sequence[float], float, Sequence[float]], Sequence[float]]


@dataclass(frozen=True)
class NaryOperation:
    """An operation of many inputs, made by a function (``sum_values``, ``linear``, ``softmax``,
    the error functions). ``accepts(n)`` says whether it can have ``n`` inputs (``expected`` in words)."""

    name: str
    symbol: str
    word: str
    doc: str
    accepts: Callable[[int], bool]
    expected: str
    source: SourceWriter
    local_errors: LocalErrors
    activation: bool = False
    loss: bool = False
    several_outputs: bool = False


def _sum_source(out: str, p: list[str], index: int, vector: str) -> tuple[list[str], list[str]]:
    return builtin_sum_source(out, p), ["1.0"] * len(p)


def _linear_source(out: str, p: list[str], index: int, vector: str) -> tuple[list[str], list[str]]:
    n = (len(p) - 1) // 2
    w, z = p[:n], p[n : 2 * n]
    return builtin_sum_source(out, [f"{wj} * {zj}" for wj, zj in zip(w, z)], then=p[-1]), [*z, *w, "1.0"]


def _softmax_source(out: str, p: list[str], index: int, vector: str) -> tuple[list[str], list[str]]:
    rows = "_J_" + vector[len("_Y_") :]
    first = [f"{vector}, {rows} = _softmax({tuple_source(p)})"] if vector == "_Y_" + out else []
    return [*first, f"{out} = {vector}[{index}]"], [f"{rows}[{index}][{j}]" for j in range(len(p))]


def loss_function_name(op: str) -> str:
    """The name compiled code calls a loss's ``*_terms`` function by: ``_squared_error_terms``."""
    return "_" + "".join(c if c.isalpha() else "_" for c in op) + "_terms"


def _loss_source(op: str) -> SourceWriter:
    def write(out: str, p: list[str], index: int, vector: str) -> tuple[list[str], list[str]]:
        half = len(p) // 2
        call = f"{loss_function_name(op)}({tuple_source(p[:half])}, {tuple_source(p[half:])})"
        return [f"{out}, _L_{out} = {call}"], [f"_L_{out}[{i}]" for i in range(len(p))]

    return write


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def _linear_errors(x: Sequence[float], out: float, ms: Sequence[float]) -> Sequence[float]:
    n = (len(x) - 1) // 2  # da/dW_j = z_j moves with z_j, da/dz_j = W_j with W_j
    return (*ms[n : 2 * n], *ms[:n], 0.0)


def _cross_entropy_errors(x: Sequence[float], out: float, ms: Sequence[float]) -> Sequence[float]:
    # Parents y_1..y_K, t_1..t_K. dE/dy = -t/y (+ (1 - t)/(1 - y)) moves with y as 1/y^2 (+ 1/(1-y)^2);
    # dE/dt = -ln y (+ ln(1 - y)) moves as 1/y (+ 1/(1 - y)).
    half = len(x) // 2
    ys, m_ys = x[:half], ms[:half]
    d_y = [_finite((_inv(y**2) + _inv((1.0 - y) ** 2)) * mi) for y, mi in zip(ys, m_ys)]
    d_t = [_finite((_inv(abs(y)) + _inv(abs(1.0 - y))) * mi) for y, mi in zip(ys, m_ys)]
    return (*d_y, *d_t)


def _pairs(n: int) -> bool:
    return n >= 2 and n % 2 == 0


_PAIRS = "an even number (outputs, then as many targets)"

_NARY = (
    NaryOperation(
        "sum", "sum", "sum", r"$f(v_1, \dots, v_n) = \sum_k v_k$; $df/dv_k = 1$.",
        accepts=lambda n: n >= 1, expected="at least 1", source=_sum_source,
        local_errors=lambda x, out, ms: (0.0,) * len(x),
    ),
    NaryOperation(
        "linear", "linear", "linear",
        r"$a = \sum_j W_j z_j + b$; $da/dW_j = z_j$, $da/dz_j = W_j$, $da/db = 1$.",
        accepts=lambda n: n % 2 == 1, expected="an odd number (W_1..W_n, z_1..z_n, b)",
        source=_linear_source, local_errors=_linear_errors,
    ),
    NaryOperation(
        "softmax", "softmax", "softmax",
        r"$y_k = e^{a_k} / \sum_j e^{a_j}$; $dy_k/da_j = y_k (\delta_{kj} - y_j)$.",
        accepts=lambda n: n >= 1, expected="at least 1", source=_softmax_source, activation=True,
        several_outputs=True,
        # d y_k / d a_j changes with any a_i by at most 2 y_k
        local_errors=lambda x, out, ms: (2.0 * abs(out) * sum(ms),) * len(x),
    ),
    NaryOperation(
        "squared error", "squared error", "squared_error", r"$E_n = \tfrac12 \sum_k (y_k - t_k)^2$.",
        accepts=_pairs, expected=_PAIRS, source=_loss_source("squared error"), loss=True,
        local_errors=lambda x, out, ms: ms,  # dE/dy_k = y_k - t_k, dE/dt_k = t_k - y_k
    ),
    NaryOperation(
        "sigmoid cross-entropy", "sigmoid cross-entropy", "sigmoid_cross_entropy",
        r"$E_n = \sum_k \mathrm{softplus}(a_k) - t_k a_k$.",
        accepts=_pairs, expected=_PAIRS, source=_loss_source("sigmoid cross-entropy"), loss=True,
        local_errors=lambda x, out, ms: [0.25 * mi for mi in ms],  # dE/da_n = sigmoid(a_n) - t_n
    ),
    NaryOperation(
        "binary cross-entropy", "binary cross-entropy", "binary_cross_entropy",
        r"$E_n = -\sum_k \{t_k \ln y_k + (1 - t_k) \ln(1 - y_k)\}$.",
        accepts=_pairs, expected=_PAIRS, source=_loss_source("binary cross-entropy"), loss=True,
        local_errors=_cross_entropy_errors,
    ),
    NaryOperation(
        "softmax cross-entropy", "softmax cross-entropy", "softmax_cross_entropy",
        r"$E_n = \mathrm{logsumexp}(a) \sum_k t_k - \sum_k t_k a_k$.",
        accepts=_pairs, expected=_PAIRS, source=_loss_source("softmax cross-entropy"), loss=True,
        # dE/da_k = y_k - t_k, and y_k depends on every logit of its example
        local_errors=lambda x, out, ms: (2.0 * sum(ms),) * len(x),
    ),
    NaryOperation(
        "categorical cross-entropy", "categorical cross-entropy", "categorical_cross_entropy",
        r"$E_n = -\sum_k t_k \ln y_k$.",
        accepts=_pairs, expected=_PAIRS, source=_loss_source("categorical cross-entropy"), loss=True,
        local_errors=_cross_entropy_errors,
    ),
)  # fmt: skip

#: Every operation the engine makes, by its ``op``: :data:`PRIMITIVES` and the operations of many inputs.
OPERATIONS: dict[str, Primitive | NaryOperation] = {**PRIMITIVES, **{o.name: o for o in _NARY}}


def array_namespace() -> dict[str, Any]:
    """What batched code calls, under the names scalar code calls the float functions by: the array
    form of each of :data:`FUNCTIONS` and of :data:`ARRAY_ONLY_FUNCTIONS`, ``_softmax`` and each
    error's ``_*_terms`` (:mod:`micrograd_lite.array_numerics`). It imports numpy: only batched
    steps call it."""
    from micrograd_lite import array_numerics

    missing = {*FUNCTIONS, *ARRAY_ONLY_FUNCTIONS} - set(array_numerics.FUNCTIONS)
    if missing:
        raise RuntimeError(f"micrograd_lite.array_numerics has no array form of {sorted(missing)}")
    namespace: dict[str, Any] = {"_" + name: fn for name, fn in array_numerics.FUNCTIONS.items()}
    namespace["_softmax"] = array_numerics.softmax_terms
    namespace.update({loss_function_name(op): array_numerics.node_terms(op) for op in array_numerics.TERMS})
    return namespace


#: Words for generated names, by ``op`` (``mul_1``, ``add_2``).
WORDS: dict[str, str] = {name: o.word for name, o in OPERATIONS.items()}
