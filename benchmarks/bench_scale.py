"""How the cost of each operation grows with the size of the graph: time per node at 10^3, 10^4, 10^5.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scale.py             # every case; writes benchmarks/scale_results.md
    .venv/bin/python benchmarks/bench_scale.py --quick     # 10^3 and 10^4 only, prints only
    .venv/bin/python benchmarks/bench_scale.py --case compile_unlabelled --case draw

Each (case, size) runs in a fresh Python process, so one measurement's garbage, caches and
memory do not affect the next, and is stopped after ``--timeout`` seconds (reported as
"timeout", which is what a quadratic operation does at 10^5). In the process: the graph is
built (untimed), then the operation is timed ``--repeat`` times (more, up to 50, while the runs
add up to under a second); the figures are the fastest run's time per unit (per node, per term
of a fan-in, per parameter), the least disturbed by other processes, and the median run's.
Growth is the fastest time per unit at the largest size measured divided by that at 10^3: about
1 when the cost per node is flat (linear overall), about 100 when it is quadratic.

Graphs:

* chain: ``v = v * 1.0001 + 0.0001`` repeated, 2 operation nodes a step, unlabelled (the
  engine's W2 workload of ``bench.py``), or with every node labelled ``v_k``;
* fan-in: ``E = sum_values([x_1, ..., x_n])``, one node of n terms;
* network: an MLP 2-w-w-1 (tanh, tanh, sigmoid) on one example, w chosen for the node count;
* training: ``train(compiled=True)`` for one epoch, full batch, MLP 2-8-8-1 on ``two_moons``,
  the number of examples chosen for the node count (the first epoch traces and compiles);
* parameters: an MLP n-10 holding the given number of parameters, saved and loaded as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micrograd_lite import (
    MLP,
    GradientDescent,
    Value,
    binary_cross_entropy,
    count_paths,
    delta_table,
    draw,
    paths,
    record_steps,
    sum_values,
    topological_order,
    train,
)
from micrograd_lite.compiler import compile_graph
from micrograd_lite.datasets import two_moons
from micrograd_lite.serialization import load_parameters, save_parameters
from micrograd_lite.step_page import step_page

RESULTS = Path(__file__).resolve().parent / "scale_results.md"
SIZES = (1_000, 10_000, 100_000)

Setup = Callable[[int], tuple[Callable[[], object], int]]


@dataclass(frozen=True)
class Case:
    what: str  # the table's first column
    unit: str  # what the time is divided by
    setup: Setup  # size -> (the timed operation, how many units it covers)


# ------------------------------------------------------------------------------ graphs
def chain(n_nodes: int, labelled: bool = False) -> tuple[Value, Value]:
    """``v = v * 1.0001 + 0.0001`` for ``n_nodes // 2`` steps; returns (root, input leaf)."""
    v0 = Value(0.5, "v")
    v = v0
    for k in range(n_nodes // 2):
        v = v * 1.0001
        if labelled:
            v.label = f"v_{2 * k + 1}"
        v = v + 0.0001
        if labelled:
            v.label = f"v_{2 * k + 2}"
    return v, v0


def fan_in(n_terms: int) -> Value:
    return sum_values([Value(0.001 * k, f"x_{k}") for k in range(1, n_terms + 1)], label="E")


def network(n_nodes: int) -> tuple[MLP, list[float], float]:
    """An MLP 2-w-w-1 whose loss graph on one example has about ``n_nodes`` nodes."""
    width = max(2, round((n_nodes / 1.02) ** 0.5))
    model = MLP(2, [width, width, 1], activations=["tanh", "tanh", "sigmoid"], seed=0)
    return model, [0.5, -1.0], 1.0


def nodes_of(root: Value) -> int:
    return len(topological_order(root))


# ------------------------------------------------------------------------------- cases
def engine(n: int) -> tuple[Callable[[], object], int]:
    def run() -> None:
        root, _ = chain(n)
        root.backward()

    return run, n


def compile_chain(labelled: bool) -> Setup:
    def setup(n: int) -> tuple[Callable[[], object], int]:
        root, v0 = chain(n, labelled)
        return (lambda: compile_graph(root, [v0], [])), nodes_of(root)

    return setup


def train_first_epoch(n: int) -> tuple[Callable[[], object], int]:
    def loss(m: MLP, xs: list[Any], ts: list[Any]) -> Value:
        return binary_cross_entropy([m(x) for x in xs], ts)

    probe = MLP(2, [8, 8, 1], activations=["tanh", "tanh", "sigmoid"], seed=0)
    X1, t1 = two_moons(n=10, seed=0)
    per_example = (nodes_of(loss(probe, X1, t1)) - len(probe.parameters())) / 10
    examples = max(2, round((n - len(probe.parameters())) / per_example))
    X, t = two_moons(n=examples, seed=0)

    def run() -> None:
        model = MLP(2, [8, 8, 1], activations=["tanh", "tanh", "sigmoid"], seed=0)
        train(model, loss, X, t, GradientDescent(model.parameters(), lr=0.1), epochs=1, compiled=True)

    return run, nodes_of(loss(probe, X, t))


def record_chain(n: int) -> tuple[Callable[[], object], int]:
    root, _ = chain(n)
    return (lambda: record_steps(root)), nodes_of(root)


def record_fan_in(n: int) -> tuple[Callable[[], object], int]:
    root = fan_in(n)
    return (lambda: record_steps(root)), n


def page_fan_in(n: int) -> tuple[Callable[[], object], int]:
    root = fan_in(n)
    return (lambda: step_page(root, layout="columns")), n


def draw_chain(n: int) -> tuple[Callable[[], object], int]:
    root, _ = chain(n)
    root.backward()
    return (lambda: draw(root, max_nodes=10 * n).source), nodes_of(root)


def paths_chain(n: int) -> tuple[Callable[[], object], int]:
    root, v0 = chain(n)
    return (lambda: paths(root, v0)), nodes_of(root)


def count_paths_chain(n: int) -> tuple[Callable[[], object], int]:
    root, v0 = chain(n)
    return (lambda: count_paths(root, v0)), nodes_of(root)


def table(n: int) -> tuple[Callable[[], object], int]:
    model, x, t = network(n)
    count = nodes_of(binary_cross_entropy(model.forward([Value(v) for v in x]).output, t))
    return (lambda: delta_table(model, x, t)), count


def parameter_model(n: int) -> MLP:
    return MLP(n // 10 - 1, [10], activations="identity", seed=0)


def save(n: int) -> tuple[Callable[[], object], int]:
    model = parameter_model(n)
    path = os.path.join(tempfile.mkdtemp(), "p.json")
    return (lambda: save_parameters(model, path)), len(model.parameters())


def load(n: int) -> tuple[Callable[[], object], int]:
    model = parameter_model(n)
    path = os.path.join(tempfile.mkdtemp(), "p.json")
    save_parameters(model, path)
    return (lambda: load_parameters(model, path)), len(model.parameters())


CASES: dict[str, Case] = {
    "engine": Case("engine: forward + backward, chain (bench.py's W2)", "node", engine),
    "compile_unlabelled": Case("compile_graph, unlabelled chain", "node", compile_chain(False)),
    "compile_labelled": Case("compile_graph, labelled chain", "node", compile_chain(True)),
    "train_compiled": Case(
        "train(compiled=True), first epoch, full batch (trace + compile + step)", "node", train_first_epoch
    ),
    "record_steps_chain": Case("record_steps, chain", "node", record_chain),
    "record_steps_fan_in": Case("record_steps, fan-in (sum_values of n terms)", "term", record_fan_in),
    "step_page_fan_in": Case("step_page (columns layout), fan-in", "term", page_fan_in),
    "draw": Case("draw, full view, DOT source only, chain", "node", draw_chain),
    "paths": Case("paths(E, v), chain (one path of n edges)", "node", paths_chain),
    "count_paths": Case("count_paths(E, v), chain", "node", count_paths_chain),
    "delta_table": Case("delta_table, MLP 2-w-w-1, one example", "node", table),
    "save_parameters": Case("save_parameters, MLP n-10", "parameter", save),
    "load_parameters": Case("load_parameters, MLP n-10", "parameter", load),
}


# ------------------------------------------------------------------------ one process
def child(name: str, size: int, repeat: int) -> None:
    """Build the case's graph, time its operation, print the times as JSON.

    At least ``repeat`` runs, and more (up to 50) while they add up to under a
    second: a run of a millisecond is easily disturbed, a median of many is not.
    """
    run, units = CASES[name].setup(size)
    times: list[float] = []
    while len(times) < repeat or (sum(times) < 1.0 and len(times) < 50):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"units": units, "times": times}))


