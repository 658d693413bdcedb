"""``detect_anomaly()``: stop at the first ``nan`` or ``inf``, and say where it came from.

The numerics policy (:mod:`micrograd_lite.numerics`) lets ``nan`` and ``inf``
flow through a graph, as PyTorch does. Inside ``with detect_anomaly():`` the
first non-finite number instead raises :class:`AnomalyError`, naming

* in the forward pass: the node's label, its operation, its inputs' values and
  the file and line of user code that created it;
* in the backward pass: the node whose push made a gradient non-finite, its
  operation, delta and local derivatives, the parent that received it, and the
  file and line that created the node.

Creation sites are recorded only while the context is active (it costs a stack
walk per node), so build and differentiate the graph inside it. They are held
weakly: a training loop inside the context frees each step's graph as usual.
Like ``no_grad()``, the context holds for the thread (and asyncio task) that opened it.
"""

from __future__ import annotations

import math
import os
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from micrograd_lite import engine
from micrograd_lite.autodiff import checking_pushes
from micrograd_lite.engine import GENERATED_FILENAME, Value
from micrograd_lite.errors import MicrogradLiteError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(MicrogradLiteError, ArithmeticError):
    """A ``nan`` or ``inf`` appeared inside ``detect_anomaly()``."""


def _describe(node: Value) -> str:
    name = repr(node.label) if node.label is not None else "(unlabelled)"
    return f"node {name} (op {node.op or 'leaf'!r})"


def _in_package(filename: str) -> bool:
    """Code of micrograd_lite: its files, and the methods generated from the table of primitives."""
    return (
        filename.startswith(GENERATED_FILENAME) or os.path.dirname(os.path.abspath(filename)) == _PACKAGE_DIR
    )


def _user_site() -> str:
    """``file:line`` of the innermost frame outside micrograd_lite (the user's line)."""
    frame = sys._getframe(1)
    while frame is not None and _in_package(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise :class:`AnomalyError` at the first non-finite value or gradient."""
    # Where each node was made; weak keys, so a long loop inside the context does not keep its graphs.
    sites: weakref.WeakKeyDictionary[Value, str] = weakref.WeakKeyDictionary()

    def on_create(node: Value) -> None:
        site = _user_site()
        sites[node] = site
        if not math.isfinite(node.data):
            inputs = ", ".join(f"{p.label or '(' + (p.op or 'leaf') + ')'}={p.data!r}" for p in node.parents)
            raise AnomalyError(
                f"forward pass produced {node.data!r} at {_describe(node)}, "
                f"inputs: [{inputs or 'none'}], created at {site}"
            )

    def on_pushed(node: Value) -> None:
        for parent, local in zip(node.parents, node.local_grads):
            # A constant's gradient feeds nothing (d/dn of x ** c for a constant Value c at x < 0
            # is nan, harmlessly): only the gradients of other nodes are checked.
            if parent.op != "const" and not math.isfinite(parent.grad):
                site = sites.get(node, "<created outside detect_anomaly>")
                raise AnomalyError(
                    f"backward pass produced grad {parent.grad!r} for {_describe(parent)} "
                    f"while pushing from {_describe(node)}: delta={node.grad!r}, "
                    f"local derivative={local!r}, parent data={parent.data!r}; "
                    f"{_describe(node)} was created at {site}"
                )

    # Each check is installed with the code that calls it: the engine makes nodes, the walk pushes.
    with engine._mode_block(no_grad=False, on_create=on_create), checking_pushes(on_pushed):
        yield
