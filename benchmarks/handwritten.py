"""W1 written by hand in plain floats: the limit a compiled W1 step can aim at.

One training step (forward, backward, gradients of every parameter) of an MLP
with tanh hidden layers and an identity output unit, on a batch, with the summed
squared error ``E = 1/2 sum_n (y_n - t_n)^2``. No graph, no Value: lists of
floats, one loop over the layers each way, and the inner products done by
``sum(map(mul, ...))`` so that the work per weight runs in C.

The batch is processed layer by layer. Forward: each example's ``z[l]`` is a
list; backward: ``delta[l]`` per example, then ``dE/dW[l]_ij = sum_n delta[l]_ni
z[l-1]_nj`` as one inner product over the examples per weight (the delta and z
lists transposed to columns first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul

Matrix = list[list[float]]


def w1_step(
    weights: Sequence[Matrix], biases: Sequence[list[float]], xs: Sequence[list[float]], ts: Sequence[float]
) -> tuple[float, list[Matrix], list[list[float]]]:
    """``(E, dE/dW, dE/db)``; ``weights[l]`` is ``W[l+1]`` as ``n_out x n_in`` rows.

    Hidden layers are tanh, the last layer is identity with one output unit.
    """
    tanh = math.tanh
    L = len(weights)
    # forward: zs[l] holds z[l] for every example (zs[0] = the inputs)
    zs: list[list[list[float]]] = [[list(x) for x in xs]]
    for l in range(L):
        rows, bias, z_in = weights[l], biases[l], zs[l]
        if l < L - 1:
            zs.append([[tanh(sum(map(mul, row, z)) + b) for row, b in zip(rows, bias)] for z in z_in])
        else:
            zs.append([[sum(map(mul, row, z)) + b for row, b in zip(rows, bias)] for z in z_in])
    ys = [z[0] for z in zs[L]]
    residuals = [y - t for y, t in zip(ys, ts)]
    E = 0.5 * sum([r * r for r in residuals])

    # backward: deltas[n] is delta[l] of example n, from the output layer down
    deltas: list[list[float]] = [[r] for r in residuals]
    grad_W: list[Matrix] = [[] for _ in range(L)]
    grad_b: list[list[float]] = [[] for _ in range(L)]
    for l in range(L - 1, -1, -1):
        delta_columns = list(zip(*deltas))  # delta[l]_i over the examples
        z_columns = list(zip(*zs[l]))  # z[l-1]_j over the examples
        grad_W[l] = [[sum(map(mul, d, z)) for z in z_columns] for d in delta_columns]
        grad_b[l] = [sum(d) for d in delta_columns]
        if l > 0:
            columns = list(zip(*weights[l]))  # W[l]_ij over i, for each j
            deltas = [
                [sum(map(mul, column, delta)) * (1.0 - zj * zj) for column, zj in zip(columns, z)]
                for delta, z in zip(deltas, zs[l])
            ]
    return E, grad_W, grad_b
