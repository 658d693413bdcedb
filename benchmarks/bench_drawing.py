"""How long building the DOT source of a drawing takes (no rendering by ``dot``).

Run from the repository root: ``.venv/bin/python benchmarks/bench_drawing.py``.

Graphs: a random expression graph of 10,000 nodes with shared subexpressions,
drawn plainly and with a highlighted input and colouring by gradient; and the
per-unit view of an MLP 2-64-64-1 on one example. Each figure is the median of
7 builds, after one untimed build.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from micrograd_lite import MLP, Value, draw, squared_error
from micrograd_lite.autodiff import topological_order


def random_graph(n_nodes: int, seed: int = 0) -> tuple[Value, Value]:
    """A graph of about ``n_nodes`` Values mixing + * tanh over earlier nodes, and one of its inputs."""
    rng = random.Random(seed)
    inputs = [Value(rng.uniform(-1, 1), f"x_{i}") for i in range(1, 51)]
    nodes = list(inputs)
    while len(nodes) < n_nodes:
        a, b = nodes[-1], rng.choice(nodes)  # a: the previous node, so every node reaches the root
        kind = rng.random()
        nodes.append(a + b if kind < 0.4 else (a * b if kind < 0.8 else a.tanh()))
    root = nodes[-1]
    root.backward()
    return root, inputs[0]


def median_seconds(build: Callable[[], object], repeat: int = 7) -> float:
    build()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    root, x = random_graph(10_000)
    n = len(topological_order(root))
    model = MLP(2, [64, 64, 1], ["tanh", "tanh", "identity"], seed=0)
    E = squared_error(model([0.5, -1.0]), 0.25)
    E.backward()
    rows = [
        (f"full view, {n:,} nodes", lambda: draw(root, max_nodes=20_000).source),
        (
            f"full view, {n:,} nodes, highlight + color_by_grad",
            lambda: draw(root, max_nodes=20_000, highlight=x, color_by_grad=True).source,
        ),
        ("units view, MLP 2-64-64-1 (4,353 weights)", lambda: draw(E, view="units").source),
    ]
    print("| drawing (DOT source only) | median time |")
    print("|---|---|")
    for name, build in rows:
        print(f"| {name} | {median_seconds(build) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
