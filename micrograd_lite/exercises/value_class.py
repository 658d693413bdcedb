"""``check_value_class``: grade a student's own micrograd-style ``Value`` class with small checks.

The protocol: ``cls(number)`` makes a leaf; every node has ``.data`` and ``.grad``;
``node.backward()`` fills in ``grad`` = d(node)/d(leaf) for the graph below it; and the class has
whichever of ``+ - * / **``, unary ``-``, ``exp log tanh sigmoid relu`` it chooses. An operation
the class lacks is reported as *not implemented*, not as a failure; one whose method raises
``NotImplementedError`` is *not done yet*.

Forward values are compared with ``math``; gradients with central differences of the same
functions in plain floats, never with the class itself. The structural checks catch the classic
bugs of a first autodiff engine: overwriting a gradient instead of adding to it (a node used
twice, a node with two consumers), visiting nodes in an order where a node passes its gradient on
before it is complete, state left behind by an earlier ``backward()``, and a recursive graph walk
on a chain 10,000 deep.

Every check runs in its own thread, with a 64 MiB stack and Python's default recursion limit
(1,000): a recursive walk raises ``RecursionError`` there instead of overflowing the C stack and
killing the kernel, even if the notebook raised the limit. A check that does not finish within
``timeout`` seconds (an endless loop) is reported as failed; its thread cannot be stopped and runs
on in the background until the kernel restarts.
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from micrograd_lite.exercises.display import NOT_DONE, TO_FIX, Table, TableReport, describe_exception, num

Status = Literal["passed", "failed", "not implemented", "not done yet"]

DEEP = 10_000
DEFAULT_TIMEOUT = 30.0  # seconds per check
_STACK_BYTES = 64 * 2**20
_RECURSION_LIMIT = 1000  # Python's default: a walk that recurses once per node fails on the deep chain
_EPS = 1e-6  # central differences: error ~ eps^2 (Taylor) + 1e-16/eps (rounding), ~1e-10 here
_FORWARD = {"rel_tol": 1e-9, "abs_tol": 1e-12}
_GRADIENT = {"rel_tol": 1e-6, "abs_tol": 1e-8}


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, status, what was expected, what happened, and a hint when it failed."""

    name: str
    status: Status
    expected: str
    happened: str
    hint: str = ""


class _Failed(Exception):
    def __init__(self, expected: str, happened: str, hint: str = "") -> None:
        super().__init__(happened)
        self.expected, self.happened, self.hint = expected, happened, hint


class _Lacks(Exception):
    """The class does not have what the check needs."""


# ------------------------------------------------------------------ reading the student's nodes


def _has(cls: type, name: str) -> bool:
    """Whether the class has the method (set to None counts as absent, as Python's operators treat it)."""
    return getattr(cls, name, None) is not None


def _need(cls: type, *names: str) -> None:
    for name in names:
        if not _has(cls, name):
            raise _Lacks(f"the class has no {name}")


def _number(node: object, attribute: str, what: str) -> float:
    if not hasattr(node, attribute):
        raise _Failed(f"{what} to have .{attribute}", f"{type(node).__name__} has no .{attribute}")
    value = getattr(node, attribute)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Failed(
            f"{what}.{attribute} to be a number",
            f"{what}.{attribute} is {type(value).__name__} {value!r:.40}",
        )
    return float(value)


def _backward(node: object) -> None:
    method = getattr(node, "backward", None)
    if method is None:
        raise _Failed("a backward() method", f"{type(node).__name__} has no backward()", "add backward()")
    method()


def _close(got: float, want: float, tolerance: dict[str, float]) -> bool:
    return math.isclose(got, want, **tolerance)


# ------------------------------------------------------------------ the operations


@dataclass(frozen=True)
class _Case:
    text: str  # "a + 2"
    build: Callable[..., Any]  # on the student's Values (and numbers)
    reference: Callable[..., float]  # the same function on floats
    point: tuple[float, ...]  # the leaves' values: a (and b)
    needs: tuple[str, ...] = ()  # methods beyond the operation's own (e.g. __radd__)


@dataclass(frozen=True)
class _Op:
    name: str
    method: str
    derivative: str
    cases: tuple[_Case, ...]
    unary: bool = False  # its cases differ only in the point, so texts say where: "tanh(a) at a = 0.6"


