"""Independent oracles: HIPS autograd and PyTorch agree with the engine on random graphs and MLPs.

Both libraries run the same random :class:`~micrograd_lite.testing.programs.Program` (through their
own ``exp``, ``log``, ``tanh``, ``sigmoid``, ``relu``, ``softmax``) and the same random networks
(written out here in their own array code, with the textbook error functions). Values and gradients
agree to 1e-9 relative, relative to the rounding-error scale of
:func:`~micrograd_lite.testing.programs.error_scales` (``|ours - theirs| <= 1e-9 * G``; ``G`` is the
sum over paths of ``|product of local derivatives|``, which bounds how far two correct evaluation
orders can drift apart, also where a gradient cancels to near 0).

autograd is a test dependency (the ``dev`` extra). PyTorch is optional (the ``torch`` extra, pinned
to ``torch==2.13.0``). Both run in float64. Without either, its tests skip on a developer's machine
and fail in CI, which must have both (``CI_MUST_HAVE`` in ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from conftest import require_module
from hypothesis import given, settings

from micrograd_lite import MLP, Value
from micrograd_lite.testing.programs import Program, make_ops
from micrograd_lite.testing.strategies import NetworkCase, networks, programs
from micrograd_lite.testing.tolerances import error_scales

autograd = require_module("autograd")  # without it this module skips (fails in CI)
anp = require_module("autograd.numpy")

RTOL = 1e-9
TINY = 1e-300  # subnormal rounding is absolute

AUTOGRAD_OPS = make_ops(anp.exp, anp.log, anp.tanh, relu=lambda x: anp.maximum(x, 0.0))


def torch_ops(torch: Any) -> dict[str, Callable[..., Any]]:
    ops = make_ops(torch.exp, torch.log, torch.tanh, torch.sigmoid, torch.relu, torch.clone)
    ops["sum"] = lambda terms: torch.stack(list(terms)).sum()
    ops["softmax"] = lambda args, k: torch.softmax(torch.stack(list(args)), 0)[k]

    def linear(args: Sequence[Any]) -> Any:
        n = (len(args) - 1) // 2
        return torch.dot(torch.stack(list(args[:n])), torch.stack(list(args[n : 2 * n]))) + args[-1]

    ops["linear"] = linear
    return ops


def close(ours: float, theirs: float, scale: float) -> bool:
    return abs(ours - theirs) <= RTOL * scale + TINY


def engine_run(p: Program) -> tuple[list[Value], list[Value], dict[Value, float], dict[Value, float]]:
    leaves, slots = p.values()
    slots[-1].backward()
    value_scale, grad_scale = error_scales(slots[-1])
    return leaves, slots, value_scale, grad_scale


# --------------------------------------------------------------------------- random programs


@settings(deadline=None)
@given(programs())
def test_autograd_agrees_on_random_graphs(p: Program) -> None:
    leaves, slots, value_scale, grad_scale = engine_run(p)
    theirs = p.run(AUTOGRAD_OPS, [np.float64(x) for x in p.inputs])
    for k, (v, t) in enumerate(zip(slots, theirs)):
        assert close(v.data, float(t), value_scale[v]), f"slot {k}: {v.data!r} vs {t!r}\n{p}"

    def output(xs: Any) -> Any:
        return p.run(AUTOGRAD_OPS, [xs[j] for j in range(len(p.inputs))])[-1]

    grads = autograd.grad(output)(np.array(p.inputs, dtype=np.float64))
    for leaf, g in zip(leaves, grads):
        assert close(leaf.grad, float(g), grad_scale[leaf]), f"{leaf.label}: {leaf.grad!r} vs {g!r}\n{p}"


def test_torch_agrees_on_every_value_and_gradient_of_random_graphs() -> None:
    torch = require_module("torch")  # before hypothesis starts: skips (fails in CI) once

    @settings(deadline=None)
    @given(programs())
    def check(p: Program) -> None:
        torch_check_program(torch, p)

    check()


def torch_check_program(torch: Any, p: Program) -> None:
    _, slots, value_scale, grad_scale = engine_run(p)
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in p.inputs]
    theirs = p.run(torch_ops(torch), xs)
    for t in theirs[len(xs) :]:
        t.retain_grad()
    assert theirs[-1].dtype == torch.float64
    theirs[-1].backward()
    for k, (v, t) in enumerate(zip(slots, theirs)):
        assert close(v.data, t.item(), value_scale[v]), f"slot {k}: {v.data!r} vs {t.item()!r}\n{p}"
        g = 0.0 if t.grad is None else t.grad.item()
        assert close(v.grad, g, grad_scale[v]), f"grad of slot {k}: {v.grad!r} vs {g!r}\n{p}"


# --------------------------------------------------------------------------------- networks


def flat_parameters(case: NetworkCase) -> list[float]:
    """In ``parameters()`` order: layer by layer, unit by unit, ``W[l]_i1 .. W[l]_in`` then ``b[l]_i``."""
    return [v for W, b in zip(case.weights, case.biases) for row, bi in zip(W, b) for v in (*row, bi)]


def array_error(
    case: NetworkCase,
    params: Any,
    xp: Any,
    asarray: Callable[[Any], Any],
    activation: Callable[[str, Any], Any],
) -> Any:
    """The network and its error written out with array code (``xp`` = autograd.numpy or torch).

    ``a[l] = W[l] z[l-1] + b[l]``, ``z[l] = f(a[l])``; the textbook error functions: squared error
    ``1/2 sum (t - y)^2``, cross-entropy ``-t log y - (1 - t) log(1 - y)`` on ``y = sigmoid(a)``,
    ``-log y_t`` on ``y = softmax(a)``.
    """
    layers = []
    k = 0
    for n_in, n_out in zip(case.sizes, case.sizes[1:]):
        block = params[k : k + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
        layers.append((block[:, :n_in], block[:, n_in]))
        k += n_out * (n_in + 1)
    total: Any = 0.0
    for x, t in zip(case.x, case.t):
        z = asarray(x)
        for (W, b), f in zip(layers, case.activations):
            z = activation(f, W @ z + b)
        if case.loss == "squared_error":
            target = asarray(t if isinstance(t, list) else [t])
            total = total + 0.5 * xp.sum((target - z) ** 2)
        elif case.loss == "binary_cross_entropy":
            y = z[0]
            total = total - (t * xp.log(y) + (1.0 - t) * xp.log(1.0 - y))
        else:
            total = total - xp.log(z[t])
    return total


def autograd_activation(f: str, a: Any) -> Any:
    if f == "sigmoid":
        return 1.0 / (1.0 + anp.exp(-a))
    if f == "tanh":
        return anp.tanh(a)
    if f == "relu":
        return anp.maximum(a, 0.0)
    if f == "softmax":
        e = anp.exp(a)
        return e / anp.sum(e)
    return a


def engine_network(case: NetworkCase) -> tuple[MLP, Value, list[Any]]:
    model = case.build()
    traces = [model.forward(x) for x in case.x]
    E = case.error_of([trace.output for trace in traces])
    E.backward()
    return model, E, traces


@settings(deadline=None)
@given(networks())
def test_autograd_agrees_on_random_networks(case: NetworkCase) -> None:
    model, E, _ = engine_network(case)
    value_scale, grad_scale = error_scales(E)
    params = np.array(flat_parameters(case), dtype=np.float64)
    assert close(
        E.data, float(array_error(case, params, anp, anp.asarray, autograd_activation)), value_scale[E]
    )
    grads = autograd.grad(lambda ps: array_error(case, ps, anp, anp.asarray, autograd_activation))(params)
    for p, g in zip(model.parameters(), grads):
        assert close(p.grad, float(g), grad_scale[p]), f"{p.label}: {p.grad!r} vs {g!r}"


def test_torch_agrees_on_random_networks_and_their_deltas() -> None:
    torch = require_module("torch")  # before hypothesis starts: skips (fails in CI) once

    @settings(deadline=None)
    @given(networks())
    def check(case: NetworkCase) -> None:
        torch_check_network(torch, case)

    check()


def torch_check_network(torch: Any, case: NetworkCase) -> None:
    model, E, traces = engine_network(case)
    value_scale, grad_scale = error_scales(E)
    params = torch.tensor(flat_parameters(case), dtype=torch.float64, requires_grad=True)
    preactivations: list[Any] = []  # a[1], a[2], ... of the first example, then of the next

    def activation(f: str, a: Any) -> Any:
        a.retain_grad()
        preactivations.append(a)
        if f == "softmax":
            return torch.softmax(a, 0)
        return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}.get(f, torch.clone)(a)

    total = array_error(case, params, torch, lambda v: torch.tensor(v, dtype=torch.float64), activation)
    assert total.dtype == torch.float64
    total.backward()
    assert close(E.data, total.item(), value_scale[E])
    for p, g in zip(model.parameters(), params.grad.tolist()):
        assert close(p.grad, g, grad_scale[p]), f"{p.label}: {p.grad!r} vs {g!r}"
    # delta[l]_i = dE/da[l]_i, example by example
    L = len(case.activations)
    for n, trace in enumerate(traces):
        for l in range(1, L + 1):
            for a, g in zip(trace.a[l], preactivations[n * L + l - 1].grad.tolist(), strict=True):
                assert close(a.grad, g, grad_scale[a]), f"delta of {a.label}: {a.grad!r} vs {g!r}"
