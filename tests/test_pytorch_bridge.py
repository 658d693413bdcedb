"""``to_torch`` and ``from_torch``: the same network in PyTorch computes the same numbers, and comes back.

On random networks (sizes, hidden activations sigmoid/tanh/relu/identity, every output unit
including softmax), random batches and targets, every error function that fits the output unit,
with ``reduction`` sum and mean and both pairings: the PyTorch module from ``to_torch`` and
PyTorch's own functional losses, written to the lecture's definitions, give the same ``E``, the
same outputs and the same gradient for every parameter as micrograd_lite, to 1e-12 relative.

"Relative" is relative to the rounding-error scale of
:func:`~micrograd_lite.testing.tolerances.error_scales` (as in ``test_oracles.py``):
``|ours - theirs| <= 1e-12 * G``, where ``G >= |gradient|`` sums the absolute products along every
path, so a gradient that cancels to near 0 is judged by the rounding its terms can carry.

PyTorch is the optional ``torch`` extra (torch==2.13.0). Without it this module skips on a
developer's machine and fails in CI (``CI_MUST_HAVE`` in ``conftest.py``).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st
from test_imports import run_python

from micrograd_lite import MLP, Value, binary_cross_entropy, categorical_cross_entropy, squared_error
from micrograd_lite.nn import ACTIVATIONS
from micrograd_lite.pytorch import MODULE_NAMES, from_torch, to_torch
from micrograd_lite.testing.strategies import NetworkCase, networks
from micrograd_lite.testing.tolerances import error_scales

torch = require_module("torch")  # without it this module skips (fails in CI)
nn = torch.nn
F = torch.nn.functional

RTOL = 1e-12
TINY = 1e-300  # subnormal rounding is absolute

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
# Which error functions fit an output unit: squared error any; the cross-entropies their own unit.
LOSSES_FOR = {
    "sigmoid": ("squared_error", "binary_cross_entropy"),
    "softmax": ("squared_error", "categorical_cross_entropy"),
}


def close(ours: float, theirs: float, scale: float) -> bool:
    return abs(ours - theirs) <= RTOL * scale + TINY


# ------------------------------------------------------------------ the same numbers as PyTorch


@dataclass
class LossCase:
    """A random network and batch (from :func:`networks`) with a loss, its options and targets.

    ``t[n]`` is example n's target: a number (one output unit), K numbers, or for the categorical
    loss a 0-based class index or K numbers in [0, 1] (soft targets).
    """

    network: NetworkCase
    loss: str
    reduction: str
    paired: bool
    t: list[Any]

    def error(self, ys: list[Any]) -> Value:
        """micrograd_lite's ``E`` of the outputs ``ys`` (one per example)."""
        if self.loss == "squared_error":
            return squared_error(ys, self.t, reduction=self.reduction)  # type: ignore[arg-type]
        if self.loss == "binary_cross_entropy":
            return binary_cross_entropy(ys, self.t, self.reduction, self.paired)  # type: ignore[arg-type]
        return categorical_cross_entropy(ys, self.t, self.reduction, self.paired)  # type: ignore[arg-type]

    def target_matrix(self, K: int) -> Any:
        """The targets as an ``(N, K)`` float64 tensor (class indices one-hot)."""
        rows = []
        for tn in self.t:
            if self.loss == "categorical_cross_entropy" and isinstance(tn, int):
                rows.append([1.0 if k == tn else 0.0 for k in range(K)])
            else:
                rows.append(tn if isinstance(tn, list) else [tn])
        return torch.tensor(rows, dtype=torch.float64)


@st.composite
def loss_cases(draw: st.DrawFn) -> LossCase:
    network = draw(networks())
    out = network.activations[-1]
    K = network.sizes[-1]
    loss = draw(st.sampled_from(LOSSES_FOR.get(out, ("squared_error",))))
    unit = st.floats(0.0, 1.0)
    target: st.SearchStrategy[Any]
    if loss == "squared_error":
        number = st.floats(-1.0, 1.0)
        target = number if K == 1 else st.lists(number, min_size=K, max_size=K)
    elif loss == "binary_cross_entropy":
        target = unit
    else:
        target = st.integers(0, K - 1) | st.lists(unit, min_size=K, max_size=K)
    t = [draw(target) for _ in network.x]
    return LossCase(network, loss, draw(st.sampled_from(["sum", "mean"])), draw(st.booleans()), t)


