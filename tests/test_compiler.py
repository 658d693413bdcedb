"""The compiler: straight-line Python that computes what the eager engine computes, bit for bit.

"Bit for bit" is checked with ``==`` and equal NaN-ness. The one difference allowed is the sign of
a gradient that is exactly zero: ``backward()`` starts each delta at ``0.0`` and adds into it, and
``0.0 + (-0.0)`` is ``0.0``, while the compiled delta is the first term itself (``d_W = d_a * z``,
as the lecture writes it). With ``accumulate=True`` (what :class:`CompiledLoss` uses) the compiled
code starts from the given gradients too, and then the signs of zeros agree as well.

Graphs come from the shared strategies (:mod:`micrograd_lite.testing.strategies`: random expression
graphs over every operation, random MLPs) plus, defined here, the error functions on top of them.
Each graph is compiled, checked at the numbers it was traced at, then run at NEW inputs and
parameters (any floats, nan and inf included) and checked against a freshly built eager graph.
"""

from __future__ import annotations

import io
import keyword
import math
import re
import string
import tokenize
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    compiler,
    linear,
    no_grad,
    optim,
    primitives,
    softmax,
    squared_error,
    sum_values,
    training,
)
from micrograd_lite.compiled_loss import CompiledLoss
from micrograd_lite.compiler import compile_graph
from micrograd_lite.testing.programs import VALUE_OPS, Program
from micrograd_lite.testing.strategies import NetworkCase, networks, programs
from micrograd_lite.worked_example import BIASES, WEIGHTS, T, X, lecture_network

# ------------------------------------------------------------------------------ comparing

Grads = list[float]
Params = list[Value]
Error = type[Exception]


def same(a: float, b: float, zero_sign: bool = False) -> bool:
    """``a == b`` or both nan; with ``zero_sign`` a zero must also have the same sign."""
    if a != a or b != b:
        return a != a and b != b
    return a == b and (not zero_sign or a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))


def assert_same(ours: Sequence[float], eager: Sequence[float], what: str, zero_sign: bool = False) -> None:
    assert len(ours) == len(eager), what
    for i, (a, b) in enumerate(zip(ours, eager)):
        assert same(a, b, zero_sign), f"{what}[{i}]: compiled {a!r}, eager {b!r}"


def eager(root: Value, leaves: Sequence[Value], start: Sequence[float] | None = None) -> list[float]:
    """The leaves' gradients after ``root.backward()`` (from ``start``, else from 0)."""
    for i, leaf in enumerate(leaves):
        leaf.grad = 0.0 if start is None else start[i]
    root.backward()
    return [leaf.grad for leaf in leaves]


