"""``micrograd_lite.testing``: gradcheck, numerical_grad, the program interpreters and the strategies.

The largest test here checks at least 10,000 random expression graphs per CI run against central
differences (``test_random_graphs_pass_gradcheck``; the count is asserted, not assumed).
"""

from __future__ import annotations

import inspect
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import MLP, Value
from micrograd_lite.testing import GradcheckError, gradcheck, numerical_grad
from micrograd_lite.testing.profiles import EXAMPLES, GRAPHS_PER_EXAMPLE, chosen_profile, register_profiles
from micrograd_lite.testing.programs import (
    FLOAT_OPS,
    KINK,
    OPS,
    POSITIVE,
    SQUASH,
    VALUE_OPS,
    GraphBuilder,
    Program,
    Step,
    mpmath_ops,
)
from micrograd_lite.testing.strategies import networks, programs, safe_floats
from micrograd_lite.testing.tolerances import error_scales

# ------------------------------------------------------------------------------------ gradcheck


def wrong_square(x: Value) -> Value:
    """x^2 with the derivative 3x instead of 2x: a bug for gradcheck to find."""
    return Value(x.data * x.data, None, (x,), (3.0 * x.data,), "square")


def test_gradcheck_passes_and_returns_true() -> None:
    assert gradcheck(lambda x, w: (w * x + 2).tanh() ** 2, [0.5, Value(-1.5, label="w")]) is True


def test_gradcheck_has_pytorch_defaults() -> None:
    params = inspect.signature(gradcheck).parameters
    assert (params["eps"].default, params["atol"].default, params["rtol"].default) == (1e-6, 1e-5, 1e-3)
    assert inspect.signature(numerical_grad).parameters["eps"].default == 1e-6


def test_gradcheck_lists_every_mismatching_input_by_label() -> None:
    def f(x: Value, y: Value, z: Value) -> Value:
        return wrong_square(x) + wrong_square(y) + z * z

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [Value(1.5, label="x"), Value(-2.0, label="W[1]_12"), 0.25])
    message = str(info.value)
    assert "2 of 3 inputs" in message
    assert re.search(r"\n  x: analytic 4\.5, numeric (2\.9999|3\.0000)", message)  # 3x = 4.5, 2x = 3
    assert re.search(r"\n  W\[1\]_12: analytic -6\.0, numeric -(3\.9999|4\.0000)", message)
    assert "inputs[2]" not in message  # z is right
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed assertion
    assert [(m.index, m.label) for m in info.value.mismatches] == [(0, "x"), (1, "W[1]_12")]
    assert info.value.mismatches[0].analytic == 4.5
    assert info.value.mismatches[0].numeric == pytest.approx(3.0, rel=1e-8)


def test_gradcheck_labels_float_inputs_by_position() -> None:
    with pytest.raises(GradcheckError, match=r"inputs\[1\]: analytic"):
        gradcheck(lambda a, b: a + wrong_square(b), [1.0, 2.0])


def test_gradcheck_leaves_the_given_values_alone() -> None:
    x = Value(0.7, label="x")
    x.grad = 42.0
    gradcheck(lambda v: v.exp() * v, [x])
    assert (x.data, x.grad, x.label) == (0.7, 42.0, "x")


def test_gradcheck_tolerances_are_used() -> None:
    def off_by_a_little(x: Value) -> Value:  # derivative off by 1e-4 (relative 1e-4)
        return Value(x.data, None, (x,), (1.0 + 1e-4,), "almost identity")

    assert gradcheck(off_by_a_little, [1.0])  # within atol + rtol |numeric| = 1e-5 + 1e-3
    with pytest.raises(GradcheckError):
        gradcheck(off_by_a_little, [1.0], atol=1e-6, rtol=1e-6)


def test_gradcheck_catches_nan_gradients() -> None:
    def nan_grad(x: Value) -> Value:
        return Value(x.data, None, (x,), (math.nan,), "broken")

    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(nan_grad, [1.0])


