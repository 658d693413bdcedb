"""Training steps written by hand in numpy: the reference a batched compiled step is measured against.

One forward and backward pass of an MLP with tanh hidden layers over a whole batch at once, in the
lecture's matrix form. Row n of ``X`` is example n, so every ``A[l]`` and ``Z[l]`` is N x (units)::

    A[l] = Z[l-1] @ W[l].T + b[l]        Z[l] = tanh(A[l])            (Z[0] = X)
    delta[L] = Y - T                     (identity + squared error, softmax + cross-entropy)
    delta[l] = (delta[l+1] @ W[l+1]) * (1 - Z[l]^2)
    dE/dW[l] = delta[l].T @ Z[l-1]       dE/db[l] = sum over the rows of delta[l]

The output layer decides E and Y:

* ``"identity"``: ``Y = A[L]``, ``E = 1/2 sum_n sum_k (Y_nk - T_nk)^2`` (the squared error);
* ``"softmax"``: ``Y = softmax(A[L])`` row by row, ``E = -sum_n sum_k T_nk log Y_nk`` with ``T``
  one-hot, computed as ``logsumexp(A[L]_n) - A[L]_n,t_n`` (no ``log 0``).

In both the output delta is ``Y - T``, as the lecture shows. Weights come in as
``micrograd_lite``'s ``MLP.weights()`` and ``MLP.biases()`` give them (``W[l]`` an
``n_out x n_in`` nested list), converted once by :func:`as_arrays`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Array = Any  # numpy.ndarray of float64
Output = Literal["identity", "softmax"]


def as_arrays(
    weights: Sequence[Sequence[Sequence[float]]], biases: Sequence[Sequence[float]]
) -> tuple[list[Array], list[Array]]:
    """``MLP.weights()``, ``MLP.biases()`` as float64 arrays (``W[l]``: n_out x n_in; ``b[l]``: n_out)."""
    return [np.array(W, dtype=np.float64) for W in weights], [np.array(b, dtype=np.float64) for b in biases]


def one_hot(t: Sequence[int], K: int) -> Array:
    """Class indices as the N x K matrix ``T`` (``T_nk = 1`` where ``t_n = k``)."""
    T = np.zeros((len(t), K))
    T[np.arange(len(t)), np.asarray(t)] = 1.0
    return T


def mlp_step(
    weights: Sequence[Array], biases: Sequence[Array], X: Array, T: Array, output: Output
) -> tuple[float, list[Array], list[Array]]:
    """``(E, [dE/dW[l]], [dE/db[l]])`` for the batch ``X`` (N x d) with targets ``T`` (N x K)."""
    L = len(weights)
    Z = [X]  # Z[0] = X; Z[l] = tanh(A[l]) for the hidden layers
    for l in range(L - 1):
        Z.append(np.tanh(Z[l] @ weights[l].T + biases[l]))
    A_L = Z[L - 1] @ weights[L - 1].T + biases[L - 1]
    if output == "identity":
        Y = A_L
        residual = Y - T
        E = 0.5 * float(np.sum(residual * residual))
        delta = residual
    else:
        shifted = A_L - A_L.max(axis=1, keepdims=True)  # exp cannot overflow
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        Y = exps / sums
        E = float(np.sum(T * (np.log(sums) - shifted)))  # -sum_k T_nk log Y_nk
        delta = Y - T
    grad_W: list[Array] = [np.empty(0)] * L
    grad_b: list[Array] = [np.empty(0)] * L
    for l in range(L - 1, -1, -1):
        grad_W[l] = delta.T @ Z[l]
        grad_b[l] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ weights[l]) * (1.0 - Z[l] * Z[l])
    return E, grad_W, grad_b


def w1_step(
    weights: Sequence[Array], biases: Sequence[Array], X: Array, t: Array
) -> tuple[float, list[Array], list[Array]]:
    """W1: tanh hidden layers, one identity output unit, ``E = 1/2 sum_n (y_n - t_n)^2``; ``t``: N numbers."""
    return mlp_step(weights, biases, X, t.reshape(-1, 1), "identity")


def softmax_step(
    weights: Sequence[Array], biases: Sequence[Array], X: Array, T: Array
) -> tuple[float, list[Array], list[Array]]:
    """tanh hidden layers, a softmax output, categorical cross-entropy; ``T`` one-hot (N x K)."""
    return mlp_step(weights, biases, X, T, "softmax")


def flat_gradients(grad_W: Sequence[Array], grad_b: Sequence[Array]) -> list[float]:
    """The gradients in ``MLP.parameters()`` order: unit by unit, ``W[l]_i1 .. W[l]_in`` then ``b[l]_i``."""
    return [
        float(g)
        for gW, gb in zip(grad_W, grad_b)
        for row, gbi in zip(gW, gb)
        for g in (*row.tolist(), float(gbi))
    ]