def _binary(name: str, method: str, derivative: str, f: Callable[[Any, Any], Any], reverse: str) -> _Op:
    a, b = 1.5, -0.4
    return _Op(
        name,
        method,
        derivative,
        (
            _Case(f"a {name} b", f, f, (a, b)),
            _Case(f"a {name} 2", lambda x: f(x, 2.0), lambda x: f(x, 2.0), (a,)),
            _Case(f"3 {name} a", lambda x: f(3.0, x), lambda x: f(3.0, x), (a,), (reverse,)),
        ),
    )


def _unary(name: str, derivative: str, f: Callable[[float], float], points: tuple[float, ...]) -> _Op:
    return _Op(
        name,
        name,
        derivative,
        tuple(_Case(f"{name}(a)", lambda x: getattr(x, name)(), f, (p,)) for p in points),
        unary=True,
    )


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


OPS: tuple[_Op, ...] = (
    _binary("+", "__add__", "d(a + b)/da = 1, d(a + b)/db = 1", lambda x, y: x + y, "__radd__"),
    _binary("-", "__sub__", "d(a - b)/da = 1, d(a - b)/db = -1", lambda x, y: x - y, "__rsub__"),
    _binary("*", "__mul__", "d(a b)/da = b, d(a b)/db = a", lambda x, y: x * y, "__rmul__"),
    _binary(
        "/", "__truediv__", "d(a / b)/da = 1/b, d(a / b)/db = -a/b^2", lambda x, y: x / y, "__rtruediv__"
    ),
    _Op(
        "**",
        "__pow__",
        "d(a^n)/da = n a^(n-1) for a number n",
        tuple(_Case(f"a ** {n}", lambda x, n=n: x**n, lambda x, n=n: x**n, (1.3,)) for n in (3, -1, 0.5)),
    ),
    _Op("neg", "__neg__", "d(-a)/da = -1", (_Case("-a", lambda x: -x, lambda x: -x, (1.5,)),)),
    _unary("exp", "d exp(a)/da = exp(a)", math.exp, (0.6, -1.2)),
    _unary("log", "d log(a)/da = 1/a", math.log, (0.7, 2.5)),
    _unary("tanh", "d tanh(a)/da = 1 - tanh(a)^2", math.tanh, (0.6, -1.2)),
    _unary("sigmoid", "d sigma(a)/da = sigma(a)(1 - sigma(a))", _sigmoid, (0.6, -1.2)),
    _unary("relu", "d relu(a)/da = 1 for a > 0, else 0", lambda x: max(x, 0.0), (1.3, -0.8)),
)


def _at(case: _Case) -> str:
    return ", ".join(f"{n} = {num(p)}" for n, p in zip("ab", case.point))


def _unsupported(error: TypeError) -> bool:
    return "unsupported operand" in str(error) or "not supported between" in str(error)


def _cases(cls: type, op: _Op, run: Callable[[_Case], str]) -> str:
    """Run ``run`` on every case the class supports; notes for the ones it does not."""
    _need(cls, op.method)
    done, skipped = [], []
    for case in op.cases:
        lacking = [name for name in case.needs if not _has(cls, name)]
        if lacking:
            skipped.append(f"{case.text} not tried: no {lacking[0]}")
            continue
        try:
            done.append(run(case))
        except TypeError as error:
            if not _unsupported(error):
                raise
            skipped.append(f"{case.text} not supported")
    if not done:
        raise _Lacks("; ".join(skipped))
    return "; ".join(done + skipped)


def _forward_check(op: _Op) -> Callable[[type], tuple[str, str]]:
    def check(cls: type) -> tuple[str, str]:
        def run(case: _Case) -> str:
            out = case.build(*[cls(p) for p in case.point])
            got, want = _number(out, "data", case.text), case.reference(*case.point)
            if not _close(got, want, _FORWARD):
                raise _Failed(
                    f"{case.text} = {num(want)} at {_at(case)}",
                    f"{case.text} = {num(got)}",
                    f"check the value {op.method} computes (the forward value, before any derivative)",
                )
            return f"{case.text} = {num(got)}" + (f" at {_at(case)}" if op.unary else "")

        text = _cases(cls, op, run)
        return text, "as expected"

    return check


