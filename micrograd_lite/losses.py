"""Error functions ``E = sum_n E_n``, summed over the examples n as the lecture does.

Each example's error ``E_n`` is one node whose parents are that example's
outputs ``y_nk`` (or, for a stable pairing, its logits ``a[L]_nk``) followed by
its targets ``t_nk``, which are leaves of the graph like the inputs. With one
example ``E_1`` is ``E`` itself; with several, ``E`` is one n-ary sum node over
``E_1 .. E_N``. ``reduction="mean"`` multiplies that sum by 1/N.

====================  ==================================  ============================
output unit           error                               output delta ``dE/da[L]``
====================  ==================================  ============================
identity              :func:`squared_error`               ``y - t``
sigmoid               :func:`binary_cross_entropy`        ``y - t`` (paired, see below)
softmax               :func:`categorical_cross_entropy`   ``y_k - t_k`` (paired)
====================  ==================================  ============================

Pairing. When ``y`` comes straight from a ``sigmoid`` (or ``softmax``) node, the
cross-entropies are computed from its logits ``a[L]`` and the ``E_n`` node's
parents are those logits: ``E`` is finite even at saturated outputs (no
``log(0)``) and the output delta is ``y - t`` computed without cancellation: to
a few ulp of the exact ``sigma(a) - t``, also where ``y`` rounds to ``t``.
Inside ``no_grad()`` the outputs have no parents, but they record their logits'
values, so the pairing, and every number, is the same.
``paired=False`` gives the lecture's textbook chain instead, ``E -> y -> a[L]``,
with ``dE/dy = -t/y + (1-t)/(1-y)``; its delta equals ``y - t`` only up to
rounding, and is ``nan`` where ``y`` rounds to exactly 0 or 1.

Shapes: ``y`` is one example's output (a Value) or a list over examples; for the
categorical loss one example's output is the list ``[y_1 .. y_K]``. Targets have
the same shape, as numbers or as Value leaves; a categorical target may also be
a class index ``k`` (0-based: it selects ``y_{k+1}``).

The arithmetic of each ``E_n`` is in a ``*_terms`` function of plain floats that
returns the value and the local derivatives; the graph nodes and the compiled
code (:mod:`micrograd_lite.compiler`) both call it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Literal, cast

from micrograd_lite import numerics
from micrograd_lite.engine import SigmoidOutput, SoftmaxOutput, Value, sum_values
from micrograd_lite.nn import subscript

Reduction = Literal["sum", "mean"]
Target = float | int | Value
CategoricalTarget = int | Sequence[float | Value]
Terms = tuple[float, tuple[float, ...]]


# ----------------------------------------------------------- float arithmetic
def squared_error_terms(y: Sequence[float], t: Sequence[float]) -> Terms:
    r"""$E_n = \tfrac12 \sum_k (y_k - t_k)^2$; $dE_n/dy_k = y_k - t_k$, $dE_n/dt_k = -(y_k - t_k)$."""
    r = [yk - tk for yk, tk in zip(y, t)]
    return 0.5 * sum([rk * rk for rk in r]), (*r, *[-rk for rk in r])


def sigmoid_cross_entropy_terms(a: Sequence[float], t: Sequence[float]) -> Terms:
    r"""Cross-entropy of $y = \sigma(a)$ from the logit: $E_n = \sum_k \mathrm{softplus}(a_k) - t_k a_k$.

    $dE_n/da_k = \sigma(a_k) - t_k = y_k - t_k$, computed as
    $(1 - t_k)\,\sigma(a_k) - t_k\,\sigma(-a_k)$: no cancellation where $y_k$ rounds to
    $t_k$ (at $a = 40$, $t = 1$ the delta is $-4.2 \cdot 10^{-18}$, not 0); $dE_n/dt_k = -a_k$.
    """
    value = sum([numerics.softplus(ak) - tk * ak for ak, tk in zip(a, t)])
    d_a = [(1.0 - tk) * numerics.sigmoid(ak) - tk * numerics.sigmoid(-ak) for ak, tk in zip(a, t)]
    return value, (*d_a, *[-ak for ak in a])


def binary_cross_entropy_terms(y: Sequence[float], t: Sequence[float]) -> Terms:
    r"""$E_n = -\sum_k \{t_k \ln y_k + (1 - t_k) \ln(1 - y_k)\}$, the lecture's form.

    $dE_n/dy_k = -t_k/y_k + (1 - t_k)/(1 - y_k) = (y_k - t_k) / (y_k (1 - y_k))$ (the second
    form does not cancel); $dE_n/dt_k = \ln(1 - y_k) - \ln y_k = \ln((1 - y_k)/y_k)$.
    A term whose weight ($t_k$ or $1 - t_k$) is 0 is left out, so $0 \ln 0$ is 0, not nan.
    """
    value = 0.0
    d_y: list[float] = []
    for yk, tk in zip(y, t):
        if tk != 0.0:
            value -= tk * numerics.log(yk)
        if tk != 1.0:
            value -= (1.0 - tk) * numerics.log(1.0 - yk)
        if tk == 0.0:
            d_y.append(numerics.div(1.0, 1.0 - yk))
        elif tk == 1.0:
            d_y.append(-numerics.div(1.0, yk))
        else:
            d_y.append(numerics.div(yk - tk, yk * (1.0 - yk)))
    return value, (*d_y, *[_log_odds_against(yk) for yk in y])


def _log_odds_against(y: float) -> float:
    r"""$\ln((1 - y)/y)$; near $y = 1/2$, where it is near 0, as $\ln(1 + (1 - 2y)/y)$ ($1 - 2y$ is exact)."""
    if 0.25 <= y <= 0.75:
        return numerics.log1p(numerics.div(1.0 - 2.0 * y, y))
    return numerics.log(numerics.div(1.0 - y, y))


def softmax_cross_entropy_terms(a: Sequence[float], t: Sequence[float]) -> Terms:
    r"""Cross-entropy of $y = \mathrm{softmax}(a)$ from the logits:
    $E_n = \mathrm{logsumexp}(a) \sum_k t_k - \sum_k t_k a_k$.

    $dE_n/da_k = y_k \sum_j t_j - t_k$ ($y_k - t_k$ for one-hot targets), computed as
    $y_k \sum_{j \ne k} t_j - t_k \sum_{j \ne k} y_j$, which does not cancel where $y_k$
    rounds to 1; $dE_n/dt_k = \mathrm{logsumexp}(a) - a_k = -\ln y_k$ (see
    :func:`~micrograd_lite.numerics.log_sum_exp_minus`).
    """
    y = numerics.softmax(list(a))
    lse = numerics.logsumexp(list(a))
    t_sum = sum(t)
    value = lse * t_sum - sum([tk * ak for tk, ak in zip(t, a)])
    other_y, other_t = numerics.sums_of_others(y), numerics.sums_of_others(list(t))
    d_a = [yk * tr - tk * yr for yk, tk, yr, tr in zip(y, t, other_y, other_t)]
    return value, (*d_a, *numerics.log_sum_exp_minus(list(a)))


def categorical_cross_entropy_terms(y: Sequence[float], t: Sequence[float]) -> Terms:
    r"""$E_n = -\sum_k t_k \ln y_k$, the lecture's form; $dE_n/dy_k = -t_k / y_k$, $dE_n/dt_k = -\ln y_k$."""
    value = 0.0
    for yk, tk in zip(y, t):
        if tk != 0.0:
            value -= tk * numerics.log(yk)
    d_y = [-numerics.div(tk, yk) if tk != 0.0 else 0.0 for yk, tk in zip(y, t)]
    return value, (*d_y, *[-numerics.log(yk) for yk in y])


