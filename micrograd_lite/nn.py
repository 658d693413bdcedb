"""``Neuron``, ``Layer`` and ``MLP`` in the lecture's notation.

For unit ``i`` of layer ``l`` (layers counted from 1; ``z[0]_j = x_j``)::

    a[l]_i = sum_j W[l]_ij z[l-1]_j + b[l]_i      (one "linear" node)
    z[l]_i = f(a[l]_i)                             (one activation node)

Every node a forward pass creates is labelled that way (``x_j``, ``W[l]_ij``,
``b[l]_i``, ``a[l]_i``, ``z[l]_i``; the output layer's ``z`` is ``y``, or ``y_k``
with several outputs), so a drawing or a table reads like the lecture.
Indices above 9 are separated by a comma: ``W[2]_1,12``.

Activations: ``sigmoid``, ``tanh``, ``relu``, ``identity`` for any layer, and
``softmax`` for the output layer (K-class classification).

Initialisation (when weights are not given): PyTorch's ``nn.Linear`` default,
``W[l]_ij`` and ``b[l]_i`` uniform in ``[-1/sqrt(n), 1/sqrt(n)]`` for a layer with
``n`` inputs, drawn from ``random.Random(seed)`` in ``parameters()`` order.

``parameters()`` order: layer by layer; within a layer unit by unit; within a
unit ``W[l]_i1 .. W[l]_in`` then ``b[l]_i``.

All three derive from :class:`Module`, as in micrograd and PyTorch: one ``parameters()``,
``named_parameters()`` (``(lecture label, Value)`` pairs) and ``zero_grad()`` for any of them.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

from micrograd_lite import numerics
from micrograd_lite.engine import Value, linear, softmax
from micrograd_lite.errors import InputTypeError, InputValueError
from micrograd_lite.primitives import PRIMITIVES

Activation = Literal["sigmoid", "tanh", "relu", "identity", "softmax"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)

Output = Value | list[Value]


def subscript(*indices: int) -> str:
    """``ij`` for small indices as the lecture writes them, ``i,j`` once one exceeds 9."""
    if all(i < 10 for i in indices):
        return "".join(str(i) for i in indices)
    return ",".join(str(i) for i in indices)


def _check_activation(activation: object) -> Activation:
    if not isinstance(activation, str):
        raise InputTypeError(f"activation must be a name such as 'tanh', got {type(activation).__name__}")
    if activation not in ACTIVATIONS:
        raise InputValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    return cast(Activation, activation)


def _check_nested(x: object, depth: int, name: str, shape: str) -> None:
    """``x`` must be lists nested ``depth`` deep (numbers inside are checked later)."""
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise InputTypeError(f"{name} must hold {shape}; got {type(x).__name__} {x!r:.60}")
    if depth > 1:
        for i, item in enumerate(x):
            _check_nested(item, depth - 1, f"{name}[{i}]", shape)


class Module:
    """What ``Neuron``, ``Layer`` and ``MLP`` share: their parameters, by lecture label, and ``zero_grad``.

    A module is a tree: :meth:`parameters` lists its own parameters, then its
    :meth:`children`'s, in order. The other methods read ``parameters()``, so the
    order is stated once.
    """

    def children(self) -> Sequence[Module]:
        """The sub-modules, in ``parameters()`` order (none for a unit)."""
        return ()

    def parameters(self) -> list[Value]:
        """Every ``W[l]_ij`` and ``b[l]_i`` of this module (the order: module docstring)."""
        found: list[Value] = []
        self.collect_parameters(found)
        return found

    def collect_parameters(self, found: list[Value]) -> None:
        """Append :meth:`parameters` to ``found``: every module adds to one list, so a training
        step that asks for the parameters (``zero_grad``, a compiled step) builds no list per unit."""
        for child in self.children():
            child.collect_parameters(found)

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """``(label, parameter)`` in ``parameters()`` order: ``("W[1]_12", W[1]_12)``."""
        for p in self.parameters():
            # Every parameter is labelled when its unit is built; "" only if a user cleared it.
            yield p.label or "", p

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 before the next backward pass."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """Unit ``i`` of layer ``l``: ``z[l]_i = f(sum_j W[l]_ij z[l-1]_j + b[l]_i)``."""

    def __init__(
        self,
        weights: Sequence[float],
        bias: float,
        activation: Activation = "sigmoid",
        layer: int = 1,
        index: int = 1,
        output_label: str | None = None,
    ) -> None:
        self.activation = _check_activation(activation)
        _check_nested(weights, 1, f"weights (row {index} of W[{layer}])", "a list of numbers")
        if len(weights) == 0:
            raise InputValueError(f"Neuron {index} of layer {layer} needs at least one weight")
        self.layer, self.index = layer, index
        self.W = [
            Value(
                numerics.to_finite_float(w, f"W[{layer}]_{subscript(index, j)}"),
                f"W[{layer}]_{subscript(index, j)}",
            )
            for j, w in enumerate(weights, start=1)
        ]
        self.b = Value(numerics.to_finite_float(bias, f"b[{layer}]_{index}"), f"b[{layer}]_{index}")
        # Labels are made once here, so a forward pass only points at them.
        self.a_label = f"a[{layer}]_{index}"
        self.z_label = output_label if output_label is not None else f"z[{layer}]_{index}"

    def preactivation(self, inputs: Sequence[Value]) -> Value:
        """``a[l]_i = sum_j W[l]_ij z[l-1]_j + b[l]_i`` as one node."""
        return linear(self.W, inputs, self.b, self.a_label)

    def activate(self, a: Value) -> Value:
        """``z[l]_i = f(a[l]_i)``, labelled."""
        primitive = PRIMITIVES.get(self.activation)
        if primitive is None:
            raise ValueError("softmax couples the units of a layer: call the Layer, not one Neuron")
        z: Value = getattr(a, primitive.method)()
        z.label = self.z_label
        return z

    def __call__(self, inputs: Sequence[Value]) -> Value:
        return self.activate(self.preactivation(inputs))

    def collect_parameters(self, found: list[Value]) -> None:
        """``W[l]_i1 .. W[l]_in``, then ``b[l]_i``."""
        found += self.W
        found.append(self.b)

    def __repr__(self) -> str:
        return f"Neuron(layer={self.layer}, index={self.index}, inputs={len(self.W)}, {self.activation})"


class Layer(Module):
    """Layer ``l``: ``n_out`` units that each see all ``n_in`` outputs of layer ``l-1``."""

    def __init__(
        self,
        weights: Sequence[Sequence[float]],
        biases: Sequence[float],
        activation: Activation = "sigmoid",
        layer: int = 1,
        is_output: bool = False,
    ) -> None:
        _check_nested(weights, 2, f"weights (W[{layer}])", "n_out x n_in nested lists")
        _check_nested(biases, 1, f"biases (b[{layer}])", "a list of numbers")
        if len(weights) == 0:
            raise InputValueError(f"layer {layer} must have at least one unit (W[{layer}] is empty)")
        n_in = len(weights[0])
        for i, row in enumerate(weights, start=1):
            if len(row) != n_in:
                raise InputValueError(
                    f"W[{layer}] must be rectangular: row {i} has {len(row)} weights, row 1 has {n_in}"
                )
        if len(biases) != len(weights):
            raise InputValueError(
                f"layer {layer} has {len(weights)} units (rows of W[{layer}]) "
                f"but {len(biases)} biases in b[{layer}]"
            )
        self.layer = layer
        self.activation = _check_activation(activation)
        n_out = len(weights)
        self.neurons = [
            Neuron(
                row,
                bias,
                activation,
                layer,
                i,
                output_label=(("y" if n_out == 1 else f"y_{i}") if is_output else None),
            )
            for i, (row, bias) in enumerate(zip(weights, biases), start=1)
        ]

    @property
    def n_in(self) -> int:
        return len(self.neurons[0].W)

    @property
    def n_out(self) -> int:
        return len(self.neurons)

    def __call__(self, inputs: Sequence[Value]) -> list[Value]:
        """The layer's outputs ``z[l]``."""
        self._check_inputs(inputs)
        if self.activation == "softmax":
            return self.units(inputs)[1]
        return [neuron(inputs) for neuron in self.neurons]

    def units(self, inputs: Sequence[Value]) -> tuple[list[Value], list[Value]]:
        """``(a[l], z[l])``: every unit's pre-activation node and output node."""
        self._check_inputs(inputs)
        if self.activation == "softmax":
            a = [neuron.preactivation(inputs) for neuron in self.neurons]
            return a, softmax(a, [neuron.z_label for neuron in self.neurons])
        a = [neuron.preactivation(inputs) for neuron in self.neurons]
        return a, [neuron.activate(ai) for neuron, ai in zip(self.neurons, a)]

    def _check_inputs(self, inputs: Sequence[Value]) -> None:
        if len(inputs) != self.n_in:
            raise InputValueError(f"layer {self.layer} expects {self.n_in} inputs, got {len(inputs)}")

    def children(self) -> list[Neuron]:
        return self.neurons

    def collect_parameters(self, found: list[Value]) -> None:
        """Each unit's ``W[l]_i1 .. W[l]_in``, then ``b[l]_i``: :meth:`Neuron.collect_parameters`,
        inlined for a plain ``Neuron`` (a training step asks for the parameters once or twice, and a
        call per unit is a third of the time it takes); a subclass's own method is called."""
        for neuron in self.neurons:
            if type(neuron) is Neuron:
                found += neuron.W
                found.append(neuron.b)
            else:
                neuron.collect_parameters(found)

    def __repr__(self) -> str:
        return f"Layer({self.layer}: {self.n_in} -> {self.n_out}, {self.activation})"