def _central_difference(f: Callable[..., float], point: tuple[float, ...], k: int) -> float:
    up = list(point)
    down = list(point)
    up[k] += _EPS
    down[k] -= _EPS
    return (f(*up) - f(*down)) / (2.0 * _EPS)


def _gradient_check(op: _Op) -> Callable[[type], tuple[str, str]]:
    def check(cls: type) -> tuple[str, str]:
        def run(case: _Case) -> str:
            leaves = [cls(p) for p in case.point]
            out = case.build(*leaves)
            _backward(out)
            parts = []
            for k, (name, leaf) in enumerate(zip("ab", leaves)):
                got = _number(leaf, "grad", name)
                want = _central_difference(case.reference, case.point, k)
                if not _close(got, want, _GRADIENT):
                    hint = f"the local derivative in {op.method}: {op.derivative}"
                    if got == 0.0:
                        hint += f"; a grad of 0 means backward() never reached {name}"
                    raise _Failed(
                        f"d({case.text})/d{name} = {num(want)} at {_at(case)} (central difference)",
                        f"{name}.grad = {num(got)}",
                        hint,
                    )
                parts.append(
                    f"d({case.text})/d{name} = {num(got)}" + (f" at {_at(case)}" if op.unary else "")
                )
            return ", ".join(parts)

        return _cases(cls, op, run), "as expected"

    return check


# ------------------------------------------------------------------ the structural checks


def _expect_grads(grads: dict[str, tuple[object, float]], hint: str) -> tuple[str, str]:
    """Compare each named leaf's grad with its closed form."""
    for name, (leaf, want) in grads.items():
        got = _number(leaf, "grad", name)
        if not _close(got, want, _GRADIENT):
            raise _Failed(f"{name}.grad = {num(want)}", f"{name}.grad = {num(got)}", hint)
    return ", ".join(f"{name}.grad = {num(want)}" for name, (_, want) in grads.items()), "as expected"


def _used_twice(op: str) -> Callable[[type], tuple[str, str]]:
    def check(cls: type) -> tuple[str, str]:
        _need(cls, "__add__" if op == "+" else "__mul__")
        x = cls(3.0)
        y = x + x if op == "+" else x * x
        _backward(y)
        want = 2.0 if op == "+" else 6.0
        got = _number(x, "grad", "x")
        if _close(got, want / 2.0, _GRADIENT):
            hint = (
                "only one of the two contributions arrived: the second overwrote the first. "
                "In backward, add into grad (+=), never assign (=)"
            )
        else:
            hint = f"y = x {op} x has two edges into x; x.grad is the sum of what each edge carries"
        return _expect_grads({"x": (x, want)}, hint)

    return check


def _two_consumers(cls: type) -> tuple[str, str]:
    _need(cls, "__add__", "__mul__")
    x, w = cls(2.0), cls(-3.0)
    y = (x * w) * (x + w)  # dy/dx = w (x + w) + x w, dy/dw = x (x + w) + x w
    _backward(y)
    return _expect_grads(
        {"x": (x, -3.0), "w": (w, -8.0)},
        "x feeds two nodes (x w and x + w): its grad is the sum over both paths; add (+=) what each one "
        "passes back, and pass a node's grad on only once it is complete",
    )


def _order(cls: type) -> tuple[str, str]:
    _need(cls, "__add__", "__mul__")
    x, k = cls(1.5), cls(2.0)
    u = x * x
    y = u + (u * k) * k  # u reaches y directly and through two more nodes: y = 5 x^2
    _backward(y)
    return _expect_grads(
        {"x": (x, 15.0), "k": (k, 9.0)},
        "u = x x reaches y directly and through (u k) k: its grad was passed on before the long path "
        "had added its part. Visit the nodes in reverse topological order (a node only after every "
        "node that uses it), e.g. the reverse of a depth-first post-order",
    )


