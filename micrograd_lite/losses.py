"""Error functions ``E``, summed over the examples n as the lecture does.

Each loss is one node labelled ``E`` whose parents are the network outputs (or,
for a stable pairing, the output pre-activations), with the local derivatives
the lecture derives. ``reduction="mean"`` divides by the number of examples N.

====================  ======================  =========================================
output unit           error                   output delta ``dE/da[L]``
====================  ======================  =========================================
identity              :func:`squared_error`   ``y - t``
sigmoid               :func:`binary_cross_entropy`  ``y - t`` (paired, see below)
softmax               :func:`categorical_cross_entropy`  ``y_k - t_k`` (paired)
====================  ======================  =========================================

Pairing. When ``y`` comes straight from a ``sigmoid`` (or ``softmax``) node, the
cross-entropies are computed from its logits ``a[L]`` and the ``E`` node's parents
are those logits: ``E`` is finite even at saturated outputs (no ``log(0)``) and
the output delta is exactly ``y - t``, bit for bit. ``paired=False`` gives the
lecture's textbook chain instead, ``E -> y -> a[L]``, with
``dE/dy = -t/y + (1-t)/(1-y)``; its delta equals ``y - t`` only up to rounding and
saturates to ``nan``/``inf`` where ``y`` rounds to 0 or 1.

Shapes: ``y`` is one example's output (a Value) or a list over examples; for the
categorical loss one example's output is the list ``[y_1 .. y_K]``. Targets have
the same shape; a categorical target is a class index ``k`` (0-based: it selects
``y_{k+1}``) or a one-hot / probability list of K numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, cast

from micrograd_lite import numerics
from micrograd_lite.engine import Value

Reduction = Literal["sum", "mean"]
Target = float | int
CategoricalTarget = int | Sequence[float]


def _is_batch(y: object) -> bool:
    return isinstance(y, Sequence) and not isinstance(y, (str, bytes))


def _scalar_pairs(
    y: Value | Sequence[Value], t: Target | Sequence[Target], loss: str
) -> list[tuple[Value, float]]:
    """Pair each output with its target, checking shapes and types."""
    if isinstance(y, Value):
        ys: list[Value] = [y]
        if _is_batch(t):
            raise ValueError(f"{loss}: y is one Value but t is a sequence; pass a list of outputs")
        ts: list[object] = [t]
    else:
        if not _is_batch(y):
            raise TypeError(f"{loss}: y must be a Value or a list of Values, got {type(y).__name__}")
        if not _is_batch(t):
            raise ValueError(
                f"{loss}: y is a list of {len(y)} outputs, so t must be a list of {len(y)} targets"
            )
        ys, ts = list(y), list(cast(Sequence[object], t))
        if len(ys) != len(ts):
            raise ValueError(f"{loss}: {len(ys)} outputs but {len(ts)} targets")
    if not ys:
        raise ValueError(f"{loss}: no examples (y is empty)")
    pairs = []
    for n, (yn, tn) in enumerate(zip(ys, ts), start=1):
        if not isinstance(yn, Value):
            raise TypeError(f"{loss}: y_{n} must be a Value, got {type(yn).__name__}")
        pairs.append((yn, _target(tn, f"{loss}: t_{n}")))
    return pairs


def _target(t: object, what: str) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(t).__name__} {t!r:.60}")
    t = float(t)
    if not math.isfinite(t):
        raise ValueError(f"{what} must be finite, got {t!r}")
    return t


def _reduce(n_examples: int, reduction: Reduction) -> float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / n_examples
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


def squared_error(
    y: Value | Sequence[Value] | Sequence[Sequence[Value]],
    t: Target | Sequence[Target] | Sequence[Sequence[Target]],
    reduction: Reduction = "sum",
) -> Value:
    r"""$E = \tfrac12 \sum_n (t_n - y_n)^2$ (summed over output units too).

    One node with parents $y_n$ and $dE/dy_n = y_n - t_n$: with an identity
    output unit this is the output delta.
    """
    if isinstance(y, Sequence) and len(y) > 0 and _is_batch(y[0]):
        outputs = cast(Sequence[Sequence[Value]], y)
        if not isinstance(t, Sequence) or len(t) != len(outputs):
            raise ValueError("squared_error: t must be a list of target lists, one per example")
        pairs = [p for yn, tn in zip(outputs, t) for p in _scalar_pairs(yn, tn, "squared_error")]
        n_examples = len(outputs)
    else:
        pairs = _scalar_pairs(cast(Sequence[Value], y), cast(Sequence[Target], t), "squared_error")
        n_examples = len(pairs)
    scale = _reduce(n_examples, reduction)
    residuals = [yn.data - tn for yn, tn in pairs]
    value = scale * 0.5 * sum(r * r for r in residuals)
    local = residuals if scale == 1.0 else [scale * r for r in residuals]
    return Value(value, "E", tuple(yn for yn, _ in pairs), tuple(local), "squared error")


def binary_cross_entropy(
    y: Value | Sequence[Value],
    t: Target | Sequence[Target],
    reduction: Reduction = "sum",
    paired: bool = True,
) -> Value:
    r"""$E = -\sum_n \{t_n \ln y_n + (1 - t_n) \ln(1 - y_n)\}$, targets in [0, 1].

    Paired with a sigmoid output (the default when ``y`` is a sigmoid node):
    $E_n = \mathrm{softplus}(a_n) - t_n a_n$ on the logit $a_n$, and
    $dE/da_n = y_n - t_n$ exactly.
    """
    pairs = _scalar_pairs(y, t, "binary_cross_entropy")
    for n, (_, tn) in enumerate(pairs, start=1):
        if not 0.0 <= tn <= 1.0:
            raise ValueError(f"binary_cross_entropy: t_{n} = {tn!r} is outside [0, 1]")
    scale = _reduce(len(pairs), reduction)
    if paired and all(yn.op == "sigmoid" for yn, _ in pairs):
        value = sum(numerics.softplus(yn.parents[0].data) - tn * yn.parents[0].data for yn, tn in pairs)
        local = [scale * (yn.data - tn) if scale != 1.0 else yn.data - tn for yn, tn in pairs]
        parents = tuple(yn.parents[0] for yn, _ in pairs)
        return Value(scale * value, "E", parents, tuple(local), "sigmoid cross-entropy")
    value = 0.0
    local = []
    for yn, tn in pairs:
        p = yn.data
        # Terms whose target weight is 0 are dropped, so 0 * log(0) is 0, not nan.
        if tn != 0.0:
            value -= tn * numerics.log(p)
        if tn != 1.0:
            value -= (1.0 - tn) * numerics.log(1.0 - p)
        d = 0.0
        if tn != 0.0:
            d -= numerics.div(tn, p)
        if tn != 1.0:
            d += numerics.div(1.0 - tn, 1.0 - p)
        local.append(scale * d)
    return Value(scale * value, "E", tuple(yn for yn, _ in pairs), tuple(local), "cross-entropy")


def _one_hot(t: object, K: int, what: str) -> list[float]:
    if isinstance(t, int) and not isinstance(t, bool):
        if not 0 <= t < K:
            raise ValueError(f"{what} = {t} is not a class index in 0..{K - 1}")
        return [1.0 if k == t else 0.0 for k in range(K)]
    if not _is_batch(t):
        raise TypeError(
            f"{what} must be a class index (int) or a list of {K} numbers, got {type(t).__name__}"
        )
    entries = cast(Sequence[object], t)
    if len(entries) != K:
        raise ValueError(f"{what} has {len(entries)} entries but there are {K} classes")
    probs = [_target(tk, f"{what}[{k}]") for k, tk in enumerate(entries)]
    if any(p < 0.0 for p in probs):
        raise ValueError(f"{what} has a negative entry: targets are one-hot or probabilities")
    return probs


def categorical_cross_entropy(
    y: Sequence[Value] | Sequence[Sequence[Value]],
    t: CategoricalTarget | Sequence[CategoricalTarget],
    reduction: Reduction = "sum",
    paired: bool = True,
) -> Value:
    r"""$E = -\sum_n \sum_k t_{nk} \ln y_k(x_n)$ over K classes.

    Paired with a softmax output (the default when every ``y_k`` of an example is
    one softmax over the same logits): $E_n = \mathrm{logsumexp}(a) \sum_k t_{nk}
    - \sum_k t_{nk} a_k$ and $dE/da_k = y_k - t_k$ exactly for one-hot targets.
    """
    if not _is_batch(y) or len(y) == 0:
        raise ValueError("categorical_cross_entropy: y must be [y_1..y_K] or a list of those")
    single = isinstance(y[0], Value)
    examples = [cast(Sequence[Value], y)] if single else list(cast(Sequence[Sequence[Value]], y))
    targets: list[object] = [t] if single else list(cast(Sequence[object], t))
    if len(targets) != len(examples):
        raise ValueError(f"categorical_cross_entropy: {len(examples)} examples but {len(targets)} targets")
    scale = _reduce(len(examples), reduction)
    parents: list[Value] = []
    local: list[float] = []
    value = 0.0
    any_paired = False
    for n, (yn, tn) in enumerate(zip(examples, targets), start=1):
        K = len(yn)
        if K < 2:
            raise ValueError(f"categorical_cross_entropy: example {n} has {K} outputs; need K >= 2")
        for k, v in enumerate(yn, start=1):
            if not isinstance(v, Value):
                raise TypeError(
                    f"categorical_cross_entropy: y_{n}{k} must be a Value, got {type(v).__name__}"
                )
        probs = _one_hot(tn, K, f"categorical_cross_entropy: t_{n}")
        t_sum = sum(probs)
        logits = yn[0].parents
        if paired and all(v.op == "softmax" and v.parents is logits for v in yn) and len(logits) == K:
            any_paired = True
            top = max(a.data for a in logits)
            lse = top + math.log(sum(math.exp(a.data - top) for a in logits))
            value += lse * t_sum - sum(tk * a.data for tk, a in zip(probs, logits))
            parents.extend(logits)
            local.extend(scale * (v.data * t_sum - tk) for v, tk in zip(yn, probs))
        else:
            for v, tk in zip(yn, probs):
                if tk != 0.0:
                    value -= tk * numerics.log(v.data)
                parents.append(v)
                local.append(scale * (-numerics.div(tk, v.data) if tk != 0.0 else 0.0))
    op = "softmax cross-entropy" if any_paired else "cross-entropy"
    return Value(scale * value, "E", tuple(parents), tuple(local), op)
