"""The same network in PyTorch and back: ``to_torch(model)`` and ``from_torch(module)``.

Layer ``l`` of an :class:`~micrograd_lite.nn.MLP` is two modules of a ``torch.nn.Sequential``::

    a[l] = W[l] z[l-1] + b[l]    torch.nn.Linear(n_in, n_out): weight = W[l] (n_out x n_in), bias = b[l]
    z[l] = f(a[l])               Sigmoid, Tanh, ReLU, Identity, or Softmax(dim=-1) for the output layer

``nn.Linear`` stores ``W[l]`` in the lecture's layout (row ``i`` holds unit ``i``'s weights), so
``W[l]_ij`` is ``weight[i-1, j-1]``: no transpose. ``to_torch`` builds the modules in float64 (the
precision of Python's floats) with the very same numbers, so a forward pass, a loss and a backward
pass agree with micrograd_lite to rounding, and ``from_torch(to_torch(model))`` has bit-identical
weights. The Sequential takes one example ``x`` of shape ``(d,)`` or a batch of shape ``(N, d)``.

``from_torch`` reads a Sequential of ``Linear`` modules (each with a bias), each followed by at most
one of the activation modules above; a Linear followed by none, or by ``Identity``, is an identity
layer. ``Softmax`` may only follow the last Linear, over the units (``dim=-1``, or ``dim=1``: the
units of a batch ``(N, K)``). Weights of any real floating dtype are read exactly (every float16,
bfloat16 or float32 number is a float64 number); the MLP computes in float64, so its outputs can
differ from a lower-precision module's by that module's rounding. Any other module (Dropout,
LeakyReLU, Conv, a nested Sequential, ...), a Linear without bias and weights shared between layers
are refused with a ``ValueError`` naming the module and its position.

PyTorch is optional (``pip install "micrograd_lite[torch]"``, pinned to torch==2.13.0): it is
imported when one of these functions is called, not by ``import micrograd_lite``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from micrograd_lite.nn import MLP, Activation

if TYPE_CHECKING:
    import torch

__all__ = ["MODULE_NAMES", "from_torch", "to_torch"]

INSTALL = 'pip install "micrograd_lite[torch]" (it pins torch==2.13.0)'

#: Each activation's module in ``torch.nn``: the one table both directions read.
MODULE_NAMES: dict[Activation, str] = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "identity": "Identity",
    "softmax": "Softmax",
}
#: ``Softmax(dim=...)`` over a layer's units: the last axis, which for a batch ``(N, K)`` is also axis 1.
SOFTMAX_DIMS = (-1, 1)


def _missing_torch(error: ImportError) -> ImportError:
    return ImportError(f"micrograd_lite.pytorch needs PyTorch, which is not installed ({error}): {INSTALL}")


def to_torch(model: MLP) -> torch.nn.Sequential:
    """``model`` as a ``torch.nn.Sequential`` in float64: ``Linear(W[l], b[l])`` then ``f`` for each layer.

    Identity layers get an ``nn.Identity()`` module, so every layer is one Linear and one activation
    module, as every layer of the MLP is ``a[l]`` then ``z[l]``. Torch's random number generator is
    not used (the weights are the model's), so building the module changes no later ``torch.rand``.
    """
    if not isinstance(model, MLP):
        raise TypeError(
            f"to_torch takes a micrograd_lite MLP, got {type(model).__name__}; "
            "build one with MLP(...) or MLP.from_weights(...)"
        )
    try:
        import torch
    except ImportError as error:
        raise _missing_torch(error) from error
    modules: list[torch.nn.Module] = []
    for layer, W, b in zip(model.layers, model.weights(), model.biases()):
        # On the meta device (shapes, no numbers): on the CPU, nn.Linear(...) would first draw random
        # weights from torch's global generator, only for them to be replaced.
        linear = torch.nn.Linear(layer.n_in, layer.n_out, device="meta")
        linear.weight = torch.nn.Parameter(torch.tensor(W, dtype=torch.float64))
        linear.bias = torch.nn.Parameter(torch.tensor(b, dtype=torch.float64))
        activation = getattr(torch.nn, MODULE_NAMES[layer.activation])
        modules += [linear, activation(dim=-1) if layer.activation == "softmax" else activation()]
    return torch.nn.Sequential(*modules)


def from_torch(module: torch.nn.Sequential) -> MLP:
    """The :class:`~micrograd_lite.nn.MLP` of a Sequential of ``Linear`` and activation modules.

    ``W[l]`` and ``b[l]`` are the ``l``-th Linear's ``weight`` and ``bias``, converted exactly to
    Python floats; ``f`` of layer ``l`` is the activation module after it (``identity`` if none).
    Raises ``ValueError`` naming the module (its name in the Sequential, e.g. ``2``, and its type)
    for anything the MLP cannot represent (see the module docstring).
    """
    try:
        import torch
    except ImportError as error:
        raise _missing_torch(error) from error
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            "from_torch takes a torch.nn.Sequential of Linear and activation modules, got "
            f"{type(module).__name__}; wrap the layers in torch.nn.Sequential(...)"
        )
    by_class = {getattr(torch.nn, name): f for f, name in MODULE_NAMES.items()}
    weights: list[list[list[float]]] = []
    biases: list[list[float]] = []
    activations: list[Activation] = []
    linear_names: list[str] = []
    seen: dict[int, str] = {}  # id of a parameter -> the module that holds it
    for name, child in module._modules.items():
        where = f"module {name} ({type(child).__name__})"
        if type(child) is torch.nn.Linear:
            if activations and activations[-1] == "softmax":
                raise ValueError(
                    f"{where} follows a Softmax: softmax is the output activation, after the last Linear"
                )
            if len(activations) < len(weights):  # the Linear before had no activation module
                activations.append("identity")
            W, b = _linear_parameters(child, where, seen)
            if weights and len(W[0]) != len(weights[-1]):
                raise ValueError(
                    f"{where} takes {len(W[0])} inputs, but module {linear_names[-1]} "
                    f"(Linear) before it gives {len(weights[-1])} outputs"
                )
            weights.append(W)
            biases.append(b)
            linear_names.append(name)
            continue
        f = by_class.get(type(child))
        if f is None:
            raise ValueError(
                f"{where} has no micrograd_lite counterpart: an MLP is Linear modules, each followed by "
                f"one of {', '.join(MODULE_NAMES.values())} (Softmax only after the last); "
                "remove the module or replace it"
            )
        if len(activations) == len(weights):
            before = "another activation" if weights else "no Linear"
            raise ValueError(
                f"{where} follows {before}: micrograd_lite applies one activation after each Linear"
            )
        if f == "softmax":
            dim = getattr(child, "dim", None)
            if dim not in SOFTMAX_DIMS:
                raise ValueError(
                    f"{where} normalises over dim={dim!r}; micrograd_lite's softmax is over the "
                    "units of the output layer: use Softmax(dim=-1)"
                )
        activations.append(f)
    if not weights:
        raise ValueError("from_torch: the Sequential holds no Linear module, so there is no layer to read")
    if len(activations) < len(weights):
        activations.append("identity")
    return MLP.from_weights(weights, biases, activations)


def _linear_parameters(
    linear: torch.nn.Linear, where: str, seen: dict[int, str]
) -> tuple[list[list[float]], list[float]]:
    """``W[l]`` (``n_out x n_in``) and ``b[l]`` of one Linear, as exact Python floats.

    ``seen`` maps each parameter already read (by ``id``) to its module, to refuse shared weights.
    """
    import torch  # imported already by from_torch, which alone calls this

    if linear.bias is None:
        raise ValueError(
            f"{where} has no bias, and every micrograd_lite unit has one (b[l]_i): "
            "give it one (bias=True; a bias of zeros computes the same)"
        )
    if linear.weight.dim() != 2 or 0 in linear.weight.shape:
        raise ValueError(
            f"{where} has a weight of shape {tuple(linear.weight.shape)}; a layer needs at least one "
            "input and one unit"
        )
    parameters: list[torch.Tensor] = [linear.weight, linear.bias]
    for p in parameters:
        if not p.is_floating_point():
            raise ValueError(
                f"{where} has {p.dtype} parameters; micrograd_lite reads real floating-point ones"
            )
        if id(p) in seen:
            raise ValueError(
                f"{where} shares its parameters with {seen[id(p)]}; every micrograd_lite layer owns its "
                "W[l] and b[l]: give each layer its own Linear"
            )
    for p in parameters:
        seen[id(p)] = where
    # Every float16/bfloat16/float32 number is a float64 number, so the conversion is exact.
    W = linear.weight.detach().to(device="cpu", dtype=torch.float64).tolist()
    b = linear.bias.detach().to(device="cpu", dtype=torch.float64).tolist()
    return W, b