@pytest.fixture
def count_values(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts every Value created from now on (``Value.__init__`` wrapped)."""
    created = [0]
    original = Value.__init__

    def counting(self: Value, *args: Any, **kwargs: Any) -> None:
        created[0] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(Value, "__init__", counting)
    return lambda: created[0]


# --------------------------------------------------------------------- the worked example


def worked_graph() -> tuple[MLP, list[Value], Value]:
    """The lecture's network and E = binary cross-entropy on the textbook chain."""
    model = lecture_network()
    trace = model.forward([Value(X[0], "x_1"), Value(X[1], "x_2")])
    E = binary_cross_entropy(trace.output, Value(T, "t"), paired=False)
    return model, [*trace.x, E.parents[1]], E


def test_worked_example_source_reads_like_the_lecture() -> None:
    model, inputs, E = worked_graph()
    graph = compile_graph(E, inputs, model.parameters())
    lines = [line.strip() for line in graph.source.splitlines()]
    for line in (
        "a1_1 = 0.0 + W1_11 * x_1 + W1_12 * x_2 + b1_1",
        "z1_1 = _sigmoid(a1_1)",
        "d_E = 1.0",
        "d_a3_1 = d_y * (y * _sigmoid(-a3_1))",  # 1 - sigma(a) computed as sigma(-a)
        "d_W3_11 = d_a3_1 * z2_1",
        "d_W3_12 = d_a3_1 * z2_2",
        "d_b3_1 = d_a3_1",
        "d_z2_1 = d_a3_1 * W3_11",
        "d_z1_1 = d_a2_2 * W2_21 + d_a2_1 * W2_11",  # delta[1] = f'(a[1]) W[2]^T delta[2]
        "d_a1_1 = d_z1_1 * (z1_1 * _sigmoid(-a1_1))",
    ):
        if line.startswith("a1_1") and not compiler._SEQUENTIAL_SUM:
            line = "a1_1 = _sum((W1_11 * x_1, W1_12 * x_2)) + b1_1"
        assert line in lines, f"{line!r} not in\n{graph.source}"
    # forward lines first, then the delta lines
    backward = lines.index(next(line for line in lines if line.startswith("# backward")))
    assert all(not line.startswith("d_") for line in lines[:backward])
    assert all(line.startswith(("d_", "return")) for line in lines[backward + 1 :])
    assert lines[0] == "def forward_backward(inputs, parameters):"

    result = graph([*X, T], [p.data for p in model.parameters()])
    expected = eager(E, [*inputs, *model.parameters()])
    assert result.value == E.data
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")


def test_worked_example_at_new_numbers_equals_a_fresh_eager_graph() -> None:
    model, inputs, E = worked_graph()
    graph = compile_graph(E, inputs, model.parameters())
    weights = [[[w * 1.5 - 0.1 for w in row] for row in W] for W in WEIGHTS]
    biases = [[b + 0.2 for b in bl] for bl in BIASES]
    other = lecture_network(weights, biases)
    x, t = [-0.3, 0.8], 0.0
    trace = other.forward([Value(x[0]), Value(x[1])])
    E2 = binary_cross_entropy(trace.output, Value(t), paired=False)
    expected = eager(E2, [*trace.x, E2.parents[1], *other.parameters()])
    result = graph([*x, t], [p.data for p in other.parameters()])
    assert result.value == E2.data
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")


def test_a_compiled_call_creates_no_values(count_values: Callable[[], int]) -> None:
    model, inputs, E = worked_graph()
    graph = compile_graph(E, inputs, model.parameters())
    xs, ts = [[0.5, -1.0], [0.25, 2.0], [1.0, 1.0]], [1.0, 0.0, 1.0]
    loss = CompiledLoss(model, lambda m, xs, ts: binary_cross_entropy([m(x) for x in xs], ts))
    loss(xs, ts)  # traces: creates Values
    before = count_values()
    assert before > 0  # the counter sees Values being made
    graph([*X, T], [p.data for p in model.parameters()])
    for _ in range(3):
        model.zero_grad()
        loss(xs, ts)
    assert count_values() == before
    assert loss.traces == 1


# -------------------------------------------------------------------------- hostile labels

HOSTILE = [
    "'",
    '"',
    "'''",
    "x\ny",
    "x\r\n = 1",
    "\\",
    "__import__('os').system('x')",
    "exec('raise SystemExit')",
    "x); import os; (y",
    "# comment",
    "d_x",
    "d_",
    "d",
    "for",
    "None",
    "True",
    "lambda",
    "inputs",
    "parameters",
    "grads",
    "forward_backward",
    "_sum",
    "__builtins__",
    "_L_E",
    "v",
    "v_for",
    "é",
    "x_é",
    "١٢",  # Arabic-Indic digits
    "𝔵",
    "🙂",
    "",
    " ",
    "1x",
    "123",
    "x__2",
    "x" * 100_000,
]
# Labels that sanitise to the same identifier.
COLLIDING = ["x_1", "x-1", "x 1", "x[1]", "x__1", "x 1 ", "_x_1_", "x.1", "x\n1"]

_TEMPLATE_COMMENTS = {
    "# forward pass, parents before children",
    "# backward pass: each delta sums its edges in the order backward() pushes them",
}
_TEMPLATE_CHARS = set(string.ascii_letters + string.digits + "_ ()[],.=+-*:<>!#\n")
_SAFE_TOKENS = {
    tokenize.NAME,
    tokenize.OP,
    tokenize.NUMBER,
    tokenize.NEWLINE,
    tokenize.NL,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.COMMENT,
    tokenize.ENDMARKER,
}


def assert_whitelisted(source: str) -> None:
    """Only names, operators, numbers and the template's own comments: no strings, ASCII only."""
    assert source.isascii()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        assert token.type in _SAFE_TOKENS, token
        if token.type == tokenize.COMMENT:
            assert token.string in _TEMPLATE_COMMENTS
        if token.type == tokenize.NAME:
            assert (
                keyword.iskeyword(token.string)
                or token.string in compiler._NAMESPACE
                or re.fullmatch(r"(_[LY]_)?[A-Za-z][A-Za-z0-9_]*", token.string)
            ), token.string


def labelled_graph(labels: Sequence[str], xs: Sequence[float]) -> tuple[Value, list[Value], list[Value]]:
    """A graph whose leaves and interior nodes all carry the given labels."""
    leaves = [Value(x, label) for x, label in zip(xs, labels)]
    nodes: list[Value] = []
    for k, leaf in enumerate(leaves):
        node = (leaf * (k + 1.5)).tanh() + leaf
        node.label = labels[(k + 1) % len(labels)]
        nodes.append(node)
    total = sum_values(nodes, label=labels[0])
    half = len(leaves) // 2
    return total * total, leaves[:half], leaves[half:]


def check_labels(labels: Sequence[str]) -> None:
    xs = [0.1 * (k + 1) * (-1) ** k for k in range(len(labels))]
    root, inputs, parameters = labelled_graph(labels, xs)
    graph = compile_graph(root, inputs, parameters)
    assert_whitelisted(graph.source)
    for label in labels:
        if set(label) - _TEMPLATE_CHARS:  # a character the templates never write
            assert label not in graph.source
    assert all(len(name) <= 50 for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", graph.source))
    expected = eager(root, [*inputs, *parameters])
    result = graph([v.data for v in inputs], [v.data for v in parameters])
    assert result.value == root.data
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")
    # and at new numbers
    new_xs = [x * -2.5 + 0.3 for x in xs]
    root2, inputs2, parameters2 = labelled_graph(labels, new_xs)
    expected = eager(root2, [*inputs2, *parameters2])
    result = graph(new_xs[: len(inputs)], new_xs[len(inputs) :])
    assert result.value == root2.data
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad at new numbers")


@pytest.mark.parametrize("label", HOSTILE, ids=lambda s: repr(s[:30]))
def test_hostile_labels_never_reach_the_source(label: str) -> None:
    check_labels([label, "y", label, "z"])


def test_hostile_labels_all_at_once() -> None:
    check_labels(HOSTILE)


def test_labels_that_sanitise_alike_stay_distinct() -> None:
    check_labels(COLLIDING)
    leaves = [Value(float(k + 1), label) for k, label in enumerate(COLLIDING)]
    graph = compile_graph(sum_values([v * v for v in leaves]), leaves, [])
    assert graph([1.0] * len(leaves), []).input_grads == tuple(2.0 for _ in leaves)
    first_line = graph.source.splitlines()[1]
    assert first_line.startswith("    (x_1, x_1__2, x_1__3,")


def test_lecture_labels_become_readable_names() -> None:
    names = compiler.NodeNames([])
    assert names.new(Value(0.0, "a[3]_1")) == "a3_1"
    assert names.new(Value(0.0, "W[2]_1,12")) == "W2_1_12"
    assert names.new(Value(0.0, "d_a3_1")) == "v_d_a3_1"
    assert names.new(Value(0.0, "for")) == "v_for"
    assert names.new(Value(0.0, "2x")) == "v_2x"
    assert names.new(Value(0.0, "a[3]_1")) == "a3_1__2"
    assert names.new(Value(0.0, "x" * 1000)) == "x" * compiler._MAX_NAME


@settings(deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=6))
def test_any_text_as_labels(labels: list[str]) -> None:
    check_labels(labels)


@pytest.mark.parametrize(
    "name",
    [
        "f(inputs, parameters):\n    pass\nraise SystemExit\ndef g",
        "for",
        "1f",
        "_hidden",
        "",
        "f-g",
        "é",
        "f" * 100,
    ],
    ids=repr,
)
def test_the_function_name_is_checked_too(name: str) -> None:
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match="name must be a plain identifier"):
        compile_graph(x * x, [x], [], name=name)