def torch_error(case: LossCase, net: Any, X: Any) -> Any:
    """PyTorch's ``E`` for the batch ``X``, written to the lecture's definitions.

    Summed over examples and units; ``mean`` divides by the number of examples N, as micrograd_lite
    does. The paired cross-entropies are PyTorch's from the logits ``a[L]`` (``net[:-1]``, the
    network without its output activation), the unpaired ones the textbook formula on ``y``.
    """
    Y = net(X)
    T = case.target_matrix(Y.shape[1])
    if case.loss == "squared_error":  # E = 1/2 sum_n sum_k (t_nk - y_nk)^2
        E = 0.5 * F.mse_loss(Y, T, reduction="sum")
    elif case.loss == "binary_cross_entropy":  # E = -sum_n {t_n ln y_n + (1 - t_n) ln(1 - y_n)}
        if case.paired:
            E = F.binary_cross_entropy_with_logits(net[:-1](X), T, reduction="sum")
        else:
            E = F.binary_cross_entropy(Y, T, reduction="sum")
    elif case.paired:  # E = -sum_n sum_k t_nk ln y_nk, y = softmax(a[L])
        E = F.cross_entropy(net[:-1](X), T, reduction="sum")
    else:
        E = -(T * torch.log(Y)).sum()
    return E * (1.0 / len(case.t)) if case.reduction == "mean" else E


@settings(deadline=None)
@given(loss_cases())
def test_torch_module_gives_the_same_outputs_error_and_gradients(case: LossCase) -> None:
    model = case.network.build()
    ys = [model(x) for x in case.network.x]
    E = case.error(ys)
    E.backward()
    value_scale, grad_scale = error_scales(E)

    net = to_torch(model)
    X = torch.tensor(case.network.x, dtype=torch.float64)
    E_t = torch_error(case, net, X)
    assert E_t.dtype == torch.float64 and all(p.dtype == torch.float64 for p in net.parameters())
    E_t.backward()

    assert close(E.data, E_t.item(), value_scale[E]), f"E: {E.data!r} vs {E_t.item()!r}"
    Y = net(X).tolist()
    for n, yn in enumerate(ys):
        for k, y in enumerate(yn if isinstance(yn, list) else [yn]):
            scale = error_scales(y)[0][y]
            assert close(y.data, Y[n][k], scale), f"y_{n + 1}{k + 1}: {y.data!r} vs {Y[n][k]!r}"
    theirs = [
        g
        for linear in net[::2]
        for row, bias in zip(linear.weight.grad.tolist(), linear.bias.grad.tolist())
        for g in (*row, bias)
    ]
    ours = model.parameters()  # the same order: unit by unit, W[l]_i1 .. W[l]_in then b[l]_i
    assert len(theirs) == len(ours)
    for p, g in zip(ours, theirs):
        assert close(p.grad, g, grad_scale[p]), f"dE/d{p.label}: {p.grad!r} vs {g!r}"


def test_every_activation_has_its_module() -> None:
    assert set(MODULE_NAMES) == set(ACTIVATIONS)
    model = MLP.from_weights(
        [[[0.5]], [[-1.0]], [[2.0]], [[0.25]], [[1.5], [-0.5]]],
        [[0.1], [0.2], [-0.3], [0.0], [0.1, 0.2]],
        ["sigmoid", "tanh", "relu", "identity", "softmax"],
    )
    net = to_torch(model)
    assert [type(m) for m in net] == [
        nn.Linear,
        nn.Sigmoid,
        nn.Linear,
        nn.Tanh,
        nn.Linear,
        nn.ReLU,
        nn.Linear,
        nn.Identity,
        nn.Linear,
        nn.Softmax,
    ]
    assert net[-1].dim == -1
    # the lecture's layout: W[l]_ij is weight[i-1, j-1], no transpose
    assert net[8].weight.tolist() == [[1.5], [-0.5]] and net[8].bias.tolist() == [0.1, 0.2]
    # one example (d,) and a batch (N, d) both work; the softmax is over the units
    one = net(torch.tensor([0.7], dtype=torch.float64))
    batch = net(torch.tensor([[0.7], [0.7]], dtype=torch.float64))
    assert one.shape == (2,) and batch.shape == (2, 2) and torch.equal(batch[1], one)
    assert one.tolist() == pytest.approx([y.data for y in model([0.7])], rel=1e-14)  # type: ignore[union-attr]


