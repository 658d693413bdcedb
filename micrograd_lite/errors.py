"""One error hierarchy: every error micrograd_lite raises on purpose derives from ``MicrogradLiteError``.

``except MicrogradLiteError`` catches them all; each class also derives from the
builtin exception that says what kind of error it is, so ``except TypeError`` and
``except ValueError`` keep working::

    MicrogradLiteError
    +-- InputTypeError (TypeError)        an argument of the wrong type
    +-- InputValueError (ValueError)      an argument of the right type with a wrong value
    |   +-- ParameterFileError            a parameter file that does not fit the model
    +-- AnomalyError (ArithmeticError)    the first nan or inf under detect_anomaly()
    +-- GraphTooLargeError (ValueError)   a drawing past max_nodes
    +-- TooManyPathsError (ValueError)    more gradient paths than a view lists
    +-- GraphvizError (RuntimeError)      Graphviz missing or failing

The last four live beside the code that raises them (:mod:`~micrograd_lite.anomaly`,
:mod:`~micrograd_lite.drawing`, :mod:`~micrograd_lite.paths`). The rule everywhere:
a wrong type is a ``TypeError``, a wrong value a ``ValueError``, and the message
names the argument, says what was wrong and what to pass instead. Numbers coming
in are checked by one set of helpers, :mod:`micrograd_lite.numerics`'s ``to_float``,
``to_finite_float``, ``to_index`` and ``to_count``.
"""

from __future__ import annotations


class MicrogradLiteError(Exception):
    """The base class of every error micrograd_lite raises on purpose."""


class InputTypeError(MicrogradLiteError, TypeError):
    """An argument of the wrong type (``Value("1.5")``, ``MLP(2.5, [1])``): a ``TypeError``."""


class InputValueError(MicrogradLiteError, ValueError):
    """An argument of the right type but a wrong value (``MLP(0, [1])``, a ``nan`` weight)."""


class ParameterFileError(InputValueError):
    """A parameter file that cannot be loaded into the model; the message starts ``parameter file:``."""