def test_a_chosen_function_name() -> None:
    x = Value(2.0, "step")  # the same text as the function's name
    graph = compile_graph(x * x, [x], [], name="step")
    assert graph.source.startswith("def step(inputs, parameters):")
    assert graph([3.0], []).input_grads == (6.0,)


# -------------------------------------------------------------- random graphs, every operation

LOSSES = ("none", "squared_error", "bce paired", "bce unpaired", "cce paired", "cce unpaired")


@dataclass(frozen=True)
class LossCase:
    """A random program, the error function put on its slots and the targets.

    ``examples`` lists, per example, the slots that are its outputs ``y_n1 .. y_nK``.
    """

    program: Program
    loss: str
    examples: tuple[tuple[int, ...], ...]
    targets: tuple[tuple[float, ...], ...]
    mean: bool
    n_parameters: int  # the last program inputs are passed as parameters

    def build(
        self, inputs: Sequence[float] | None = None, targets: Sequence[float] | None = None
    ) -> tuple[Value, list[Value], list[Value]]:
        """``(root, inputs, parameters)`` of a fresh eager graph (target leaves are inputs)."""
        xs = list(self.program.inputs if inputs is None else inputs)
        leaves = [Value(x, f"x_{j}") for j, x in enumerate(xs, start=1)]
        slots = self.program.run(VALUE_OPS, leaves)
        flat = [t for ts in self.targets for t in ts] if targets is None else list(targets)
        t_leaves = [Value(t, f"t_{k}") for k, t in enumerate(flat, start=1)]
        split = len(leaves) - self.n_parameters
        if self.loss == "none":
            return slots[-1], leaves[:split], leaves[split:]
        tk = iter(t_leaves)
        ys: list[list[Value]] = []
        ts = [[next(tk) for _ in outs] for outs in self.examples]
        for outs in self.examples:
            logits = [slots[i] for i in outs]
            if self.loss.startswith("bce"):
                ys.append([a.sigmoid() for a in logits])
            elif self.loss.startswith("cce"):
                ys.append(softmax(logits))
            else:
                ys.append(logits)
        reduction = "mean" if self.mean else "sum"
        paired = self.loss.endswith(" paired")
        if self.loss == "squared_error":
            E = squared_error(ys, ts, reduction)
        elif self.loss.startswith("bce"):
            E = binary_cross_entropy(ys, ts, reduction, paired=paired)
        else:
            E = categorical_cross_entropy(ys, ts, reduction, paired=paired)
        return E, [*leaves[:split], *t_leaves], leaves[split:]


@st.composite
def loss_cases(draw: st.DrawFn) -> LossCase:
    program = draw(programs(max_operations=10))
    loss = draw(st.sampled_from(LOSSES))
    slot = st.integers(0, program.n_slots - 1)
    n_examples = draw(st.integers(1, 3))
    k = draw(st.integers(2, 3)) if loss.startswith("cce") else draw(st.integers(1, 2))
    examples = tuple(tuple(draw(st.lists(slot, min_size=k, max_size=k))) for _ in range(n_examples))
    unit = st.floats(0.0, 1.0)
    target = unit if loss != "squared_error" else st.floats(-2.0, 2.0)
    targets = tuple(tuple(draw(st.lists(target, min_size=k, max_size=k))) for _ in range(n_examples))
    return LossCase(
        program,
        loss,
        examples,
        targets,
        draw(st.booleans()),
        draw(st.integers(0, len(program.inputs))),
    )


def any_floats() -> st.SearchStrategy[float]:
    """Anything: special values included."""
    return st.one_of(
        st.floats(-3.0, 3.0),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-320, -1e308, 710.0, -745.0]),
    )


def check_case(case: LossCase, data: st.DataObject) -> None:
    root, inputs, parameters = case.build()
    graph = compile_graph(root, inputs, parameters)
    leaves = [*inputs, *parameters]
    expected = eager(root, leaves)
    result = graph([v.data for v in inputs], [v.data for v in parameters])
    assert same(result.value, root.data)
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")

    # accumulating into given gradients: the signs of zeros agree too
    start = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=len(leaves), max_size=len(leaves)))
    expected = eager(root, leaves, start)
    acc = compile_graph(root, inputs, parameters, accumulate=True)
    result = acc([v.data for v in inputs], [v.data for v in parameters], start)
    assert_same([*result.input_grads, *result.parameter_grads], expected, "accumulated", zero_sign=True)

    # new inputs, parameters and targets: a fresh eager graph
    n_x = len(case.program.inputs)
    new_x = data.draw(st.lists(any_floats(), min_size=n_x, max_size=n_x))
    n_t = sum(len(t) for t in case.targets)
    unit = st.floats(0.0, 1.0) if case.loss != "squared_error" else st.floats(-1e3, 1e3)
    new_t = data.draw(st.lists(unit, min_size=n_t, max_size=n_t))
    root2, inputs2, parameters2 = case.build(new_x, new_t)
    expected = eager(root2, [*inputs2, *parameters2])
    result = graph([v.data for v in inputs2], [v.data for v in parameters2])
    assert same(result.value, root2.data), (result.value, root2.data)
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad at new numbers")


