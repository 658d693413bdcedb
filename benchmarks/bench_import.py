"""How long ``import micrograd_lite`` takes, in fresh interpreters.

    python benchmarks/bench_import.py [--runs 21]

Each run is a new process with ``python -X importtime -c "import micrograd_lite"``; the figure is
the cumulative time Python reports for ``micrograd_lite`` (bytecode already compiled, as after a
first import), median over the runs. Also lists which heavier modules the import pulls in.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("graphviz", "subprocess", "json", "html")


def import_time_us(env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import micrograd_lite"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,  # the current folder comes first on sys.path: make it this project
        check=True,
    )
    match = re.search(r"^import time:\s+\d+ \|\s+(\d+) \| micrograd_lite$", done.stderr, re.M)
    if match is None:
        raise RuntimeError(f"no import time for micrograd_lite in:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    import_time_us(env)  # warm-up: writes the bytecode caches
    times = sorted(import_time_us(env) for _ in range(args.runs))
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, micrograd_lite; print([m for m in {WATCHED!r} if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,  # the current folder comes first on sys.path: make it this project
        check=True,
    ).stdout.strip()
    print(f"Python {sys.version.split()[0]}, {args.runs} fresh processes")
    print(f"import micrograd_lite: median {statistics.median(times) / 1000:.1f} ms "
          f"(fastest {times[0] / 1000:.1f} ms, slowest {times[-1] / 1000:.1f} ms)")  # fmt: skip
    print(f"of {', '.join(WATCHED)} it imports: {loaded}")


if __name__ == "__main__":
    main()
