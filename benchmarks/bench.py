"""Speed and memory of micrograd_lite against karpathy's micrograd (0.1.0, from PyPI).

Run from the repository root::

    .venv/bin/pip install -e ".[bench]"      # micrograd 0.1.0, numpy, scikit-learn
    .venv/bin/python benchmarks/bench.py              # full run, writes benchmarks/results.md
    .venv/bin/python benchmarks/bench.py --quick      # a short run (prints only)
    .venv/bin/python benchmarks/bench.py --repeat 9   # more fresh processes per measurement
    .venv/bin/python benchmarks/bench.py --clock cpu  # CPU time, on a machine busy with other work

How it measures: every timed figure comes from fresh processes. For each
measurement and each repeat, one new Python process per engine imports only that
engine, builds its inputs, runs the workload once untimed (warm-up), collects the
garbage once, then times the workload; the engines' processes alternate
(micrograd, micrograd_lite, micrograd_lite, micrograd, ...: the order is flipped
every repeat so neither engine always runs first). One engine's garbage is
therefore never collected in the other's time, and no process carries the heap
of earlier runs. Each cell is the median over ``--repeat`` processes with the
range (fastest - slowest) below it; a ratio is median / median, with the range
of the ratios of the processes run side by side (repeat k of one engine against
repeat k of the other). Inside a process the garbage collector is left as users
run it (enabled, default thresholds) and each timed run includes freeing its
graph. Steps that take milliseconds or less (compiled, hand-written, batched) are
timed over and over for at least ``FAST_SECONDS`` (and at least ``FAST_RUNS``
times) per process, and the process reports the median run: a burst of other
work on the machine lasting a few milliseconds would otherwise decide a whole
process's figure, where micrograd's one W1 run takes about half a second.

Times are wall times (``time.perf_counter``). Every timed run also records its
CPU time (``time.process_time``), and the notes under the table give the
median share of a core the timed runs had: well below 100%, other work was
running on the machine and the wall times are inflated by waiting.
``--clock cpu`` then reports CPU times instead (time spent running, which
waiting does not inflate; caches shared with the other work still do).

Workloads (same inputs in both engines):

* W1: one training step of an MLP 2-16-16-1 (tanh hidden units, identity output)
  on 64 fixed 2-D points drawn from ``random.Random(W1_SEED)``, with the summed
  squared error ``E = 1/2 sum_n (t_n - y_n)^2``: zero_grad + forward + backward.
  Both networks hold the same weights: micrograd_lite's ``MLP(..., seed=0)``
  draws them and they are copied into micrograd's ``MLP(2, [16, 16, 1])``.
  micrograd 0.1.0 has neither ``tanh`` nor ``exp`` and its ``MLP`` uses ReLU on
  hidden layers, so its forward pass here is micrograd's own ``Neuron.__call__``
  (``sum((wi*xi for ...), self.b)``) with ``.relu()`` replaced by :func:`mg_tanh`:
  a tanh operation written in micrograd's style (forward value, ``_backward``
  closure with ``grad += (1 - t**2) * out.grad``), the same as the ``tanh`` in
  later versions of micrograd's engine. The output unit stays linear, as in
  micrograd's ``MLP``. micrograd_lite runs it three ways:

  - *MLP*: ``MLP`` and ``squared_error`` (a unit's pre-activation is one
    ``linear`` node);
  - *generic*: micrograd's own formulation on micrograd_lite Values, line for
    line (``sum((wi*zi for ...), b)``, ``.tanh()``, ``(y - t) ** 2`` summed with
    ``sum``, times 0.5): the same graph of binary operations, so it compares the
    engines node for node;
  - *compiled*: ``micrograd_lite.compiler.CompiledLoss`` (the graph traced once
    and compiled to straight-line Python; each step is ``model.zero_grad()``
    and one call, which reads every ``p.data`` and writes every ``p.grad``).

  A last row, *hand-written*, is ``benchmarks/handwritten.py``: the step in
  plain floats (lists of floats, a loop over the layers, ``sum(map(mul, ...))``
  inner products), the limit a compiled step can aim at. W1 is also timed with
  the garbage collector disabled during the timed run, for information.
* W1 batched: the same step as ``CompiledLoss(model, loss_fn, batched=True)``,
  compiled once and vectorised over the batch with numpy (inputs and targets
  passed as numpy arrays), against micrograd (target ``TARGET_W1_BATCHED``).
* Batched against hand-written numpy (a table of its own): the W1 step and one
  step of an MLP 64-32-10 (tanh hidden units, softmax output, categorical
  cross-entropy: notebook 09's network) on a batch of ``SOFTMAX_BATCH``
  standardised training digits, each as ``CompiledLoss(..., batched=True)`` and
  as ``benchmarks/handwritten_numpy.py`` (the lecture's matrix form written out
  in numpy: the limit a batched step can aim at). Target: the batched softmax
  step within ``TARGET_SOFTMAX_SLOWDOWN`` times numpy's time.
* Digits, one epoch (a table of its own): notebook 09's training on the 1,348
  standardised training digits, minibatches of ``DIGITS_BATCH`` shuffled by
  ``random.Random(0)`` as ``train`` does, ``zero_grad``, the step, ``Adam.step``:
  eager (``loss.backward()``), compiled (``CompiledLoss``) and batched
  (``CompiledLoss(..., batched=True)``, each minibatch a slice of numpy arrays).
  The warm-up epoch traces and compiles; the timed epoch is the next one (one
  run per process). Reported in seconds per epoch.
* W2: a chain ``v = v * 1.0001 + 0.0001`` of 10,000 steps, forward + backward;
  reported per binary-operation node (2 per step). micrograd's topological sort
  is recursive, so its processes raise the recursion limit (micrograd_lite's
  sort is iterative and runs at the default limit).
* W3: ``sum(x_i * w_i)`` over 100,000 pairs of leaves, forward + backward:
  micrograd chains 100,000 binary additions (``sum()`` of Values, as its README
  does; recursion limit raised as in W2), micrograd_lite uses ``sum_values``
  (one n-ary node).
* W4: bytes per binary-operation node, measured with ``tracemalloc`` in one
  fresh process per engine (memory is the same in every run): memory held by
  the graph after the forward pass and after the backward pass, divided by the
  number of binary-operation nodes. Two graphs of 10,000 steps: ``v = v * w + c``
  with ``w`` and ``c`` leaves (only binary-operation nodes are created: the
  per-node figure, the one the target applies to), and the W2 chain, whose number
  operands become constant leaves in both engines (whatever memory those take is
  counted in: the per-step cost divided by 2).

Gradients are checked first, in this (the driving) process, before anything is
timed: W1 parameter gradients agree to 1e-9 relative (with an absolute floor of
1e-12 times the largest gradient) between micrograd, micrograd_lite's MLP, its
generic formulation and the hand-written step; the compiled step equals
micrograd_lite's eager step exactly (``==`` on E and on every gradient); W2's
dv/dv0 to 1e-9 relative, W3's gradients exactly; the batched and hand-written
numpy steps (W1 and the 64-32-10 softmax step on its batch of 1,024) agree with
micrograd_lite's eager step to 1e-12 relative (absolute floor 1e-12 times the
largest gradient). A mismatch aborts with an error.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

W1_SIZES = [16, 16, 1]
W1_ACTIVATIONS: list[Any] = ["tanh", "tanh", "identity"]
W1_POINTS = 64
W1_SEED = 1234
W2_STEPS = 10_000
W3_TERMS = 100_000
W4_STEPS = 10_000
FAST_RUNS = 21  # at least this many timed runs of a fast step per process
FAST_SECONDS = 0.25  # and for at least this long (micrograd's W1 step: about 0.45 s)
FAST_MAX_RUNS = 20_000
TARGET_W1 = 25.0
TARGET_W1_GENERIC = 12.0
TARGET_W1_COMPILED = 150.0
TARGET_W2 = 5.0
TARGET_W4 = 250.0
TARGET_W1_BATCHED = 5000.0
SOFTMAX_SIZES = [32, 10]  # notebook 09's network: 64 inputs, 32 tanh units, 10 softmax outputs
SOFTMAX_ACTIVATIONS: list[Any] = ["tanh", "softmax"]
SOFTMAX_BATCH = 1024
TARGET_SOFTMAX_SLOWDOWN = 3.0  # the batched step within 3x of hand-written numpy
DIGITS_BATCH = 32  # notebook 09's minibatch and learning rate
DIGITS_LR = 0.01
DIGITS_MODES = ("eager", "compiled", "batched")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
MICROGRAD = "micrograd"
LITE = "micrograd_lite"


# ------------------------------------------------------------------ micrograd side
def mg_value() -> Any:
    from micrograd.engine import Value as MgValue  # type: ignore[import-untyped]

    return MgValue


def mg_tanh(v: Any) -> Any:
    """tanh for micrograd 0.1.0 Values, in micrograd's style (a ``_backward`` closure)."""
    t = math.tanh(v.data)
    out = mg_value()(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def generic_forward(model: Any, x: Sequence[Any], tanh: Callable[[Any], Any]) -> Any:
    """micrograd's ``MLP.__call__`` with ``tanh`` instead of ReLU on the hidden layers.

    ``model`` is micrograd's ``MLP`` or a :class:`GenericMLP`: the same code builds
    the same graph of binary operations in either engine.
    """
    z: Sequence[Any] = x
    for layer in model.layers:
        outs = []
        for n in layer.neurons:
            act = sum((wi * zi for wi, zi in zip(n.w, z)), n.b)
            outs.append(tanh(act) if n.nonlin else act)
        z = outs
    return z[0]


def mg_model_like(lite: Any) -> Any:
    """micrograd's ``MLP(2, [16, 16, 1])`` holding ``lite``'s weights and biases."""
    from micrograd.nn import MLP as MgMLP  # type: ignore[import-untyped]

    model = MgMLP(lite.n_inputs, list(W1_SIZES))
    for mg_layer, W, b in zip(model.layers, lite.weights(), lite.biases()):
        for neuron, row, bias in zip(mg_layer.neurons, W, b):
            for wi, value in zip(neuron.w, row):
                wi.data = value
            neuron.b.data = bias
    return model


@dataclass
class GenericNeuron:
    """micrograd's ``Neuron`` shape (``w``, ``b``, ``nonlin``) holding micrograd_lite Values."""

    w: list[Any]
    b: Any
    nonlin: bool


@dataclass
class GenericLayer:
    neurons: list[GenericNeuron]


@dataclass
class GenericMLP:
    """micrograd's ``MLP`` shape on micrograd_lite Values: the parameters of ``lite``, shared."""

    layers: list[GenericLayer]

    @classmethod
    def like(cls, lite: Any) -> GenericMLP:
        return cls(
            [
                GenericLayer([GenericNeuron(n.W, n.b, n.activation != "identity") for n in layer.neurons])
                for layer in lite.layers
            ]
        )


@contextmanager
def recursion_limit(depth: int) -> Iterator[None]:
    """Raise the recursion limit for micrograd's recursive topological sort only."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, depth))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# ------------------------------------------------------------------------ workloads
def w1_data() -> tuple[list[list[float]], list[float]]:
    rng = random.Random(W1_SEED)
    xs = [[rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)] for _ in range(W1_POINTS)]
    ts = [math.sin(x1) * math.cos(x2) for x1, x2 in xs]
    return xs, ts


def lite_model() -> Any:
    from micrograd_lite import MLP

    return MLP(2, W1_SIZES, activations=W1_ACTIVATIONS, seed=0)


def w1_lite(model: Any, xs: list[list[float]], ts: list[float]) -> Any:
    from micrograd_lite import squared_error

    model.zero_grad()
    E = squared_error([model(x) for x in xs], ts)  # one output unit: y is a Value
    E.backward()
    return E


def w1_generic(model: Any, generic: GenericMLP, xs: list[list[float]], ts: list[float]) -> Any:
    """micrograd's formulation of the step (see :func:`w1_mg`) on micrograd_lite Values."""
    model.zero_grad()
    E = 0.5 * sum((generic_forward(generic, x, _lite_tanh) - t) ** 2 for x, t in zip(xs, ts))
    E.backward()
    return E


def _lite_tanh(v: Any) -> Any:
    return v.tanh()


def w1_loss(model: Any, xs: list[list[Any]], ts: list[Any]) -> Any:
    from micrograd_lite import squared_error

    return squared_error([model(x) for x in xs], ts)


def w1_compiled(model: Any, loss: Any, xs: list[list[float]], ts: list[float]) -> float:
    model.zero_grad()
    result: float = loss(xs, ts)
    return result


def w1_hand(model: Any, xs: list[list[float]], ts: list[float]) -> tuple[float, list[float]]:
    """The hand-written step on ``model``'s weights: ``(E, gradients in parameters() order)``."""
    from handwritten import w1_step  # benchmarks/handwritten.py (this script's folder is on sys.path)

    E, grad_W, grad_b = w1_step(model.weights(), model.biases(), xs, ts)
    grads = [g for gW, gb in zip(grad_W, grad_b) for row, gbi in zip(gW, gb) for g in (*row, gbi)]
    return E, grads


def w1_mg(model: Any, xs: list[list[float]], ts: list[float]) -> Any:
    model.zero_grad()
    E = 0.5 * sum((generic_forward(model, x, mg_tanh) - t) ** 2 for x, t in zip(xs, ts))
    E.backward()
    return E


def softmax_model() -> Any:
    from micrograd_lite import MLP

    return MLP(64, SOFTMAX_SIZES, activations=SOFTMAX_ACTIVATIONS, seed=0)


def softmax_loss(model: Any, xs: list[list[Any]], ts: list[Any]) -> Any:
    from micrograd_lite import categorical_cross_entropy

    return categorical_cross_entropy([model(x) for x in xs], ts)


def digits_data() -> tuple[list[list[float]], list[int]]:
    """Notebook 09's training set: the standardised training digits and their class indices."""
    from micrograd_lite import Standardizer
    from micrograd_lite.datasets import digits

    X_train, t_train, _, _ = digits(seed=0)
    return Standardizer().fit_transform(X_train), t_train


def softmax_data() -> tuple[list[list[float]], list[int]]:
    """The softmax step's batch: the first ``SOFTMAX_BATCH`` standardised training digits."""
    X, t = digits_data()
    return X[:SOFTMAX_BATCH], t[:SOFTMAX_BATCH]


def numpy_reference(step: str, model: Any, xs: Any, ts: Any) -> Callable[[], Any]:
    """The hand-written numpy ``step`` ("w1" or "softmax") on ``model``'s weights, arrays made once."""
    import handwritten_numpy as hn  # benchmarks/handwritten_numpy.py
    import numpy as np

    W, b = hn.as_arrays(model.weights(), model.biases())
    X = np.array(xs, dtype=np.float64)
    if step == "w1":
        t = np.array(ts, dtype=np.float64)
        return lambda: hn.w1_step(W, b, X, t)
    T = hn.one_hot(ts, SOFTMAX_SIZES[-1])
    return lambda: hn.softmax_step(W, b, X, T)


def batched_step(model: Any, loss_fn: Any, xs: Any, ts: Any) -> Callable[[], float]:
    """``CompiledLoss(model, loss_fn, batched=True)`` on the batch as numpy arrays: ``zero_grad`` + call."""
    import numpy as np

    from micrograd_lite.compiled_loss import CompiledLoss

    loss = CompiledLoss(model, loss_fn, batched=True)
    X, t = np.array(xs, dtype=np.float64), np.array(ts)

    def step() -> float:
        model.zero_grad()
        result: float = loss(X, t)
        return result

    return step


def digits_epoch(mode: str) -> Callable[[], float]:
    """One epoch of notebook 09's training, run as ``mode`` ("eager", "compiled" or "batched").

    As ``train`` runs it: the order reshuffled every epoch by ``random.Random(0)``, then per
    minibatch ``zero_grad``, the step (E and the gradients), ``Adam.step``. The step is made once,
    so a compiled step traces only in the first (warm-up) epoch. Returns the epoch's summed E.
    """
    import numpy as np

    from micrograd_lite import Adam
    from micrograd_lite.compiled_loss import CompiledLoss

    X, t = digits_data()
    model = softmax_model()
    optimizer = Adam(model.parameters(), lr=DIGITS_LR)
    rng = random.Random(0)
    order = list(range(len(X)))
    X_array, t_array = np.array(X), np.array(t)
    step: Callable[[list[int]], float]
    if mode == "eager":

        def step(batch: list[int]) -> float:
            E = softmax_loss(model, [list(X[i]) for i in batch], [t[i] for i in batch])
            E.backward()
            return float(E.data)

    elif mode == "compiled":
        compiled = CompiledLoss(model, softmax_loss)

        def step(batch: list[int]) -> float:
            return float(compiled([list(X[i]) for i in batch], [t[i] for i in batch]))

    elif mode == "batched":
        batched = CompiledLoss(model, softmax_loss, batched=True)

        def step(batch: list[int]) -> float:
            return float(batched(X_array[batch], t_array[batch]))

    else:
        raise ValueError(f"unknown mode {mode!r}")

    def epoch() -> float:
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), DIGITS_BATCH):
            optimizer.zero_grad()
            total += step(order[start : start + DIGITS_BATCH])
            optimizer.step()
        return total

    return epoch