#: The per-example error nodes by their ``op``: parents are ``(*outputs, *targets)``.
TERMS: dict[str, Callable[[Sequence[float], Sequence[float]], Terms]] = {
    "squared error": squared_error_terms,
    "sigmoid cross-entropy": sigmoid_cross_entropy_terms,
    "binary cross-entropy": binary_cross_entropy_terms,
    "softmax cross-entropy": softmax_cross_entropy_terms,
    "categorical cross-entropy": categorical_cross_entropy_terms,
}


# ------------------------------------------------------------- graph building
def _is_batch(y: object) -> bool:
    return isinstance(y, Sequence) and not isinstance(y, (str, bytes))


def _target_leaf(t: object, label: str, what: str) -> Value:
    """A target as a leaf: a Value is used as given, a number becomes ``Value(t, label)``."""
    if isinstance(t, Value):
        if not math.isfinite(t.data):
            raise ValueError(f"{what} must be finite, got {t.data!r}")
        return t
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(t).__name__} {t!r:.60}")
    return Value(numerics.to_finite_float(t, what), label)


def _logit_node(parents: tuple[Value, ...], logit: float) -> Value:
    """The logit a sigmoid output was computed from; inside ``no_grad()`` a leaf holding its value."""
    return parents[0] if parents else Value(logit)