def _after_zeroing(cls: type) -> tuple[str, str]:
    _need(cls, "__add__", "__mul__")
    x, w = cls(0.5), cls(-1.5)
    h = x * w
    g = h + x
    y = g * w  # y = x w^2 + x w: dy/dx = w^2 + w, dy/dw = 2 x w + x
    want = {"x": (x, 0.75), "w": (w, -1.0)}
    _backward(y)
    first = {name: _number(leaf, "grad", name) for name, (leaf, _) in want.items()}
    for node in (x, w, h, g, y):
        node.grad = 0.0
    _backward(y)
    hint = (
        "after every grad was set to 0, a second backward() on the same graph gave other numbers: "
        "backward() must not depend on what an earlier call left behind (a 'visited' mark stored "
        "on the nodes, an order cached from the first call)"
    )
    if not all(_close(first[name], value, _GRADIENT) for name, (_, value) in want.items()):
        hint = "the first backward() was already wrong; see the gradient checks"
    return _expect_grads(want, hint)


def _deep_chain(cls: type) -> tuple[str, str]:
    _need(cls, "__mul__")
    x, k = cls(1.0), cls(1.0001)
    v = x
    for _ in range(DEEP):
        v = v * k  # v = x k^n: dv/dx = k^n, dv/dk = n x k^(n-1)
    _backward(v)
    return _expect_grads(
        {"x": (x, 1.0001**DEEP), "k": (k, DEEP * 1.0001 ** (DEEP - 1))},
        "the chain's gradients are wrong (the small checks above may say why)",
    )


_RECURSION_HINT = (
    "backward() (or the topological sort it calls) calls itself once per node: a chain "
    f"{DEEP:,} deep needs {DEEP:,} nested calls, more than Python allows (its recursion limit is about "
    f"{_RECURSION_LIMIT:,}). Build the topological order with a loop and an explicit stack instead"
)

_Check = Callable[[type], tuple[str, str]]


def _values(op: _Op) -> str:
    return "; ".join(
        f"{case.text} = {num(case.reference(*case.point))}" + (f" at {_at(case)}" if op.unary else "")
        for case in op.cases
    )


#: (name, check, what it expects: shown when the student's code raises instead of answering)
CHECKS: tuple[tuple[str, _Check, str], ...] = (
    *((f"{op.name} forward", _forward_check(op), _values(op)) for op in OPS),
    *((f"{op.name} gradient", _gradient_check(op), op.derivative) for op in OPS),
    ("node used twice: a + a", _used_twice("+"), "x.grad = 2 for y = x + x"),
    ("node used twice: a * a", _used_twice("*"), "x.grad = 6 for y = x * x at x = 3"),
    ("node with two consumers", _two_consumers, "x.grad = -3, w.grad = -8 for y = (x w)(x + w)"),
    ("order: a short and a long path", _order, "x.grad = 15, k.grad = 9 for u = x x, y = u + (u k) k"),
    ("backward after zeroing", _after_zeroing, "x.grad = 0.75, w.grad = -1 again after zeroing"),
    (
        f"deep chain ({DEEP:,} nodes)",
        _deep_chain,
        f"x.grad = k^{DEEP} = {num(1.0001**DEEP)} for v = x k k ... k ({DEEP:,} times, k = 1.0001)",
    ),
)


# ------------------------------------------------------------------ running a check safely


def _construction(cls: type) -> tuple[str, str]:
    v = cls(2.5)
    data, grad = _number(v, "data", "Value(2.5)"), _number(v, "grad", "Value(2.5)")
    if data != 2.5 or grad != 0.0:
        raise _Failed(
            "Value(2.5).data = 2.5 and .grad = 0",
            f".data = {num(data)}, .grad = {num(grad)}",
            "a new leaf holds its number in data and starts with grad 0",
        )
    return "Value(2.5).data = 2.5, .grad = 0", "as expected"