def w2(value_type: Any, n: int) -> Any:
    """The chain ``v = v*1.0001 + 0.0001`` of ``n`` steps in either engine; returns its input leaf."""
    v0 = value_type(0.5)
    v = v0
    for _ in range(n):
        v = v * 1.0001 + 0.0001
    v.backward()
    return v0


def w3_leaves(cls: Callable[[float], Any], n: int) -> tuple[list[Any], list[Any]]:
    rng = random.Random(n)
    return [cls(rng.uniform(-1.0, 1.0)) for _ in range(n)], [cls(rng.uniform(-1.0, 1.0)) for _ in range(n)]


def w3_lite(xs: list[Any], ws: list[Any]) -> Any:
    from micrograd_lite import sum_values

    E = sum_values([x * w for x, w in zip(xs, ws)])
    E.backward()
    return E


def w3_mg(xs: list[Any], ws: list[Any]) -> Any:
    E = sum(x * w for x, w in zip(xs, ws))
    E.backward()
    return E


def traced_bytes(build: Callable[[], Any], backward: Callable[[Any], object]) -> tuple[int, int]:
    """Bytes held by a graph after its forward pass and after its backward pass."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        root = build()
        forward = tracemalloc.get_traced_memory()[0] - base
        backward(root)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] - base
        del root
    finally:
        tracemalloc.stop()
    gc.collect()
    return forward, after


def chain_with_leaves(value: Callable[[float], Any], n: int) -> Callable[[], Any]:
    """``v = v * w + c`` n times: only binary-operation nodes, 2 per step."""
    v0, w, c = value(0.5), value(1.0001), value(0.0001)

    def build() -> Any:
        v = v0
        for _ in range(n):
            v = v * w + c
        return v

    return build


def chain_with_constants(value: Callable[[float], Any], n: int) -> Callable[[], Any]:
    """The W2 chain ``v = v * 1.0001 + 0.0001``: number operands become constant leaves."""
    v0 = value(0.5)

    def build() -> Any:
        v = v0
        for _ in range(n):
            v = v * 1.0001 + 0.0001
        return v

    return build


# -------------------------------------------------------- one measurement, one process


def setup(measurement: str, engine: str, quick: bool) -> tuple[Callable[[], object], int, bool]:
    """The step one worker process times, how many times, and whether the collector stays on."""
    xs, ts = w1_data()
    if measurement in ("w1", "w1_nogc"):
        gc_enabled = measurement == "w1"
        if engine == MICROGRAD:
            mg = mg_model_like(lite_model())
            return (lambda: w1_mg(mg, xs, ts)), 1, gc_enabled
        model = lite_model()
        return (lambda: w1_lite(model, xs, ts)), 1, gc_enabled
    if measurement == "w1_generic":
        model = lite_model()
        generic = GenericMLP.like(model)
        return (lambda: w1_generic(model, generic, xs, ts)), 1, True
    if measurement == "w1_compiled":
        from micrograd_lite.compiled_loss import CompiledLoss

        model = lite_model()
        loss = CompiledLoss(model, w1_loss)
        return (lambda: w1_compiled(model, loss, xs, ts)), FAST_RUNS, True
    if measurement == "w1_hand":
        from handwritten import w1_step

        model = lite_model()
        weights, biases = model.weights(), model.biases()
        return (lambda: w1_step(weights, biases, xs, ts)), FAST_RUNS, True
    if measurement == "w1_batched":
        model = lite_model()
        return batched_step(model, w1_loss, xs, ts), FAST_RUNS, True
    if measurement == "w1_numpy":
        return numpy_reference("w1", lite_model(), xs, ts), FAST_RUNS, True
    if measurement in ("softmax_batched", "softmax_numpy"):
        model = softmax_model()
        X, t = softmax_data()
        if measurement == "softmax_numpy":
            return numpy_reference("softmax", model, X, t), FAST_RUNS, True
        return batched_step(model, softmax_loss, X, t), FAST_RUNS, True
    if measurement.startswith("digits_"):
        return digits_epoch(measurement.removeprefix("digits_")), 1, True
    if measurement == "w2":
        value = mg_value() if engine == MICROGRAD else _lite_value()
        return (lambda: w2(value, W2_STEPS)), 1, True
    if measurement == "w3":
        m = 10_000 if quick else W3_TERMS
        if engine == MICROGRAD:
            xm, wm = w3_leaves(mg_value(), m)
            return (lambda: w3_mg(xm, wm)), 1, True
        xl, wl = w3_leaves(_lite_value(), m)
        return (lambda: w3_lite(xl, wl)), 1, True
    raise ValueError(f"unknown measurement {measurement!r} for {engine}")


def _lite_value() -> Any:
    from micrograd_lite import Value

    return Value


def worker(measurement: str, engine: str, quick: bool) -> dict[str, Any]:
    """Run one measurement in this (fresh) process; the result is printed as JSON."""
    # Deep micrograd graphs need it (recursive sort); micrograd_lite never recurses.
    if engine == MICROGRAD:
        sys.setrecursionlimit(2 * max(W2_STEPS, W3_TERMS, W4_STEPS) + 1000)
    if measurement == "w4":
        value = mg_value() if engine == MICROGRAD else _lite_value()
        k = W4_STEPS
        leaves = traced_bytes(chain_with_leaves(value, k), lambda v: v.backward())
        consts = traced_bytes(chain_with_constants(value, k), lambda v: v.backward())
        return {"bytes": [b / (2 * k) for b in (*leaves, *consts)]}
    step, runs, gc_enabled = setup(measurement, engine, quick)
    step()  # warm-up: first-call costs (imports, caches) are not timed
    gc.collect()  # the warm-up's garbage is not collected in the timed runs
    wall, cpu = [], []
    if not gc_enabled:
        gc.disable()
    # A fast step (runs > 1) is timed until it has run FAST_RUNS times and FAST_SECONDS long.
    budget, timed = (FAST_SECONDS if runs > 1 else 0.0), 0.0
    while len(wall) < runs or (timed < budget and len(wall) < FAST_MAX_RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        step()  # the result is dropped here: freeing the graph is timed too
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        timed += wall[-1]
    gc.enable()
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}


def run_worker(measurement: str, engine: str, quick: bool) -> dict[str, Any]:
    """One fresh process for one engine and one measurement."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", measurement, engine]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench.py: worker {measurement} {engine} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# CPU time / wall time of every timed run: well below 1, the machine was busy with other work.
