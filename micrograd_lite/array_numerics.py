r"""The numerics policy on numpy arrays: the functions batched code calls, one per float function.

Batched training steps (:mod:`micrograd_lite.batched`) run a traced graph on a whole batch at once:
every number of one example becomes an array over the batch. The code they run is written from the
same table entries as the scalar code (:mod:`micrograd_lite.primitives`), so it calls, under the same
names, the functions here instead of the float functions of :mod:`micrograd_lite.numerics`:

* :data:`FUNCTIONS`: one array function for each of :data:`micrograd_lite.primitives.FUNCTIONS`
  (the same formulas: ``sigmoid`` from $e^{-|x|}$, ``tanh'`` from $e^{-2|x|}$), plus ``where``
  and the logical operations that an expression's ``if``/``or`` becomes on arrays;
* :func:`softmax_terms`, the softmax and its Jacobian, row by row as the scalar function gives them;
* :data:`TERMS`, the per-example errors of :mod:`micrograd_lite.losses` on a batch: outputs ``Y`` and
  targets ``T`` of shape ``(B, K)`` give ``E_n`` of shape ``(B,)`` and ``dE_n/dY``, ``dE_n/dT``
  of shape ``(B, K)``; the stable forms (log-sum-exp from the logits, the sigmoid cross-entropy
  from the logit, no ``0 ln 0``) are kept.

IEEE results, never an exception: callers run them under ``numpy.errstate(all="ignore")``. The
results agree with the float functions to a few ulp (the sums over k may be added in another order).
numpy is imported here; nothing imports this module until a batched step is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from micrograd_lite import numerics

Array = Any  # numpy.ndarray of float64, or a float64 scalar


def _row_sums(x: Array) -> Array:
    """``x.sum(axis=1)``, called as the ufunc's reduce (the method costs a Python-level call more)."""
    return np.add.reduce(x, axis=1)


def _div(x: Array, y: Array) -> Array:
    return np.divide(x, y)


def _sigmoid(x: Array) -> Array:
    r"""$\sigma(x)$ from $e = e^{-|x|}$: $1/(1 + e)$ for $x \ge 0$, $e/(1 + e)$ below; no overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _tanh_derivative(x: Array) -> Array:
    r"""$1 - \tanh^2 x = 1 / \cosh^2 x$, computed as $(1/\cosh x)^2$: no cancellation (the float
    function's $4 e^{-2|x|} / (1 + e^{-2|x|})^2$ is the same number to a few ulp, in fewer passes
    over the array); $\cosh x$ overflows only where the derivative is 0 anyway."""
    s = np.reciprocal(np.cosh(x))
    return s * s


_ONES: dict[int, Array] = {}


def ones(B: int) -> Array:
    """A read-only vector of B ones (``ones @ Delta`` sums ``Delta`` over the batch), made once per B."""
    vector = _ONES.get(B)
    if vector is None:
        if len(_ONES) >= 16:  # a few batch sizes at a time (the full one, the last one)
            _ONES.clear()
        vector = _ONES[B] = np.ones(B)
        vector.flags.writeable = False
    return vector


def _elementwise(fn: Callable[..., float]) -> Callable[..., Array]:
    """A float function applied number by number: the same numbers where speed matters less (powers)."""
    vectorised = np.vectorize(fn, otypes=[np.float64])

    def apply(*args: Array) -> Array:
        return vectorised(*args)

    return apply


#: The array form of every float function of :data:`micrograd_lite.primitives.FUNCTIONS`,
#: and what an expression's conditionals become on arrays.
FUNCTIONS: dict[str, Callable[..., Array]] = {
    "div": _div,
    "pow": _elementwise(numerics.pow),  # numpy differs at special operands: (-inf) ** 0.5 is nan there
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "abs": np.fabs,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "tanh_derivative": _tanh_derivative,
    "pow_base_derivative": _elementwise(numerics.pow_base_derivative),
    "pow_exponent_derivative": _elementwise(numerics.pow_exponent_derivative),
    # ``x if c else y``, ``c or d``, ``c and d``, ``not c`` of the table's expressions, on arrays.
    "where": np.where,
    "logical_or": np.logical_or,
    "logical_and": np.logical_and,
    "logical_not": np.logical_not,
}


# ------------------------------------------------------------------------- softmax
def _sums_of_others(x: Array) -> Array:
    r"""$\sum_{j \ne k} x_{nj}$ for every k, for $x \ge 0$: ``x`` times the matrix of ones with a
    zero diagonal, a sum of non-negative terms (no cancellation, unlike ``x.sum() - x_k``)."""
    K = x.shape[1]
    return x @ (np.ones((K, K)) - np.eye(K))


def _exp_and_sum(A: Array) -> tuple[Array, Array, Array]:
    """``(top, e, s)``: each row's largest logit, $e^{a - top}$ and its row sum (at least 1)."""
    top = A.max(axis=1)
    e = np.exp(A - top[:, None])
    return top, e, _row_sums(e)


