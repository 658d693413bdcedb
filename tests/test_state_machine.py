"""A hypothesis state machine grows random graphs operation by operation and checks every number.

Each rule applies one operation (unary, binary, with a constant, ``sum_values``, ``linear``,
``softmax``) to nodes made earlier, so subexpressions are shared; guards from
:class:`~micrograd_lite.testing.programs.GraphBuilder` keep it differentiable where drawn. The graph
is recorded as a :class:`~micrograd_lite.testing.programs.Program`, so it can be re-evaluated
independently. Checked against two naive references that share no code with the backward pass:

* every node's value against a 50-digit mpmath evaluation of the program (after every step);
* after ``backward()`` from a random node, every gradient against

  - the sum over all paths to the root of the product of the local derivatives along the path,
    enumerated one path at a time (exponential, so only on small graphs), and
  - a central difference of the program in mpmath with respect to that node (its delta), at a
    precision chosen so that the difference resolves the derivative to 25 digits.

Tolerances come from :func:`~micrograd_lite.testing.programs.error_scales`: ``|ours - ref| <=
rtol * G`` with ``G`` the sum over paths of absolute products (what rounding errors scale with), and
``1e-300`` absolute for the subnormal range.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import mpmath
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from micrograd_lite import Value, sum_values, topological_order
from micrograd_lite.testing.profiles import EXAMPLES, chosen_profile
from micrograd_lite.testing.programs import (
    BINARY,
    UNARY,
    VALUE_OPS,
    WITH_CONSTANT,
    GraphBuilder,
    Program,
    apply_step,
    mpmath_ops,
)
from micrograd_lite.testing.tolerances import error_scales

TINY = 1e-300  # below this, subnormal rounding is absolute, not relative
PATH_BUDGET = 100_000  # path enumeration is exponential; beyond this many paths it is skipped


def path_sums(root: Value) -> tuple[dict[Value, float], dict[Value, float]] | None:
    """For every node: the sum over all paths node -> root of the product of local derivatives.

    The lecture's definition of the gradient, enumerated naively: one stack entry per path, no
    reuse of partial sums. Returns ``(sum of products, sum of |products|)``, or None past the budget.
    """
    total: dict[Value, float] = defaultdict(float)
    absolute: dict[Value, float] = defaultdict(float)
    stack: list[tuple[Value, float]] = [(root, 1.0)]
    paths = 0
    while stack:
        node, product = stack.pop()
        total[node] += product
        absolute[node] += abs(product)
        paths += 1
        if paths > PATH_BUDGET:
            return None
        for parent, local in zip(node.parents, node.local_grads):
            stack.append((parent, product * local))
    return total, absolute


class MpReference:
    """Derivatives of slot ``root`` of a program by central differences in mpmath.

    The step is 2^-60 times the smallest nonzero magnitude among the slots (and 1), so the
    perturbation is tiny next to every number it meets (truncation error ~1e-36 relative). The
    precision starts where both the step and the change it makes to the root (about
    ``step * grad_scale``) are resolved next to the largest slot, and grows until two precisions
    agree to 1e-20 of the gradient scale: ``log(x*x + 1)`` at ``x = 1e-190`` needs over 400 digits.
    """

    def __init__(self, program: Program, root: int) -> None:
        self.program, self.root = program, root
        magnitudes = [abs(float(v)) for v in program.run(mpmath_ops())[: root + 1]]
        self.scale = min([m for m in magnitudes if m > 0.0] + [1.0])
        self.log_largest = math.log10(max([*magnitudes, 1.0]))
        self.runs: dict[int, list[Any]] = {}  # digits -> every slot at that precision

    def slots(self, digits: int) -> list[Any]:
        if digits not in self.runs:
            self.runs[digits] = self.program.run(mpmath_ops(), [mpmath.mpf(x) for x in self.program.inputs])
        return self.runs[digits]

    def perturbed(self, digits: int, slot: int, value: Any) -> Any:
        """Slot ``root`` with slot ``slot`` set to ``value``: only the steps after it are rerun."""
        n = len(self.program.inputs)
        start = max(slot + 1, n)  # the first slot that a step writes after ``slot``
        slots = list(self.slots(digits)[:start])
        slots[slot] = value
        ops = mpmath_ops()
        for step in self.program.steps[start - n : self.root + 1 - n]:
            slots.append(apply_step(step, slots, ops))
        return slots[self.root]

    def delta(self, slot: int, grad_scale: float) -> float:
        log_h = math.log10(self.scale) - 60 * math.log10(2.0)
        digits = max(
            50,
            int(self.log_largest - log_h) + 30,  # the step, next to the largest slot
            int(self.log_largest - log_h - math.log10(grad_scale)) + 25,  # the change it makes
        )
        previous = None
        for _ in range(8):
            with mpmath.workdps(digits):
                base = self.slots(digits)[slot]
                h = mpmath.ldexp(mpmath.mpf(self.scale), -60)
                g = (self.perturbed(digits, slot, base + h) - self.perturbed(digits, slot, base - h)) / (
                    2 * h
                )
                if previous is not None and abs(g - previous) <= mpmath.mpf(grad_scale) * 1e-20:
                    return float(g)
            previous = g
            digits = digits * 3 // 2
        raise AssertionError(
            f"no precision up to {digits} digits resolves d slot {self.root} / d slot {slot}"
        )


def same(a: float, b: float, tolerance: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tolerance


inputs = st.floats(-2.0, 2.0, allow_nan=False)


class GraphMachine(RuleBasedStateMachine):
    nodes = Bundle("nodes")

    def __init__(self) -> None:
        super().__init__()
        self.builder: GraphBuilder
        self.values: list[Value] = []  # the Value of every slot of the program
        self.data: st.DataObject | None = None
        self.checks = 0

    def uniform(self, lo: float, hi: float) -> float:
        """The builder's constants, drawn by the rule that needs them."""
        assert self.data is not None
        return self.data.draw(st.floats(lo, hi), label="constant")

    def built(self, slot: int) -> int:
        """Turn the builder's new steps (guards included) into Values: the engine's own operations."""
        for step in self.builder.steps[len(self.values) - len(self.builder.inputs) :]:
            self.values.append(apply_step(step, self.values, VALUE_OPS))
        assert len(self.values) == len(self.builder.values)
        return slot

    # ----------------------------------------------------------------------------- rules
    @initialize(target=nodes, xs=st.lists(inputs, min_size=1, max_size=3))
    def make_inputs(self, xs: list[float]) -> Any:
        self.builder = GraphBuilder(xs, self.uniform)
        self.values = [Value(x, label=f"x_{j}") for j, x in enumerate(self.builder.inputs, start=1)]
        return multiple(*range(len(xs)))

    @rule(target=nodes, op=st.sampled_from(UNARY), a=nodes, data=st.data())
    def unary(self, op: str, a: int, data: st.DataObject) -> int:
        self.data = data
        return self.built(self.builder.unary(op, a))

    @rule(target=nodes, op=st.sampled_from(BINARY), a=nodes, b=nodes, data=st.data())
    def binary(self, op: str, a: int, b: int, data: st.DataObject) -> int:
        self.data = data
        return self.built(self.builder.binary(op, a, b))

    @rule(target=nodes, op=st.sampled_from(WITH_CONSTANT), a=nodes, data=st.data())
    def with_constant(self, op: str, a: int, data: st.DataObject) -> int:
        self.data = data
        return self.built(self.builder.with_constant(op, a))

    @rule(target=nodes, terms=st.lists(nodes, min_size=1, max_size=4))
    def sum_of(self, terms: list[int]) -> int:
        return self.built(self.builder.sum(terms))

    @rule(
        target=nodes,
        w=st.lists(nodes, min_size=1, max_size=3),
        z=st.lists(nodes, min_size=1, max_size=3),
        b=nodes,
    )
    def linear_of(self, w: list[int], z: list[int], b: int) -> int:
        n = min(len(w), len(z))
        return self.built(self.builder.linear(w[:n], z[:n], b))

    @rule(target=nodes, logits=st.lists(nodes, min_size=2, max_size=4), k=st.integers(0, 3), data=st.data())
    def softmax_of(self, logits: list[int], k: int, data: st.DataObject) -> int:
        self.data = data
        return self.built(self.builder.softmax(logits, k % len(logits)))

    @precondition(lambda self: len(self.values) > 1)
    @rule(root=nodes)
    def backward_from(self, root: int) -> None:
        self.check_gradients(root)

    # ------------------------------------------------------------------------ the checks
    @invariant()
    def values_match_mpmath(self) -> None:
        if not self.values:
            return
        value_scale, _ = error_scales(sum_values(self.values))
        with mpmath.workdps(50):
            exact = self.builder.program().run(mpmath_ops(), [mpmath.mpf(x) for x in self.builder.inputs])
        for k, (v, e) in enumerate(zip(self.values, exact)):
            assert same(v.data, float(e), 1e-9 * value_scale[v] + TINY), f"slot {k}: {v.data!r} vs {e}"

    def check_gradients(self, root_slot: int) -> None:
        root = self.values[root_slot]
        order = topological_order(root)
        for node in order:
            node.grad = 0.0  # leaves accumulate; start every check from zero
        root.backward()
        self.checks += 1
        paths = path_sums(root)
        if paths is not None:
            total, absolute = paths
            assert set(total) == set(order)
            for node in order:
                assert same(node.grad, total[node], 1e-12 * absolute[node] + TINY), (node, total[node])
        _, grad_scale = error_scales(root)
        program = Program(
            self.builder.inputs, tuple(self.builder.steps[: root_slot - len(self.builder.inputs) + 1])
        )
        reference = MpReference(program, root_slot)
        for slot, v in enumerate(self.values[: root_slot + 1]):
            if v not in grad_scale:
                continue  # root does not depend on this slot
            if grad_scale[v] == 0.0:
                assert v.grad == 0.0
                continue
            if math.isinf(grad_scale[v]):
                continue  # a derivative formula is singular here (0 ** n): no error bound to test against
            exact = reference.delta(slot, grad_scale[v])
            assert same(v.grad, exact, 1e-9 * grad_scale[v] + TINY), (slot, v.grad, exact)

    def teardown(self) -> None:
        if len(self.values) > 1:  # the whole graph: every node's delta towards the sum of all
            self.values.append(sum_values(self.values))
            self.builder.emit("sum", range(len(self.values) - 1))
            self.check_gradients(len(self.values) - 1)


GraphMachine.TestCase.settings = settings(
    max_examples=EXAMPLES[chosen_profile()], stateful_step_count=30, deadline=None
)
TestGraphMachine = GraphMachine.TestCase
