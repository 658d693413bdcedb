"""How the views scale with one node's fan-in: a sum of n terms, n = 5,000 to 80,000.

Run from the repository root: ``.venv/bin/python benchmarks/bench_fan_in.py``.

Each figure is the median of 3 runs. Linear work shows as a x4 time per x4 terms;
``record_steps`` and ``step_page`` once took x16 (5.5 s at 20,000 terms), from a
``list.count`` per parent.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from micrograd_lite import Value, count_paths, draw, record_steps, step_page, sum_values


def median_seconds(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def jobs(n: int) -> dict[str, Callable[[], object]]:
    """The views of a sum of ``n`` terms, each a job to time."""
    terms = [Value(float(k), label=f"v_{k}") for k in range(n)]
    E = sum_values(terms, label="E")
    return {
        "record_steps": lambda: record_steps(E),
        "step_page (columns)": lambda: step_page(E, layout="columns"),
        "draw (DOT source)": lambda: draw(E, max_nodes=n + 1, highlight=terms[0]).source,
        "draw, view='layers'": lambda: draw(E, view="layers", max_nodes=n + 1).source,
        "count_paths": lambda: count_paths(E, "v_0"),
    }


def main() -> None:
    sizes = [5_000, 20_000, 80_000]
    rows: dict[str, list[float]] = {}
    for n in sizes:
        for name, job in jobs(n).items():
            rows.setdefault(name, []).append(median_seconds(job))
    print("| sum of n terms | " + " | ".join(f"n = {n:,}" for n in sizes) + " | x per x4 terms (last) |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for name, seconds in rows.items():
        cells = " | ".join(f"{s * 1000:,.0f} ms" for s in seconds)
        print(f"| {name} | {cells} | {seconds[-1] / seconds[-2]:.1f} |")


if __name__ == "__main__":
    main()