@settings(deadline=None)
@given(loss_cases(), st.data())
def test_random_graphs_with_every_operation_and_loss(case: LossCase, data: st.DataObject) -> None:
    check_case(case, data)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_is_compiled(loss: str) -> None:
    """One fixed case per error function (hypothesis might not draw each)."""
    program = Program((0.5, -1.25), ())
    case = LossCase(program, loss, ((0, 1), (1, 0)), ((0.25, 0.75), (1.0, 0.0)), loss == "cce paired", 1)
    root, inputs, parameters = case.build()
    expected_op = {
        "none": "",
        "squared_error": "squared error",
        "bce paired": "sigmoid cross-entropy",
        "bce unpaired": "binary cross-entropy",
        "cce paired": "softmax cross-entropy",
        "cce unpaired": "categorical cross-entropy",
    }[loss]
    if loss == "none":
        assert root.op == ""
    else:
        assert root.parents[0].op == expected_op or root.parents[0].parents[0].op == expected_op
    graph = compile_graph(root, inputs, parameters)
    result = graph([v.data for v in inputs], [v.data for v in parameters])
    assert_same([*result.input_grads, *result.parameter_grads], eager(root, [*inputs, *parameters]), "grad")


def test_every_operation_appears_in_the_random_graphs() -> None:
    """The strategy reaches every operation the compiler has a template for."""
    seen: set[str] = set()

    @settings(max_examples=1000, deadline=None, derandomize=True)  # the same graphs every run: no chance miss
    @given(loss_cases())
    def collect(case: LossCase) -> None:
        root, _, _ = case.build()
        stack, visited = [root], set()
        while stack:
            v = stack.pop()
            if id(v) not in visited:
                visited.add(id(v))
                seen.add(v.op)
                stack.extend(v.parents)

    collect()
    ops = {*primitives.OPERATIONS, "const"}  # every operation of the table
    assert ops <= seen, ops - seen


# --------------------------------------------------------------------------- special numbers


