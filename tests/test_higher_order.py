"""Derivatives of derivatives: ``grad`` and ``hessian``.

Every reference is independent of the engine: mpmath's differentiation of each table entry's
reference formula (built from exp, log, tanh and operators only), closed forms, PyTorch's
``torch.autograd.functional.hessian`` in float64, and central differences (``gradcheck``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_lite import (
    MLP,
    Value,
    binary_cross_entropy,
    categorical_cross_entropy,
    compile_graph,
    draw,
    enable_grad,
    grad,
    hessian,
    is_grad_enabled,
    linear,
    no_grad,
    record_steps,
    softmax,
    squared_error,
    sum_values,
)
from micrograd_lite.higher_order import local_derivative_values
from micrograd_lite.nn import Activation
from micrograd_lite.primitives import PRIMITIVES, Domain, Primitive
from micrograd_lite.testing import gradcheck


# ================================================================ helpers
class MpmathLibrary:
    exp, log, tanh = mpmath.exp, mpmath.log, mpmath.tanh


def floats_in(domain: Domain) -> st.SearchStrategy[float]:
    """Operands in ``domain``, magnitudes below 1e-6 taken as 0 and above 50 clipped (a third
    derivative of ``exp`` at 1e3 is no test of the chain rule, only of overflow)."""
    lo, hi = max(domain.lo, -50.0), min(domain.hi, 50.0)
    plain = st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda x: 0.0 if abs(x) < 1e-6 else x
    )
    if domain.away_from_zero:
        return st.builds(lambda m, s: m if s else -m, plain.filter(lambda x: x >= domain.lo), st.booleans())
    return plain


def apply(p: Primitive, leaves: Sequence[Value | float]) -> Value:
    """The engine's method for ``p`` (a float second input: a number input such as ``x ** 2.5``)."""
    first = leaves[0]
    assert isinstance(first, Value)
    out: Value = getattr(first, p.method)(*leaves[1:])
    return out


def derivatives_to_third_order(f: Value, xs: list[Value]) -> dict[tuple[int, ...], float]:
    """Every partial derivative of ``f`` in ``xs`` of order 1, 2 and 3, by repeated ``grad``,
    keyed by the indices differentiated in turn."""
    found: dict[tuple[int, ...], float] = {}
    first = grad(f, xs, create_graph=True)
    for i, gi in enumerate(first):
        found[(i,)] = gi.data
        second = grad(gi, xs, create_graph=True)
        for j, gij in enumerate(second):
            found[(i, j)] = gij.data
            for k, gijk in enumerate(grad(gij, xs)):
                found[(i, j, k)] = gijk.data
    return found


def assert_close(ours: float, exact: Any, rel: float, floor: float, what: str) -> None:
    exact_float = float(exact)
    tolerance = max(rel * abs(exact_float), floor)
    assert abs(mpmath.mpf(ours) - exact) <= tolerance, f"{what}: {ours!r}, mpmath {exact_float!r}"


def mpmath_check(p: Primitive, xs: tuple[float, ...], number_input: bool) -> None:
    """Orders 1 to 3 of ``p`` at ``xs`` against mpmath.diff at 50 digits. With ``number_input``
    the last input is a plain number (part of the operation) and only the others are variables."""
    n_vars = p.arity - 1 if number_input else p.arity
    leaves = [Value(x) for x in xs[:n_vars]]
    node = apply(p, [*leaves, *xs[n_vars:]])
    found = derivatives_to_third_order(node, leaves)

    def f(*v: Any) -> Any:
        return p.reference(MpmathLibrary, *v, *[mpmath.mpf(x) for x in xs[n_vars:]])

    with mpmath.workdps(50):
        point = [mpmath.mpf(x) for x in xs[:n_vars]]
        # The derivatives' sizes set the floor: a cancelling sum of terms (d2/da dn of a^n is
        # a^(n-1) (1 + n ln a)) is exact only to rounding of its terms.
        scale = max([abs(v) for v in found.values()] + [abs(node.data)])
        for indices, ours in found.items():
            order = tuple(indices.count(i) for i in range(n_vars))
            exact = mpmath.diff(f, point, order) if n_vars > 1 else mpmath.diff(f, point[0], order[0])
            assert_close(ours, exact, 1e-9, 1e-12 * scale + 1e-30, f"{p.name}{xs} d/d{indices}")