def test_gradcheck_refuses_non_finite_output() -> None:
    with pytest.raises(GradcheckError, match="returned inf"):
        gradcheck(lambda x: x.exp(), [1000.0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gradcheck("f", [1.0]), TypeError, "fn must be callable"),
        (lambda: gradcheck(lambda x: 1.0, [1.0]), TypeError, "fn must return a Value, got float"),
        (lambda: gradcheck(lambda x: x, []), ValueError, "inputs is empty"),
        (lambda: gradcheck(lambda x: x, 1.0), TypeError, "inputs must be a sequence"),
        (lambda: gradcheck(lambda x: x, Value(1.0)), TypeError, "inputs must be a sequence"),
        (lambda: gradcheck(lambda x: x, ["1"]), TypeError, "inputs[0] must be a number or a Value, got str"),
        (lambda: gradcheck(lambda x: x, [math.nan]), ValueError, "inputs[0] (inputs[0]) must be finite"),
        (lambda: gradcheck(lambda x: x, [Value(math.inf, label="x")]), ValueError, "(x) must be finite"),
        (lambda: gradcheck(lambda x: x, [1.0], eps=0.0), ValueError, "eps must be a finite number > 0"),
        (lambda: gradcheck(lambda x: x, [1.0], atol=-1.0), ValueError, "atol must be a finite number >= 0"),
        (lambda: gradcheck(lambda x: x, [1.0], rtol="0.1"), TypeError, "rtol must be a real number"),
        (lambda: numerical_grad(lambda x: x, [1.0], eps=math.inf), ValueError, "eps must be"),
        (lambda: numerical_grad(lambda x: 2, [1.0]), TypeError, "fn must return a Value, got int"),
    ],
)
def test_gradcheck_bad_arguments(call: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_numerical_grad_is_the_central_difference() -> None:
    grads = numerical_grad(lambda x, y: x**3 * y, [2.0, Value(0.5, label="y")])
    assert grads[0] == pytest.approx(12.0 * 0.5, rel=1e-8)
    assert grads[1] == pytest.approx(8.0, rel=1e-8)
    eps = 1e-3  # exact for a quadratic: the central difference has no O(eps^2) error term for it
    assert numerical_grad(lambda x: x * x, [3.0], eps=eps)[0] == pytest.approx(6.0, abs=1e-12)


@given(x=safe_floats("any"), y=safe_floats("any"))
def test_numerical_grad_records_no_graph(x: float, y: float) -> None:
    seen: list[Value] = []

    def f(a: Value, b: Value) -> Value:
        out = a * b
        seen.append(out)
        return out

    numerical_grad(f, [x, y])
    assert all(node.parents == () for node in seen)  # evaluated under no_grad


# --------------------------------------------------------------------------- safe operands

UNARY_CHECKS: dict[str, Callable[[Value], Value]] = {
    "exp": Value.exp,
    "log": Value.log,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
}


@pytest.mark.parametrize("op", sorted(UNARY_CHECKS))
@given(data=st.data())
def test_safe_floats_give_finite_values_and_checkable_gradients(op: str, data: st.DataObject) -> None:
    x = data.draw(safe_floats(op), label="x")
    f = UNARY_CHECKS[op]
    out = f(Value(x))
    assert math.isfinite(out.data)
    gradcheck(lambda v: f(v) / max(1.0, abs(out.data)), [x], rtol=1e-4)


@given(a=safe_floats("any"), b=safe_floats("/"), base=safe_floats("**"), n=st.floats(-3.0, 3.0))
def test_safe_floats_for_division_and_powers(a: float, b: float, base: float, n: float) -> None:
    assert abs(b) >= 1e-3 and base >= 1e-3
    assert gradcheck(lambda u, v: u / v, [a, b], rtol=1e-4)
    scale = max(1.0, base**n * max(1.0, abs(math.log(base))))
    assert gradcheck(lambda u, v: u**v / scale, [base, n], rtol=1e-4)


def test_safe_floats_rejects_unknown_operations() -> None:
    with pytest.raises(ValueError, match="no safe domain for 'cbrt'"):
        safe_floats("cbrt")


# -------------------------------------------------------------------------------- programs


def example_program() -> Program:
    return Program(
        inputs=(0.5, -1.0),
        steps=(Step("*", (0, 1)), Step("+", (2,), 1.0), Step("log", (3,)), Step("sum", (2, 4))),
    )


def test_a_program_runs_on_values_floats_and_mpmath() -> None:
    p = example_program()
    expected = -0.5 + math.log(0.5)
    leaves, slots = p.values()
    assert [leaf.label for leaf in leaves] == ["x_1", "x_2"]
    assert slots[-1].data == expected
    assert p.run(FLOAT_OPS)[-1] == expected
    with mpmath.workdps(30):
        assert float(p.run(mpmath_ops(), [mpmath.mpf(x) for x in p.inputs])[-1]) == pytest.approx(expected)
    slots[-1].backward()
    # d/dx_1 of x_1 x_2 + log(x_1 x_2 + 1) = x_2 + x_2 / (x_1 x_2 + 1)
    assert leaves[0].grad == pytest.approx(-1.0 - 1.0 / 0.5)
    assert str(p).splitlines() == [
        "inputs: x_1 = 0.5, x_2 = -1.0",
        "v_2 = *(x_1, x_2)",
        "v_3 = +(v_2, c=1.0)",
        "v_4 = log(v_3)",
        "v_5 = sum(v_2, v_4)",
    ]


def test_program_overrides_make_it_a_function_of_an_interior_slot() -> None:
    p = example_program()  # output = v_2 + log(v_2 + 1): d output / d v_2 = 1 + 1 / (v_2 + 1)
    h = 1e-6
    up = p.run(FLOAT_OPS, overrides={2: -0.5 + h})[-1]
    down = p.run(FLOAT_OPS, overrides={2: -0.5 - h})[-1]
    assert (up - down) / (2 * h) == pytest.approx(1.0 + 1.0 / 0.5, rel=1e-8)
    with pytest.raises(ValueError, match="2 inputs, got 1"):
        p.run(FLOAT_OPS, [1.0])


def test_every_constant_form_of_a_step() -> None:
    for op, expected in {
        "+": 2.5,
        "-": 1.5,
        "*": 1.0,
        "/": 4.0,
        "**": 2.0**0.5,
        "r+": 2.5,
        "r-": -1.5,
        "r*": 1.0,
        "r/": 0.25,
        "r**": 0.5**2.0,
    }.items():
        step = Step(op, (0,), 0.5)
        program = Program((2.0,), (step,))
        assert program.values()[1][-1].data == expected, op
        assert program.run(FLOAT_OPS)[-1] == expected, op
    with pytest.raises(ValueError, match="unknown operation 'cbrt'"):
        Program((1.0,), (Step("cbrt", (0,)),)).run(FLOAT_OPS)


def test_builder_guards() -> None:
    constants = iter([1.0, 0.3, 0.5, 1.0])
    b = GraphBuilder([-3.0, 0.01, 12.0], lambda lo, hi: min(max(next(constants), lo), hi))
    log = b.unary("log", 0)  # -3 is no log argument: log(x*x + c) with c = 1
    assert [s.op for s in b.steps] == ["*", "+", "log"]
    assert b.values[log] == math.log(10.0)
    relu = b.unary("relu", 1)  # 0.01 is too near the kink: shifted by +-0.3
    n = len(b.inputs)  # slot k >= n is written by steps[k - n]
    assert abs(b.values[relu - 1]) >= KINK and b.steps[relu - 1 - n] == Step("+", (1,), 0.3)
    tanh = b.unary("tanh", 2)  # 12 is scaled by an exact power of two into [-4, 4]
    assert b.steps[tanh - 1 - n] == Step("*", (2,), 2.0**-2) and b.values[tanh - 1] == 3.0
    assert b.values[b.positive(0)] >= POSITIVE and abs(b.values[b.scaled(2, SQUASH)]) <= SQUASH
    with pytest.raises(ValueError, match="not a unary operation"):
        b.unary("+", 0)
    with pytest.raises(ValueError, match="inputs must lie in"):
        GraphBuilder([100.0], lambda lo, hi: lo)


@settings(deadline=None)
@given(programs())
def test_program_interpretations_agree(p: Program) -> None:
    """Values, plain floats and 40-digit mpmath agree on every slot of a random graph."""
    _, slots = p.values()
    floats = p.run(FLOAT_OPS)
    with mpmath.workdps(40):
        exact = [float(v) for v in p.run(mpmath_ops(), [mpmath.mpf(x) for x in p.inputs])]
    value_scale, _ = error_scales(slots[-1])
    for k, (v, f, e) in enumerate(zip(slots, floats, exact)):
        m = value_scale.get(v, abs(v.data))
        assert abs(v.data - f) <= 1e-12 * m, (k, p)
        assert abs(v.data - e) <= 1e-12 * m, (k, p)


def graphs_checked() -> int:
    """How many graphs ``test_random_graphs_pass_gradcheck`` checks under the current profile."""
    profile = chosen_profile()
    return EXAMPLES[profile] * GRAPHS_PER_EXAMPLE[profile]


def test_ci_checks_at_least_ten_thousand_graphs() -> None:
    assert EXAMPLES["ci"] * GRAPHS_PER_EXAMPLE["ci"] >= 10_000


def test_random_graphs_pass_gradcheck() -> None:
    """Random graphs over every operation pass gradcheck at PyTorch's tolerances.

    Also checks that the graphs are what the strategy promises: every operation is drawn and
    subexpressions are shared.
    """
    profile = chosen_profile()
    batch = GRAPHS_PER_EXAMPLE[profile]
    count = 0
    ops_seen: set[str] = set()
    shared = 0

    @settings(deadline=None, max_examples=EXAMPLES[profile])
    @given(st.lists(programs(), min_size=batch, max_size=batch))
    def check(batch_of_programs: list[Program]) -> None:
        nonlocal count, shared
        for p in batch_of_programs:
            assert gradcheck(p.function(VALUE_OPS), p.inputs), p
            count += 1
            ops_seen.update(step.op for step in p.steps)
            uses = [i for step in p.steps for i in set(step.args)]
            shared += len(uses) != len(set(uses))

    check()
    assert count >= graphs_checked()
    if profile == "ci":
        assert count >= 10_000
    assert ops_seen == set(OPS), f"never drawn: {set(OPS) - ops_seen}"
    assert shared >= count // 10


def test_programs_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="min_inputs"):
        programs(min_inputs=0)
    with pytest.raises(ValueError, match="input_range"):
        programs(input_range=100.0)