#: One graph per operation (of leaves a, b, c), so that one operation's nan or inf cannot hide another's.
OPERATIONS: dict[str, Callable[[Value, Value, Value], Value]] = {
    "+": lambda a, b, c: a + b,
    "-": lambda a, b, c: a - b,
    "*": lambda a, b, c: a * b,
    "/": lambda a, b, c: a / b,
    "neg": lambda a, b, c: -a,
    "** value": lambda a, b, c: a**b,
    "** 2": lambda a, b, c: a**2.0,
    "** -1.5": lambda a, b, c: a**-1.5,
    "2 **": lambda a, b, c: 2.0**a,
    "exp": lambda a, b, c: a.exp(),
    "log": lambda a, b, c: a.log(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "tanh": lambda a, b, c: a.tanh(),
    "relu": lambda a, b, c: a.relu() * b,
    "identity": lambda a, b, c: a.identity(),
    "linear": lambda a, b, c: linear([a, b], [b, c], c),
    "sum": lambda a, b, c: sum_values([a, b, c, a]),
    "softmax": lambda a, b, c: softmax([a, b, c])[0] * softmax([a, b, c])[2],
    "a * a": lambda a, b, c: a * a,
    # c is the target (a leaf, as the losses make targets): folded into [0, 1] by operation_graph
    "squared error": lambda a, b, c: squared_error(a, c),
    "binary cross-entropy": lambda a, b, c: binary_cross_entropy(a.sigmoid(), c, paired=False),
    "sigmoid cross-entropy": lambda a, b, c: binary_cross_entropy(a.sigmoid(), c),
    "categorical cross-entropy": lambda a, b, c: categorical_cross_entropy(
        softmax([a, b]), [c, c], paired=False
    ),
    "softmax cross-entropy": lambda a, b, c: categorical_cross_entropy(softmax([a, b]), [c, c]),
}


def operation_graph(op: str, xs: Sequence[float]) -> tuple[Value, list[Value]]:
    """``(root, [a, b, c])``; for an error function ``c``, the target, is the number the losses accept."""
    a, b, c = (Value(x, n) for x, n in zip(fold(op, xs), "abc"))
    return OPERATIONS[op](a, b, c), [a, b, c]


def fold(op: str, xs: Sequence[float]) -> list[float]:
    """An error function's target ``c`` folded into [0, 1] (the losses refuse others when they build E)."""
    a, b, c = xs
    if "error" in op or "entropy" in op:
        c = abs(c) % 1.0 if math.isfinite(c) else 0.5
    return [a, b, c]


@settings(deadline=None)
@given(st.lists(any_floats(), min_size=3, max_size=3), st.lists(any_floats(), min_size=3, max_size=3))
def test_special_numbers_at_trace_and_at_call(first: list[float], second: list[float]) -> None:
    """nan, inf, -0.0, overflow and underflow give what the engine gives, at the trace and after."""
    for op in OPERATIONS:
        root, leaves = operation_graph(op, [0.5, -1.5, 0.25])
        graph = compile_graph(root, leaves, [])
        for xs in (first, second):
            root2, leaves2 = operation_graph(op, xs)
            expected = eager(root2, leaves2)
            result = graph(fold(op, xs), [])
            assert same(result.value, root2.data), (op, xs, result.value, root2.data)
            assert_same(result.input_grads, expected, f"{op} at {xs}: grad")


@pytest.mark.parametrize("op", list(OPERATIONS))
@pytest.mark.parametrize(
    "xs",
    [
        *([0.0, 1.0, 0.5], [-0.0, -1.0, 0.5], [math.nan, 1.0, 0.5], [math.inf, 2.0, 0.5]),
        *([-math.inf, -2.0, 0.5], [1e-320, 0.0, 0.0], [800.0, -800.0, 1.0], [-3.0, 0.5, 1.0]),
        [0.0, -0.0, -0.0],
    ],
    ids=repr,
)
def test_special_numbers_per_operation(op: str, xs: list[float]) -> None:
    """Kinks, zeros of either sign, nan and inf for each operation (cases hypothesis may not draw)."""
    root, leaves = operation_graph(op, [0.5, -1.5, 0.25])
    graph = compile_graph(root, leaves, [])
    root2, leaves2 = operation_graph(op, xs)
    expected = eager(root2, leaves2)
    result = graph(fold(op, xs), [])
    assert same(result.value, root2.data), (result.value, root2.data)
    assert_same(result.input_grads, expected, "grad")


def test_sums_are_the_builtin_sum_exactly() -> None:
    """``0.0 + ...`` (or a call of ``sum``) keeps sum's zero sign and rounding."""
    cases = [[-0.0], [-0.0, -0.0], [1e100, 1.0, -1e100], [0.1] * 10, [-0.0, 1e-320, -1e-320]]
    for xs in cases:
        leaves, bias = [Value(x) for x in xs], Value(-0.0)
        total = sum_values(leaves)
        dot = linear(leaves, leaves, bias)
        for root in (total, dot):
            graph = compile_graph(root, leaves, [bias])
            assert same(graph(xs, [-0.0]).value, root.data, zero_sign=True), (xs, root.op)


def test_long_sums_and_many_uses_are_split_into_lines() -> None:
    """A 5,000-term sum and a leaf used 5,000 times: one line of each would overflow the compiler."""
    n = 5000
    x = Value(0.5, "x")
    w = [Value(0.001 * k, "w") for k in range(n)]
    root = sum_values([wk * x for wk in w])
    graph = compile_graph(root, [x], w)
    expected = eager(root, [x, *w])
    result = graph([0.5], [v.data for v in w])
    assert result.value == root.data
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")
    for line in graph.source.splitlines():
        if line.lstrip().startswith(("d_", "sum")):
            assert line.count(" + ") < compiler._CHUNK


def test_a_deep_chain_compiles() -> None:
    v0 = Value(0.5, "v")
    v = v0
    for _ in range(5000):
        v = v * 1.0001 + 0.0001
    graph = compile_graph(v, [v0], [])
    assert graph([0.5], []).input_grads[0] == eager(v, [v0])[0]


# ------------------------------------------------------------------------------- random MLPs


def case_loss(case: NetworkCase) -> Callable[[MLP, list[list[Value]], list[Any]], Value]:
    """``loss_fn(model, xs, ts)`` for the case's error function, on the given target leaves."""

    def loss_fn(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
        ys = [model(x) for x in xs]
        if case.loss == "binary_cross_entropy":
            return binary_cross_entropy(ys, ts)
        if case.loss == "categorical_cross_entropy":
            return categorical_cross_entropy(ys, ts)
        return squared_error(ys, ts)

    return loss_fn


def eager_step(
    case: NetworkCase, model: MLP, xs: list[list[float]], ts: list[Any]
) -> tuple[float, list[float]]:
    E = case_loss(case)(model, [model.inputs(x) for x in xs], ts)
    E.backward()
    return E.data, [p.grad for p in model.parameters()]


def shift(model: MLP, amount: float) -> None:
    for k, p in enumerate(model.parameters()):
        p.data = p.data * (1.0 - amount) + amount * math.sin(k)


@settings(deadline=None)
@given(networks(max_examples=4), st.data())
def test_random_mlps(case: NetworkCase, data: st.DataObject) -> None:
    model, reference = case.build(), case.build()
    loss = CompiledLoss(model, case_loss(case))
    for step in range(3):
        E = loss(case.x, case.t)
        E_eager, g_eager = eager_step(case, reference, case.x, case.t)
        assert same(E, E_eager)
        # accumulate=True: bit for bit, the signs of zero gradients included
        assert_same([p.grad for p in model.parameters()], g_eager, f"step {step}", zero_sign=True)
        # new parameter values (and, after the first step, new inputs): no re-trace
        amount = data.draw(st.floats(0.0, 0.5))
        shift(model, amount)
        shift(reference, amount)
        for m in (model, reference):
            m.zero_grad()
        n = len(case.x[0])
        case = NetworkCase(
            case.weights,
            case.biases,
            case.activations,
            [data.draw(st.lists(st.floats(-2.0, 2.0), min_size=n, max_size=n)) for _ in case.x],
            case.t,
            case.loss,
        )
    assert loss.traces == 1


@settings(deadline=None)
@given(networks(max_examples=3))
def test_random_mlps_through_compile_graph(case: NetworkCase) -> None:
    """The input gradients too: dE/dx, dE/dt."""
    model = case.build()
    x_leaves = [model.inputs([Value(v) for v in x]) for x in case.x]
    t_leaves: list[Any] = []
    flat_t: list[Value] = []
    for t in case.t:
        if isinstance(t, list):
            t_leaves.append([Value(tk) for tk in t])
            flat_t.extend(t_leaves[-1])
        elif case.loss == "categorical_cross_entropy":
            k = len(model.layers[-1].neurons)
            t_leaves.append([Value(1.0 if j == t else 0.0) for j in range(k)])
            flat_t.extend(t_leaves[-1])
        else:
            t_leaves.append(Value(float(t)))
            flat_t.append(t_leaves[-1])
    E = case_loss(case)(model, x_leaves, t_leaves)
    inputs = [*(v for x in x_leaves for v in x), *flat_t]
    graph = compile_graph(E, inputs, model.parameters())
    expected = eager(E, [*inputs, *model.parameters()])
    result = graph([v.data for v in inputs], [p.data for p in model.parameters()])
    assert same(result.value, E.data)
    assert_same([*result.input_grads, *result.parameter_grads], expected, "grad")


# ----------------------------------------------------------------------- training, re-tracing


def data_set(n: int, d: int = 2, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    xs = [[math.sin(seed + 3.0 * k + j) for j in range(d)] for k in range(n)]
    return xs, [math.cos(k + seed) for k in range(n)]


def sse(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
    return squared_error([model(x) for x in xs], ts)


def eager_loss(
    model: MLP, xs: list[list[float]], ts: list[Any], loss_fn: Any = sse
) -> tuple[float, list[float]]:
    saved = [p.grad for p in model.parameters()]
    model.zero_grad()
    E = loss_fn(model, [model.inputs(x) for x in xs], ts)
    E.backward()
    grads = [p.grad for p in model.parameters()]
    for p, g in zip(model.parameters(), saved):
        p.grad = g
    return E.data, grads


def assert_step_matches_eager(loss: CompiledLoss, xs: list[list[float]], ts: list[Any]) -> None:
    model = loss.model
    E_eager, g_eager = eager_loss(model, xs, ts, loss.loss_fn)
    model.zero_grad()
    E = loss(xs, ts)
    assert same(E, E_eager)
    assert_same([p.grad for p in model.parameters()], g_eager, "grad", zero_sign=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.GradientDescent(ps, lr=0.05),
        lambda ps: optim.SGD(ps, lr=0.05),
        lambda ps: optim.Momentum(ps, lr=0.05, momentum=0.8),
        lambda ps: optim.Adam(ps, lr=0.01),
    ],
    ids=["GradientDescent", "SGD", "Momentum", "Adam"],
)
@pytest.mark.parametrize("batch_size", [None, 4])
def test_train_compiled_is_train_eager(
    make: Callable[[list[Value]], optim.Optimizer], batch_size: int | None
) -> None:
    X, t = data_set(10)
    histories, weights = [], []
    for compiled in (False, True):
        model = MLP(2, [4, 3, 1], activations=["tanh", "relu", "identity"], seed=1)
        history = training.train(
            model, sse, X, t, make(model.parameters()), epochs=4, batch_size=batch_size, compiled=compiled
        )
        histories.append(history.loss)
        weights.append([p.data for p in model.parameters()])
    assert histories[0] == histories[1]
    assert weights[0] == weights[1]


def test_a_hand_written_loop_with_an_optimiser() -> None:
    X, t = data_set(8)
    model, reference = (MLP(2, [3, 1], activations=["sigmoid", "identity"], seed=4) for _ in range(2))
    loss = CompiledLoss(model, sse)
    opt, opt_ref = optim.Adam(model.parameters(), lr=0.05), optim.Adam(reference.parameters(), lr=0.05)
    for _ in range(5):
        opt.zero_grad()
        E = loss(X, t)
        opt.step()
        opt_ref.zero_grad()
        E_ref = sse(reference, [reference.inputs(x) for x in X], t)
        E_ref.backward()
        opt_ref.step()
        assert E == E_ref.data
    assert [p.data for p in model.parameters()] == [p.data for p in reference.parameters()]
    assert loss.traces == 1


def test_gradients_accumulate_as_backward_accumulates() -> None:
    X, t = data_set(5)
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=2)
    loss = CompiledLoss(model, sse)
    for p in model.parameters():
        p.grad = 0.1
    loss(X, t)
    loss(X, t)  # no zero_grad in between
    compiled = [p.grad for p in model.parameters()]
    for p in model.parameters():
        p.grad = 0.1
    for _ in range(2):
        sse(model, [model.inputs(x) for x in X], t).backward()
    assert_same(compiled, [p.grad for p in model.parameters()], "grad", zero_sign=True)


def test_architecture_changes_are_re_traced() -> None:
    X, t = data_set(6)
    model = MLP(2, [3, 2, 1], activations=["tanh", "sigmoid", "identity"], seed=3)
    loss = CompiledLoss(model, sse)
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 1
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 1

    # an activation changed on one unit
    model.layers[0].neurons[1].activation = "relu"
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 2

    # a parameter replaced by a new Value
    model.layers[1].neurons[0].W[1] = Value(0.7, "W[2]_12")
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 3

    # a unit's bias replaced
    model.layers[2].neurons[0].b = Value(-0.2, "b[3]_1")
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 4

    # a new model, with 3 features
    loss.model = MLP(3, [2, 1], activations=["sigmoid", "identity"], seed=5)
    X3, t3 = data_set(6, d=3)
    assert_step_matches_eager(loss, X3, t3)
    assert loss.traces == 5

    # a layer's activation (a softmax output) and a new loss function
    loss.model = MLP(3, [2, 3], activations=["tanh", "softmax"], seed=6)

    def cce(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
        return categorical_cross_entropy([model(x) for x in xs], ts)

    loss.loss_fn = cce
    labels = [0, 2, 1, 1, 0, 2]
    assert_step_matches_eager(loss, X3, labels)
    assert loss.traces == 6
    assert_step_matches_eager(loss, X3, [2, 2, 0, 1, 1, 0])  # new classes are new data
    assert loss.traces == 6
    assert_step_matches_eager(loss, X3, [[0.2, 0.3, 0.5]] * 6)  # probabilities: the same shape
    assert loss.traces == 6
    loss.model.layers[-1].activation = "sigmoid"
    for neuron in loss.model.layers[-1].neurons:
        neuron.activation = "sigmoid"
    loss.loss_fn = sse
    assert_step_matches_eager(loss, X3, [[0.2, 0.3, 0.5]] * 6)
    assert loss.traces == 7
    loss.model.layers[-1].activation = "softmax"  # the layer's alone: its units are still "sigmoid"
    assert_step_matches_eager(loss, X3, [[0.2, 0.3, 0.5]] * 6)
    assert loss.traces == 8


def test_data_structure_changes_are_re_traced() -> None:
    X, t = data_set(7)
    model = MLP(2, [3, 1], activations=["tanh", "identity"], seed=8)
    loss = CompiledLoss(model, sse)
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 1
    # another batch size
    assert_step_matches_eager(loss, X[:3], t[:3])
    assert loss.traces == 2
    # back to the first size: its compiled graph is kept
    assert_step_matches_eager(loss, X, t)
    assert loss.traces == 2
    # new numbers, same structure: no trace
    X2, t2 = data_set(7, seed=5)
    assert_step_matches_eager(loss, X2, t2)
    assert loss.traces == 2
    # a target as a list instead of a number (a structural input)
    assert_step_matches_eager(loss, X, [[v] for v in t])
    assert loss.traces == 3
    # the number of features: eager refuses, and so does the compiled step (it re-traces)
    X3, _ = data_set(7, d=3)
    with pytest.raises(ValueError, match="must have 2 features"):
        loss(X3, t)
    with pytest.raises(ValueError):
        eager_loss(model, X3, t)


def test_a_loss_function_that_reads_numbers_out_of_the_targets_is_refused() -> None:
    model = MLP(2, [1], activations="identity", seed=0)

    def frozen(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
        return squared_error([model(x) for x in xs], [t.data for t in ts])  # new leaves, not ours

    with pytest.raises(ValueError, match="neither an input nor a parameter"):
        CompiledLoss(model, frozen)([[1.0, 2.0]], [0.5])


# ----------------------------------------------------------------------------- bad arguments


def small_graph() -> tuple[Value, Value, Value]:
    x, w = Value(0.5, "x"), Value(-1.0, "w")
    return (w * x).tanh(), x, w


def custom_node() -> Value:
    x = Value(1.0, "x")
    return Value(2.0, "f", (x,), (2.0,), "custom")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda g, x, w: compile_graph(g, [x], []),
            ValueError,
            "'w' = -1.0 is neither an input nor a parameter",
        ),
        (lambda g, x, w: compile_graph(g, [x, x], [w]), ValueError, "listed twice"),
        (lambda g, x, w: compile_graph(g, [x], [w, x]), ValueError, "listed twice"),
        (
            lambda g, x, w: compile_graph(g, [x, 1.0], [w]),
            TypeError,
            r"inputs\[1\] must be a Value, got float",
        ),
        (
            lambda g, x, w: compile_graph(g, [x], ["w"]),
            TypeError,
            r"parameters\[0\] must be a Value, got str",
        ),
        (lambda g, x, w: compile_graph(g, x, [w]), TypeError, "inputs must be a list of Values, got Value"),
        (lambda g, x, w: compile_graph(g, [x], None), TypeError, "parameters must be a list of Values"),
        (lambda g, x, w: compile_graph(0.5, [x], [w]), TypeError, "root must be a Value, got float"),
        (lambda g, x, w: compile_graph(g, [x, g.parents[0]], [w]), ValueError, "must be leaves"),
        (lambda g, x, w: compile_graph(custom_node(), [], []), ValueError, "'x' = 1.0 is neither"),
    ],
)
def test_compile_graph_bad_arguments(
    call: Callable[..., object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(*small_graph())


def test_an_operation_without_a_template_is_named() -> None:
    node = custom_node()
    with pytest.raises(ValueError, match="cannot compile operation 'custom'"):
        compile_graph(node, [node.parents[0]], [])


def test_a_graph_computed_under_no_grad_has_leaves_that_are_not_listed() -> None:
    x = Value(1.0, "x")
    with no_grad():
        frozen = x * 2.0
    with pytest.raises(ValueError, match="neither an input nor a parameter"):
        compile_graph(frozen + x, [x], [])


@pytest.mark.parametrize(
    ("inputs", "parameters", "error", "message"),
    [
        ([0.5, 1.0], [1.0], ValueError, "inputs must hold 1 numbers, got 2"),
        ([0.5], [], ValueError, "parameters must hold 1 numbers, got 0"),
        (["0.5"], [1.0], TypeError, r"inputs\[0\] must be a real number, got str"),
        ([None], [1.0], TypeError, r"inputs\[0\] must be a real number, got NoneType"),
        ([True], [1.0], TypeError, r"inputs\[0\] must be a real number, got bool"),
        ([0.5], [Value(1.0)], TypeError, r"parameters\[0\] must be a real number, got Value"),
        ([0.5], [1j], TypeError, r"parameters\[0\] must be a real number, got complex"),
        (0.5, [1.0], TypeError, "inputs must be a sequence of 1 numbers, got float"),
        ("5", [1.0], TypeError, "inputs must be a sequence of 1 numbers, got str"),
    ],
)
def test_compiled_graph_bad_arguments(
    inputs: Any, parameters: Any, error: type[Exception], message: str
) -> None:
    g, x, w = small_graph()
    graph = compile_graph(g, [x], [w])
    with pytest.raises(error, match=message):
        graph(inputs, parameters)


def test_compiled_graph_takes_ints_as_floats() -> None:
    x, w = Value(3.0), Value(2.0)
    graph = compile_graph(x**w, [x], [w])
    result = graph([10], [400])  # an int would overflow into a huge int; floats give inf
    assert result.value == math.inf and type(result.value) is float


def test_grads_only_with_accumulate() -> None:
    g, x, w = small_graph()
    with pytest.raises(TypeError, match="accumulate=True"):
        compile_graph(g, [x], [w])([0.5], [1.0], [0.0, 0.0])
    acc = compile_graph(g, [x], [w], accumulate=True)
    with pytest.raises(ValueError, match="grads must hold 2 numbers"):
        acc([0.5], [1.0], [0.0])
    assert acc([0.5], [-1.0]).parameter_grads == compile_graph(g, [x], [w])([0.5], [-1.0]).parameter_grads


@pytest.mark.parametrize(
    ("xs", "ts", "error", "message"),
    [
        ([[1.0, 2.0]], [0.5, 0.5], ValueError, "1 examples but 2 targets"),
        ([["1.0", 2.0]], [0.5], TypeError, "x_1 must hold real numbers, got str"),
        ([[True, 2.0]], [0.5], TypeError, "x_1 must hold real numbers, got bool"),
        (["12"], [0.5], TypeError, "x_1 must be a list of numbers, got str"),
        ([[math.nan, 2.0]], [0.5], ValueError, "inputs must be finite"),
        ([[1.0, 2.0]], [math.inf], ValueError, "t_1 must be finite"),
        ([[1.0, 2.0]], [True], TypeError, "target t_1 must be a number"),
        ([[1.0, 2.0]], ["a"], TypeError, "target t_1 must be a number"),
        ([[1.0, 2.0]], [[0.5, "a"]], TypeError, "target t_1 must hold real numbers"),
        ("xs", [0.5], TypeError, "xs must be a list, got str"),
        ([[1.0, 2.0, 3.0]], [0.5], ValueError, r"x must have 2 features \(x_1..x_2\), got 3"),
    ],
)
def test_compiled_loss_bad_arguments(xs: Any, ts: Any, error: type[Exception], message: str) -> None:
    loss = CompiledLoss(MLP(2, [1], activations="identity", seed=0), sse)
    with pytest.raises(error, match=message):
        loss(xs, ts)


def test_compiled_loss_bad_class_index() -> None:
    model = MLP(2, [3], activations="softmax", seed=0)
    loss = CompiledLoss(model, lambda m, xs, ts: categorical_cross_entropy([m(x) for x in xs], ts))
    with pytest.raises(ValueError, match=r"class index t_1 = 3 is not in 0..2"):
        loss([[1.0, 2.0]], [3])


def test_compiled_loss_bad_construction() -> None:
    with pytest.raises(TypeError, match="model must be an MLP"):
        CompiledLoss("model", sse)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        CompiledLoss(MLP(1, [1], "sigmoid"), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        CompiledLoss(MLP(1, [1], "sigmoid"), lambda m, xs, ts: 0.0)([[1.0]], [0.0])  # type: ignore[arg-type,return-value]


# ------------------------------------------------------------------------------- edge graphs


def test_root_that_is_a_leaf_and_root_that_is_a_constant() -> None:
    x = Value(2.0, "x")
    assert compile_graph(x, [x], [])([5.0], []) == compiler.CompiledResult(5.0, (1.0,), ())
    c = Value.constant(3.5)
    assert compile_graph(c, [], [x])([], [1.0]) == compiler.CompiledResult(3.5, (), (0.0,))


def test_a_constant_listed_as_an_input_is_an_input() -> None:
    c, x = Value.constant(2.0), Value(3.0, "x")
    graph = compile_graph(x * c, [x, c], [])
    assert graph([3.0, 5.0], []) == compiler.CompiledResult(15.0, (5.0, 3.0), ())


def test_unused_leaves_get_zero() -> None:
    x, u = Value(2.0, "x"), Value(1.0, "unused")
    graph = compile_graph(x * x, [x, u], [Value(0.0, "p")])
    result = graph([2.0, 1.0], [0.0])
    expected = eager(x * x, [x, u])
    assert_same([*result.input_grads, *result.parameter_grads], [*expected, 0.0], "grad", zero_sign=True)


def test_input_grads_false_skips_the_inputs() -> None:
    g, x, w = small_graph()
    full = compile_graph(g, [x], [w])
    lean = compile_graph(g, [x], [w], input_grads=False)
    assert lean([0.5], [-1.0]).input_grads == ()
    assert lean([0.5], [-1.0]).parameter_grads == full([0.5], [-1.0]).parameter_grads
    assert "d_x" not in lean.source


def test_softmax_outputs_that_underflow_alike_still_compile_to_the_right_outputs() -> None:
    """y_2 and y_3 are both 0.0 at the trace; each node records its k, so new logits tell them apart."""
    a = [Value(0.0, "a_1"), Value(-800.0, "a_2"), Value(-900.0, "a_3")]
    y = softmax(a)
    assert y[1].data == y[2].data == 0.0
    root = y[1] * 2.0 + y[2]
    graph = compile_graph(root, a, [])
    new = [Value(0.3, "a_1"), Value(0.2, "a_2"), Value(-0.1, "a_3")]
    fresh = softmax(new)
    expected = fresh[1] * 2.0 + fresh[2]
    result = graph([0.3, 0.2, -0.1], [])
    assert result.value == expected.data
    assert_same(result.input_grads, eager(expected, new), "grad")


def test_a_softmax_node_not_made_by_softmax_is_refused() -> None:
    x = Value(0.5, "x")
    fake = Value(0.5, "y", (x,), (1.0,), "softmax")
    with pytest.raises(ValueError, match="did not make"):
        compile_graph(fake, [x], [])


def test_one_softmax_vector_per_softmax() -> None:
    a = [Value(0.5, "a_1"), Value(-0.5, "a_2"), Value(1.5, "a_3")]
    y = softmax(a)
    root = y[0] * y[1] + y[2]
    graph = compile_graph(root, a, [])
    assert graph.source.count("_softmax(") == 1
    assert_same(graph([0.5, -0.5, 1.5], []).input_grads, eager(root, a), "grad")


def test_the_same_parent_twice() -> None:
    x = Value(-3.0, "x")
    root = x * x + x / x
    graph = compile_graph(root, [x], [])
    assert_same(graph([-3.0], []).input_grads, eager(root, [x]), "grad")


def iter_lines(source: str) -> Iterator[str]:
    yield from (line.strip() for line in source.splitlines())


def test_accumulate_source_starts_each_parameter_from_its_grad() -> None:
    model, inputs, E = worked_graph()
    graph = compile_graph(E, inputs, model.parameters(), input_grads=False, accumulate=True)
    lines = list(iter_lines(graph.source))
    assert lines[0] == "def forward_backward(inputs, parameters, grads):"
    assert "d_W3_11 = d_W3_11 + d_a3_1 * z2_1" in lines
    start = [0.25] * 15
    result = graph([*X, T], [p.data for p in model.parameters()], start)
    assert_same(result.parameter_grads, eager(E, model.parameters(), start), "grad", zero_sign=True)
