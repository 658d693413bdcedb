"""Exercises with feedback: backpropagation worked by hand, and a student's own ``Value`` class.

* :func:`check_backprop` grades numbers worked by hand on the lecture's network, names the first
  mistake, marks what follows from it, and hints at the slip (:mod:`.backprop`);
* :func:`check_value_class` runs a battery of small checks on a micrograd-style class
  (:mod:`.value_class`);
* :func:`check_local_derivative` compares a local derivative with the engine's (:mod:`.local_derivative`);
* :func:`summary` says which exercises are passed, to fix or not done yet (:mod:`.progress`).

Every report shows as a table in Jupyter and as aligned text in ``str()``. This package needs
nothing beyond micrograd_lite itself (no hypothesis, torch or Jupyter).
"""

from micrograd_lite.exercises.backprop import BackpropReport, BackpropRow, check_backprop
from micrograd_lite.exercises.local_derivative import (
    DerivativeRow,
    LocalDerivativeReport,
    check_local_derivative,
)
from micrograd_lite.exercises.progress import Summary, summary
from micrograd_lite.exercises.value_class import CheckResult, ValueClassReport, check_value_class

__all__ = [
    "BackpropReport",
    "BackpropRow",
    "CheckResult",
    "DerivativeRow",
    "LocalDerivativeReport",
    "Summary",
    "ValueClassReport",
    "check_backprop",
    "check_local_derivative",
    "check_value_class",
    "summary",
]