def _example_error(op: str, outputs: Sequence[Value], targets: Sequence[Value], label: str) -> Value:
    """One ``E_n`` node, its value and local derivatives from ``TERMS[op]``."""
    value, local = TERMS[op]([v.data for v in outputs], [v.data for v in targets])
    return Value(value, label, (*outputs, *targets), local, op)


def _total(errors: list[Value], reduction: Reduction) -> Value:
    """``E = sum_n E_n`` (one node), times 1/N for the mean."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    total = errors[0] if len(errors) == 1 else sum_values(errors, "E")
    if reduction == "mean" and len(errors) > 1:
        total.label = None
        total = total * (1.0 / len(errors))
    total.label = "E"
    return total


def _examples(
    y: object, t: object, loss: str, per_example_list: bool
) -> tuple[list[list[Value]], list[object]]:
    """Split ``y`` and ``t`` into examples; each example's outputs as a list."""
    if isinstance(y, Value):
        if per_example_list:
            raise TypeError(f"{loss}: one example's output must be the list [y_1 .. y_K], got one Value")
        if _is_batch(t):
            raise ValueError(f"{loss}: y is one Value but t is a sequence; pass a list of outputs")
        return [[y]], [t]
    if not _is_batch(y):
        raise TypeError(f"{loss}: y must be a Value or a list of Values, got {type(y).__name__}")
    ys = list(cast(Sequence[object], y))
    if not ys:
        raise ValueError(f"{loss}: y must hold at least one example; got an empty list")
    if per_example_list and isinstance(ys[0], Value):  # one example [y_1 .. y_K]
        return [cast(list[Value], ys)], [t]
    if not _is_batch(t):
        raise ValueError(f"{loss}: y holds {len(ys)} examples, so t must be a list of {len(ys)} targets")
    ts = list(cast(Sequence[object], t))
    if len(ts) != len(ys):
        raise ValueError(f"{loss}: {len(ys)} outputs but {len(ts)} targets")
    examples: list[list[Value]] = []
    for n, yn in enumerate(ys, start=1):
        outs = [yn] if isinstance(yn, Value) else list(cast(Sequence[Value], yn)) if _is_batch(yn) else None
        if outs is None or not outs or not all(isinstance(v, Value) for v in outs):
            raise TypeError(f"{loss}: y_{n} must be a Value or a list of Values, got {type(yn).__name__}")
        examples.append(outs)
    return examples, ts


def _targets(tn: object, K: int, n: int, N: int, loss: str) -> list[Value]:
    """The K target leaves of example n, labelled ``t``, ``t_k``, ``t_n`` or ``t_nk``."""
    items = list(cast(Sequence[object], tn)) if _is_batch(tn) else [tn]
    if len(items) != K:
        raise ValueError(f"{loss}: example {n} has {K} outputs but {len(items)} target entries")
    leaves = []
    for k, tk in enumerate(items, start=1):
        index = [i for i, size in ((n, N), (k, K)) if size > 1]
        label = "t_" + subscript(*index) if index else "t"
        leaves.append(_target_leaf(tk, label, f"{loss}: {label}"))
    return leaves


def squared_error(y: object, t: object, reduction: Reduction = "sum") -> Value:
    r"""$E = \tfrac12 \sum_n \sum_k (t_{nk} - y_{nk})^2$.

    ``y``: a Value, a list of Values (one output per example) or a list of lists
    (K outputs per example). $dE/dy_{nk} = y_{nk} - t_{nk}$: with an identity output
    unit this is the output delta.
    """
    examples, targets = _examples(y, t, "squared_error", per_example_list=False)
    N = len(examples)
    errors = []
    for n, (outs, tn) in enumerate(zip(examples, targets), start=1):
        leaves = _targets(tn, len(outs), n, N, "squared_error")
        errors.append(_example_error("squared error", outs, leaves, "E" if N == 1 else f"E_{n}"))
    return _total(errors, reduction)