def softmax(A: Array) -> Array:
    r"""$y_{nk} = e^{a_{nk} - \max_j a_{nj}} / \sum_j e^{a_{nj} - \max_j a_{nj}}$, row by row."""
    _, e, s = _exp_and_sum(A)
    return e / s[:, None]


def softmax_jacobian(Y: Array) -> Array:
    r"""$dy_{nk}/da_{nj} = y_{nk} (\delta_{kj} - y_{nj})$, shape ``(B, K, K)``; the diagonal's
    $1 - y_{nk}$ is the sum of the other outputs, as the scalar function computes it."""
    J = -(Y[:, :, None] * Y[:, None, :])
    k = np.arange(Y.shape[1])
    J[:, k, k] = Y * _sums_of_others(Y)
    return J


def _columns(values: Sequence[Array]) -> Array:
    """One array per k, each ``(B,)`` or a scalar, as a ``(B, K)`` matrix."""
    return np.stack(np.broadcast_arrays(*map(np.atleast_1d, values)), axis=1)


def softmax_terms(a: Sequence[Array]) -> tuple[Array, Array]:
    """:func:`micrograd_lite.primitives.softmax_terms` over a batch, as per-node code reads it:
    ``y[k]`` is output k and ``rows[k][j]`` is $dy_k/da_j$, each an array over the batch."""
    Y = softmax(_columns(a))
    return Y.T, softmax_jacobian(Y).transpose(1, 2, 0)


# ------------------------------------------------------------------ per-example errors
# Each takes the outputs (or logits) and targets as (B, K) arrays and returns E_n (B,),
# dE_n/dY and, if ``target_grads`` (detect_anomaly checks them; nothing else needs them), dE_n/dT.
def _log_sum_exp_minus(A: Array) -> Array:
    r"""$\ln \sum_j e^{a_j} - a_k = (a_{top} - a_k) + \ln(1 + \sum_{j \ne top} e^{a_j - a_{top}})$."""
    n = np.arange(A.shape[0])
    i = A.argmax(axis=1)
    top = A[n, i]
    e = np.exp(A - top[:, None])
    e[n, i] = 0.0
    return (top[:, None] - A) + np.log1p(_row_sums(e))[:, None]


def squared_error(Y: Array, T: Array, target_grads: bool = True) -> tuple[Array, Array, Array | None]:
    r"""$E_n = \tfrac12 \sum_k (y_{nk} - t_{nk})^2$; $dE_n/dY = Y - T$, $dE_n/dT = -(Y - T)$."""
    R = Y - T
    return 0.5 * _row_sums(R * R), R, -R if target_grads else None


def sigmoid_cross_entropy(A: Array, T: Array, target_grads: bool = True) -> tuple[Array, Array, Array | None]:
    r"""$E_n = \sum_k \mathrm{softplus}(a_{nk}) - t_{nk} a_{nk}$ from the logits;
    $dE_n/dA = (1 - T)\sigma(A) - T \sigma(-A)$ (no cancellation), $dE_n/dT = -A$."""
    softplus = np.maximum(A, 0.0) + np.log1p(np.exp(-np.abs(A)))
    d_A = (1.0 - T) * _sigmoid(A) - T * _sigmoid(-A)
    return _row_sums(softplus - T * A), d_A, -A if target_grads else None


