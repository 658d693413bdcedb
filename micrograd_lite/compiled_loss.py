"""``CompiledLoss``: a training step's forward and backward pass, compiled once and reused.

It traces ``loss_fn(model, xs, ts)``, compiles the graph with
:func:`micrograd_lite.compiler.compile_graph`, and re-traces only when the
architecture or the structure of the data changes.

Inside ``detect_anomaly()`` it runs a second compiled graph that also tests every
value and gradient for ``nan`` and ``inf`` (one C-level pass over them); at the
first step where one is not finite it replays that step eagerly, under the same
``detect_anomaly()``, so the :class:`~micrograd_lite.anomaly.AnomalyError` names
the node, operation, inputs and line exactly as the eager step would.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Sequence
from typing import Any

from micrograd_lite import batched as batched_steps
from micrograd_lite import engine, matrix_form
from micrograd_lite.anomaly import AnomalyError
from micrograd_lite.batched import BatchedGraph
from micrograd_lite.compiler import CompiledGraph, compile_graph
from micrograd_lite.engine import Value
from micrograd_lite.errors import InputTypeError, InputValueError
from micrograd_lite.nn import MLP
from micrograd_lite.numerics import to_float

#: ``loss_fn(model, xs, ts) -> E``: the error of a batch, built from the model, the inputs
#: (lists of Values) and the targets; :func:`~micrograd_lite.training.train` takes the same.
LossFunction = Callable[[MLP, list[list[Value]], list[Any]], Value]
_CACHED_GRAPHS = 8


def _anomaly_detection_on() -> bool:
    """Whether ``detect_anomaly()`` is active here: the one place that asks the engine."""
    return engine.is_anomaly_enabled()


def _real(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InputTypeError(f"{what} must hold real numbers, got {type(v).__name__} {v!r:.60}")
    return to_float(v, what)


def _examples(xs: object, ts: object, n_outputs: int) -> tuple[list[float], list[float | list[float]]]:
    """The inputs flattened, and the targets as numbers, both checked as the eager path checks them.

    An int target is a class index when the model has several outputs (it becomes
    a one-hot list) and a plain number otherwise. Plain floats in lists take the
    fast path; anything else is checked one by one.
    """
    for what, seq in (("xs", xs), ("ts", ts)):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
            raise InputTypeError(f"{what} must be a list, got {type(seq).__name__}")
    assert isinstance(xs, Sequence) and isinstance(ts, Sequence)
    if len(xs) != len(ts):
        raise InputValueError(f"{len(xs)} examples but {len(ts)} targets")
    for n, x in enumerate(xs, start=1):
        if type(x) is not list and (isinstance(x, (str, bytes)) or not isinstance(x, Sequence)):
            raise InputTypeError(f"x_{n} must be a list of numbers, got {type(x).__name__}")
    flat = [v for x in xs for v in x]
    if set(map(type, flat)) - {float}:
        flat = [_real(v, f"x_{n}") for n, x in enumerate(xs, start=1) for v in x]
    if not all(map(math.isfinite, flat)):
        raise InputValueError("the inputs must be finite (no nan or inf)")
    targets: list[float | list[float]] = []
    for n, t in enumerate(ts, start=1):
        if type(t) is float:
            targets.append(t)
        elif isinstance(t, numbers.Integral) and not isinstance(t, bool) and n_outputs > 1:
            if not 0 <= int(t) < n_outputs:
                raise InputValueError(f"class index t_{n} = {t} is not in 0..{n_outputs - 1}")
            targets.append([1.0 if k == t else 0.0 for k in range(n_outputs)])
        elif isinstance(t, numbers.Real) and not isinstance(t, bool):
            targets.append(to_float(t, f"target t_{n}"))
        elif isinstance(t, Sequence) and not isinstance(t, (str, bytes)):
            targets.append([_real(tk, f"target t_{n}") for tk in t])
        else:
            raise InputTypeError(f"target t_{n} must be a number, a class index or a list of numbers")
    if not all(math.isfinite(t) if isinstance(t, float) else all(map(math.isfinite, t)) for t in targets):
        bad = next(n for n, t in enumerate(targets, 1) if not all(map(math.isfinite, _as_list(t))))
        raise InputValueError(f"target t_{bad} must be finite, got {ts[bad - 1]!r}")
    return flat, targets


def _plain(t: Any, class_index: bool) -> int | float | list[float]:
    """A checked target as ``train`` passes it to an eager step: a class index as an int, else floats."""
    if class_index and isinstance(t, numbers.Integral):
        return int(t)
    return [float(tk) for tk in t] if isinstance(t, Sequence) else float(t)


def _as_list(t: float | list[float]) -> list[float]:
    return t if isinstance(t, list) else [t]


class CompiledLoss:
    """``loss = CompiledLoss(model, loss_fn)``; ``loss(xs, ts)`` is a training step's
    forward and backward pass: it returns E and adds dE/d(parameter) into every
    parameter's ``grad``, exactly as ``loss_fn(model, xs, ts).backward()`` would
    (bit for bit, including where ``grad`` already held something).

    ``loss_fn(model, xs, ts)`` builds E from the model, the inputs (lists of
    Values) and the targets (Values, or lists of Values). The first call traces
    it and compiles the graph; later calls run the compiled code. It re-traces
    whenever the architecture (the parameter objects, each layer's and unit's
    activation and size), ``loss_fn`` or the structure of the data (the number
    of examples, features per example, the shape of each target) changes, so a
    compiled step is never silently stale; the last few compiled graphs are kept
    (a last, smaller minibatch does not evict the full-size one). ``traces``
    counts the traces, ``compiled`` is the graph the last call ran.

    Targets are numbers; an int target is a class index when the model has
    several outputs (it is passed to ``loss_fn`` as a one-hot list, so a new class
    is new data, not a new graph). As with any tracer, ``loss_fn`` must compute E
    from the Values it is given: Python control flow on their numbers, or
    numbers taken out of them (``t.data``), is fixed at the trace. Checks that
    ``loss_fn`` makes on target values (a cross-entropy target in [0, 1]) run
    when it traces; inputs and targets are checked to be finite on every call.

    Inside ``detect_anomaly()`` a compiled step raises the same ``AnomalyError``
    as the eager step (it is replayed eagerly at the first ``nan`` or ``inf``);
    outside it the compiled code checks nothing and costs nothing extra.
    """

    def __init__(self, model: MLP, loss_fn: LossFunction, batched: bool = False) -> None:
        if not isinstance(model, MLP):
            raise InputTypeError(f"model must be an MLP, got {type(model).__name__}")
        if not callable(loss_fn):
            raise InputTypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if not isinstance(batched, bool):
            raise InputTypeError(f"batched must be True or False, got {type(batched).__name__}")
        if batched:
            batched_steps.require_numpy()  # a clear error now, not at the first step
        self.model, self.loss_fn, self.batched = model, loss_fn, batched
        self.compiled: CompiledGraph | BatchedGraph | None = None
        self.traces = 0
        self._graphs: dict[tuple[Any, ...], Any] = {}
        self._parameters: list[Value] = []
        self._lock = threading.Lock()  # one batched step at a time: its code reads one weights array

    @property
    def source(self) -> str:
        """The Python source of the code the last call ran (empty before the first call).

        Batched, it is the lecture's matrix form where the graph is a network's layers
        (``A2 = Z1 @ W2.T + b2``, ``Delta1 = f'(A1) * (Delta2 @ W2)``), else one array
        operation per node; otherwise the straight-line float code of :mod:`micrograd_lite.compiler`.
        """
        return self.compiled.source if self.compiled is not None else ""

    def _architecture(self) -> tuple[Any, ...]:
        """Each layer's activation, then each unit's activation and number of inputs, as one flat tuple.

        Plain loops into one list: comprehensions cost a function call each, once per step.
        """
        key: list[Any] = []
        for layer in self.model.layers:
            key.append(layer.activation)
            for neuron in layer.neurons:
                key.append(neuron.activation)
                key.append(len(neuron.W))
        return tuple(key)

    def _structure(self, xs: Sequence[Sequence[float]], ts: list[float | list[float]]) -> tuple[Any, ...]:
        shapes = tuple(len(x) for x in xs), tuple(len(t) if isinstance(t, list) else None for t in ts)
        return (self._architecture(), self.loss_fn, *shapes)

    def _current_parameters(self) -> list[Value]:
        """The model's parameters; a change of the objects drops every compiled graph."""
        parameters = self.model.parameters()
        # One C-level comparison: list == tries identity first, and a Value equals only itself.
        if parameters != self._parameters:
            self._graphs.clear()
            self._parameters = parameters
        return self._parameters

    def __call__(self, xs: Sequence[Sequence[float]], ts: Sequence[Any]) -> float:
        if self.batched:
            X = batched_steps.input_matrix(xs, self.model.n_inputs)
            T, kind = batched_steps.target_matrix(ts, self.model.layers[-1].n_out, X.shape[0])
            return self.batched_step(X, T, kind, self._current_parameters())
        parameters = self._current_parameters()
        flat, targets = _examples(xs, ts, self.model.layers[-1].n_out)
        checked = _anomaly_detection_on()
        key = (*self._structure(xs, targets), checked)
        if key not in self._graphs:
            self._trace(xs, targets, parameters, key, checked)
        graph = self.compiled = self._graphs[key]
        n_inputs = len(flat)
        for t in targets:
            flat.extend(t if isinstance(t, list) else (t,))
        results = graph.function(
            tuple(flat), tuple([p.data for p in parameters]), tuple([p.grad for p in parameters])
        )
        if checked and not results[3]:
            return self._replay(flat[:n_inputs], [len(x) for x in xs], ts)
        value, _, grads = results[:3]
        for p, g in zip(parameters, grads):
            p.grad = g
        return value  # type: ignore[no-any-return]

    def batched_step(self, X: Any, T: Any, kind: batched_steps.TargetKind, parameters: list[Value]) -> float:
        """A batched step on checked arrays (:func:`~micrograd_lite.batched.input_matrix`,
        :func:`~micrograd_lite.batched.target_matrix`); ``parameters`` is ``model.parameters()``.

        Traced once per architecture, loss and shape of one example (not per batch size).
        """
        graph = self.batched_graph(X, T, kind, parameters)
        if graph is None:
            return self._eager_step(X.tolist(), batched_steps.plain_targets(T, kind))
        return self.run_batched(graph, X, T, kind, parameters)

    def batched_graph(
        self, X: Any, T: Any, kind: batched_steps.TargetKind, parameters: list[Value]
    ) -> tuple[BatchedGraph, bool, bool] | None:
        """The compiled batched code for this structure (traced from ``X[0]``, ``T[0]`` if new):
        ``(graph, mean, checked)``; None when the trace itself meets a nan or inf inside
        ``detect_anomaly()`` (the eager step then raises where it would)."""
        checked = _anomaly_detection_on()
        key = (self._architecture(), self.loss_fn, X.shape[1], kind, T.shape[1], checked)
        entry = self._graphs.get(key)
        if entry is None:
            try:
                example = batched_steps.trace_one_example(
                    self.model, self.loss_fn, X[0].tolist(), T[0].tolist(), kind
                )
            except AnomalyError:
                return None
            graph = matrix_form.compile_batched(example, parameters, check_finite=checked)
            entry = (graph, example.reduction == "mean", checked)
            if len(self._graphs) >= _CACHED_GRAPHS:
                del self._graphs[next(iter(self._graphs))]
            self._graphs[key] = entry
            self.traces += 1
        self.compiled = entry[0]
        return entry

    def run_batched(
        self,
        entry: tuple[BatchedGraph, bool, bool],
        X: Any,
        T: Any,
        kind: batched_steps.TargetKind,
        parameters: list[Value],
    ) -> float:
        """Run compiled batched code (from :meth:`batched_graph`) on a batch; add into every ``p.grad``."""
        graph, mean, checked = entry
        B = X.shape[0]
        # One step at a time: the code reads graph.weights and writes its gradients in place, and
        # `p.grad += g` is a read and a write. (The eager replay below runs outside the lock.)
        with self._lock:
            with batched_steps.errors_ignored():
                batched_steps.read_parameter_values(parameters, graph.weights)
                E_n, grads, finite = graph.function(X, T, 1.0 / B if mean else 1.0)
                E = batched_steps.total(E_n)
            finished = not checked or (finite and math.isfinite(E))
            if finished:
                batched_steps.parameter_copy(len(parameters)).add_gradients(parameters, grads)
        if not finished:
            # Replay eagerly, under the same detect_anomaly(), so the AnomalyError is the eager one.
            return self._eager_step(X.tolist(), batched_steps.plain_targets(T, kind))
        return E * (1.0 / B) if mean else E

    def _eager_step(self, xs: list[Any], ts: list[Any]) -> float:
        E = self.loss_fn(self.model, xs, ts)
        if not isinstance(E, Value):
            raise InputTypeError(f"loss_fn must return E as a Value, got {type(E).__name__}")
        E.backward()
        return E.data

    def _replay(self, flat: list[float], widths: list[int], ts: Sequence[Any]) -> float:
        """Run this step eagerly, as ``train`` does, so ``detect_anomaly()`` stops where it would.

        The compiled step wrote nothing yet; the eager step adds its gradients into
        every ``p.grad``, the same numbers, should it not stop.
        """
        xs: list[Any] = []  # plain numbers, as train() passes them to an eager step
        start = 0
        for width in widths:
            xs.append(flat[start : start + width])
            start += width
        class_indices = self.model.layers[-1].n_out > 1
        E = self.loss_fn(self.model, xs, [_plain(t, class_indices) for t in ts])
        if not isinstance(E, Value):
            raise InputTypeError(f"loss_fn must return E as a Value, got {type(E).__name__}")
        E.backward()
        return E.data

    def _trace(
        self,
        xs: Sequence[Sequence[float]],
        ts: list[float | list[float]],
        parameters: list[Value],
        key: tuple[Any, ...],
        checked: bool,
    ) -> None:
        """Trace ``loss_fn`` on leaves holding these numbers, compile, and keep the graph under ``key``."""
        x_leaves = [[Value(float(v), f"x_{j}") for j, v in enumerate(x, start=1)] for x in xs]
        t_leaves: list[Value | list[Value]] = [
            [Value(tk, f"t_{n},{k}") for k, tk in enumerate(t, start=1)]
            if isinstance(t, list)
            else Value(t, f"t_{n}")
            for n, t in enumerate(ts, start=1)
        ]
        root = self.loss_fn(self.model, x_leaves, t_leaves)
        flat_targets = [v for t in t_leaves for v in (t if isinstance(t, list) else (t,))]
        inputs = [v for row in x_leaves for v in row] + flat_targets
        graph = compile_graph(
            root, inputs, parameters, input_grads=False, accumulate=True, check_finite=checked
        )
        if len(self._graphs) >= _CACHED_GRAPHS:
            del self._graphs[next(iter(self._graphs))]  # the oldest
        self._graphs[key] = graph
        self.traces += 1