def test_to_torch_leaves_torchs_random_generator_alone() -> None:
    # nn.Linear(...) on the CPU draws its initial weights from torch's global generator.
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    to_torch(MLP(3, [8, 8, 1], "tanh", seed=1))
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ round trips

finite = st.floats(allow_nan=False, allow_infinity=False)  # with -0.0, subnormals and 1e308


@st.composite
def any_mlp(draw: st.DrawFn) -> MLP:
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=5))
    n_layers = len(sizes) - 1
    activations = [draw(st.sampled_from(HIDDEN)) for _ in range(n_layers - 1)]
    activations.append(draw(st.sampled_from(ACTIVATIONS)))
    weights = [
        [draw(st.lists(finite, min_size=n_in, max_size=n_in)) for _ in range(n_out)]
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    biases = [draw(st.lists(finite, min_size=n, max_size=n)) for n in sizes[1:]]
    return MLP.from_weights(weights, biases, activations)  # type: ignore[arg-type]


def bits(model: MLP) -> list[str]:
    """Every parameter's exact bits (``-0.0`` and ``0.0`` differ)."""
    return [p.data.hex() for p in model.parameters()]


@given(any_mlp())
def test_mlp_to_torch_and_back_is_bit_identical(model: MLP) -> None:
    back = from_torch(to_torch(model))
    assert bits(back) == bits(model)
    assert back.sizes == model.sizes
    assert [layer.activation for layer in back.layers] == [layer.activation for layer in model.layers]


@given(any_mlp())
def test_torch_to_mlp_and_back_is_bit_identical(model: MLP) -> None:
    net = to_torch(model)
    again = to_torch(from_torch(net))
    assert [type(m) for m in again] == [type(m) for m in net]
    for mine, theirs in zip(again.parameters(), net.parameters(), strict=True):
        assert mine.dtype == torch.float64
        assert torch.equal(mine, theirs) and torch.equal(torch.signbit(mine), torch.signbit(theirs))


def test_a_torch_built_network_comes_over_and_back() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Linear(3, 5, dtype=torch.float64),
        nn.ReLU(),
        nn.Linear(5, 4, dtype=torch.float64),  # no activation module: identity
        nn.Linear(4, 2, dtype=torch.float64),
        nn.Softmax(dim=1),  # the units of a batch (N, K)
    )
    model = from_torch(net)
    assert model.sizes == [3, 5, 4, 2]
    assert [layer.activation for layer in model.layers] == ["relu", "identity", "softmax"]
    assert model.weights() == [m.weight.tolist() for m in net if isinstance(m, nn.Linear)]
    assert model.biases() == [m.bias.tolist() for m in net if isinstance(m, nn.Linear)]
    x = [0.3, -1.2, 0.8]
    y = net(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert [v.data for v in model(x)] == pytest.approx(y, rel=1e-13)  # type: ignore[union-attr]
    again = to_torch(model)
    assert [type(m) for m in again] == [nn.Linear, nn.ReLU, nn.Linear, nn.Identity, nn.Linear, nn.Softmax]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert all(
        torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias) for a, b in zip(again[::2], linears)
    )


def test_lower_precision_weights_are_read_exactly() -> None:
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())  # float32
    model = from_torch(net)
    for mine, theirs in zip(model.parameters(), (p for m in net[::2] for p in _unit_order(m))):
        assert mine.data == theirs and float(torch.tensor(mine.data, dtype=torch.float32)) == mine.data
    half = nn.Sequential(nn.Linear(2, 2, dtype=torch.bfloat16))
    assert from_torch(half).weights()[0] == half[0].weight.double().tolist()
    # the MLP computes in float64: as the float64 copy of the module does
    x = [0.4, -0.9]
    y = net.double()(torch.tensor(x, dtype=torch.float64)).item()
    assert model(x).data == pytest.approx(y, rel=1e-14)  # type: ignore[union-attr]