def _in_thread(check: _Check, cls: type, timeout: float) -> tuple[str, object]:
    """Run ``check(cls)`` on a fresh thread with a large stack and the default recursion limit."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = check(cls)
        except BaseException as error:  # the student's code may raise anything
            box["error"] = error

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    try:
        sys.setrecursionlimit(min(old_limit, _RECURSION_LIMIT))
    except RecursionError:  # we are already deeper than that: leave the limit alone
        pass
    try:
        try:
            threading.stack_size(_STACK_BYTES)
        except (ValueError, RuntimeError):  # a platform that cannot size stacks: its default, still a thread
            pass
        thread = threading.Thread(target=target, name="check_value_class", daemon=True)
        thread.start()
        thread.join(timeout)
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if thread.is_alive():
        return "timeout", None
    if "error" in box:
        return "error", box["error"]
    return "value", box["value"]


def _run(name: str, check: _Check, expects: str, cls: type, timeout: float) -> CheckResult:
    kind, result = _in_thread(check, cls, timeout)
    if kind == "value":
        expected, happened = cast(tuple[str, str], result)
        return CheckResult(name, "passed", expected, happened)
    if kind == "timeout":
        return CheckResult(
            name,
            "failed",
            f"{expects}, within {timeout:g} s",
            "still running",
            "an endless loop? (e.g. a graph walk that never marks a node as visited). It runs on in the "
            "background: restart the kernel after fixing it",
        )
    error = result
    assert isinstance(error, BaseException)
    if isinstance(error, _Failed):
        return CheckResult(name, "failed", error.expected, error.happened, error.hint)
    if isinstance(error, _Lacks):
        return CheckResult(name, "not implemented", "", str(error))
    if isinstance(error, NotImplementedError):
        return CheckResult(name, "not done yet", "", str(error) or "raised NotImplementedError")
    hint = ""
    if isinstance(error, RecursionError):
        hint = _RECURSION_HINT if name.startswith("deep chain") else "a method that calls itself without end?"
    return CheckResult(name, "failed", expects, f"raised {describe_exception(error)}", hint)


# ------------------------------------------------------------------ the report


@dataclass(frozen=True, repr=False)  # shown as its table (TableReport)
class ValueClassReport(TableReport):
    """Every check's result; shows as a table in Jupyter and as text in ``str()``."""

    class_name: str
    results: tuple[CheckResult, ...]

    def _names(self, status: str) -> list[str]:
        return [r.name for r in self.results if r.status == status]

    @property
    def failed(self) -> list[str]:
        return self._names("failed")

    @property
    def not_implemented(self) -> list[str]:
        """Checks of operations the class does not have (not failures)."""
        return self._names("not implemented")

    @property
    def not_done(self) -> list[str]:
        """Checks whose method raised NotImplementedError."""
        return self._names(NOT_DONE)

    @property
    def ok(self) -> bool:
        """No check failed."""
        return not self.failed

    @property
    def done(self) -> bool:
        return not self.not_done

    @property
    def passed(self) -> bool:
        """No check failed and none is still a NotImplementedError stub."""
        return self.ok and self.done

    @property
    def status(self) -> str:
        """``passed``, ``to fix`` (a check failed) or ``not done yet``."""
        return TO_FIX if self.failed else NOT_DONE if self.not_done else "passed"

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no check named {name!r}; the checks are: {', '.join(r.name for r in self.results)}")

    def _table(self) -> Table:
        counts = [
            (status, len(self._names(status))) for status in ("passed", "failed", "not implemented", NOT_DONE)
        ]
        title = f"check_value_class({self.class_name}): " + ", ".join(f"{n} {s}" for s, n in counts if n)
        rows = [
            (r.name, r.status, r.expected, r.happened if r.status != "passed" else "as expected", r.hint)
            for r in self.results
        ]
        return Table(title, ("check", "result", "expected", "what happened", "hint"), rows, verdict_column=1)


def check_value_class(cls: type, *, timeout: float = DEFAULT_TIMEOUT) -> ValueClassReport:
    """Grade a micrograd-style ``Value`` class (see the module docstring for the checks).

    Never raises for anything the student's class does: each exception is that check's result.
    """
    if not isinstance(cls, type):
        extra = "; pass the class itself, not an instance" if hasattr(cls, "data") else ""
        raise TypeError(
            f"cls must be a class, e.g. check_value_class(Value); got {type(cls).__name__}{extra}"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    construction = ("construction: cls(number)", _construction, "Value(2.5).data = 2.5, .grad = 0")
    checks: Sequence[tuple[str, _Check, str]] = (construction, *CHECKS)
    results = tuple(_run(name, check, expects, cls, float(timeout)) for name, check, expects in checks)
    return ValueClassReport(cls.__name__, results)