CPU_SHARES: list[float] = []


def interleaved(group: Sequence[tuple[str, str]], repeat: int, quick: bool, clock: str) -> list[list[float]]:
    """``repeat`` fresh processes for each ``(measurement, engine)`` of ``group``, taking turns.

    Repeat k runs one process for each member; the order is reversed every other repeat,
    so no member always runs first or right after another. Returns seconds per member
    on ``clock`` ("wall" or "cpu"), in repeat order (entry k of every member comes from
    the same round).
    """
    seconds: list[list[float]] = [[] for _ in group]
    for k in range(repeat):
        order = range(len(group)) if k % 2 == 0 else reversed(range(len(group)))
        for i in order:
            measurement, engine = group[i]
            result = run_worker(measurement, engine, quick)
            seconds[i].append(result[clock])
            CPU_SHARES.append(result["cpu"] / result["wall"])
    return seconds


# ------------------------------------------------------------------------- checks
def fail(message: str) -> None:
    raise SystemExit(f"bench.py: gradient check failed: {message}")


def check_close(what: str, expected: list[float], got: list[float], floor: float) -> None:
    if len(expected) != len(got):
        fail(f"W1 {what}: {len(got)} gradients, expected {len(expected)}")
    for k, (a, b) in enumerate(zip(expected, got)):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=floor):
            fail(f"W1 parameter {k}: micrograd grad {a!r}, {what} grad {b!r}")


