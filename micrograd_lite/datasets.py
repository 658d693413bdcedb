"""Small seeded 2-D data sets, generated here, and a real one: nothing is ever downloaded.

Each function returns ``(X, t)``: ``X`` a list of ``[x_1, x_2]`` points and ``t``
their targets, ``0``/``1`` for the two-class sets and ``0``, ``1``, ``2`` (class
indices) for :func:`three_blobs`. The classes take turns (example ``n`` is of
class ``n mod K``, ``xor`` cycling through its four clusters), so every class has
``n // K`` or ``n // K + 1`` examples. The same ``seed`` (an int) gives the same
data in every run: ``random.Random(seed)`` draws the angles and the Gaussian
noise (standard deviation ``noise``). Any integer type (numpy's too) is taken for
``n`` and ``seed``, any real number type for ``noise``, ``factor`` and ``turns``;
anything else is a ``TypeError``, a number out of range (``n=0``, ``noise=-1``) a ``ValueError``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import NamedTuple

from micrograd_lite.errors import InputValueError
from micrograd_lite.numerics import to_count, to_finite_float, to_index

Dataset = tuple[list[list[float]], list[int]]


#: The most turns ``spirals`` draws: far more than a plot can show, and ``2 pi turns`` stays exact enough.
MAX_TURNS = 1e6


def _number(x: object, what: str, condition: str, ok: Callable[[float], bool]) -> float:
    """A finite real number of any type satisfying ``ok``; a ValueError saying ``condition`` otherwise."""
    value = to_finite_float(x, what)
    if not ok(value):
        raise InputValueError(f"{what} must be a finite number {condition}, got {x!r:.60}")
    return value


def _check(n: object, noise: object, seed: object) -> tuple[int, float, random.Random]:
    """Check the common arguments: ``n``, ``noise`` and the seeded generator."""
    count = to_count(n, "n")
    sd = _number(noise, "noise", ">= 0", lambda v: v >= 0.0)
    # An int, never None: random.Random(None) would seed from the clock and the data would change every run.
    return count, sd, random.Random(to_index(seed, "seed"))


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Four clusters at (+-1, +-1); ``t = 1`` where the signs of x_1 and x_2 differ."""
    n, noise, rng = _check(n, noise, seed)
    X, t = [], []
    for i in range(n):
        s1, s2 = (1.0 if i % 2 else -1.0), (1.0 if (i // 2) % 2 else -1.0)
        X.append([s1 + rng.gauss(0.0, noise), s2 + rng.gauss(0.0, noise)])
        t.append(int(s1 != s2))
    return X, t


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (class 0 above, class 1 below)."""
    n, noise, rng = _check(n, noise, seed)
    X, t = [], []
    for i in range(n):
        angle = math.pi * rng.random()
        if i % 2 == 0:
            x1, x2, label = math.cos(angle), math.sin(angle), 0
        else:
            x1, x2, label = 1.0 - math.cos(angle), 0.5 - math.sin(angle), 1
        X.append([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)])
        t.append(label)
    return X, t


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric circles: the outer one (radius 1) is class 0, the inner (``factor``) class 1."""
    n, noise, rng = _check(n, noise, seed)
    factor = _number(factor, "factor", "in (0, 1)", lambda v: 0.0 < v < 1.0)
    X, t = [], []
    for i in range(n):
        angle = 2.0 * math.pi * rng.random()
        radius, label = (1.0, 0) if i % 2 == 0 else (factor, 1)
        X.append(
            [
                radius * math.cos(angle) + rng.gauss(0.0, noise),
                radius * math.sin(angle) + rng.gauss(0.0, noise),
            ]
        )
        t.append(label)
    return X, t


def spirals(n: int = 200, noise: float = 0.05, turns: float = 1.5, seed: int = 0) -> Dataset:
    """Two interleaved spirals, one per class, each winding ``turns`` times (at most ``MAX_TURNS``)."""
    n, noise, rng = _check(n, noise, seed)
    turns = _number(turns, "turns", f"in (0, {MAX_TURNS:g}]", lambda v: 0.0 < v <= MAX_TURNS)
    X, t = [], []
    for i in range(n):
        label = i % 2
        r = rng.random()
        angle = 2.0 * math.pi * turns * r + label * math.pi
        X.append([r * math.cos(angle) + rng.gauss(0.0, noise), r * math.sin(angle) + rng.gauss(0.0, noise)])
        t.append(label)
    return X, t


def three_blobs(n: int = 210, noise: float = 0.35, seed: int = 0) -> Dataset:
    """Three Gaussian clusters around the corners of a triangle; targets are class indices 0, 1, 2."""
    n, noise, rng = _check(n, noise, seed)
    centres = [(math.cos(2.0 * math.pi * k / 3.0), math.sin(2.0 * math.pi * k / 3.0)) for k in range(3)]
    X, t = [], []
    for i in range(n):
        k = i % 3
        cx, cy = centres[k]
        X.append([cx + rng.gauss(0.0, noise), cy + rng.gauss(0.0, noise)])
        t.append(k)
    return X, t


# ------------------------------------------------------------------ a real data set


class Digits(NamedTuple):
    """A training and a test set: ``X_*`` rows of 64 pixel values, ``t_*`` class indices 0..9."""

    X_train: list[list[float]]
    t_train: list[int]
    X_test: list[list[float]]
    t_test: list[int]


#: What to install when scikit-learn (the source of :func:`digits`) is missing.
DIGITS_INSTALL = 'pip install "micrograd_lite[digits]"'


def stratified_split(t: list[int], test_fraction: float, rng: random.Random) -> tuple[list[int], list[int]]:
    """The indices of ``t`` cut into ``(train, test)``, each class in the same proportion.

    ``round(test_fraction * N)`` examples go to the test set. Class k, with ``n_k``
    examples, gives ``floor(test_fraction * n_k)`` of them, and one more for the
    classes with the largest remainders until the total is reached (largest
    remainder, ties to the smaller class index), so each class's share is within 1
    of ``test_fraction * n_k``. Which ones is drawn by ``rng``, class by class in
    increasing order; both lists are sorted (the data set's own order).
    """
    by_class: dict[int, list[int]] = {}
    for i, k in enumerate(t):
        by_class.setdefault(k, []).append(i)
    classes = sorted(by_class)
    exact = {k: test_fraction * len(by_class[k]) for k in classes}
    counts = {k: math.floor(exact[k]) for k in classes}
    missing = round(test_fraction * len(t)) - sum(counts.values())
    for k in sorted(classes, key=lambda k: (counts[k] - exact[k], k))[:missing]:
        counts[k] += 1
    train: list[int] = []
    test: list[int] = []
    for k in classes:
        members = list(by_class[k])
        rng.shuffle(members)
        if not 0 < counts[k] < len(members):
            raise InputValueError(
                f"test_fraction = {test_fraction!r} leaves class {k} ({len(members)} examples) with"
                f" {counts[k]} test and {len(members) - counts[k]} training examples; choose a"
                " test_fraction that leaves at least one of each class on both sides"
            )
        test += members[: counts[k]]
        train += members[counts[k] :]
    return sorted(train), sorted(test)


def digits(*, test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """scikit-learn's 8x8 hand-written digits, split into training and test sets.

    ``X_train, t_train, X_test, t_test = digits(test_fraction=0.25, seed=0)``: 1,797
    images of the digits 0..9 (``sklearn.datasets.load_digits``, which ships them: no
    download), each a row of 64 floats (the pixels row by row, 0 = white to 16 =
    black), the target its class index. :func:`stratified_split` puts a
    ``test_fraction`` of every class in the test set (449 of 1,797 at 0.25) chosen by
    ``random.Random(seed)``; within each set the examples keep the data set's order.
    Plain Python lists: any of the library's functions takes them as they are.

    ``test_fraction`` is a real number in (0, 1) that leaves every class on both
    sides, ``seed`` an int (as for the other data sets). Without scikit-learn this is
    an ``ImportError`` saying what to install.
    """
    fraction = _number(test_fraction, "test_fraction", "in (0, 1)", lambda v: 0.0 < v < 1.0)
    # An int, never None: random.Random(None) would seed from the clock and the split would change every run.
    rng = random.Random(to_index(seed, "seed"))
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(
            f"digits() needs scikit-learn, which ships the data set ({error}); "
            f"install it with {DIGITS_INSTALL}"
        ) from error
    data = load_digits()
    X: list[list[float]] = data.data.tolist()  # numpy float64 -> Python floats
    t: list[int] = data.target.tolist()
    train, test = stratified_split(t, fraction, rng)
    return Digits([X[i] for i in train], [t[i] for i in train], [X[i] for i in test], [t[i] for i in test])
