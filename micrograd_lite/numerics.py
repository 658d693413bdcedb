"""The numerics policy: IEEE 754 results, never a Python exception.

Plain Python floats raise where PyTorch returns a special value (``math.exp(1000)``
raises ``OverflowError``, ``1.0 / 0.0`` raises ``ZeroDivisionError``, ``math.log(0)``
raises ``ValueError``). micrograd_lite follows PyTorch instead, in the forward
value and in every local derivative alike:

========================  =====================================
expression                result
========================  =====================================
``exp(x)`` overflow        ``inf``
``expm1(x)`` overflow      ``inf``; its derivative is ``e^x``, so it is
                           not 0 where ``e^x - 1`` rounds to -1
``log(0)``                 ``-inf``
``log(x)``, ``x < 0``      ``nan``
``log1p(-1)``              ``-inf``; ``log1p(x)``, ``x < -1``: ``nan``
``sqrt(x)``, ``x < 0``     ``nan``; ``sqrt'(0)`` is ``inf`` (``-inf`` at ``-0.0``)
``abs'(0)``                ``0``, as PyTorch (its ``sgn(0)``); also 0 at ``nan``
``x / 0``                  ``+-inf`` (sign of ``x``, sign of zero); ``0 / 0`` is ``nan``
``x ** y`` overflow        ``+-inf``
``0 ** y``, ``y < 0``      ``inf`` (``-inf`` for ``-0.0`` and an odd integer ``y``)
``x ** y``, ``x < 0``,     ``nan``
non-integer ``y``
``sigmoid``, ``tanh``      stable for any finite input (``sigmoid(-1000) == 0.0``)
NaN anywhere               propagates (``relu(nan)`` is ``nan``; its local
                           derivative is 1, so the gradient passes, as in PyTorch)
========================  =====================================

Local derivatives are computed so that no intermediate step over- or underflows
where the derivative itself is an ordinary float, and to a few ulp of the exact
value over the whole float range (a test compares every operation's local
derivatives with mpmath at 50 digits, operands from 1e-300 to 1e300):
``d(a/b)/db`` is ``-(a/b)/b``, not ``-a/(b*b)``; ``d(a^n)/da`` is ``n a^n / a``
with the exponents of the factors kept apart; ``sigma'(a)`` is ``s sigma(-a)``, not
``s (1 - s)``, and ``tanh'(a)`` is computed from ``e^(-2|a|)``, not as ``1 - t^2``
(both are 0 where ``s`` or ``t`` rounds to 1); and a softmax's ``1 - y_k`` is the sum of the other outputs.

Numbers coming in. :func:`to_float`, :func:`to_finite_float`, :func:`to_index` and
:func:`to_count` turn a user's number into a float or an int the same way everywhere
in the package: any real number type is accepted (``int``, ``float``,
``fractions.Fraction``, numpy scalars: whatever is registered as ``numbers.Real``;
``to_index`` and ``to_count`` take ``numbers.Integral``), ``bool`` is refused, a
number too large for a float (``10**400``) is a ``ValueError`` naming the argument,
anything else a ``TypeError`` (both of :mod:`micrograd_lite.errors`' hierarchy).

``detect_anomaly`` (in :mod:`micrograd_lite.anomaly`) turns the first ``nan`` or
``inf`` into an error for users who want to stop at it.
"""

from __future__ import annotations

import math
import numbers
import operator

from micrograd_lite.errors import InputTypeError, InputValueError

inf = math.inf
nan = math.nan
#: The smallest positive normal float; below it a float keeps fewer than 53 bits.
MIN_NORMAL = 2.2250738585072014e-308


# ------------------------------------------------------------------ numbers coming in
def _show(x: object) -> str:
    return f"{type(x).__name__} {x!r:.60}"


def to_float(x: object, what: str) -> float:
    """``x`` as a float, for any real number type; ``what`` names the argument in errors.

    ``TypeError`` for a ``bool`` or anything that is not a real number, ``ValueError``
    for a number too large for a float (``10**400``). ``nan`` and ``inf`` pass.
    """
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            raise InputValueError(
                f"{what} is too large for a float (the largest is about 1.8e308), got {_show(x)}"
            ) from None
    raise InputTypeError(
        f"{what} must be a real number, got {_show(x)}; "
        + ("write 1.0 or 0.0" if isinstance(x, bool) else "pass an int or a float")
    )