def check_close_to(what: str, expected: Sequence[float], got: Sequence[float], rel: float) -> None:
    """``got`` agrees with ``expected`` to ``rel`` relative, with an absolute floor of ``rel`` times
    the largest expected gradient (where terms cancel, the sum's rounding is relative to them)."""
    if len(expected) != len(got):
        fail(f"{what}: {len(got)} gradients, expected {len(expected)}")
    floor = rel * max(abs(g) for g in expected)
    for k, (a, b) in enumerate(zip(expected, got)):
        if not math.isclose(a, b, rel_tol=rel, abs_tol=floor):
            fail(f"{what}, parameter {k}: micrograd_lite eager grad {a!r}, got {b!r}")


def check_batched() -> None:
    """The batched steps and the hand-written numpy steps against micrograd_lite's eager step, to 1e-12."""
    from handwritten_numpy import flat_gradients

    rel = 1e-12
    cases = [
        ("W1", lite_model, w1_loss, *w1_data(), "w1"),
        ("64-32-10 softmax", softmax_model, softmax_loss, *softmax_data(), "softmax"),
    ]
    for name, make, loss_fn, inputs, targets, step in cases:
        eager = make()
        E = loss_fn(eager, [list(x) for x in inputs], list(targets))
        E.backward()
        expected = [p.grad for p in eager.parameters()]
        E_numpy, grad_W, grad_b = numpy_reference(step, eager, inputs, targets)()
        if not math.isclose(E_numpy, E.data, rel_tol=rel):
            fail(f"{name} loss: micrograd_lite {E.data!r}, hand-written numpy {E_numpy!r}")
        check_close_to(f"{name} hand-written numpy", expected, flat_gradients(grad_W, grad_b), rel)
        model = make()
        E_batched = batched_step(model, loss_fn, inputs, targets)()
        if not math.isclose(E_batched, E.data, rel_tol=rel):
            fail(f"{name} loss: micrograd_lite eager {E.data!r}, batched {E_batched!r}")
        check_close_to(f"{name} batched", expected, [p.grad for p in model.parameters()], rel)


