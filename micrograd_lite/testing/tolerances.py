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

The value bound also carries the second-order term ``u/2 * sum_ij |H_ij| M_i M_j`` (``H`` the
operation's second derivatives), so that where the first order vanishes (``x * x`` at an ``x``
that rounded to exactly 0 in one evaluation and to ``1e-38`` in another) the bound is not 0.

So ``|ours - theirs| <= 1e-9 * G`` is "agrees to 1e-9 relative" made robust:
where a gradient cancels to near 0 (``x - x``), or an input to a derivative
formula has lost its digits (``log(exp(1e-154))``), only ``u * G`` is knowable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import PowerOutput, Value
from micrograd_lite.primitives import OPERATIONS, NaryOperation

__all__ = ["error_scales"]

#: The unit roundoff of a float, 2^-53.
_U = 2.0**-53


def _local_errors(node: Value, m: dict[Value, float]) -> Sequence[float]:
    """For each edge of ``node``: how wrong ``d node/d parent`` can be, in units of ``u``.

    The second derivatives of its operation (from :mod:`micrograd_lite.primitives`) times the
    errors ``M`` of its inputs: ``e_i = sum_j |d^2 node / d x_i d x_j| M_j``. An input whose
    ``M`` is 0 (exact) adds nothing, even where the second derivative is infinite.
    """
    operation = OPERATIONS.get(node.op)
    if operation is None:
        raise ValueError(
            f"error_scales: node {node.label or '(unlabelled)'!r:.60} has operation {node.op!r:.40}, which "
            "micrograd_lite.primitives does not know, so its rounding cannot be bounded; add the operation "
            "to micrograd_lite.primitives.PRIMITIVES (with its second derivatives)"
        )
    ms = [m[p] for p in node.parents]
    x = [p.data for p in node.parents]
    if isinstance(operation, NaryOperation):
        return operation.local_errors(x, node.data, ms)
    if operation.number_input is not None and isinstance(node, PowerOutput):
        x, ms = [*x, node.exponent], [*ms, 0.0]  # the number is exact
    hessian = operation.second_derivatives(*x, node.data)
    errors = []
    for row in hessian[: len(node.parents)]:
        e = 0.0
        for h, mj in zip(row, ms):
            if h and mj:
                e += h * mj
        errors.append(e if math.isfinite(e) else math.inf)
    return errors


def error_scales(root: Value) -> tuple[dict[Value, float], dict[Value, float]]:
    """``(M, G)``: the value and gradient error scales of every node of ``root``'s graph.

    See the module docstring. Compare two evaluations with ``|a - b| <= rtol * M``
    (values) and ``|a - b| <= rtol * G`` (gradients of ``root``); ``rtol = 1e-9``
    leaves a factor of about 10^7 above ``u`` for path lengths and for libraries
    whose ``exp`` or ``log`` is off by an ulp.
    """
    order = topological_order(root)
    value_scale: dict[Value, float] = {}
    local_errors: dict[Value, Sequence[float]] = {}
    for node in order:
        m = abs(node.data) if node.op != "const" else 0.0
        if node.parents:
            try:
                errors = local_errors[node] = _local_errors(node, value_scale)
            except ValueError:  # an unknown operation: raised below, if its gradient matters
                errors = [0.0] * len(node.parents)
            for parent, local, e in zip(node.parents, node.local_grads, errors):
                pm = value_scale[parent]
                if pm:
                    # First order |local| M, and the second-order term: the input's error u M times
                    # how wrong the local derivative is (e, in units of u), halved. It matters only
                    # where the first order vanishes (x * x at an x that rounded to exactly 0).
                    m += (abs(local) + (0.5 * _U * e if e != math.inf else 0.0)) * pm
        value_scale[node] = m
    grad_scale = dict.fromkeys(order, 0.0)
    grad_scale[root] = 1.0
    for node in reversed(order):
        g = grad_scale[node]
        if g and node.parents:
            errors = local_errors.get(node) or _local_errors(node, value_scale)
            for parent, local, e in zip(node.parents, node.local_grads, errors):
                if parent.op != "const":
                    grad_scale[parent] += g * (abs(local) + e)
    return value_scale, grad_scale