def to_finite_float(x: object, what: str) -> float:
    """:func:`to_float`, and ``ValueError`` for ``nan`` or ``inf``."""
    value = to_float(x, what)
    if not math.isfinite(value):
        raise InputValueError(f"{what} must be finite, got {value!r}")
    return value


def to_index(x: object, what: str) -> int:
    """``x`` as an int, for any integer type (``int``, ``numpy.int64``...); ``bool`` is refused.

    ``TypeError`` for anything else, a float included (``2.0`` is not an index).
    """
    if type(x) is int:
        return x
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return operator.index(x)
    raise InputTypeError(f"{what} must be an int, got {_show(x)}")


def to_count(x: object, what: str, minimum: int = 1) -> int:
    """:func:`to_index`, and ``ValueError`` below ``minimum``: a size, a number of epochs."""
    n = to_index(x, what)
    if n < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise InputValueError(f"{what} must be {wanted}, got {n!r}")
    return n


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


def log1p(x: float) -> float:
    r"""$\ln(1 + x)$, accurate for small $x$; ``-inf`` at -1 and ``nan`` below it."""
    if x > -1.0:
        return math.log1p(x)
    return -inf if x == -1.0 else nan


def expm1(x: float) -> float:
    r"""$e^x - 1$, accurate for small $x$; ``inf`` where it overflows."""
    try:
        return math.expm1(x)
    except OverflowError:
        return inf


def sqrt(x: float) -> float:
    r"""$\sqrt{x}$; ``nan`` below 0 (``sqrt(-0.0)`` is ``-0.0``, as IEEE 754 says)."""
    if x >= 0.0 or x != x:
        return math.sqrt(x)
    return nan