def binary_cross_entropy(Y: Array, T: Array, target_grads: bool = True) -> tuple[Array, Array, Array | None]:
    r"""$E_n = -\sum_k t \ln y + (1 - t) \ln(1 - y)$, a term of weight 0 left out (no $0 \ln 0$);
    $dE_n/dy = (y - t)/(y (1 - y))$ ($-1/y$ at $t = 1$, $1/(1 - y)$ at $t = 0$),
    $dE_n/dt = \ln((1 - y)/y)$, near $y = 1/2$ as $\ln(1 + (1 - 2y)/y)$."""
    value = -(np.where(T != 0.0, T * np.log(Y), 0.0) + np.where(T != 1.0, (1.0 - T) * np.log(1.0 - Y), 0.0))
    d_Y = np.where(T == 0.0, 1.0 / (1.0 - Y), np.where(T == 1.0, -(1.0 / Y), (Y - T) / (Y * (1.0 - Y))))
    d_T = None
    if target_grads:
        middle = (Y >= 0.25) & (Y <= 0.75)
        d_T = np.where(middle, np.log1p((1.0 - 2.0 * Y) / Y), np.log((1.0 - Y) / Y))
    return _row_sums(value), d_Y, d_T


def softmax_cross_entropy(A: Array, T: Array, target_grads: bool = True) -> tuple[Array, Array, Array | None]:
    r"""$E_n = \mathrm{logsumexp}(a_n) \sum_k t_{nk} - \sum_k t_{nk} a_{nk}$ from the logits;
    $dE_n/da_k = y_k \sum_{j \ne k} t_j - t_k \sum_{j \ne k} y_j$, $dE_n/dt_k = -\ln y_k$."""
    top, e, s = _exp_and_sum(A)
    log_sum_exp = np.where(np.isinf(top), top, top + np.log(s))
    value = log_sum_exp * _row_sums(T) - _row_sums(T * A)
    d_A = (e * _sums_of_others(T) - T * _sums_of_others(e)) / s[:, None]
    return value, d_A, _log_sum_exp_minus(A) if target_grads else None


def categorical_cross_entropy(
    Y: Array, T: Array, target_grads: bool = True
) -> tuple[Array, Array, Array | None]:
    r"""$E_n = -\sum_k t_{nk} \ln y_{nk}$ (no $0 \ln 0$); $dE_n/dY = -T/Y$, $dE_n/dT = -\ln Y$."""
    value = -_row_sums(np.where(T != 0.0, T * np.log(Y), 0.0))
    d_Y = np.where(T != 0.0, -(T / Y), 0.0)
    return value, d_Y, -np.log(Y) if target_grads else None


#: The per-example error of each error node's ``op`` (:data:`micrograd_lite.losses.TERMS`), on a batch.
TERMS: dict[str, Callable[[Array, Array, bool], tuple[Array, Array, Array | None]]] = {
    "squared error": squared_error,
    "sigmoid cross-entropy": sigmoid_cross_entropy,
    "binary cross-entropy": binary_cross_entropy,
    "softmax cross-entropy": softmax_cross_entropy,
    "categorical cross-entropy": categorical_cross_entropy,
}


def node_terms(op: str) -> Callable[[Sequence[Array], Sequence[Array]], tuple[Array, tuple[Array, ...]]]:
    """``TERMS[op]`` called as per-node code calls the float function: the outputs and targets as
    one array (or scalar) per k; it returns ``E_n`` and one local derivative per input."""
    terms = TERMS[op]

    def call(y: Sequence[Array], t: Sequence[Array]) -> tuple[Array, tuple[Array, ...]]:
        Y, T = np.broadcast_arrays(_columns(y), _columns(t))
        value, d_Y, d_T = terms(np.array(Y, dtype=np.float64), np.array(T, dtype=np.float64), True)
        assert d_T is not None
        return value, (*d_Y.T, *d_T.T)

    return call