def check_gradients(quick: bool) -> dict[str, int]:
    """Both engines must agree before anything is timed; returns W1 graph sizes."""
    from micrograd_lite import Value, topological_order
    from micrograd_lite.compiled_loss import CompiledLoss

    MgValue = mg_value()
    xs, ts = w1_data()
    lite = lite_model()
    mg = mg_model_like(lite)
    E_lite = w1_lite(lite, xs, ts)
    E_mg = w1_mg(mg, xs, ts)
    if not math.isclose(E_lite.data, E_mg.data, rel_tol=1e-12):
        fail(f"W1 loss: micrograd {E_mg.data!r}, micrograd_lite {E_lite.data!r}")
    g_lite = [p.grad for p in lite.parameters()]
    g_mg = [float(p.grad) for p in mg.parameters()]
    floor = 1e-12 * max(abs(g) for g in g_mg)
    check_close("micrograd_lite", g_mg, g_lite, floor)

    generic_model = lite_model()
    E_generic = w1_generic(generic_model, GenericMLP.like(generic_model), xs, ts)
    if not math.isclose(E_generic.data, E_mg.data, rel_tol=1e-12):
        fail(f"W1 loss: micrograd {E_mg.data!r}, micrograd_lite generic {E_generic.data!r}")
    check_close("micrograd_lite generic", g_mg, [p.grad for p in generic_model.parameters()], floor)

    E_hand, g_hand = w1_hand(lite, xs, ts)
    if not math.isclose(E_hand, E_mg.data, rel_tol=1e-12):
        fail(f"W1 loss: micrograd {E_mg.data!r}, hand-written {E_hand!r}")
    check_close("hand-written", g_mg, g_hand, floor)

    compiled_model = lite_model()
    began = time.perf_counter()
    loss = CompiledLoss(compiled_model, w1_loss)
    E_compiled = w1_compiled(compiled_model, loss, xs, ts)
    compile_seconds = time.perf_counter() - began
    g_compiled = [p.grad for p in compiled_model.parameters()]
    if E_compiled != E_lite.data or g_compiled != g_lite:
        fail("W1: the compiled step differs from micrograd_lite's eager step (they must be equal exactly)")

    lite_nodes = topological_order(E_lite)
    generic_nodes = topological_order(E_generic)
    sizes = {
        "lite_nodes": len(lite_nodes),
        "lite_edges": sum(len(v.parents) for v in lite_nodes),
        "generic_nodes": len(generic_nodes),
        "mg_nodes": len(_mg_nodes(E_mg)),
        "compile_ms": round(compile_seconds * 1e3),
        "compiled_lines": len(loss.compiled.source.splitlines()) if loss.compiled else 0,
    }

    n = W2_STEPS
    g2_lite = w2(Value, n).grad
    with recursion_limit(2 * n + 1000):
        g2_mg = float(w2(MgValue, n).grad)
    if not (math.isclose(g2_lite, g2_mg, rel_tol=1e-9) and math.isclose(g2_lite, 1.0001**n, rel_tol=1e-9)):
        fail(f"W2 dv/dv0: micrograd {g2_mg!r}, micrograd_lite {g2_lite!r}, exact {1.0001**n!r}")

    m = 1_000 if quick else W3_TERMS
    xl, wl = w3_leaves(Value, m)
    xm, wm = w3_leaves(MgValue, m)
    w3_lite(xl, wl)
    with recursion_limit(m + 1000):
        w3_mg(xm, wm)
    for leaves_l, leaves_m in ((xl, xm), (wl, wm)):
        for a, b in zip(leaves_l, leaves_m):
            if a.grad != b.grad:
                fail(f"W3 leaf gradient: micrograd {b.grad!r}, micrograd_lite {a.grad!r}")
    return sizes