@dataclass
class Measurement:
    units: int = 0
    per_unit: list[float] | None = None  # seconds per unit, one per run; None: timed out
    error: str = ""

    def cell(self) -> str:
        if self.error:
            return self.error
        assert self.per_unit is not None
        return f"{_us(min(self.per_unit))} ({_us(statistics.median(self.per_unit))})"


def _us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.3g}" if us < 100 else f"{us:,.0f}"


def measure(name: str, size: int, repeat: int, timeout: float) -> Measurement:
    command = [sys.executable, __file__, "--child", name, str(size), str(repeat)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Measurement(error=f"timeout (> {timeout:g} s)")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Measurement(error=f"error: {last[:80]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    units = result["units"]
    return Measurement(units, [t / units for t in result["times"]])


def growth(row: list[Measurement]) -> str:
    timed = [m for m in row if m.per_unit]
    if len(timed) < 2 or not row[0].per_unit:
        return "-" if row[0].per_unit else "?"
    last = timed[-1]
    assert last.per_unit is not None and row[0].per_unit is not None
    ratio = min(last.per_unit) / min(row[0].per_unit)
    label = f"{ratio:.1f}x at {last.units:,}"
    if any(m.error.startswith("timeout") for m in row):
        label += ", then timeout"
    return label


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (default 3)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per size (default 60)")
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 only; prints only")
    parser.add_argument("--output", type=Path, default=None, help=f"Markdown file (default {RESULTS})")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "SIZE", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = SIZES[:2] if args.quick else SIZES
    output = args.output if args.output is not None else (None if args.quick or args.case else RESULTS)
    header = ["operation", "per", *(f"{n:,}" for n in sizes), "growth per unit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    began = time.perf_counter()
    for name in args.case or list(CASES):
        case = CASES[name]
        row = []
        for size in sizes:
            row.append(measure(name, size, args.repeat, args.timeout))
            print(f"{name} {size:,}: {row[-1].cell()} us per {case.unit}", flush=True)
        lines.append("| " + " | ".join([case.what, case.unit, *(m.cell() for m in row), growth(row)]) + " |")
    table = "\n".join(lines)
    notes = (
        f"Microseconds per unit: fastest (median) of at least {args.repeat} runs, each size in a "
        f"fresh process stopped after {args.timeout:g} s. Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}. Sizes are "
        "the nominal node counts; a row's unit count is measured (a chain of 10^5 nodes has 100,003 "
        "with its leaf and two constants)."
    )
    print()
    print(table)
    print()
    print(notes)
    if output is not None:
        output.write_text(
            "# Scale: time per node\n\n"
            "Produced by `python benchmarks/bench_scale.py` (see its docstring for the graphs).\n\n"
            f"{table}\n\n{notes}\n",
            encoding="utf-8",
        )
        print(f"wrote {output}")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
