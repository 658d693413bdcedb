"""Speed and memory of micrograd_lite against karpathy's micrograd (0.1.0, from PyPI).

Run from the repository root::

    .venv/bin/pip install micrograd==0.1.0   # or: pip install -e ".[bench]"
    .venv/bin/python benchmarks/bench.py              # full run, writes benchmarks/results.md
    .venv/bin/python benchmarks/bench.py --quick      # a short run (prints only)
    .venv/bin/python benchmarks/bench.py --repeat 9   # more repeats per measurement

Workloads (both engines in the same process, same inputs):

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
  micrograd's ``MLP``. micrograd_lite uses ``MLP`` and ``squared_error``.
  Two more rows run the same step another way: *compiled*, with
  ``micrograd_lite.compiler.CompiledLoss`` (the graph traced once and compiled
  to straight-line Python; each step is ``model.zero_grad()`` and one call,
  which reads every ``p.data`` and writes every ``p.grad``), and *hand-written*,
  ``benchmarks/handwritten.py``: the step written by hand in plain floats (lists
  of floats, a loop over the layers, ``sum(map(mul, ...))`` inner products), the
  limit a compiled step can aim at. The compiled row's target is >= 150x.
* W2: a chain ``v = v * 1.0001 + 0.0001`` of 10,000 steps, forward + backward;
  reported per binary-operation node (2 per step). micrograd's topological sort
  is recursive, so the recursion limit is raised around micrograd's runs only
  (micrograd_lite's is iterative and runs at the default limit).
* W3: ``sum(x_i * w_i)`` over 100,000 pairs of leaves, forward + backward:
  micrograd chains 100,000 binary additions (``sum()`` of Values, as its README
  does; recursion limit raised as in W2), micrograd_lite uses ``sum_values``
  (one n-ary node).
* W4: bytes per binary-operation node, measured with ``tracemalloc`` (memory
  held by the graph after the forward pass and after the backward pass, divided
  by the number of binary-operation nodes). Two graphs of 10,000 steps: ``v = v * w + c``
  with ``w`` and ``c`` leaves (only binary-operation nodes are created: the
  per-node figure, the one the target applies to), and the W2 chain, whose number
  operands become constant leaves in both engines (whatever memory those take is
  counted in: the per-step cost divided by 2).

Gradients are checked before anything is timed: W1 parameter gradients agree to
1e-9 relative (with an absolute floor of 1e-12 times the largest gradient), between
micrograd, micrograd_lite and the hand-written step; the compiled step equals
micrograd_lite's eager step exactly (``==`` on E and on every gradient); W2's
dv/dv0 to 1e-9 relative, W3's gradients exactly. A mismatch aborts with an error.

Timing uses ``time.perf_counter``; each figure is the median of ``--repeat`` runs
after one warm-up run. The garbage collector is left as users run it (enabled,
default thresholds); it is collected once, untimed, before each engine's series
so one engine's garbage is not collected in the other's time. Each timed run
includes freeing its graph. W1 is also reported with the collector disabled
during the timed runs, for information. Ratios are micrograd / micrograd_lite.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from handwritten import w1_step  # benchmarks/handwritten.py (this script's folder is on sys.path)
from micrograd.engine import Value as MgValue  # type: ignore[import-untyped]
from micrograd.nn import MLP as MgMLP  # type: ignore[import-untyped]

from micrograd_lite import MLP, Value, squared_error, sum_values
from micrograd_lite.compiled_loss import CompiledLoss

W1_SIZES = [16, 16, 1]
W1_ACTIVATIONS: list[Any] = ["tanh", "tanh", "identity"]
W1_POINTS = 64
W1_SEED = 1234
W2_STEPS = 10_000
W3_TERMS = 100_000
W4_STEPS = 10_000
TARGET_W1 = 25.0
TARGET_W1_COMPILED = 150.0
TARGET_W2 = 4.0
TARGET_W4 = 250.0

RESULTS = Path(__file__).resolve().parent / "results.md"


# ------------------------------------------------------------------ micrograd side
def mg_tanh(v: Any) -> Any:
    """tanh for micrograd 0.1.0 Values, in micrograd's style (a ``_backward`` closure)."""
    t = math.tanh(v.data)
    out = MgValue(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def mg_forward(model: Any, x: Sequence[float]) -> Any:
    """micrograd's ``MLP.__call__`` with tanh instead of ReLU on the hidden layers."""
    z: Sequence[Any] = x
    for layer in model.layers:
        outs = []
        for n in layer.neurons:
            act = sum((wi * zi for wi, zi in zip(n.w, z)), n.b)
            outs.append(mg_tanh(act) if n.nonlin else act)
        z = outs
    return z[0]


def mg_model_like(lite: MLP) -> Any:
    """micrograd's ``MLP(2, [16, 16, 1])`` holding ``lite``'s weights and biases."""
    model = MgMLP(lite.n_inputs, list(W1_SIZES))
    for mg_layer, W, b in zip(model.layers, lite.weights(), lite.biases()):
        for neuron, row, bias in zip(mg_layer.neurons, W, b):
            for wi, value in zip(neuron.w, row):
                wi.data = value
            neuron.b.data = bias
    return model


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


def w1_lite(model: MLP, xs: list[list[float]], ts: list[float]) -> Value:
    model.zero_grad()
    E = squared_error([cast(Value, model(x)) for x in xs], ts)  # one output unit: y is a Value
    E.backward()
    return E


def w1_loss(model: MLP, xs: list[list[Value]], ts: list[Any]) -> Value:
    return squared_error([cast(Value, model(x)) for x in xs], ts)


def w1_compiled(model: MLP, loss: CompiledLoss, xs: list[list[float]], ts: list[float]) -> float:
    model.zero_grad()
    return loss(xs, ts)


def w1_hand(model: MLP, xs: list[list[float]], ts: list[float]) -> tuple[float, list[float]]:
    """The hand-written step on ``model``'s weights: ``(E, gradients in parameters() order)``."""
    E, grad_W, grad_b = w1_step(model.weights(), model.biases(), xs, ts)
    grads = [g for gW, gb in zip(grad_W, grad_b) for row, gbi in zip(gW, gb) for g in (*row, gbi)]
    return E, grads


def w1_mg(model: Any, xs: list[list[float]], ts: list[float]) -> Any:
    model.zero_grad()
    E = 0.5 * sum((mg_forward(model, x) - t) ** 2 for x, t in zip(xs, ts))
    E.backward()
    return E


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


def w3_lite(xs: list[Value], ws: list[Value]) -> Value:
    E = sum_values([x * w for x, w in zip(xs, ws)])
    E.backward()
    return E


def w3_mg(xs: list[Any], ws: list[Any]) -> Any:
    E = sum(x * w for x, w in zip(xs, ws))
    E.backward()
    return E


# ------------------------------------------------------------------------- checks
def fail(message: str) -> None:
    raise SystemExit(f"bench.py: gradient check failed: {message}")


def check_gradients(quick: bool) -> dict[str, int]:
    """Both engines must agree before anything is timed; returns W1 graph sizes."""
    xs, ts = w1_data()
    lite = MLP(2, W1_SIZES, activations=W1_ACTIVATIONS, seed=0)
    mg = mg_model_like(lite)
    E_lite = w1_lite(lite, xs, ts)
    E_mg = w1_mg(mg, xs, ts)
    if not math.isclose(E_lite.data, E_mg.data, rel_tol=1e-12):
        fail(f"W1 loss: micrograd {E_mg.data!r}, micrograd_lite {E_lite.data!r}")
    g_lite = [p.grad for p in lite.parameters()]
    g_mg = [float(p.grad) for p in mg.parameters()]
    if len(g_lite) != len(g_mg):
        fail(f"W1: {len(g_mg)} micrograd parameters, {len(g_lite)} micrograd_lite parameters")
    floor = 1e-12 * max(abs(g) for g in g_mg)
    for k, (a, b) in enumerate(zip(g_mg, g_lite)):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=floor):
            fail(f"W1 parameter {k}: micrograd grad {a!r}, micrograd_lite grad {b!r}")
    E_hand, g_hand = w1_hand(lite, xs, ts)
    if not math.isclose(E_hand, E_lite.data, rel_tol=1e-12) or len(g_hand) != len(g_lite):
        fail(f"W1 loss: hand-written {E_hand!r}, micrograd_lite {E_lite.data!r}")
    for k, (a, b) in enumerate(zip(g_hand, g_lite)):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=floor):
            fail(f"W1 parameter {k}: hand-written grad {a!r}, micrograd_lite grad {b!r}")
    compiled_model = MLP(2, W1_SIZES, activations=W1_ACTIVATIONS, seed=0)
    began = time.perf_counter()
    E_compiled = w1_compiled(compiled_model, CompiledLoss(compiled_model, w1_loss), xs, ts)
    compile_seconds = time.perf_counter() - began
    g_compiled = [p.grad for p in compiled_model.parameters()]
    if E_compiled != E_lite.data or g_compiled != g_lite:
        fail("W1: the compiled step differs from micrograd_lite's eager step (they must be equal exactly)")

    from micrograd_lite import topological_order

    lite_nodes = topological_order(E_lite)
    sizes = {
        "lite_nodes": len(lite_nodes),
        "lite_edges": sum(len(v.parents) for v in lite_nodes),
        "mg_nodes": len(_mg_nodes(E_mg)),
        "compile_ms": round(compile_seconds * 1e3),
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


# ------------------------------------------------------------------------- timing
def median_seconds(fn: Callable[[], object], repeat: int, gc_enabled: bool = True) -> float:
    """Median wall time of ``repeat`` runs of ``fn`` (after one warm-up run)."""
    gc.collect()
    fn()
    gc.collect()
    times = []
    if not gc_enabled:
        gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()  # the result is dropped here: freeing the graph is timed too
            times.append(time.perf_counter() - start)
    finally:
        if not gc_enabled:
            gc.enable()
            gc.collect()
    return statistics.median(times)


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


# ------------------------------------------------------------------------ reporting
@dataclass
class Row:
    workload: str
    micrograd: float
    lite: float
    unit: str
    target: str = "-"
    met: bool | None = None
    digits: int = 1

    def cells(self) -> list[str]:
        ratio = self.micrograd / self.lite
        target = self.target
        if self.met is not None:
            target += " (met)" if self.met else " (MISSED)"
        return [
            self.workload,
            f"{self.micrograd:,.{self.digits}f} {self.unit}",
            f"{self.lite:,.{self.digits}f} {self.unit}",
            f"{ratio:.1f}x",
            target,
        ]


def markdown(rows: list[Row]) -> str:
    header = ["workload", "micrograd 0.1.0", "micrograd_lite", "ratio (micrograd / lite)", "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def time_w3(m: int, repeat: int) -> Row:
    xm, wm = w3_leaves(MgValue, m)
    xl, wl = w3_leaves(Value, m)
    with recursion_limit(m + 1000):
        t_mg = median_seconds(lambda: w3_mg(xm, wm), repeat)
    t_lite = median_seconds(lambda: w3_lite(xl, wl), repeat)
    return Row(f"W3 sum of {m:,} products x_i*w_i, forward + backward", t_mg * 1e3, t_lite * 1e3, "ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, print only (no results.md)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per measurement (default 7)")
    parser.add_argument("--output", type=Path, default=None, help=f"Markdown file (default {RESULTS})")
    args = parser.parse_args(argv)
    repeat: int = args.repeat if args.repeat is not None else (3 if args.quick else 7)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    output: Path | None = args.output if args.output is not None else (None if args.quick else RESULTS)

    began = time.perf_counter()
    sizes = check_gradients(args.quick)
    print(
        "gradients agree (W1 to 1e-9 relative, W1 compiled = eager exactly, W2 to 1e-9 relative, W3 exactly)",
        flush=True,
    )

    rows: list[Row] = []
    xs, ts = w1_data()
    lite_model = MLP(2, W1_SIZES, activations=W1_ACTIVATIONS, seed=0)
    mg_model = mg_model_like(lite_model)
    w1_mg_seconds = 0.0
    for gc_enabled in (True, False):
        t_mg = median_seconds(lambda: w1_mg(mg_model, xs, ts), repeat, gc_enabled)
        t_lite = median_seconds(lambda: w1_lite(lite_model, xs, ts), repeat, gc_enabled)
        if gc_enabled:
            w1_mg_seconds = t_mg
            name = "W1 MLP 2-16-16-1 training step, 64 points (per step)"
            rows.append(
                Row(name, t_mg * 1e3, t_lite * 1e3, "ms", f">= {TARGET_W1:g}x", t_mg / t_lite >= TARGET_W1)
            )
        else:
            name = "W1, garbage collector disabled while timing (information)"
            rows.append(Row(name, t_mg * 1e3, t_lite * 1e3, "ms"))
        print(rows[-1].cells(), flush=True)

    # The same step compiled, and written by hand; many runs each (a step takes milliseconds).
    fast_repeat = max(repeat, 51)
    loss = CompiledLoss(lite_model, w1_loss)
    t_compiled = median_seconds(lambda: w1_compiled(lite_model, loss, xs, ts), fast_repeat)
    weights, biases = lite_model.weights(), lite_model.biases()
    t_hand = median_seconds(lambda: w1_step(weights, biases, xs, ts), fast_repeat)
    rows.append(
        Row(
            "W1 compiled (CompiledLoss: straight-line Python), per step",
            w1_mg_seconds * 1e3,
            t_compiled * 1e3,
            "ms",
            f">= {TARGET_W1_COMPILED:g}x",
            w1_mg_seconds / t_compiled >= TARGET_W1_COMPILED,
            digits=2,
        )
    )
    print(rows[-1].cells(), flush=True)
    rows.append(
        Row(
            "W1 hand-written plain floats (benchmarks/handwritten.py; reference, not micrograd_lite)",
            w1_mg_seconds * 1e3,
            t_hand * 1e3,
            "ms",
            digits=2,
        )
    )
    print(rows[-1].cells(), flush=True)
    sizes["compiled_lines"] = len(loss.compiled.source.splitlines()) if loss.compiled else 0

    t_lite_eager = rows[0].lite / 1e3
    n = W2_STEPS
    with recursion_limit(2 * n + 1000):
        t_mg = median_seconds(lambda: w2(MgValue, n), repeat)
    t_lite = median_seconds(lambda: w2(Value, n), repeat)
    per_node = 1e9 / (2 * n)
    rows.append(
        Row(
            f"W2 chain v = v*1.0001 + 0.0001, {n:,} steps, forward + backward (per op node)",
            t_mg * per_node,
            t_lite * per_node,
            "ns",
            f">= {TARGET_W2:g}x",
            t_mg / t_lite >= TARGET_W2,
            digits=0,
        )
    )
    print(rows[-1].cells(), flush=True)

    rows.append(time_w3(W3_TERMS, repeat))
    print(rows[-1].cells(), flush=True)

    k = W4_STEPS
    nodes = 2 * k
    with recursion_limit(nodes + 1000):
        mg_leaves = traced_bytes(chain_with_leaves(MgValue, k), lambda v: v.backward())
        mg_consts = traced_bytes(chain_with_constants(MgValue, k), lambda v: v.backward())
    lite_leaves = traced_bytes(chain_with_leaves(Value, k), lambda v: v.backward())
    lite_consts = traced_bytes(chain_with_constants(Value, k), lambda v: v.backward())
    per = lite_leaves[0] / nodes
    rows += [
        Row(
            "W4 memory per binary-op node, v = v*w + c (w, c leaves), after forward",
            mg_leaves[0] / nodes,
            per,
            "B",
            f"<= {TARGET_W4:g} B",
            per <= TARGET_W4,
            digits=0,
        ),
        Row("W4 same graph, after backward", mg_leaves[1] / nodes, lite_leaves[1] / nodes, "B", digits=0),
        Row(
            "W4 W2 chain (number operands as constants), after forward (per op node)",
            mg_consts[0] / nodes,
            lite_consts[0] / nodes,
            "B",
            digits=0,
        ),
        Row("W4 W2 chain, after backward", mg_consts[1] / nodes, lite_consts[1] / nodes, "B", digits=0),
    ]
    for row in rows[-4:]:
        print(row.cells(), flush=True)

    table = markdown(rows)
    notes = (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}; median of {repeat} runs after a warm-up run; "
        f"W1 graph per step: micrograd {sizes['mg_nodes']:,} nodes, micrograd_lite "
        f"{sizes['lite_nodes']:,} nodes ({sizes['lite_edges']:,} edges). W1 compiled: traced and "
        f"compiled once ({sizes['compile_ms']:,} ms, {sizes['compiled_lines']:,} lines of Python), then "
        f"{t_lite_eager / t_compiled:.1f}x faster than micrograd_lite's eager step and "
        f"{t_compiled / t_hand:.2f}x the hand-written step's time; median of {fast_repeat} runs "
        "for these two."
    )
    print()
    print(table)
    print()
    print(notes)
    if output is not None:
        command = "python benchmarks/bench.py" + (f" --repeat {repeat}" if args.repeat is not None else "")
        output.write_text(
            "# Benchmark results\n\n"
            f"micrograd_lite against micrograd 0.1.0, produced by `{command}` "
            "(see the docstring of `benchmarks/bench.py` for what each workload does).\n\n"
            f"{table}\n\n{notes}\n",
            encoding="utf-8",
        )
        print(f"wrote {output}")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
