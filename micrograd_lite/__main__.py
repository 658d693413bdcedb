"""``python -m micrograd_lite``: reproduce the lecture's worked example and print its table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from micrograd_lite.worked_example import worked_example


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m micrograd_lite",
        description="Reproduce the lecture's worked example (2-2-2-1 sigmoid network) "
        "and print its delta table.",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seeded weights instead of the lecture defaults"
    )
    parser.add_argument("--x", type=float, nargs=2, metavar=("X1", "X2"), default=None, help="the input x")
    parser.add_argument("--t", type=float, default=None, help="the target t, in [0, 1]")
    args = parser.parse_args(argv)
    kwargs: dict[str, object] = {}
    if args.x is not None:
        kwargs["x"] = tuple(args.x)
    if args.t is not None:
        kwargs["t"] = args.t
    try:
        table = worked_example(seed=args.seed, **kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table.to_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