def _uniform_init(sizes: Sequence[int], seed: int) -> tuple[list[list[list[float]]], list[list[float]]]:
    """PyTorch's nn.Linear default: U(-1/sqrt(n_in), 1/sqrt(n_in)), parameters() order."""
    rng = random.Random(seed)
    weights: list[list[list[float]]] = []
    biases: list[list[float]] = []
    for n_in, n_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(n_in)
        W: list[list[float]] = []
        b: list[float] = []
        for _ in range(n_out):
            W.append([rng.uniform(-bound, bound) for _ in range(n_in)])
            b.append(rng.uniform(-bound, bound))
        weights.append(W)
        biases.append(b)
    return weights, biases


@dataclass
class Trace:
    """The nodes of one forward pass: ``x``, then ``a[l]`` and ``z[l]`` indexed by ``l``.

    ``a[0]`` is empty and ``z[0]`` is ``x``, as in the lecture; ``z[L]`` is the output.
    """

    x: list[Value]
    a: list[list[Value]]
    z: list[list[Value]]

    @property
    def output(self) -> Output:
        """``y``: a Value for one output unit, else ``[y_1 .. y_K]``."""
        y = self.z[-1]
        return y[0] if len(y) == 1 else y


class MLP(Module):
    """A multi-layer perceptron: ``y(x) = z[L]``, L weight layers.

    ``MLP(2, [16, 16, 1], activations=["tanh", "tanh", "identity"], seed=0)``
    draws seeded weights; ``MLP.from_weights(W, b, activations)`` takes a
    lecturer's numbers, ``W[l-1]`` being the ``n_out x n_in`` nested list ``W[l]``.
    ``activations`` is one name for every layer or one per layer.
    """

    def __init__(
        self,
        n_inputs: int,
        layer_sizes: Sequence[int],
        activations: Activation | Sequence[Activation] | None = None,
        seed: int = 0,
    ) -> None:
        n_inputs = numerics.to_count(n_inputs, "n_inputs")
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise InputTypeError(f"layer_sizes must be a list of ints, got {type(layer_sizes).__name__}")
        if len(layer_sizes) == 0:
            raise InputValueError("layer_sizes must name at least one layer, e.g. [2, 1]")
        layer_sizes = [
            numerics.to_count(n, f"layer_sizes[{l - 1}] (layer {l})")
            for l, n in enumerate(layer_sizes, start=1)
        ]
        seed = numerics.to_index(seed, "seed")
        if activations is None:
            # micrograd's MLP(nin, nouts) is this very call and means ReLU hidden layers and a
            # linear output: any default here would silently build another network.
            micrograds = ["relu"] * (len(layer_sizes) - 1) + ["identity"]
            raise InputTypeError(
                "MLP needs activations: one name for every layer or one per layer "
                f"({', '.join(ACTIVATIONS)}). "
                f"micrograd's MLP({n_inputs}, {layer_sizes}) is activations={micrograds!r} (ReLU hidden "
                "layers, a linear output); for micrograd's own classes, import them from "
                "micrograd_lite.micrograd.nn"
            )
        weights, biases = _uniform_init([n_inputs, *layer_sizes], seed)
        self._build(weights, biases, activations)

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        activations: Activation | Sequence[Activation] = "sigmoid",
    ) -> MLP:
        """Build from explicit ``W[l]`` (nested lists, ``n_out x n_in``) and ``b[l]``."""
        _check_nested(weights, 3, "weights", "W[l] as n_out x n_in nested lists")
        _check_nested(biases, 2, "biases", "b[l] as a list per layer")
        if len(weights) == 0:
            raise InputValueError("weights must hold at least one layer's W[l]")
        if len(biases) != len(weights):
            raise InputValueError(
                f"got {len(weights)} weight matrices but {len(biases)} bias vectors; give one b[l] per W[l]"
            )
        for l in range(1, len(weights)):
            if len(weights[l]) == 0 or len(weights[l - 1]) == 0:
                continue  # Layer reports the empty one
            if len(weights[l][0]) != len(weights[l - 1]):
                raise InputValueError(
                    f"W[{l + 1}] has {len(weights[l][0])} columns but layer {l} has "
                    f"{len(weights[l - 1])} units: columns of W[l+1] must match rows of W[l]"
                )
        model = cls.__new__(cls)
        model._build(weights, biases, activations)
        return model

    def _build(
        self,
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        activations: Activation | Sequence[Activation],
    ) -> None:
        L = len(weights)
        if not isinstance(activations, (str, Sequence)):
            raise InputTypeError(
                "activations must be one name (e.g. 'tanh') or a list with one per layer, "
                f"got {type(activations).__name__} {activations!r:.60}"
            )
        if isinstance(activations, str):
            per_layer: list[Activation] = [activations] * L
        else:
            per_layer = list(activations)
            if len(per_layer) != L:
                raise InputValueError(
                    f"got {len(per_layer)} activations for {L} layers; give one per layer or one name"
                )
        for l, f in enumerate(per_layer, start=1):
            if f == "softmax" and l != L:
                raise InputValueError(f"softmax is an output activation; layer {l} of {L} is hidden")
        self.layers = [
            Layer(W, b, f, l, is_output=(l == L))
            for l, (W, b, f) in enumerate(zip(weights, biases, per_layer), start=1)
        ]
        self.input_labels = [f"x_{j}" for j in range(1, self.layers[0].n_in + 1)]

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> list[int]:
        """``[d, n_1, ..., n_L]``: inputs, then units per layer."""
        return [self.n_inputs, *(layer.n_out for layer in self.layers)]

    def inputs(self, x: Sequence[float] | Sequence[Value]) -> list[Value]:
        """The input leaves ``x_1 .. x_d`` for one example (Values are kept as given)."""
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise InputTypeError(f"x must be a sequence of {self.n_inputs} numbers, got {type(x).__name__}")
        if len(x) != self.n_inputs:
            raise InputValueError(
                f"x must have {self.n_inputs} features (x_1..x_{self.n_inputs}), got {len(x)}"
            )
        return [
            xj if isinstance(xj, Value) else Value(numerics.to_finite_float(xj, label), label)
            for xj, label in zip(x, self.input_labels)
        ]

    def forward(self, x: Sequence[float] | Sequence[Value]) -> Trace:
        """One example's forward pass, keeping every ``a[l]`` and ``z[l]`` (``z[0] = x``)."""
        trace = Trace(x=self.inputs(x), a=[[]], z=[])
        trace.z.append(trace.x)
        for layer in self.layers:
            a, z = layer.units(trace.z[-1])
            trace.a.append(a)
            trace.z.append(z)
        return trace

    def __call__(self, x: Sequence[float] | Sequence[Value]) -> Output:
        """``y(x)``: a Value for one output unit, else the list ``[y_1 .. y_K]``."""
        z = self.inputs(x)
        for layer in self.layers:
            z = layer(z)
        return z[0] if len(z) == 1 else z

    def children(self) -> list[Layer]:
        return self.layers

    def weights(self) -> list[list[list[float]]]:
        """The current ``W[l]`` as nested lists (``n_out x n_in``), layer by layer."""
        return [[[w.data for w in n.W] for n in layer.neurons] for layer in self.layers]

    def biases(self) -> list[list[float]]:
        """The current ``b[l]`` as lists, layer by layer."""
        return [[n.b.data for n in layer.neurons] for layer in self.layers]

    def __repr__(self) -> str:
        acts = ", ".join(layer.activation for layer in self.layers)
        return f"MLP({'-'.join(map(str, self.sizes))}, activations=[{acts}])"
