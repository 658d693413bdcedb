"""The lecture's hand-worked network, reproduced derivative by derivative.

Inputs ``x_1, x_2``; two hidden layers of two sigmoid units; one sigmoid output
``y = z[3]``; binary cross-entropy ``E = -t log y - (1 - t) log(1 - y)`` on one
example ``(x, t)``. The loss is built as the lecture's chain ``E -> z[3] -> a[3]``
(``paired=False``), so every edge the notes differentiate is an edge of the graph:
``dE/dz[3] = -t/z[3] + (1 - t)/(1 - z[3])``, ``dz[3]/da[3] = z[3](1 - z[3])``, and
their product ``delta[3] = z[3] - t``.
"""

from __future__ import annotations

from collections.abc import Sequence

from micrograd_lite.delta_table import DeltaTable, delta_table
from micrograd_lite.nn import MLP

#: Default numbers, as a lecturer would write them on the board.
WEIGHTS: list[list[list[float]]] = [
    [[0.15, -0.25], [0.40, 0.10]],  # W[1]: 2 x 2
    [[0.30, -0.20], [-0.35, 0.45]],  # W[2]: 2 x 2
    [[0.50, -0.60]],  # W[3]: 1 x 2
]
BIASES: list[list[float]] = [[0.05, -0.10], [0.00, 0.10], [0.05]]
X: tuple[float, float] = (1.0, 2.0)
T: float = 1.0


def lecture_network(
    weights: Sequence[Sequence[Sequence[float]]] | None = None,
    biases: Sequence[Sequence[float]] | None = None,
    seed: int | None = None,
) -> MLP:
    """The 2-2-2-1 all-sigmoid network: given weights, seeded ones, or the defaults."""
    if seed is not None:
        if weights is not None or biases is not None:
            raise ValueError("give either explicit weights and biases or a seed, not both")
        return MLP(2, [2, 2, 1], activations="sigmoid", seed=seed)
    if (weights is None) != (biases is None):
        raise ValueError("give weights and biases together")
    if weights is None or biases is None:
        weights, biases = WEIGHTS, BIASES
    return MLP.from_weights(weights, biases, activations="sigmoid")


def worked_example(
    x: Sequence[float] = X,
    t: float = T,
    weights: Sequence[Sequence[Sequence[float]]] | None = None,
    biases: Sequence[Sequence[float]] | None = None,
    seed: int | None = None,
) -> DeltaTable:
    """The lecture's table for the worked example (see the module docstring)."""
    model = lecture_network(weights, biases, seed)
    return delta_table(
        model,
        x,
        t,
        loss="binary_cross_entropy",
        paired=False,
        title="The lecture's worked example: 2-2-2-1 sigmoid network, binary cross-entropy",
    )