def _unit_order(linear: Any) -> list[float]:
    """A Linear's parameters in micrograd_lite's order: W[l]_i1 .. W[l]_in, then b[l]_i, unit by unit."""
    return [v for row, b in zip(linear.weight.tolist(), linear.bias.tolist()) for v in (*row, b)]


# ------------------------------------------------------------------ what it cannot represent


def _not_finite() -> Any:
    linear = nn.Linear(2, 1, dtype=torch.float64)
    with torch.no_grad():
        linear.weight[0, 1] = math.inf
    return nn.Sequential(linear)


def _shared() -> Any:
    linear = nn.Linear(2, 2)
    return nn.Sequential(linear, nn.Tanh(), linear)


CANNOT: dict[str, tuple[Callable[[], Any], str]] = {
    "conv": (lambda: nn.Sequential(nn.Linear(4, 4), nn.Conv1d(1, 1, 3)), r"module 1 \(Conv1d\)"),
    "dropout": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(), nn.Linear(3, 1)),
        r"module 2 \(Dropout\) has no micrograd_lite counterpart",
    ),
    "leaky relu": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)),
        r"module 1 \(LeakyReLU\).*Sigmoid, Tanh, ReLU, Identity, Softmax",
    ),
    "log softmax": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=-1)),
        r"module 1 \(LogSoftmax\)",
    ),
    "no bias": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1, bias=False)),
        r"module 2 \(Linear\) has no bias.*bias=True",
    ),
    "nested": (
        lambda: nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.Linear(2, 1)),
        r"module 0 \(Sequential\)",
    ),
    "hidden softmax": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1), nn.Linear(3, 1)),
        r"module 2 \(Linear\) follows a Softmax",
    ),
    "softmax over the batch": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)),
        r"module 1 \(Softmax\) normalises over dim=0.*dim=-1",
    ),
    "two activations": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sigmoid()),
        r"module 2 \(Sigmoid\) follows another activation",
    ),
    "activation first": (
        lambda: nn.Sequential(nn.Tanh(), nn.Linear(2, 1)),
        r"module 0 \(Tanh\) follows no Linear",
    ),
    "sizes do not chain": (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)),
        r"module 2 \(Linear\) takes 4 inputs, but module 0 \(Linear\) before it gives 3",
    ),
    "shared weights": (_shared, r"module 2 \(Linear\) shares its parameters with module 0 \(Linear\)"),
    "complex weights": (
        lambda: nn.Sequential(nn.Linear(2, 2, dtype=torch.complex128)),
        r"module 0 \(Linear\) has torch.complex128 parameters",
    ),
    "empty": (lambda: nn.Sequential(), r"holds no Linear module"),
    "no units": (
        lambda: nn.Sequential(nn.Linear(2, 0)),
        r"module 0 \(Linear\) has a weight of shape \(0, 2\)",
    ),
    "not finite": (_not_finite, r"W\[1\]_12.*finite"),
}


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors:UserWarning")  # Linear(2, 0)
@pytest.mark.parametrize("name", list(CANNOT))
def test_a_module_it_cannot_represent_is_a_clear_error(name: str) -> None:
    build, message = CANNOT[name]
    with pytest.raises(ValueError, match=message):
        from_torch(build())


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match=r"torch.nn.Sequential.*got Linear.*wrap"):
        from_torch(nn.Linear(2, 1))
    with pytest.raises(TypeError, match=r"to_torch takes a micrograd_lite MLP, got Sequential"):
        to_torch(nn.Sequential(nn.Linear(2, 1)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ PyTorch stays optional


def test_importing_micrograd_lite_does_not_import_torch(tmp_path: Path) -> None:
    out = run_python(
        """
        import micrograd_lite.pytorch
        from micrograd_lite.pytorch import from_torch, to_torch
        print("torch" in sys.modules)
        """,
        tmp_path,
    )
    assert out.strip() == "False"


def test_without_torch_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails, as if not installed
    model = MLP(2, [1], "sigmoid", seed=0)
    for call in (lambda: to_torch(model), lambda: from_torch(None)):  # type: ignore[arg-type]
        with pytest.raises(ImportError, match=r'pip install "micrograd_lite\[torch\]".*torch==2\.13\.0'):
            call()