# ================================================================ every table entry vs mpmath
@pytest.mark.parametrize("name", PRIMITIVES)
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_every_entry_to_third_order_against_mpmath(name: str, data: st.DataObject) -> None:
    p = PRIMITIVES[name]
    xs = data.draw(st.tuples(*[floats_in(d) for d in p.domains]), label="operands")
    mpmath_check(p, xs, number_input=False)


@pytest.mark.parametrize("name", [name for name, p in PRIMITIVES.items() if p.number_input is not None])
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_a_number_input_to_third_order_against_mpmath(name: str, data: st.DataObject) -> None:
    """``x ** 2.5``: the exponent is part of the operation; derivatives in ``x`` only."""
    p = PRIMITIVES[name]
    xs = data.draw(st.tuples(*[floats_in(d) for d in p.domains]), label="operands")
    mpmath_check(p, xs, number_input=True)


@pytest.mark.parametrize(
    "name, f, closed_forms, x",
    [
        ("x^3", lambda x: x**3, (lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0), 1.7),
        ("exp", lambda x: x.exp(), (math.exp, math.exp, math.exp), 0.4),
        ("log", lambda x: x.log(), (lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3), 2.5),
        (
            "tanh",
            lambda x: x.tanh(),
            (
                lambda x: 1 - math.tanh(x) ** 2,
                lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
                lambda x: (1 - math.tanh(x) ** 2) * (6 * math.tanh(x) ** 2 - 2),
            ),
            0.8,
        ),
        (
            "sigmoid",
            lambda x: x.sigmoid(),
            (
                lambda x: s(x) * (1 - s(x)),
                lambda x: s(x) * (1 - s(x)) * (1 - 2 * s(x)),
                lambda x: s(x) * (1 - s(x)) * (1 - 6 * s(x) + 6 * s(x) ** 2),
            ),
            -1.2,
        ),
        ("1/x", lambda x: 1.0 / x, (lambda x: -1 / x**2, lambda x: 2 / x**3, lambda x: -6 / x**4), -0.7),
        ("2^x", lambda x: 2.0**x, tuple(lambda x, k=k: 2**x * math.log(2) ** k for k in (1, 2, 3)), 0.9),
    ],
)
def test_derivatives_to_third_order_against_closed_forms(
    name: str, f: Callable[[Value], Value], closed_forms: tuple[Callable[[float], float], ...], x: float
) -> None:
    leaf = Value(x)
    d = f(leaf)
    for order, closed in enumerate(closed_forms, start=1):
        d = grad(d, [leaf], create_graph=order < 3)[0]
        assert d.data == pytest.approx(closed(x), rel=1e-13), f"{name}: order {order}"