def binary_cross_entropy(y: object, t: object, reduction: Reduction = "sum", paired: bool = True) -> Value:
    r"""$E = -\sum_n \{t_n \ln y_n + (1 - t_n) \ln(1 - y_n)\}$, targets in [0, 1].

    Paired with a sigmoid output (the default when ``y`` is a sigmoid node):
    $E_n = \mathrm{softplus}(a_n) - t_n a_n$ on the logit $a_n$, and
    $dE/da_n = y_n - t_n$ (without cancellation).
    """
    examples, targets = _examples(y, t, "binary_cross_entropy", per_example_list=False)
    N = len(examples)
    errors = []
    for n, (outs, tn) in enumerate(zip(examples, targets), start=1):
        leaves = _targets(tn, len(outs), n, N, "binary_cross_entropy")
        for leaf in leaves:
            if not 0.0 <= leaf.data <= 1.0:
                raise ValueError(
                    f"binary_cross_entropy: target {leaf.label} = {leaf.data!r} is outside [0, 1]"
                )
        label = "E" if N == 1 else f"E_{n}"
        if paired and all(isinstance(v, SigmoidOutput) for v in outs):
            logits = [_logit_node(v.parents, v.logit) for v in cast(list[SigmoidOutput], outs)]
            errors.append(_example_error("sigmoid cross-entropy", logits, leaves, label))
        else:
            errors.append(_example_error("binary cross-entropy", outs, leaves, label))
    return _total(errors, reduction)


def categorical_cross_entropy(
    y: object, t: object, reduction: Reduction = "sum", paired: bool = True
) -> Value:
    r"""$E = -\sum_n \sum_k t_{nk} \ln y_k(x_n)$ over K classes.

    ``y`` is one example's ``[y_1 .. y_K]`` or a list of those; a target is a
    0-based class index or K numbers (one-hot or probabilities). Paired with a
    softmax output (the default when an example's ``y_k`` are one softmax):
    $E_n = \mathrm{logsumexp}(a) \sum_k t_k - \sum_k t_k a_k$ and
    $dE/da_k = y_k - t_k$ for one-hot targets (without cancellation).
    """
    loss = "categorical_cross_entropy"
    examples, targets = _examples(y, t, loss, per_example_list=True)
    N = len(examples)
    errors = []
    for n, (outs, tn) in enumerate(zip(examples, targets), start=1):
        K = len(outs)
        if K < 2:
            raise ValueError(f"{loss}: example {n} has {K} output; K-class needs K >= 2 outputs")
        if isinstance(tn, numbers.Integral) and not isinstance(tn, bool):
            index = numerics.to_index(tn, f"{loss}: the class index of example {n}")
            if not 0 <= index < K:
                raise ValueError(f"{loss}: class index {index} of example {n} is not in 0..{K - 1}")
            tn = [1.0 if k == index else 0.0 for k in range(K)]
        elif not _is_batch(tn):
            raise TypeError(
                f"{loss}: the target of example {n} must be a class index (int) or a list of {K} "
                f"numbers, got {type(tn).__name__}"
            )
        leaves = _targets(tn, K, n, N, loss)
        for leaf in leaves:
            if not 0.0 <= leaf.data <= 1.0:
                raise ValueError(
                    f"{loss}: target {leaf.label} = {leaf.data!r} is outside [0, 1]: "
                    "use one-hot or probabilities"
                )
        label = "E" if N == 1 else f"E_{n}"
        first = outs[0]
        # Exactly [y_1 .. y_K] of one softmax, in order (``logits`` is one tuple shared by its outputs).
        values = first.logits if isinstance(first, SoftmaxOutput) else None
        in_order = values is not None and all(
            isinstance(v, SoftmaxOutput) and v.index == k and v.logits is values for k, v in enumerate(outs)
        )
        if paired and in_order and values is not None and len(values) == K:
            if first.parents:
                logits = list(first.parents)
            else:  # made inside no_grad(): no parents, the logits' values are recorded
                logits = [Value(a) for a in values]
            errors.append(_example_error("softmax cross-entropy", logits, leaves, label))
        else:
            errors.append(_example_error("categorical cross-entropy", outs, leaves, label))
    return _total(errors, reduction)
