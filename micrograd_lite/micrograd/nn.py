"""micrograd 0.1.0's ``Module``, ``Neuron``, ``Layer`` and ``MLP``, on micrograd_lite Values.

Code written for karpathy's micrograd runs with one line changed::

    from micrograd.nn import MLP                    # before
    from micrograd_lite.micrograd.nn import MLP     # after

The architecture, the initialisation and the order of ``parameters()`` are micrograd's:

* ``Neuron(nin, nonlin=True)``: weights ``w`` drawn with ``random.uniform(-1, 1)``
  from Python's global ``random`` (so ``random.seed`` gives micrograd's numbers),
  bias ``b = 0``; it computes ``act = b + w_1 x_1 + ... + w_n x_n`` (one ``+`` and one
  ``*`` node per input, in that order) and returns ``act.relu()``, or ``act`` when
  ``nonlin`` is False;
* ``Layer(nin, nout, **kwargs)``: ``nout`` neurons; a layer of one neuron returns a
  Value, otherwise a list;
* ``MLP(nin, nouts)``: ReLU hidden layers and a linear output layer;
* ``parameters()``: layer by layer, neuron by neuron, ``w_1 .. w_n`` then ``b``.

``MLP`` also labels its parameters in the lecture's notation (``W[l]_ij``, ``b[l]_i``),
so micrograd_lite's drawings and step-through name them; nothing else sees labels.
Unlike micrograd, a wrong size is a clear error rather than a silently shorter ``zip``.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Sequence
from typing import Any

from micrograd_lite.engine import Value as EngineValue
from micrograd_lite.micrograd.engine import Operand, Value
from micrograd_lite.nn import subscript

Output = Value | list[Value]


def _size(n: object, what: str) -> int:
    if isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1:
        return int(n)
    raise ValueError(f"{what} must be a positive int, got {type(n).__name__} {n!r:.60}")


class Module:
    """What every part of a network has: its parameters, and a way to zero their gradients."""

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    """``relu(b + sum_j w_j x_j)``, or the sum itself when ``nonlin`` is False."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        nin = _size(nin, "nin (the number of inputs)")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Operand]) -> Value:
        if isinstance(x, (str, bytes, EngineValue)) or not isinstance(x, Sequence):
            raise TypeError(f"a Neuron takes a list of {len(self.w)} inputs, got {type(x).__name__}")
        if len(x) != len(self.w):
            raise ValueError(f"this Neuron has {len(self.w)} weights but got {len(x)} inputs")
        # Starting from b, in micrograd's order: the same additions give the same bits.
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons that each see all ``nin`` inputs; ``kwargs`` go to each Neuron."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        nout = _size(nout, "nout (the number of neurons)")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Operand]) -> Output:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """``MLP(nin, nouts)``: a layer per entry of ``nouts``, ReLU but for the last (linear)."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
            raise TypeError(
                f"nouts must be a list of layer sizes such as [16, 16, 1], got {type(nouts).__name__} "
                f"{nouts!r:.60}"
            )
        sz = [_size(nin, "nin (the number of inputs)")]
        sz += [_size(n, f"nouts[{i}]") for i, n in enumerate(nouts)]
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]
        for l, layer in enumerate(self.layers, start=1):
            for i, neuron in enumerate(layer.neurons, start=1):
                for j, w in enumerate(neuron.w, start=1):
                    w.label = f"W[{l}]_{subscript(i, j)}"
                neuron.b.label = f"b[{l}]_{i}"

    def __call__(self, x: Sequence[Operand]) -> Output:
        out = self.layers[0](x)
        for layer in self.layers[1:]:
            # A one-neuron layer gives a Value; the next layer takes it as a list of one.
            out = layer([out] if isinstance(out, Value) else out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
