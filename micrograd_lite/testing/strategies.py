"""Hypothesis strategies: safe operands, random expression graphs, random networks.

Needs the optional dependency hypothesis (``pip install hypothesis``).

* :func:`safe_floats` ``(op)``: numbers where one operation is defined and
  differentiable, with derivatives that lose no digits;
* :func:`programs`: random expression graphs over every operation, with shared
  subexpressions, as a :class:`~micrograd_lite.testing.programs.Program` that runs
  on Values, floats, mpmath, autograd or torch; guarded to be differentiable where
  drawn (see :class:`~micrograd_lite.testing.programs.GraphBuilder`);
* :func:`networks`: random MLPs (sizes, activations, weights) with a batch of
  inputs, targets and the matching error function, as a :class:`NetworkCase`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "micrograd_lite.testing.strategies needs hypothesis, an optional dependency: "
        "pip install hypothesis (the rest of micrograd_lite works without it)"
    ) from error

from micrograd_lite.engine import Value
from micrograd_lite.losses import binary_cross_entropy, categorical_cross_entropy, squared_error
from micrograd_lite.nn import MLP
from micrograd_lite.primitives import ANYWHERE, OPERATIONS, PRIMITIVES, Domain, Primitive
from micrograd_lite.testing.programs import (
    BINARY,
    LIMIT,
    UNARY,
    WITH_CONSTANT,
    GraphBuilder,
    Program,
)

__all__ = ["NetworkCase", "networks", "programs", "safe_floats"]


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _away_from_zero(margin: float, bound: float) -> st.SearchStrategy[float]:
    return st.builds(lambda m, s: m if s else -m, _floats(margin, bound), st.booleans())


def _domain(domain: Domain) -> st.SearchStrategy[float]:
    if domain.away_from_zero:
        return _away_from_zero(domain.lo, domain.hi)
    return _floats(domain.lo, domain.hi)


def safe_floats(op: str = "any") -> st.SearchStrategy[float]:
    """Operands where ``op`` is defined and differentiable, its derivative accurate.

    The domain is the operation's own (``domains`` in :mod:`micrograd_lite.primitives`): of the
    first input that has one, e.g. ``exp`` and ``expm1``: [-50, 50]; ``log`` and ``sqrt``: [1e-3, 1e3];
    ``log1p``: [-0.9, 1e3]; ``sigmoid`` and ``tanh``: [-6, 6] (beyond, their derivatives are tiny
    next to the values they come from); ``relu``, ``abs`` and a divisor ``/``: 1e-3 to 1e3 away
    from 0; the base of ``**``: [1e-3, 100];
    anything else (``+ - * neg identity``, the operations of many inputs, ``"any"``): [-1e3, 1e3].
    """
    operation = OPERATIONS.get(op)
    if operation is None and op != "any":
        raise ValueError(f"no safe domain for {op!r}; operations: any, {', '.join(OPERATIONS)}")
    if isinstance(operation, Primitive):
        return _domain(next((d for d in operation.domains if d != ANYWHERE), ANYWHERE))
    return _domain(ANYWHERE)


def programs(
    min_inputs: int = 1, max_inputs: int = 4, max_operations: int = 12, input_range: float = 2.0
) -> st.SearchStrategy[Program]:
    """Random expression graphs over every operation, differentiable at their inputs.

    Inputs lie in ``[-input_range, input_range]``. Each of up to ``max_operations``
    operations (plus the guards it needs) takes its arguments from any earlier
    slot, so subexpressions are shared; the output sums every slot nothing else
    uses, so every input and every step reaches it.
    """
    if not 1 <= min_inputs <= max_inputs or max_operations < 0 or not 0 < input_range <= LIMIT:
        raise ValueError(
            f"programs(): need 1 <= min_inputs <= max_inputs, max_operations >= 0 and "
            f"0 < input_range <= {LIMIT}; got {min_inputs}, {max_inputs}, {max_operations}, {input_range}"
        )
    return _programs(min_inputs, max_inputs, max_operations, input_range)


@st.composite
def _programs(
    draw: st.DrawFn, min_inputs: int, max_inputs: int, max_operations: int, input_range: float
) -> Program:
    xs = draw(st.lists(_floats(-input_range, input_range), min_size=min_inputs, max_size=max_inputs))
    builder = GraphBuilder(xs, lambda lo, hi: draw(_floats(lo, hi)))
    available = list(range(len(xs)))  # slots later steps may use
    n_operations = draw(st.integers(0, max_operations))
    kinds = st.sampled_from(["unary", "binary", "constant", "sum", "linear", "softmax"])
    for _ in range(n_operations):
        slot = st.sampled_from(available)
        kind = draw(kinds)
        if kind == "unary":
            out = builder.unary(draw(st.sampled_from(UNARY)), draw(slot))
        elif kind == "binary":
            out = builder.binary(draw(st.sampled_from(BINARY)), draw(slot), draw(slot))
        elif kind == "constant":
            out = builder.with_constant(draw(st.sampled_from(WITH_CONSTANT)), draw(slot))
        elif kind == "sum":
            out = builder.sum(draw(st.lists(slot, min_size=1, max_size=4)))
        elif kind == "linear":
            n = draw(st.integers(1, 3))
            w, z = draw(st.lists(slot, min_size=n, max_size=n)), draw(st.lists(slot, min_size=n, max_size=n))
            out = builder.linear(w, z, draw(slot))
        else:
            logits = draw(st.lists(slot, min_size=2, max_size=4))
            out = builder.softmax(logits, draw(st.integers(0, len(logits) - 1)))
        available.append(out)
    used = {i for step in builder.steps for i in step.args}
    return builder.finish([i for i in available if i not in used])


# ------------------------------------------------------------------------------ networks

#: Every elementwise activation (the table's order), and the output units: identity first, as
#: hypothesis shrinks towards the first; softmax (of many inputs) only for the output layer.
HIDDEN = tuple(p.name for p in PRIMITIVES.values() if p.activation)
OUTPUT = ("identity", *(f for f in HIDDEN if f != "identity"), "softmax")
#: Margins the drawn networks keep: relu pre-activations away from the kink,
#: sigmoid/tanh/softmax pre-activations where their derivatives lose no digits.
RELU_MARGIN = 1e-3
SATURATION = 6.0


@dataclass(frozen=True)
class NetworkCase:
    """A network, a batch of examples and the error function that fits its output.

    ``weights[l-1]`` is the lecture's ``W[l]`` (``n_out x n_in`` nested lists).
    ``loss`` follows the output unit: ``binary_cross_entropy`` for one sigmoid
    output (``t`` in [0, 1]), ``categorical_cross_entropy`` for softmax (``t`` a
    class index), ``squared_error`` otherwise (``t`` one number per output unit).
    """

    weights: list[list[list[float]]]
    biases: list[list[float]]
    activations: list[str]
    x: list[list[float]]
    t: list[Any]
    loss: str

    @property
    def sizes(self) -> list[int]:
        return [len(self.weights[0][0]), *(len(W) for W in self.weights)]

    def build(self) -> MLP:
        return MLP.from_weights(self.weights, self.biases, self.activations)  # type: ignore[arg-type]

    def error(self, model: MLP) -> Value:
        """``E`` summed over the batch."""
        return self.error_of([model(x) for x in self.x])

    def error_of(self, ys: list[Any]) -> Value:
        """``E`` of the outputs ``ys`` (one per example, as ``model(x)`` returns them)."""
        if self.loss == "binary_cross_entropy":
            return binary_cross_entropy(ys, self.t)
        if self.loss == "categorical_cross_entropy":
            return categorical_cross_entropy(ys, self.t)
        return squared_error(ys, self.t)


def _preactivations_ok(case: NetworkCase) -> bool:
    """Every relu input away from the kink, every squashing input unsaturated."""
    for x in case.x:
        z = list(x)
        for W, b, f in zip(case.weights, case.biases, case.activations):
            a = [math.fsum([*(w * zj for w, zj in zip(row, z)), bi]) for row, bi in zip(W, b)]
            guard = PRIMITIVES[f].guards[0] if f in PRIMITIVES else "squash"  # softmax squashes too
            if guard == "off_kink" and any(abs(ai) < RELU_MARGIN for ai in a):
                return False
            if guard == "squash" and any(abs(ai) > SATURATION for ai in a):
                return False
            if f in PRIMITIVES:  # softmax is the last layer
                z = [PRIMITIVES[f].forward(ai) for ai in a]
    return True


@st.composite
def _network_case(
    draw: st.DrawFn, max_inputs: int, max_width: int, max_layers: int, max_examples: int
) -> NetworkCase:
    weight = _floats(-1.0, 1.0)
    n_in = draw(st.integers(1, max_inputs))
    n_layers = draw(st.integers(1, max_layers))
    activations = [draw(st.sampled_from(HIDDEN)) for _ in range(n_layers - 1)]
    activations.append(draw(st.sampled_from(OUTPUT)))
    out = activations[-1]
    n_out = 1 if out == "sigmoid" else draw(st.integers(2 if out == "softmax" else 1, max(2, max_width)))
    sizes = [n_in, *(draw(st.integers(1, max_width)) for _ in range(n_layers - 1)), n_out]
    weights = [
        [draw(st.lists(weight, min_size=n, max_size=n)) for _ in range(m)]
        for n, m in itertools.pairwise(sizes)
    ]
    biases = [draw(st.lists(weight, min_size=m, max_size=m)) for m in sizes[1:]]
    n_examples = draw(st.integers(1, max_examples))
    x = [draw(st.lists(_floats(-1.0, 1.0), min_size=n_in, max_size=n_in)) for _ in range(n_examples)]
    t: list[Any]
    if out == "sigmoid":
        loss, t = (
            "binary_cross_entropy",
            draw(st.lists(_floats(0.0, 1.0), min_size=n_examples, max_size=n_examples)),
        )
    elif out == "softmax":
        loss = "categorical_cross_entropy"
        t = draw(st.lists(st.integers(0, n_out - 1), min_size=n_examples, max_size=n_examples))
    else:
        loss = "squared_error"
        target = _floats(-1.0, 1.0)
        t = [
            draw(target) if n_out == 1 else draw(st.lists(target, min_size=n_out, max_size=n_out)) for _ in x
        ]
    return NetworkCase(weights, biases, activations, x, t, loss)


def networks(
    max_inputs: int = 3, max_width: int = 4, max_layers: int = 3, max_examples: int = 3
) -> st.SearchStrategy[NetworkCase]:
    """Random MLPs with weights and inputs in [-1, 1], a batch of examples and targets.

    Hidden activations are drawn from sigmoid, tanh, relu, identity, the output
    unit from those and softmax; drawn cases keep relu pre-activations at least
    1e-3 from the kink and sigmoid/tanh/softmax ones within [-6, 6].
    """
    return _network_case(max_inputs, max_width, max_layers, max_examples).filter(_preactivations_ok)
