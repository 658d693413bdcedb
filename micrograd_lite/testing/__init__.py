"""Testing tools: check gradients against finite differences, draw random graphs.

* :func:`gradcheck` compares ``backward()`` with central differences, with
  PyTorch's default tolerances, and names every input that disagrees.
* :func:`numerical_grad` is the central difference itself.
* :mod:`micrograd_lite.testing.programs`: random expression graphs as small
  programs that run on Values, floats, mpmath, autograd or torch.
* :mod:`micrograd_lite.testing.strategies`: hypothesis strategies for values,
  programs and networks (needs the optional dependency ``hypothesis``).
* :mod:`micrograd_lite.testing.tolerances`: how far two correct floating-point
  evaluations of one graph can differ, to compare against other libraries.
* :mod:`micrograd_lite.testing.profiles`: the test suite's hypothesis profiles.

Importing this package does not import hypothesis.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from micrograd_lite.engine import Value, no_grad
from micrograd_lite.errors import MicrogradLiteError

__all__ = ["GradcheckError", "Mismatch", "gradcheck", "numerical_grad"]


@dataclass(frozen=True)
class Mismatch:
    """One input whose analytic and numeric derivatives disagree."""

    index: int
    label: str
    analytic: float
    numeric: float

    def __str__(self) -> str:
        return (
            f"{self.label}: analytic {self.analytic!r}, numeric {self.numeric!r}, "
            f"difference {abs(self.analytic - self.numeric):.3g}"
        )


class GradcheckError(MicrogradLiteError, AssertionError):
    """``backward()`` disagrees with central differences; ``mismatches`` lists where."""

    def __init__(self, message: str, mismatches: Sequence[Mismatch] = ()) -> None:
        super().__init__(message)
        self.mismatches = list(mismatches)


Fn = Callable[..., Value]


def _check_tolerance(x: object, name: str, allow_zero: bool) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r:.60}")
    x = float(x)
    if not math.isfinite(x) or x < 0.0 or (x == 0.0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {x!r}")
    return x


def _leaf_inputs(inputs: Sequence[float | Value]) -> tuple[list[float], list[str]]:
    """The inputs' numbers and labels (a Value's label, else ``inputs[i]``), checked."""
    if not callable(getattr(inputs, "__len__", None)) or isinstance(inputs, (str, bytes, Value)):
        raise TypeError(
            f"inputs must be a sequence of numbers or Values, got {type(inputs).__name__}; "
            "for one input pass [x]"
        )
    if len(inputs) == 0:
        raise ValueError("inputs is empty: give at least one number or Value to differentiate by")
    data: list[float] = []
    labels: list[str] = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            data.append(x.data)
            labels.append(x.label if x.label is not None else f"inputs[{i}]")
        elif isinstance(x, numbers.Real) and not isinstance(x, bool):
            data.append(float(x))
            labels.append(f"inputs[{i}]")
        else:
            raise TypeError(f"inputs[{i}] must be a number or a Value, got {type(x).__name__} {x!r:.60}")
        if not math.isfinite(data[-1]):
            raise ValueError(f"inputs[{i}] ({labels[-1]}) must be finite, got {data[-1]!r}")
    return data, labels


def _call(fn: Fn, data: Sequence[float], labels: Sequence[str]) -> Value:
    out = fn(*(Value(x, label=label) for x, label in zip(data, labels)))
    if not isinstance(out, Value):
        raise TypeError(f"fn must return a Value, got {type(out).__name__} {out!r:.60}")
    return out


def numerical_grad(fn: Fn, inputs: Sequence[float | Value], eps: float = 1e-6) -> list[float]:
    r"""Central differences $(f(x + \epsilon e_i) - f(x - \epsilon e_i)) / 2\epsilon$, one per input.

    ``fn`` is called with fresh leaf Values (under ``no_grad``), so the
    inputs given here are never touched. The error is $O(\epsilon^2)$ from the
    truncated Taylor series plus about $u |f| / \epsilon$ from rounding.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    eps = _check_tolerance(eps, "eps", allow_zero=False)
    data, labels = _leaf_inputs(inputs)
    return _central_differences(fn, data, labels, eps)


def _central_differences(fn: Fn, data: Sequence[float], labels: Sequence[str], eps: float) -> list[float]:
    grads = []
    with no_grad():
        for i in range(len(data)):
            plus, minus = list(data), list(data)
            plus[i] += eps
            minus[i] -= eps
            up = _call(fn, plus, labels).data
            down = _call(fn, minus, labels).data
            grads.append((up - down) / (2.0 * eps))
    return grads


def gradcheck(
    fn: Fn,
    inputs: Sequence[float | Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``backward()`` of ``fn(*inputs)`` against central differences.

    ``fn`` takes one Value per input and returns a Value. It is called with
    fresh leaves carrying the inputs' numbers and labels (a float input is
    labelled ``inputs[i]``), so the given Values and their ``grad`` are left as
    they are. An input passes when ``|analytic - numeric| <= atol + rtol *
    |numeric|`` (PyTorch's rule and defaults). Returns True, or raises
    :class:`GradcheckError` listing every input that fails, with both numbers.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    eps = _check_tolerance(eps, "eps", allow_zero=False)
    atol = _check_tolerance(atol, "atol", allow_zero=True)
    rtol = _check_tolerance(rtol, "rtol", allow_zero=True)
    data, labels = _leaf_inputs(inputs)
    leaves = [Value(x, label=label) for x, label in zip(data, labels)]
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"fn must return a Value, got {type(out).__name__} {out!r:.60}")
    if not math.isfinite(out.data):
        raise GradcheckError(
            f"fn returned {out.data!r} at the inputs; gradients are only checked where finite"
        )
    out.backward()
    analytic = [leaf.grad for leaf in leaves]
    numeric = _central_differences(fn, data, labels, eps)
    mismatches = [
        Mismatch(i, label, a, n)
        for i, (label, a, n) in enumerate(zip(labels, analytic, numeric))
        if not abs(a - n) <= atol + rtol * abs(n)  # also catches nan
    ]
    if mismatches:
        lines = "\n".join(f"  {m}" for m in mismatches)
        raise GradcheckError(
            f"gradcheck: backward() disagrees with central differences for {len(mismatches)} of "
            f"{len(data)} inputs (eps={eps:g}, atol={atol:g}, rtol={rtol:g}; output {out.data!r}):\n{lines}",
            mismatches,
        )
    return True
