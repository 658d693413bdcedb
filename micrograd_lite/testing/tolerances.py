"""How far two correct floating-point evaluations of one graph can drift apart.

Another library, another summation order or another formula for the same
derivative gives slightly different numbers. :func:`error_scales` bounds the
difference to first order in the unit roundoff ``u = 2^-53``:

* a node's value is off by at most about ``u * M``, with
  ``M = |data| + sum over parents of |d node/d parent| * M_parent``
  (inputs are exact: ``M = |data|``; constants ``M = 0``);
* a node's gradient is off by at most about ``u * G`` (times a small factor for
  the length of the paths), where ``G`` is the gradient computed with every local
  derivative replaced by ``|local| + e``: the sum over paths of absolute products
  bounds the rounding of the sum, and ``e`` (in units of ``u``) bounds how wrong
  the local derivative itself can be because its inputs are, e.g. ``e = M_b`` for
  the edge ``d(a*b)/da = b``.

So ``|ours - theirs| <= 1e-9 * G`` is "agrees to 1e-9 relative" made robust:
where a gradient cancels to near 0 (``x - x``), or an input to a derivative
formula has lost its digits (``log(exp(1e-154))``), only ``u * G`` is knowable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import PowerOutput, Value

__all__ = ["error_scales"]


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def _inv(x: float) -> float:
    return math.inf if x == 0.0 else 1.0 / x


def _abs_pow(a: float, k: float) -> float:
    """``|a|^k``, ``inf`` where it overflows or ``a = 0`` with ``k < 0``."""
    if a == 0.0:
        return 0.0 if k > 0.0 else (1.0 if k == 0.0 else math.inf)
    try:
        return float(abs(a) ** k)
    except OverflowError:
        return math.inf


def _times(c: float, m: float) -> float:
    """``c * m`` with ``0 * inf = 0``: an exact input (``m = 0``) adds no error."""
    return c * m if m else 0.0


def _power_edges(a: float, n: float, ma: float, mn: float) -> tuple[float, float]:
    """Sensitivities of ``d(a^n)/da = n a^(n-1)`` and ``d(a^n)/dn = a^n ln a`` to their inputs' errors."""
    if a == 0.0:
        return (math.inf if ma or mn else 0.0), (math.inf if ma or mn else 0.0)
    la = math.log(abs(a))
    dd_aa = abs(n * (n - 1.0)) * _abs_pow(a, n - 2.0) if n not in (0.0, 1.0) else 0.0
    dd_an = _abs_pow(a, n - 1.0) * abs(1.0 + n * la)
    dd_nn = _abs_pow(a, n) * la * la
    return _times(dd_aa, ma) + _times(dd_an, mn), _times(dd_an, ma) + _times(dd_nn, mn)


def _local_errors(node: Value, m: dict[Value, float]) -> Sequence[float]:
    """For each edge of ``node``: how wrong ``d node/d parent`` can be, in units of ``u``.

    The second derivatives of each operation times the errors ``M`` of its inputs.
    """
    op, parents, out = node.op, node.parents, node.data
    ms = [m[p] for p in parents]
    if op in ("+", "-", "neg", "sum", "identity", "relu"):
        return (0.0,) * len(parents)
    if op == "*":
        return (ms[1], ms[0])
    if op == "/":
        a, b = parents[0].data, parents[1].data
        return (_finite(ms[1] / (b * b)), _finite(ms[0] / (b * b) + 2.0 * abs(a) * ms[1] / abs(b) ** 3))
    if op == "**" and isinstance(node, PowerOutput):  # a number exponent: exact, one edge
        return (_power_edges(parents[0].data, node.exponent, ms[0], 0.0)[0],)
    if op == "**":
        return _power_edges(parents[0].data, parents[1].data, ms[0], ms[1])
    if op == "exp":
        return (abs(out) * ms[0],)
    if op == "log":
        return (_finite(ms[0] / parents[0].data ** 2),)
    if op == "tanh":
        return (2.0 * abs(out) * (1.0 - out * out) * ms[0],)
    if op == "sigmoid":
        return (out * (1.0 - out) * abs(1.0 - 2.0 * out) * ms[0],)
    if op == "linear":  # parents W_1..W_n, z_1..z_n, b; da/dW_j = z_j, da/dz_j = W_j
        n = (len(parents) - 1) // 2
        return (*ms[n : 2 * n], *ms[:n], 0.0)
    if op == "softmax":  # d y_k/d a_j = y_k (delta_kj - y_j); its change with any a_i is at most 2 y_k
        return (2.0 * abs(out) * sum(ms),) * len(parents)
    if op == "squared error":  # dE/dy_k = y_k - t_k, dE/dt_k = t_k - y_k
        return ms
    if op == "sigmoid cross-entropy":  # dE/da_n = sigmoid(a_n) - t_n
        return [0.25 * mi for mi in ms]
    if op == "softmax cross-entropy":  # dE/da_k = y_k - t_k, y_k depends on every logit of its example
        return (2.0 * sum(ms),) * len(parents)
    if op in ("binary cross-entropy", "categorical cross-entropy"):
        # Parents y_1..y_K, t_1..t_K. dE/dy = -t/y (+ (1 - t)/(1 - y)) moves with y as 1/y^2 (+ 1/(1-y)^2);
        # dE/dt = -ln y (+ ln(1 - y)) moves as 1/y (+ 1/(1 - y)).
        half = len(parents) // 2
        ys, m_ys = parents[:half], ms[:half]
        d_y = [_finite((_inv(p.data**2) + _inv((1.0 - p.data) ** 2)) * mi) for p, mi in zip(ys, m_ys)]
        d_t = [_finite((_inv(abs(p.data)) + _inv(abs(1.0 - p.data))) * mi) for p, mi in zip(ys, m_ys)]
        return (*d_y, *d_t)
    return (0.0,) * len(parents)  # an operation this table does not know: its derivative taken as exact


def error_scales(root: Value) -> tuple[dict[Value, float], dict[Value, float]]:
    """``(M, G)``: the value and gradient error scales of every node of ``root``'s graph.

    See the module docstring. Compare two evaluations with ``|a - b| <= rtol * M``
    (values) and ``|a - b| <= rtol * G`` (gradients of ``root``); ``rtol = 1e-9``
    leaves a factor of about 10^7 above ``u`` for path lengths and for libraries
    whose ``exp`` or ``log`` is off by an ulp.
    """
    order = topological_order(root)
    value_scale: dict[Value, float] = {}
    for node in order:
        m = abs(node.data) if node.op != "const" else 0.0
        for parent, local in zip(node.parents, node.local_grads):
            pm = value_scale[parent]
            if pm:
                m += abs(local) * pm
        value_scale[node] = m
    grad_scale = dict.fromkeys(order, 0.0)
    grad_scale[root] = 1.0
    for node in reversed(order):
        g = grad_scale[node]
        if g and node.parents:
            errors = _local_errors(node, value_scale)
            for parent, local, e in zip(node.parents, node.local_grads, errors):
                if parent.op != "const":
                    grad_scale[parent] += g * (abs(local) + e)
    return value_scale, grad_scale