def s(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_the_derivative_of_tanh_stays_accurate_where_tanh_saturates() -> None:
    """tanh''(12) = -2 tanh(12) tanh'(12) ~ -3.0e-10: 1 - tanh^2 would keep about 6 digits of it."""
    x = Value(12.0)
    second = grad(grad(x.tanh(), [x], create_graph=True)[0], [x])[0].data
    with mpmath.workdps(50):
        exact = mpmath.diff(mpmath.tanh, mpmath.mpf(12.0), 2)
    assert_close(second, exact, 1e-13, 0.0, "tanh''(12)")


# ================================================================ grad's contract
def mlp_loss() -> tuple[Value, list[Value]]:
    model = MLP(2, [3, 2], activations=["tanh", "identity"], seed=3)
    xs = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
    ys = [model([Value(a), Value(b)]) for a, b in xs]
    return squared_error(ys, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), model.parameters()


def test_without_create_graph_grad_is_backwards_numbers_bit_for_bit_and_touches_no_grad() -> None:
    E, params = mlp_loss()
    for p in params:
        p.grad = 0.0
    ours = grad(E, params)
    assert all(p.grad == 0.0 for p in params), "grad() must leave .grad alone"
    assert E.grad == 0.0
    E.backward()
    assert [g.data for g in ours] == [p.grad for p in params]
    assert all(not g.parents for g in ours)


def test_with_create_graph_the_numbers_agree_with_backward_and_no_grad_is_touched() -> None:
    E, params = mlp_loss()
    ours = grad(E, params, create_graph=True)
    assert all(p.grad == 0.0 for p in params)
    E.backward()
    for g, p in zip(ours, params):
        assert g.parents, "a gradient made with create_graph=True carries its graph"
        assert g.data == pytest.approx(p.grad, rel=1e-13, abs=1e-15)


def test_an_input_the_root_does_not_depend_on_gets_zero_and_the_root_one() -> None:
    x, y = Value(2.0), Value(3.0)
    f = x * x
    for create_graph in (False, True):
        dx, dy, df = grad(f, [x, y, f], create_graph=create_graph)
        assert (dx.data, dy.data, df.data) == (4.0, 0.0, 1.0)
    assert grad(f, x)[0].data == 4.0  # one Value for inputs


def test_a_shared_subexpression_sums_its_paths_at_every_order() -> None:
    """f = (x y) (x y) + x: df/dx = 2 x y^2 + 1, d2f/dx dy = 4 x y, d3f/dx dy dy = 4 x."""
    x, y = Value(1.5), Value(-2.0)
    u = x * y
    f = u * u + x
    dx = grad(f, [x], create_graph=True)[0]
    dxdy = grad(dx, [y], create_graph=True)[0]
    dxdydy = grad(dxdy, [y])[0]
    assert (dx.data, dxdy.data, dxdydy.data) == (2 * 1.5 * 4.0 + 1, 4 * 1.5 * -2.0, 4 * 1.5)


def test_gradcheck_of_the_gradient_itself() -> None:
    """The gradient's own backward() against central differences of the gradient's value."""

    def f(x: Value, y: Value) -> Value:
        return (x * y).tanh() + x**3 + (x / y).exp() + x.sigmoid() * y.log() + y**x - (x - y).relu()

    def df(i: int) -> Callable[[Value, Value], Value]:
        def derivative(x: Value, y: Value) -> Value:
            with enable_grad():  # gradcheck evaluates fn inside no_grad(); f's graph is needed
                return grad(f(x, y), [x, y], create_graph=True)[i]

        return derivative

    for i in range(2):
        assert gradcheck(df(i), [0.7, 1.3])


def test_gradcheck_of_a_second_derivative_through_every_operation_of_many_inputs() -> None:
    """Third order through sum, linear, softmax and the softmax cross-entropy: the Hessian entry's
    own gradient against central differences."""

    def f(w1: Value, w2: Value, b: Value, z: Value) -> Value:
        a1 = linear([w1, w2], [z, z * z], b)
        a2 = sum_values([w1 * z, b, w2])
        return categorical_cross_entropy(softmax([a1, a2, z]), [0.2, 0.5, 0.3])

    def d2(w1: Value, w2: Value, b: Value, z: Value) -> Value:
        with enable_grad():
            dz = grad(f(w1, w2, b, z), [z], create_graph=True)[0]
            return grad(dz, [w1], create_graph=True)[0]

    assert gradcheck(d2, [0.3, -0.8, 0.1, 0.6], atol=1e-6, rtol=1e-5)


# ================================================================ Hessians against torch
Case = tuple[list[Activation], str, dict[str, Any]]
CASES: dict[str, Case] = {
    "tanh-identity-squared": (["tanh", "identity"], "squared", {}),
    "identity-identity-squared-mean": (["identity", "identity"], "squared", {"reduction": "mean"}),
    "sigmoid-sigmoid-bce-paired": (["sigmoid", "sigmoid"], "bce", {}),
    "relu-sigmoid-bce-unpaired": (["relu", "sigmoid"], "bce", {"paired": False}),
    "tanh-softmax-cce-paired": (["tanh", "softmax"], "cce", {}),
    "sigmoid-softmax-cce-unpaired-mean": (
        ["sigmoid", "softmax"],
        "cce",
        {"paired": False, "reduction": "mean"},
    ),
}
SIZES = {"squared": [3, 2], "bce": [3, 1], "cce": [3, 3]}
X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
TARGETS = {
    "squared": [[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]],
    "bce": [1.0, 0.0, 0.3],
    "cce": [[1.0, 0.0, 0.0], [0.0, 0.2, 0.8], [0.0, 0.0, 1.0]],
}


def our_loss(model: MLP, loss: str, options: dict[str, Any], x: Sequence[Sequence[Value]]) -> Value:
    outputs = [model(list(xn)) for xn in x]
    if loss == "squared":
        return squared_error(outputs, TARGETS[loss], **options)
    if loss == "bce":
        return binary_cross_entropy(outputs, TARGETS[loss], **options)
    return categorical_cross_entropy(outputs, TARGETS[loss], **options)


def torch_loss(
    torch: Any, flat: Any, x: Any, activations: list[Activation], loss: str, options: dict[str, Any]
) -> Any:
    """The same network and error written in torch, parameters in ``parameters()`` order
    (layer by layer, unit by unit, W_i1..W_in then b_i)."""
    functions = {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "identity": lambda a: a,
        "softmax": lambda a: torch.softmax(a, dim=-1),
    }
    z, i, n_in = x, 0, x.shape[1]
    for n_out, activation in zip(SIZES[loss], activations):
        block = flat[i : i + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
        i += n_out * (n_in + 1)
        z = functions[activation](z @ block[:, :n_in].T + block[:, n_in])
        n_in = n_out
    t = torch.tensor(TARGETS[loss], dtype=torch.float64).reshape(z.shape)
    if loss == "squared":
        per_example = 0.5 * ((z - t) ** 2).sum(dim=1)
    elif loss == "bce":
        per_example = -(t * torch.log(z) + (1 - t) * torch.log(1 - z)).sum(dim=1)
    else:
        per_example = -(t * torch.log(z)).sum(dim=1)
    return per_example.mean() if options.get("reduction") == "mean" else per_example.sum()


def assert_hessians_agree(ours: list[list[float]], theirs: Any) -> None:
    n = len(ours)
    assert theirs.shape == (n, n)
    for i in range(n):
        for j in range(n):
            t = float(theirs[i, j])
            assert abs(ours[i][j] - t) <= 1e-10 * max(1.0, abs(t)), (
                f"H[{i}][{j}]: {ours[i][j]!r}, torch {t!r}"
            )


@pytest.mark.parametrize("case", CASES)
def test_hessian_of_a_small_mlp_in_its_parameters_against_torch(case: str) -> None:
    torch = require_module("torch")
    activations, loss, options = CASES[case]
    model = MLP(2, SIZES[loss], activations=activations, seed=7)
    x = [[Value(a) for a in xn] for xn in X]
    params = model.parameters()
    ours = hessian(lambda *p: our_loss(model, loss, options, x), params)
    assert all(p.grad == 0.0 for p in params)
    flat = torch.tensor([p.data for p in params], dtype=torch.float64)
    xt = torch.tensor(X, dtype=torch.float64)
    theirs = torch.autograd.functional.hessian(
        lambda f: torch_loss(torch, f, xt, activations, loss, options), flat
    )
    assert_hessians_agree(ours, theirs)
    assert any(abs(v) > 1e-3 for row in ours for v in row)


@pytest.mark.parametrize(
    "case", ["tanh-identity-squared", "relu-sigmoid-bce-unpaired", "tanh-softmax-cce-paired"]
)
def test_hessian_of_a_small_mlp_in_its_inputs_against_torch(case: str) -> None:
    torch = require_module("torch")
    activations, loss, options = CASES[case]
    model = MLP(2, SIZES[loss], activations=activations, seed=11)
    flat = torch.tensor([p.data for p in model.parameters()], dtype=torch.float64)

    def ours_of(*x: Value) -> Value:
        return our_loss(model, loss, options, [x[2 * n : 2 * n + 2] for n in range(len(X))])

    ours = hessian(ours_of, [a for xn in X for a in xn])
    theirs = torch.autograd.functional.hessian(
        lambda x: torch_loss(torch, flat, x.reshape(len(X), 2), activations, loss, options),
        torch.tensor([a for xn in X for a in xn], dtype=torch.float64),
    )
    assert_hessians_agree(ours, theirs)


def test_hessian_of_a_loss_with_target_leaves() -> None:
    """Targets given as Values are inputs like any other: d2E/dy dt = -1 for the squared error,
    d2E/da dt = -1 for the paired cross-entropy, whose dE/dt = -a."""
    h = hessian(lambda y, t: squared_error(y, t), [0.3, 0.8])
    assert h == [[1.0, -1.0], [-1.0, 1.0]]
    h = hessian(lambda a, t: binary_cross_entropy(a.sigmoid(), t), [0.4, 0.25])
    sigma = 1 / (1 + math.exp(-0.4))
    assert h[0][0] == pytest.approx(sigma * (1 - sigma), rel=1e-14)
    assert h[0][1] == h[1][0] == -1.0 and h[1][1] == 0.0


# ================================================================ the views take a gradient's graph
def gradient_graph() -> tuple[Value, list[Value]]:
    x, w, t = Value(0.6, "x"), Value(-1.1, "w"), Value(0.25, "t")
    E = squared_error((w * x).tanh(), t)
    return grad(E, [w], create_graph=True)[0], [x, w, t]


def test_a_gradients_graph_compiles_and_runs_bit_for_bit() -> None:
    dw, (x, w, t) = gradient_graph()
    compiled = compile_graph(dw, [x, w, t], [], accumulate=True)
    result = compiled([x.data, w.data, t.data], [])
    second = grad(dw, [x, w, t])
    dw.backward()
    assert result.value == dw.data
    assert list(result.input_grads) == [x.grad, w.grad, t.grad] == [g.data for g in second]
    # at other numbers: the compiled gradient graph against a new one built there
    moved = compiled([0.2, 0.9, -0.4], [])
    x2, w2, t2 = Value(0.2), Value(0.9), Value(-0.4)
    assert moved.value == grad(squared_error((w2 * x2).tanh(), t2), [w2], create_graph=True)[0].data


def test_a_gradients_graph_is_drawn_and_stepped_through() -> None:
    dw, (x, w, _) = gradient_graph()
    drawing = draw(dw)
    assert drawing.source.startswith("digraph") and "tanh" in drawing.source
    assert drawing.source.count("->") >= len(dw.parents)
    recording = record_steps(dw)
    expected = grad(dw, [x, w])
    assert [x.grad, w.grad] == [g.data for g in expected]
    assert len(recording.steps) > 5


# ================================================================ refusals
def test_a_node_made_by_hand_is_refused_only_when_differentiated_again() -> None:
    x = Value(0.5, "x")
    y = Value(2.0, "y", (x,), (3.0,), "exp")  # not exp(0.5), and not its derivative
    f = y * x
    assert grad(f, [x])[0].data == 2.0 + 0.5 * 3.0
    with pytest.raises(ValueError, match=r"'exp' node 'y'.*made by hand"):
        grad(f, [x], create_graph=True)
    own = Value(1.0, "k", (x,), (2.0,), "my op")
    with pytest.raises(ValueError, match=r"operation 'my op' has no derivative as Values"):
        grad(own, [x], create_graph=True)


def test_a_node_whose_input_changed_after_it_was_computed_is_refused() -> None:
    x = Value(0.5, "x")
    f = x.exp()
    x.data = 1.0
    with pytest.raises(ValueError, match=r"inputs changed after it was computed"):
        grad(f, [x], create_graph=True)


def test_inside_no_grad_create_graph_gives_the_same_numbers_as_leaves() -> None:
    """As every operation there: the numbers, no graph (gradcheck evaluates its fn inside no_grad)."""
    x = Value(0.5)
    f = (x * x).tanh()
    outside = grad(f, [x], create_graph=True)[0]
    with no_grad():
        inside = grad(f, [x], create_graph=True)[0]
    assert inside.data == outside.data and not inside.parents and outside.parents


def test_a_root_computed_inside_no_grad_is_refused_not_differentiated_to_zero() -> None:
    x = Value(0.5)
    with no_grad():
        f = x * x
        with pytest.raises(ValueError, match=r"computed inside no_grad\(\).*enable_grad"):
            grad(f, [x])
        with enable_grad():
            g = x * x
        assert grad(g, [x])[0].data == 1.0
    assert grad(x, [x])[0].data == 1.0  # a leaf root that is an input is no such case


def test_enable_grad_records_inside_no_grad_and_the_innermost_block_decides() -> None:
    x = Value(0.5)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled() and (x * x).parents
            with no_grad():
                assert not is_grad_enabled() and not (x * x).parents
            assert is_grad_enabled()
        assert not is_grad_enabled() and not (x * x).parents
    assert is_grad_enabled()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: grad(1.0, [x]), r"root must be a Value"),  # type: ignore[arg-type]
        (lambda x: grad(x * x, [x, 2.0]), r"inputs\[1\] must be a Value"),  # type: ignore[list-item]
        (lambda x: grad(x * x, "x"), r"inputs must be a Value or a list"),  # type: ignore[arg-type]
        (lambda x: grad(x * x, [x], create_graph=1), r"create_graph must be True or False"),  # type: ignore[arg-type]
        (lambda x: hessian(3, [1.0]), r"fn must be callable"),  # type: ignore[arg-type]
        (lambda x: hessian(lambda a: 2.0, [1.0]), r"fn must return a Value"),  # type: ignore[arg-type, return-value]
        (lambda x: hessian(lambda a: a, ["1"]), r"inputs\[0\]"),  # type: ignore[list-item]
        (lambda x: hessian(lambda a: a, 1.0), r"inputs must be a list"),  # type: ignore[arg-type]
    ],
)
def test_wrong_arguments_are_type_errors_naming_them(call: Callable[[Value], object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(Value(1.0))


def test_local_derivative_values_of_a_linear_node_are_its_parents() -> None:
    w, z, b = Value(2.0), Value(3.0), Value(1.0)
    a = linear([w], [z], b)
    assert local_derivative_values(a) == (z, w, 1.0)


def test_hessian_of_a_random_polynomial_against_its_closed_form() -> None:
    """f = sum_i c_i x_i^2 + sum_{i<j} d_ij x_i x_j: H_ii = 2 c_i, H_ij = d_ij."""
    rng = random.Random(5)
    n = 4
    c = [rng.uniform(-2, 2) for _ in range(n)]
    d = {(i, j): rng.uniform(-2, 2) for i in range(n) for j in range(i + 1, n)}

    def f(*x: Value) -> Value:
        return sum_values(
            [c[i] * x[i] ** 2 for i in range(n)] + [dij * x[i] * x[j] for (i, j), dij in d.items()]
        )

    h = hessian(f, [rng.uniform(-1, 1) for _ in range(n)])
    for i in range(n):
        assert h[i][i] == pytest.approx(2 * c[i], rel=1e-15)
        for j in range(i + 1, n):
            assert h[i][j] == pytest.approx(d[i, j], rel=1e-15) and h[j][i] == pytest.approx(
                d[i, j], rel=1e-15
            )