def _mg_nodes(root: Any) -> set[int]:
    seen: set[int] = set()
    stack = [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return seen


# ------------------------------------------------------------------------ reporting
@dataclass
class Row:
    """One line of the table: each engine's figures (one per process) or a fixed number."""

    workload: str
    micrograd: list[float]
    lite: list[float]
    unit: str
    target: str = "-"
    target_ratio: float | None = None  # met if median ratio >= this
    target_max_lite: float | None = None  # met if micrograd_lite's median <= this
    digits: int = 1

    def ratio(self) -> float:
        return statistics.median(self.micrograd) / statistics.median(self.lite)

    def met(self) -> bool | None:
        if self.target_ratio is not None:
            return self.ratio() >= self.target_ratio
        if self.target_max_lite is not None:
            return statistics.median(self.lite) <= self.target_max_lite
        return None

    def figure(self, values: list[float]) -> str:
        median = f"{statistics.median(values):,.{self.digits}f} {self.unit}"
        if len(values) == 1 or min(values) == max(values):
            return median
        return f"{median} ({min(values):,.{self.digits}f}-{max(values):,.{self.digits}f})"

    def cells(self) -> list[str]:
        ratio = f"{self.ratio():.1f}x"
        if len(self.micrograd) == len(self.lite) > 1:
            paired = [m / lite for m, lite in zip(self.micrograd, self.lite)]
            ratio += f" ({min(paired):.1f}-{max(paired):.1f})"
        target = self.target
        met = self.met()
        if met is not None:
            target += " (met)" if met else " (MISSED)"
        return [self.workload, self.figure(self.micrograd), self.figure(self.lite), ratio, target]


def markdown(rows: list[Row]) -> str:
    header = ["workload", "micrograd 0.1.0", "micrograd_lite", "ratio (micrograd / lite)", "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def scaled(values: list[float], factor: float) -> list[float]:
    return [v * factor for v in values]


def measure(repeat: int, quick: bool, clock: str) -> list[Row]:
    """Every timed row, each engine in its own fresh processes, taking turns."""
    rows: list[Row] = []
    ms = 1e3

    # W1: micrograd and the five micrograd_lite variants take turns, so every variant's
    # process k ran next to micrograd's process k.
    mg, lite, generic, compiled, hand, batched = interleaved(
        [
            ("w1", MICROGRAD),
            ("w1", LITE),
            ("w1_generic", LITE),
            ("w1_compiled", LITE),
            ("w1_hand", LITE),
            ("w1_batched", LITE),
        ],
        repeat,
        quick,
        clock,
    )
    rows.append(
        Row(
            "W1 MLP 2-16-16-1 training step, 64 points (per step)",
            scaled(mg, ms),
            scaled(lite, ms),
            "ms",
            f">= {TARGET_W1:g}x",
            TARGET_W1,
        )
    )
    rows.append(
        Row(
            "W1 generic: micrograd's formulation (binary operations, sum()) on micrograd_lite Values",
            scaled(mg, ms),
            scaled(generic, ms),
            "ms",
            f">= {TARGET_W1_GENERIC:g}x",
            TARGET_W1_GENERIC,
        )
    )
    print(rows[-2].cells(), rows[-1].cells(), sep="\n", flush=True)
    rows.append(
        Row(
            "W1 compiled (CompiledLoss: straight-line Python), per step",
            scaled(mg, ms),
            scaled(compiled, ms),
            "ms",
            f">= {TARGET_W1_COMPILED:g}x",
            TARGET_W1_COMPILED,
            digits=2,
        )
    )
    rows.append(
        Row(
            "W1 hand-written plain floats (benchmarks/handwritten.py; reference, not micrograd_lite)",
            scaled(mg, ms),
            scaled(hand, ms),
            "ms",
            digits=2,
        )
    )
    print(rows[-2].cells(), rows[-1].cells(), sep="\n", flush=True)
    rows.append(
        Row(
            "W1 batched (CompiledLoss batched=True: numpy over the batch of 64), per step",
            scaled(mg, ms),
            scaled(batched, ms),
            "ms",
            f">= {TARGET_W1_BATCHED:,g}x",
            TARGET_W1_BATCHED,
            digits=3,
        )
    )
    print(rows[-1].cells(), flush=True)
    mg_nogc, lite_nogc = interleaved([("w1_nogc", MICROGRAD), ("w1_nogc", LITE)], repeat, quick, clock)
    rows.append(
        Row(
            "W1, garbage collector disabled while timing (information)",
            scaled(mg_nogc, ms),
            scaled(lite_nogc, ms),
            "ms",
        )
    )
    print(rows[-1].cells(), flush=True)

    mg, lite = interleaved([("w2", MICROGRAD), ("w2", LITE)], repeat, quick, clock)
    per_node = 1e9 / (2 * W2_STEPS)
    rows.append(
        Row(
            f"W2 chain v = v*1.0001 + 0.0001, {W2_STEPS:,} steps, forward + backward (per op node)",
            scaled(mg, per_node),
            scaled(lite, per_node),
            "ns",
            f">= {TARGET_W2:g}x",
            TARGET_W2,
            digits=0,
        )
    )
    print(rows[-1].cells(), flush=True)

    m = 10_000 if quick else W3_TERMS
    mg, lite = interleaved([("w3", MICROGRAD), ("w3", LITE)], repeat, quick, clock)
    rows.append(
        Row(f"W3 sum of {m:,} products x_i*w_i, forward + backward", scaled(mg, ms), scaled(lite, ms), "ms")
    )
    print(rows[-1].cells(), flush=True)

    mg_bytes = run_worker("w4", MICROGRAD, quick)["bytes"]
    lite_bytes = run_worker("w4", LITE, quick)["bytes"]
    names = [
        "W4 memory per binary-op node, v = v*w + c (w, c leaves), after forward",
        "W4 same graph, after backward",
        "W4 W2 chain (number operands as constants), after forward (per op node)",
        "W4 W2 chain, after backward",
    ]
    for k, name in enumerate(names):
        row = Row(name, [mg_bytes[k]], [lite_bytes[k]], "B", digits=0)
        if k == 0:
            row.target, row.target_max_lite = f"<= {TARGET_W4:g} B", TARGET_W4
        rows.append(row)
        print(row.cells(), flush=True)
    return rows


@dataclass
class VersusNumpy:
    """A batched step against the hand-written numpy step: times per process, in milliseconds."""

    workload: str
    numpy: list[float]
    batched: list[float]
    target_slowdown: float | None = None  # met if batched / numpy (medians) <= this

    def slowdown(self) -> float:
        return statistics.median(self.batched) / statistics.median(self.numpy)

    def cells(self) -> list[str]:
        paired = [b / n for b, n in zip(self.batched, self.numpy)]
        ratio = f"{self.slowdown():.2f}x"
        if len(paired) > 1:
            ratio += f" ({min(paired):.2f}-{max(paired):.2f})"
        target = "-"
        if self.target_slowdown is not None:
            met = self.slowdown() <= self.target_slowdown
            target = f"<= {self.target_slowdown:g}x " + ("(met)" if met else "(MISSED)")
        figure = Row("", [], [], "ms", digits=3).figure
        return [self.workload, figure(self.numpy), figure(self.batched), ratio, target]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def measure_batched(repeat: int, quick: bool, clock: str) -> tuple[str, str]:
    """The tables of batched steps against numpy, and of one digits epoch eager, compiled and batched."""
    ms = 1e3
    versus = []
    for name, (numpy_name, batched_name), target in [
        ("W1 MLP 2-16-16-1, batch 64 (per step)", ("w1_numpy", "w1_batched"), None),
        (
            f"MLP 64-32-10 softmax, batch {SOFTMAX_BATCH:,} standardised digits (per step)",
            ("softmax_numpy", "softmax_batched"),
            TARGET_SOFTMAX_SLOWDOWN,
        ),
    ]:
        numpy_s, batched_s = interleaved([(numpy_name, LITE), (batched_name, LITE)], repeat, quick, clock)
        versus.append(VersusNumpy(name, scaled(numpy_s, ms), scaled(batched_s, ms), target))
        print(versus[-1].cells(), flush=True)
    numpy_table = table(
        ["workload", "hand-written numpy", "batched (CompiledLoss)", "batched / numpy", "target"],
        [row.cells() for row in versus],
    )

    # An eager epoch takes seconds: one process per mode in --quick.
    epochs = interleaved(
        [(f"digits_{mode}", LITE) for mode in DIGITS_MODES], 1 if quick else repeat, quick, clock
    )
    figure = Row("", [], [], "s", digits=2).figure
    eager = statistics.median(epochs[0])
    cells = [
        f"one epoch: 1,348 training digits, minibatches of {DIGITS_BATCH}, Adam",
        *[figure(seconds) for seconds in epochs],
        " / ".join(f"{eager / statistics.median(seconds):,.0f}x" for seconds in epochs[1:]),
    ]
    digits_table = table(["workload", *DIGITS_MODES, "speed-up over eager (compiled / batched)"], [cells])
    print(cells, flush=True)
    return numpy_table, digits_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats, smaller W3, print only (no results.md)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="fresh processes per engine and measurement (default 5)"
    )
    parser.add_argument("--output", type=Path, default=None, help=f"Markdown file (default {RESULTS})")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (default) or the process's CPU time, for a machine busy with other work",
    )
    parser.add_argument("--worker", nargs=2, metavar=("MEASUREMENT", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        measurement, engine = args.worker
        print(json.dumps(worker(measurement, engine, args.quick)))
        return 0
    repeat: int = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    output: Path | None = args.output if args.output is not None else (None if args.quick else RESULTS)

    began = time.perf_counter()
    sizes = check_gradients(args.quick)
    print(
        "gradients agree (W1 to 1e-9 relative, W1 compiled = eager exactly, W2 to 1e-9 relative, W3 exactly)",
        flush=True,
    )
    check_batched()
    print("batched and hand-written numpy steps agree with the eager step (1e-12 relative)", flush=True)
    rows = measure(repeat, args.quick, args.clock)
    numpy_table, digits_table = measure_batched(repeat, args.quick, args.clock)
    share = statistics.median(CPU_SHARES)

    main_table = markdown(rows)
    lite_ms = statistics.median(rows[0].lite)
    compiled_ms = statistics.median(rows[2].lite)
    hand_ms = statistics.median(rows[3].lite)
    notes = (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}; {'wall' if args.clock == 'wall' else 'CPU'} time; "
        f"the timed runs had {share:.0%} of a core (median; CPU time / wall time). "
        "Each engine in its own fresh processes, taking turns: "
        f"median of {repeat} processes (range in brackets; a ratio's range is over the processes run "
        "side by side), each timing one run after a warm-up run "
        f"(the compiled, hand-written and batched steps: the median run of at least {FAST_RUNS} runs "
        f"and {FAST_SECONDS:g} s per process). "
        f"W1 graph per step: micrograd {sizes['mg_nodes']:,} nodes, micrograd_lite's generic formulation "
        f"{sizes['generic_nodes']:,}, its MLP {sizes['lite_nodes']:,} nodes ({sizes['lite_edges']:,} edges). "
        f"W1 compiled: traced and compiled once ({sizes['compile_ms']:,} ms, {sizes['compiled_lines']:,} "
        f"lines of Python), then {lite_ms / compiled_ms:.1f}x faster than micrograd_lite's eager step and "
        f"{compiled_ms / hand_ms:.2f}x the hand-written step's time."
    )
    more = (
        "Batched compiled steps against the same steps written by hand in numpy "
        "(`benchmarks/handwritten_numpy.py`), milliseconds per step:\n\n"
        f"{numpy_table}\n\n"
        "Notebook 09's training on the digits, seconds per epoch (after a warm-up epoch that traces):\n\n"
        f"{digits_table}\n"
    )
    print()
    print(main_table)
    print()
    print(notes)
    print()
    print(more)
    if output is not None:
        command = "python benchmarks/bench.py" + (f" --repeat {repeat}" if args.repeat is not None else "")
        command += " --clock cpu" if args.clock == "cpu" else ""
        output.write_text(
            "# Benchmark results\n\n"
            f"micrograd_lite against micrograd 0.1.0, produced by `{command}` "
            "(see the docstring of `benchmarks/bench.py` for what each workload does).\n\n"
            f"{main_table}\n\n{notes}\n\n{more}",
            encoding="utf-8",
        )
        print(f"wrote {output}")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
