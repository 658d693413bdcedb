"""The numerics policy: IEEE 754 results, never a Python exception.

Plain Python floats raise where PyTorch returns a special value (``math.exp(1000)``
raises ``OverflowError``, ``1.0 / 0.0`` raises ``ZeroDivisionError``, ``math.log(0)``
raises ``ValueError``). micrograd_lite follows PyTorch instead, in the forward
value and in every local derivative alike:

========================  =====================================
expression                result
========================  =====================================
``exp(x)`` overflow        ``inf``
``log(0)``                 ``-inf``
``log(x)``, ``x < 0``      ``nan``
``x / 0``                  ``+-inf`` (sign of ``x``, sign of zero); ``0 / 0`` is ``nan``
``x ** y`` overflow        ``+-inf``
``0 ** y``, ``y < 0``      ``inf`` (``-inf`` for ``-0.0`` and an odd integer ``y``)
``x ** y``, ``x < 0``,     ``nan``
non-integer ``y``
``sigmoid``, ``tanh``      stable for any finite input (``sigmoid(-1000) == 0.0``)
NaN anywhere               propagates (``relu(nan)`` is ``nan``)
========================  =====================================

``detect_anomaly`` (in :mod:`micrograd_lite.anomaly`) turns the first ``nan`` or
``inf`` into an error for users who want to stop at it.
"""

from __future__ import annotations

import math

inf = math.inf
nan = math.nan


def exp(x: float) -> float:
    """$e^x$; ``inf`` where it overflows."""
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def log(x: float) -> float:
    r"""$\ln x$; ``-inf`` at 0 and ``nan`` below it."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -inf
    return nan  # negative or nan


def div(x: float, y: float) -> float:
    """$x / y$ with IEEE 754 division by zero."""
    try:
        return x / y
    except ZeroDivisionError:
        if x == 0.0 or x != x:
            return nan
        return math.copysign(inf, x) * math.copysign(1.0, y)


def _is_odd_integer(y: float) -> bool:
    return y.is_integer() and y % 2.0 == 1.0


def pow(x: float, y: float) -> float:  # noqa: A001 - the policy's name for x ** y
    """$x^y$ with PyTorch's domain: overflow is ``+-inf``, a negative base with a
    non-integer exponent is ``nan``, zero to a negative power is ``inf``."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return -inf if (x < 0.0 and _is_odd_integer(y)) else inf
    except ValueError:
        if x == 0.0:  # 0 ** negative
            return math.copysign(inf, x) if _is_odd_integer(y) else inf
        return nan  # negative ** non-integer


def sigmoid(x: float) -> float:
    r"""$\sigma(x) = 1 / (1 + e^{-x})$, computed so that neither branch overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0, so e is in (0, 1): no overflow
    return e / (1.0 + e)


def softmax(a: list[float] | tuple[float, ...]) -> list[float]:
    r"""$y_k = e^{a_k} / \sum_j e^{a_j}$, with the largest $a$ subtracted first so nothing overflows."""
    top = max(a)
    e = [exp(ak - top) for ak in a]
    total = sum(e)
    return [div(ek, total) for ek in e]


def logsumexp(a: list[float] | tuple[float, ...]) -> float:
    r"""$\ln \sum_j e^{a_j}$ without overflow."""
    top = max(a)
    if math.isinf(top):
        return top
    return top + math.log(sum([math.exp(ak - top) for ak in a]))


def softplus(x: float) -> float:
    r"""$\ln(1 + e^x)$ without overflow: $\max(x, 0) + \ln(1 + e^{-|x|})$."""
    if x != x:
        return nan
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