# -------------------------------------------------------------------------------- networks


def numeric_parameter_grads(case: Any, model: MLP, eps: float = 1e-6) -> list[float]:
    grads = []
    for p in model.parameters():
        original = p.data
        p.data = original + eps
        up = case.error(model).data
        p.data = original - eps
        down = case.error(model).data
        p.data = original
        grads.append((up - down) / (2 * eps))
    return grads


@settings(deadline=None)
@given(networks())
def test_networks_build_what_they_describe_and_pass_gradcheck(case: Any) -> None:
    model = case.build()
    assert model.sizes == case.sizes
    assert [layer.activation for layer in model.layers] == case.activations
    assert model.weights() == case.weights and model.biases() == case.biases
    E = case.error(model)
    assert math.isfinite(E.data)
    E.backward()
    analytic = [p.grad for p in model.parameters()]
    for a, n in zip(analytic, numeric_parameter_grads(case, model)):
        assert abs(a - n) <= 1e-5 + 1e-3 * abs(n)


# -------------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "dev"),
        ({"CI": "true"}, "ci"),
        ({"CI": "false"}, "dev"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "thorough"}, "thorough"),
        ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
    ],
)
def test_profile_is_chosen_by_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert chosen_profile() == expected


def test_register_profiles_loads_the_chosen_one(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
        assert register_profiles() == "thorough"
        assert settings().max_examples == EXAMPLES["thorough"]
        monkeypatch.setenv("HYPOTHESIS_PROFILE", "nightly")
        with pytest.raises(ValueError, match="must be one of dev, ci, thorough"):
            register_profiles()
    finally:
        monkeypatch.undo()
        register_profiles()


# ---------------------------------------------------------------------- optional hypothesis


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_importing_the_library_does_not_import_hypothesis() -> None:
    done = run_python(
        "import sys, micrograd_lite, micrograd_lite.testing, micrograd_lite.testing.programs, "
        "micrograd_lite.testing.profiles, micrograd_lite.serialization\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'\n"
        "from micrograd_lite.testing import gradcheck\n"
        "assert gradcheck(lambda x: x.tanh(), [0.3])\n"
        "print('ok')"
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_strategies_without_hypothesis_say_how_to_get_it() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if it were not installed\n"
        "try:\n"
        "    import micrograd_lite.testing.strategies\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert "needs hypothesis" in done.stdout and "pip install hypothesis" in done.stdout, done.stderr


# ------------------------------------------------------------------------ the README's example


@given(x=st.floats(-3, 3), w=st.floats(-3, 3))
def test_readme_example(x: float, w: float) -> None:
    # The property test the README shows a student.
    assert gradcheck(lambda x, w: (w * x + 2).tanh() ** 2, [x, w])


@given(programs())
def test_readme_example_programs(p: Program) -> None:
    assert gradcheck(p.function(VALUE_OPS), p.inputs)


def test_the_value_bound_has_a_second_order_term_where_the_first_order_vanishes() -> None:
    """x * x where x cancelled to exactly 0.0 here; another evaluation may round x to ~1e-38, and
    x * x to ~1e-76. The first-order bound |x| + 2 |x| M_x is 0 there; the second-order term is not."""
    from micrograd_lite import linear

    n0 = Value(1.1754943508222875e-38)
    n1 = linear([n0], [n0], n0)
    n2 = linear([n1], [n1], n1)
    n4 = -(0.5**n2)
    n5 = linear([n4], [n4], n4)  # (-1)(-1) + (-1) = 0.0 exactly
    n6 = n5 * n5
    assert n5.data == 0.0 and n6.data == 0.0
    value_scale, _ = error_scales(n6)
    # Another evaluation (another order of additions) gave n5 = 8.1e-39, so n6 = 6.6e-77: correct to
    # within u * M, but the first-order bound (0 here) called it wrong.
    assert 8.1e-39 <= 1e-9 * value_scale[n5]
    assert 6.6e-77 <= 1e-9 * value_scale[n6]
    assert value_scale[n6] < 1e-12  # and the bound stays tiny: u * M_x^2, not M_x


def test_no_profile_times_the_examples() -> None:
    """A slow laptop must not fail the tests: no profile has a deadline or the "too slow" check."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    register_profiles()
    for name in EXAMPLES:
        profile = hypothesis_settings.get_profile(name)
        assert profile.deadline is None, name
        assert HealthCheck.too_slow in profile.suppress_health_check, name