def sigmoid(x: float) -> float:
    r"""$\sigma(x) = 1 / (1 + e^{-x})$, computed so that neither branch overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0, so e is in (0, 1): no overflow
    return e / (1.0 + e)


def _exp_difference(x: float, y: float) -> float:
    """$e^{x - y}$, to about an ulp even where ``x - y`` itself rounds.

    ``e^(a_k - top)`` with ``a_k - top`` off by half an ulp of 700 would be off by
    hundreds of ulp; Knuth's TwoSum gives the rounding error ``r`` of the
    difference exactly, and ``e^(d + r) = e^d (1 + r)`` to within an ulp.
    """
    d = x - y
    if not math.isfinite(d):
        return exp(d)
    z = d - x
    r = (x - (d - z)) + (-y - z)  # d + r == x - y exactly
    e = exp(d)
    return e + e * r


def sums_of_others(x: list[float] | tuple[float, ...]) -> list[float]:
    r"""$\sum_{j \ne k} x_j$ for every k, added without the cancellation of ``sum(x) - x_k``.

    For a softmax, ``1 - y_k`` is the sum of the other outputs: where ``y_k``
    rounds to 1, ``1 - y_k`` would be 0 while the others' sum is still exact.
    """
    n = len(x)
    before = [0.0] * n  # x_0 + ... + x_{k-1}
    total = 0.0
    for k in range(n):
        before[k] = total
        total += x[k]
    others = [0.0] * n
    total = 0.0  # x_{k+1} + ... + x_{n-1}
    for k in range(n - 1, -1, -1):
        others[k] = before[k] + total
        total += x[k]
    return others


def softmax(a: list[float] | tuple[float, ...]) -> list[float]:
    r"""$y_k = e^{a_k} / \sum_j e^{a_j}$, with the largest $a$ subtracted first so nothing overflows."""
    top = max(a)
    e = [_exp_difference(ak, top) for ak in a]
    total = math.fsum(e)  # correctly rounded: every y_k is within about 2 ulp
    return [div(ek, total) for ek in e]


def logsumexp(a: list[float] | tuple[float, ...]) -> float:
    r"""$\ln \sum_j e^{a_j}$ without overflow."""
    top = max(a)
    if math.isinf(top):
        return top
    return top + math.log(sum([math.exp(ak - top) for ak in a]))


def log_sum_exp_minus(a: list[float] | tuple[float, ...]) -> list[float]:
    r"""$\ln \sum_j e^{a_j} - a_k$ for every k (that is $-\ln y_k$ of a softmax), without cancellation.

    Written as $(a_{top} - a_k) + \ln(1 + \sum_{j \ne top} e^{a_j - a_{top}})$: two
    terms that are never negative, so the result is exact to a few ulp even where
    $a_k$ is the largest logit and the difference is tiny.
    """
    i = max(range(len(a)), key=a.__getitem__)
    top = a[i]
    rest = log1p(math.fsum([_exp_difference(aj, top) for j, aj in enumerate(a) if j != i]))
    return [(top - ak) + rest for ak in a]


def softplus(x: float) -> float:
    r"""$\ln(1 + e^x)$ without overflow: $\max(x, 0) + \ln(1 + e^{-|x|})$."""
    if x != x:
        return nan
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# -------------------------------------------------------------- local derivatives
def tanh_derivative(x: float) -> float:
    r"""$\tanh'(x) = 1 - \tanh^2 x = 4 e^{-2|x|} / (1 + e^{-2|x|})^2$.

    ``1 - t * t`` loses a digit for every factor of 10 that ``t`` comes closer to
    +-1 (about 8 digits at ``x = 10``), and is 0 from ``x = 19.1`` on.
    """
    e = math.exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _frexp_abs_pow(a: float, n: float) -> tuple[float, int]:
    """``(m, e)`` with ``|a|^n = m 2^e``, ``m`` in [0.5, 1), for finite nonzero ``a`` and ``n``,
    also where ``|a|^n`` is beyond the float range (its root is not)."""
    b = abs(a)
    try:
        p = math.pow(b, n)
    except OverflowError:
        p = inf
    if MIN_NORMAL <= p < inf:
        return math.frexp(p)
    log2_p = n * math.log2(b)
    if not abs(log2_p) < 4096.0:  # whatever multiplies it, the result is 0 or inf
        return 0.5, (8192 if log2_p > 0.0 else -8192)
    k = 2
    while abs(log2_p) / k > 1000.0:
        k *= 2
    m, e = math.frexp(math.pow(b, n / k))  # n / k is exact
    while k > 1:  # square back up, the exponent kept apart
        m, e2 = math.frexp(m * m)
        e, k = 2 * e + e2, k // 2
    return m, e


def _ldexp(m: float, e: int) -> float:
    """``m 2^e``; ``+-inf`` past the largest float."""
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.copysign(inf, m)


def pow_base_derivative(a: float, n: float, out: float) -> float:
    r"""$d(a^n)/da = n a^{n-1}$, given ``out = pow(a, n)``; 0 for $n = 0$, as PyTorch.

    Computed as $n \cdot a^n / a$ from the mantissas and exponents of the three
    factors: no ``n - 1`` (it rounds, and $a^{n-1}$ amplifies that by $\ln a$),
    and no intermediate over- or underflow where the result is a float.
    """
    if n == 0.0:
        return 0.0
    if out != out:  # a negative base with a non-integer exponent, or a nan
        return nan
    if a == 0.0 or math.isinf(a) or math.isinf(n):
        return n * pow(a, n - 1.0)  # the policy's special values: 0 and inf
    m, e = _frexp_abs_pow(a, n)
    mn, en = math.frexp(n)
    ma, ea = math.frexp(a)
    return _ldexp(mn * math.copysign(m, out) / ma, en + e - ea)


def pow_exponent_derivative(a: float, n: float, out: float) -> float:
    r"""$d(a^n)/dn = a^n \ln a$, given ``out = pow(a, n)``; 0 where $a = 0$ and $n \ge 0$, as PyTorch.

    Like :func:`pow_base_derivative`, the factors' exponents are kept apart, so
    $a^n$ may overflow (or lose digits below the normal range) while $a^n \ln a$ does not.
    """
    if a == 0.0 and n >= 0.0:
        return 0.0
    if a <= 0.0 or a == 1.0 or out != out or math.isinf(a) or math.isinf(n):
        return out * log(a)
    m, e = _frexp_abs_pow(a, n)
    ml, el = math.frexp(math.log(a))
    return _ldexp(m * ml, e + el)
