"""Input standardisation and a training loop with a loss history.

:class:`Standardizer` fits each feature's mean and standard deviation on the
training data and maps any data to ``(x - mean) / std``. A feature with zero
variance on the training data (all its values equal) is only centred (its std
is taken as 1), so it becomes 0 rather than ``nan``.

:func:`train` runs epochs of ``zero_grad``, forward, ``E``, backward, ``step``:
full batch by default (the lecture's gradient descent), or shuffled
minibatches of ``batch_size``. With ``compiled=True`` the forward and backward
passes run as compiled straight-line code (:mod:`micrograd_lite.compiler`),
giving the same gradients. ``progress=True`` shows a progress bar when the
optional ``tqdm`` package is installed, and a plain one-line counter otherwise.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from micrograd_lite import batched as batched_steps
from micrograd_lite.compiled_loss import CompiledLoss, LossFunction
from micrograd_lite.engine import Value
from micrograd_lite.errors import InputTypeError, InputValueError
from micrograd_lite.nn import MLP
from micrograd_lite.numerics import to_count, to_float, to_index
from micrograd_lite.optim import Optimizer


def _check_list(data: object, what: str, holding: str = "one entry per example") -> Iterable[Any]:
    """``data`` must be indexable with a length: a list, a tuple or a numpy array, not a string."""
    if isinstance(data, (str, bytes)) or not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise InputTypeError(f"{what} must be a list ({holding}), got {type(data).__name__}")
    return cast(Iterable[Any], data)


def _rows(X: object, where: str) -> list[list[float]]:
    """The examples of ``X`` as lists of floats; ``where`` starts every error message."""
    return [
        [
            to_float(v, f"{where}: example {n}")
            for v in _check_list(row, f"{where}: example {n}", "of numbers")
        ]
        for n, row in enumerate(_check_list(X, f"{where}: X"), start=1)
    ]


class Standardizer:
    """``x_j -> (x_j - mean_j) / std_j`` with ``mean_j``, ``std_j`` fitted on training data."""

    def __init__(self) -> None:
        self.mean: list[float] | None = None
        self.std: list[float] | None = None
        # Per feature: the power-of-two shift and the mean and std in shifted units (see fit).
        self._scaled: list[tuple[int, float, float]] = []

    def fit(self, X: Sequence[Sequence[float]]) -> Standardizer:
        """Learn each feature's mean and (population) standard deviation from ``X``.

        Each feature is first scaled by a power of two (exact) that brings its largest
        magnitude near 1, so that features of subnormal size (1e-320) or near the top of
        the float range (1e308) standardise as accurately as ordinary ones.
        """
        rows = _rows(X, "Standardizer.fit")
        if not rows:
            raise InputValueError("Standardizer.fit: X is empty; give at least one example")
        d = len(rows[0])
        if d == 0 or any(len(r) != d for r in rows):
            raise InputValueError(
                "Standardizer.fit: every example of X must have the same, non-zero number of features"
            )
        if any(not math.isfinite(v) for r in rows for v in r):
            raise InputValueError("Standardizer.fit: X contains nan or inf")
        n = len(rows)
        self.mean, self.std, self._scaled = [], [], []
        for j in range(d):
            column = [r[j] for r in rows]
            if min(column) == max(column):
                # Zero variance: centre only. Tested exactly, because a computed mean of
                # equal numbers can miss them by an ulp (three 0.1s average to
                # 0.10000000000000002), which would leave a std of 1e-17 and map the
                # feature to -1 instead of 0.
                self.mean.append(column[0])
                self.std.append(1.0)
                self._scaled.append((0, column[0], 1.0))
                continue
            shift = -math.frexp(max(abs(v) for v in column))[1]  # largest magnitude -> [0.5, 1)
            scaled = [math.ldexp(v, shift) for v in column]
            mean = math.fsum(scaled) / n  # no overflow: every term is below 1 in magnitude
            deviations = [v - mean for v in scaled]
            std = math.sqrt(math.fsum(e * e for e in deviations) / n)
            self._scaled.append((shift, mean, std))
            self.mean.append(math.ldexp(mean, -shift))
            self.std.append(math.ldexp(std, -shift))
        return self

    def transform(self, X: Sequence[Sequence[float]]) -> list[list[float]]:
        """Standardise ``X`` with the fitted statistics (any data, not only the training set)."""
        if self.mean is None or self.std is None:
            raise InputValueError("Standardizer.transform: call fit(X_train) first")
        d = len(self.mean)
        out = []
        for n, values in enumerate(_rows(X, "Standardizer.transform"), start=1):
            if len(values) != d:
                raise InputValueError(
                    f"Standardizer.transform: example {n} has {len(values)} features, expected {d}"
                )
            out.append(
                [(math.ldexp(v, k) - m) / s for v, (k, m, s) in zip(values, self._scaled)]
                if len(self._scaled) == d
                else [(v - m) / s for v, m, s in zip(values, self.mean, self.std)]
            )
        return out

    def fit_transform(self, X: Sequence[Sequence[float]]) -> list[list[float]]:
        return self.fit(X).transform(X)


@dataclass
class History:
    """The training error ``E`` after each epoch (the sum over its minibatches' errors)."""

    loss: list[float] = field(default_factory=list)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return None
    return tqdm(total=total, unit="epoch")


def train(
    model: MLP,
    loss_fn: LossFunction,
    X: Sequence[Sequence[float]],
    t: Sequence[Any],
    optimizer: Optimizer,
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    compiled: bool = False,
    batched: bool = False,
    progress: bool = False,
) -> History:
    """Train ``model`` on ``(X, t)`` for ``epochs`` passes over the data; return the loss history.

    ``loss_fn(model, xs, ts)`` returns ``E`` for a batch, e.g.
    ``lambda m, xs, ts: binary_cross_entropy([m(x) for x in xs], ts)``.

    * ``batch_size=None``: one step per epoch on ``E = sum_n E_n`` over all N
      examples, the lecture's gradient descent. An int: the examples are shuffled
      (by ``seed``) every epoch and cut into minibatches, one step per minibatch.
    * ``history.loss[k]`` is the sum of the batches' ``E`` in epoch ``k + 1``, each
      taken before its step (full batch: ``E`` at the start of the epoch).
    * ``compiled=True``: the same steps, the same numbers bit for bit, run as
      compiled code (:class:`~micrograd_lite.compiled_loss.CompiledLoss`); ``E`` must
      then be a fixed function of the inputs (no Python ``if`` on the numbers
      inside ``loss_fn``).
    * ``batched=True`` (with ``compiled=True``; needs numpy, the extra ``fast``): each step
      runs the whole minibatch as numpy arrays, from one example's compiled graph (in the
      lecture's matrix form for an MLP; :mod:`micrograd_lite.batched`). ``X`` and ``t`` are
      turned into arrays once (a 2-D ``X`` array is used as given) and each minibatch is a
      slice of them, shuffled as above. The numbers agree with the eager step's to about
      1e-12 relative (the sums over the batch are added in another order); ``loss_fn`` must
      be a sum (or mean) of per-example errors, else the first step refuses it.
    * ``progress=True``: a tqdm bar (or a plain counter without tqdm) on stderr.
    * ``seed``: an int, so that a run can always be repeated exactly (there is no
      ``seed=None``; for fresh randomness pass ``seed=random.randrange(2**32)`` and
      keep the number). It seeds only the shuffle: the model's initial weights come
      from ``MLP(..., seed=...)``.
    """
    if not isinstance(model, MLP):
        raise InputTypeError(f"model must be an MLP, got {type(model).__name__}")
    if not callable(loss_fn):
        raise InputTypeError(f"loss_fn must be a function (model, xs, ts) -> E, got {type(loss_fn).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise InputTypeError(
            f"optimizer must be an Optimizer (e.g. GradientDescent), got {type(optimizer).__name__}"
        )
    for flag, name in ((compiled, "compiled"), (batched, "batched")):
        if not isinstance(flag, bool):
            raise InputTypeError(f"{name} must be True or False, got {type(flag).__name__}")
    if batched and not compiled:
        raise InputValueError("batched=True runs compiled steps: pass compiled=True as well")
    epochs = to_count(epochs, "epochs", minimum=0)
    try:
        seed = to_index(seed, "seed")
    except TypeError as error:
        raise InputTypeError(
            f"{error}: a run is always repeatable; "
            "for fresh randomness pass seed=random.randrange(2**32) and keep the number"
        ) from None
    _check_list(X, "X")
    _check_list(t, "t")
    if len(X) != len(t):
        raise InputValueError(f"X has {len(X)} examples but t has {len(t)} targets")
    if len(X) == 0:
        raise InputValueError("X is empty: give at least one training example")
    if batch_size is not None:
        batch_size = to_count(batch_size, "batch_size (None for the full batch)")
    own = {id(p) for p in model.parameters()}
    if any(id(p) not in own for p in optimizer.parameters):
        raise InputValueError(
            "the optimizer holds parameters that are not the model's: build it from model.parameters()"
        )
    rng = random.Random(seed)
    size = batch_size or len(X)
    if batched:
        return _train_batched(model, loss_fn, X, t, optimizer, epochs, batch_size, rng, progress)
    step: Callable[[list[Any], list[Any]], float]
    if compiled:
        # CompiledLoss keeps a graph per batch shape: a smaller last minibatch costs one more trace, once.
        step = CompiledLoss(model, loss_fn)
    else:

        def step(xs: list[Any], ts: list[Any]) -> float:
            E = loss_fn(model, xs, ts)
            if not isinstance(E, Value):
                raise InputTypeError(f"loss_fn must return E as a Value, got {type(E).__name__}")
            E.backward()
            return E.data

    def epoch_steps(order: list[int]) -> float:
        total = 0.0
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            optimizer.zero_grad()
            total += step([list(X[i]) for i in batch], [t[i] for i in batch])
            optimizer.step()
        return total

    return _epochs(epochs, len(X), batch_size is not None, rng, progress, epoch_steps)


def _epochs(
    epochs: int,
    n: int,
    shuffled: bool,
    rng: random.Random,
    progress: bool,
    epoch_steps: Callable[[list[int]], float],
) -> History:
    """The epochs: the examples' order (shuffled by ``rng`` each epoch if ``shuffled``), the steps
    of ``epoch_steps(order)``, the loss history and the progress display."""
    history = History()
    bar = _progress(epochs, progress)
    order = list(range(n))
    for epoch in range(1, epochs + 1):
        if shuffled:
            rng.shuffle(order)
        total = epoch_steps(order)
        history.loss.append(total)
        if bar is not None:
            # refresh=False: the bar redraws at tqdm's own pace (every 0.1 s), not every epoch.
            bar.set_postfix(E=f"{total:.4g}", refresh=False)
            bar.update(1)
        elif progress:
            print(f"\repoch {epoch}/{epochs}  E = {total:.6g}", end="", file=sys.stderr, flush=True)
    if bar is not None:
        bar.close()
    elif progress:
        print(file=sys.stderr)
    return history


def _train_batched(
    model: MLP,
    loss_fn: LossFunction,
    X: Any,
    t: Any,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None,
    rng: random.Random,
    progress: bool,
) -> History:
    """:func:`train` with ``batched=True``: the data as arrays once, each minibatch a slice of them."""
    Xa = batched_steps.input_matrix(X, model.n_inputs)
    Ta, kind = batched_steps.target_matrix(t, model.layers[-1].n_out, Xa.shape[0])
    np = batched_steps.require_numpy()
    loss = CompiledLoss(model, loss_fn, batched=True)
    parameters = model.parameters()
    size = batch_size or Xa.shape[0]

    compiled: list[Any] = []  # the compiled code, found (or traced) at the first step

    def step(Xb: Any, Tb: Any) -> float:
        if not compiled:
            entry = loss.batched_graph(Xb, Tb, kind, parameters)
            if entry is None:  # the trace met a nan or inf inside detect_anomaly(): as eager
                return loss.batched_step(Xb, Tb, kind, parameters)
            compiled.append(entry)
        return loss.run_batched(compiled[0], Xb, Tb, kind, parameters)

    def epoch_steps(order: list[int]) -> float:
        total = 0.0
        rows = np.array(order) if batch_size is not None else None
        for start in range(0, len(order), size):
            optimizer.zero_grad()
            if rows is None:  # the full batch, in its own order
                total += step(Xa, Ta)
            else:
                batch = rows[start : start + size]
                total += step(Xa[batch], Ta[batch])
            optimizer.step()
        return total

    return _epochs(epochs, Xa.shape[0], batch_size is not None, rng, progress, epoch_steps)
