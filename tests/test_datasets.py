"""The seeded 2-D data sets: determinism by seed, sizes, shapes, label balance, their geometry without
noise, and bad arguments; the digits: sizes, a stratified split, determinism by seed, every example in
exactly one half with scikit-learn's values, bad arguments, and the message without scikit-learn."""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import require_module

from micrograd_lite import datasets
from micrograd_lite.datasets import (
    DIGITS_INSTALL,
    Dataset,
    Digits,
    circles,
    digits,
    spirals,
    stratified_split,
    three_blobs,
    two_moons,
    xor,
)

Maker = Callable[..., Dataset]
# Each data set with its number of classes K.
SETS: list[tuple[Maker, int]] = [(xor, 2), (two_moons, 2), (circles, 2), (spirals, 2), (three_blobs, 3)]
ids = [maker.__name__ for maker, _ in SETS]


@pytest.mark.parametrize(("maker", "K"), SETS, ids=ids)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 201])
def test_sizes_shapes_and_label_balance(maker: Maker, K: int, n: int) -> None:
    X, t = maker(n=n, seed=1)
    assert len(X) == len(t) == n
    assert all(isinstance(row, list) and len(row) == 2 for row in X)
    assert all(isinstance(v, float) and math.isfinite(v) for row in X for v in row)
    assert all(type(label) is int and 0 <= label < K for label in t)
    counts = Counter(t)
    # Balanced: every class has n // K or n // K + 1 examples.
    assert all(n // K <= counts[k] <= n // K + 1 for k in range(K))


@pytest.mark.parametrize(("maker", "K"), SETS, ids=ids)
def test_default_sizes_are_balanced(maker: Maker, K: int) -> None:
    X, t = maker()
    assert len(X) % K == 0
    assert set(Counter(t).values()) == {len(X) // K}


@pytest.mark.parametrize(("maker", "K"), SETS, ids=ids)
def test_same_seed_same_data_other_seed_other_data(maker: Maker, K: int) -> None:
    assert maker(seed=3) == maker(seed=3)
    X3, t3 = maker(seed=3)
    X4, t4 = maker(seed=4)
    assert t3 == t4  # the labels follow the example's index...
    assert X3 != X4  # ...the points follow the seed
    # A shorter set is the start of a longer one with the same seed.
    X10, t10 = maker(n=10, seed=3)
    assert (X10, t10) == (X3[:10], t3[:10])


def test_same_data_in_a_fresh_process() -> None:
    """Nothing depends on the process (hash seed, import order): a new interpreter draws the same."""
    code = (
        "from micrograd_lite import datasets as d; "
        "print(repr([f(n=12, seed=5) for f in (d.xor, d.two_moons, d.circles, d.spirals, d.three_blobs)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout
    here = [f(n=12, seed=5) for f in (xor, two_moons, circles, spirals, three_blobs)]
    assert out.strip() == repr(here)


def test_the_data_does_not_change_between_versions() -> None:
    """A fingerprint of the default data: the notebooks' committed outputs were computed from it."""
    fingerprints = {
        f.__name__: round(sum(x1 + 2 * x2 for x1, x2 in f()[0]), 9)
        for f in (xor, two_moons, circles, spirals, three_blobs)
    }
    assert fingerprints == pytest.approx(EXPECTED_FINGERPRINTS, rel=1e-9, abs=1e-9)


EXPECTED_FINGERPRINTS = {
    "xor": -1.74624812,
    "two_moons": 191.697336919,
    "circles": -7.378172823,
    "spirals": 3.915477013,
    "three_blobs": -3.755721548,
}

# ------------------------------------------------------------------ geometry (noise = 0)


def test_xor_without_noise() -> None:
    X, t = xor(n=40, noise=0.0)
    for (x1, x2), label in zip(X, t):
        assert abs(x1) == abs(x2) == 1.0
        assert label == int(x1 * x2 < 0)  # t = 1 where the signs of x_1 and x_2 differ
    assert len({tuple(row) for row in X}) == 4


def test_two_moons_without_noise() -> None:
    X, t = two_moons(n=50, noise=0.0)
    for (x1, x2), label in zip(X, t):
        if label == 0:  # the upper half of the unit circle
            assert math.isclose(math.hypot(x1, x2), 1.0) and x2 >= 0
        else:  # the lower half of the unit circle around (1, 0.5)
            assert math.isclose(math.hypot(x1 - 1.0, x2 - 0.5), 1.0) and x2 <= 0.5


@pytest.mark.parametrize("factor", [0.2, 0.5, 0.9])
def test_circles_without_noise(factor: float) -> None:
    X, t = circles(n=30, noise=0.0, factor=factor)
    for (x1, x2), label in zip(X, t):
        assert math.isclose(math.hypot(x1, x2), 1.0 if label == 0 else factor)


def test_spirals_without_noise() -> None:
    X, t = spirals(n=60, noise=0.0, turns=1.5)
    for (x1, x2), label in zip(X, t):
        r = math.hypot(x1, x2)
        assert 0.0 <= r < 1.0
        if r > 1e-9:  # the angle grows with the radius; the two classes are half a turn apart
            angle = 2.0 * math.pi * 1.5 * r + label * math.pi
            assert math.isclose(x1, r * math.cos(angle), abs_tol=1e-12)
            assert math.isclose(x2, r * math.sin(angle), abs_tol=1e-12)


def test_three_blobs_without_noise() -> None:
    X, t = three_blobs(n=9, noise=0.0)
    for (x1, x2), k in zip(X, t):
        assert math.isclose(x1, math.cos(2 * math.pi * k / 3), abs_tol=1e-15)
        assert math.isclose(x2, math.sin(2 * math.pi * k / 3), abs_tol=1e-15)


def test_noise_is_the_standard_deviation() -> None:
    X, t = three_blobs(n=3000, noise=0.2, seed=2)
    offsets = [x1 - math.cos(2 * math.pi * k / 3) for (x1, _), k in zip(X, t)]
    mean = sum(offsets) / len(offsets)
    sd = math.sqrt(sum((o - mean) ** 2 for o in offsets) / len(offsets))
    assert abs(mean) < 0.02 and 0.19 < sd < 0.21


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize("maker", [m for m, _ in SETS], ids=ids)
@pytest.mark.parametrize("n", [0, -1])
def test_bad_n(maker: Maker, n: object) -> None:
    with pytest.raises(ValueError, match="n must be a positive int"):
        maker(n=n)


@pytest.mark.parametrize("maker", [m for m, _ in SETS], ids=ids)
@pytest.mark.parametrize("n", [2.5, True, "10", None])
def test_n_not_an_int_is_a_type_error(maker: Maker, n: object) -> None:
    with pytest.raises(TypeError, match="n must be an int"):
        maker(n=n)


@pytest.mark.parametrize("maker", [m for m, _ in SETS], ids=ids)
@pytest.mark.parametrize("noise", [-0.1, math.nan, math.inf])
def test_bad_noise(maker: Maker, noise: object) -> None:
    with pytest.raises(ValueError, match="noise"):
        maker(noise=noise)


@pytest.mark.parametrize("maker", [m for m, _ in SETS], ids=ids)
@pytest.mark.parametrize("noise", [True, "0.1", None])
def test_noise_not_a_number_is_a_type_error(maker: Maker, noise: object) -> None:
    with pytest.raises(TypeError, match="noise must be a real number"):
        maker(noise=noise)


@pytest.mark.parametrize("maker", [m for m, _ in SETS], ids=ids)
@pytest.mark.parametrize("seed", [None, 1.5, "0", True])
def test_bad_seed(maker: Maker, seed: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        maker(seed=seed)


@pytest.mark.parametrize(
    ("factor", "error"),
    [
        (0, ValueError),
        (0.0, ValueError),
        (1.0, ValueError),
        (-0.5, ValueError),
        (2, ValueError),
        (math.nan, ValueError),
        (True, TypeError),
        ("0.5", TypeError),
    ],
)
def test_circles_bad_factor(factor: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="factor"):
        circles(factor=factor)


@pytest.mark.parametrize(
    ("turns", "error"),
    [
        (0, ValueError),
        (-1.0, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (True, TypeError),
        ("1", TypeError),
    ],
)
def test_spirals_bad_turns(turns: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="turns"):
        spirals(turns=turns)


def test_the_module_lists_its_data_sets() -> None:
    assert set(ids) <= set(dir(datasets))


# ------------------------------------------------------------------ digits: a real data set


@pytest.fixture(scope="module")
def load_digits() -> tuple[list[list[float]], list[int]]:
    """scikit-learn's own copy of the data: the rows and the targets, as lists."""
    data = require_module("sklearn.datasets").load_digits()
    return data.data.tolist(), data.target.tolist()


def test_digits_sizes_shapes_and_types(load_digits: tuple[list[list[float]], list[int]]) -> None:
    split = digits()
    assert isinstance(split, Digits)
    X_train, t_train, X_test, t_test = split  # a NamedTuple unpacks in field order
    assert (len(X_train), len(t_train), len(X_test), len(t_test)) == (1348, 1348, 449, 449)
    assert len(X_train) + len(X_test) == len(load_digits[0]) == 1797
    assert round(0.25 * 1797) == len(X_test)
    for X, t in ((X_train, t_train), (X_test, t_test)):
        assert all(type(row) is list and len(row) == 64 for row in X)
        assert all(type(v) is float and 0.0 <= v <= 16.0 for row in X for v in row)
        assert all(type(k) is int and 0 <= k <= 9 for k in t)


@pytest.mark.parametrize("test_fraction", [0.25, 0.1, 0.5, 0.9, 1 / 3])
@pytest.mark.parametrize("seed", [0, 7])
def test_digits_split_is_stratified(
    load_digits: tuple[list[list[float]], list[int]], test_fraction: float, seed: int
) -> None:
    _, t_train, _, t_test = digits(test_fraction=test_fraction, seed=seed)
    per_class = Counter(load_digits[1])
    in_test = Counter(t_test)
    assert len(t_test) == round(test_fraction * 1797)
    for k, n_k in per_class.items():
        assert abs(in_test[k] - test_fraction * n_k) < 1, (k, in_test[k], test_fraction * n_k)
        assert in_test[k] + Counter(t_train)[k] == n_k


@pytest.mark.parametrize("test_fraction", [0.25, 0.6])
def test_digits_each_example_in_exactly_one_half_with_its_values(
    load_digits: tuple[list[list[float]], list[int]], test_fraction: float
) -> None:
    """Train and test together are load_digits' examples, each once (no image is in both halves),
    and each half keeps the data set's order."""
    X_train, t_train, X_test, t_test = digits(test_fraction=test_fraction, seed=3)
    X, t = load_digits
    index = {tuple(row): n for n, row in enumerate(X)}
    assert len(index) == len(X)  # no two images are equal, so an image names its example
    train = [index[tuple(row)] for row in X_train]
    test = [index[tuple(row)] for row in X_test]
    assert not set(train) & set(test)
    assert sorted(train + test) == list(range(len(X)))
    assert train == sorted(train) and test == sorted(test)
    assert t_train == [t[n] for n in train] and t_test == [t[n] for n in test]


def test_digits_same_seed_same_split_other_seed_other_split() -> None:
    assert digits(seed=5) == digits(seed=5)
    assert digits(seed=5, test_fraction=0.25) == digits(test_fraction=0.25, seed=5)
    splits = [digits(seed=s) for s in range(4)]
    tests = {tuple(map(tuple, split.X_test)) for split in splits}
    assert len(tests) == 4  # four seeds, four different test sets
    assert digits(seed=require_module("numpy").int64(5)) == digits(seed=5)  # any integer type


def test_digits_split_is_the_same_in_a_fresh_process() -> None:
    require_module("sklearn")
    code = (
        "from micrograd_lite.datasets import digits; s = digits(seed=2, test_fraction=0.2); "
        "print(repr((sum(map(sum, s.X_test)), s.t_test[:40], s.t_train[-40:])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "321"},
    ).stdout
    here = digits(seed=2, test_fraction=0.2)
    assert out.strip() == repr((sum(map(sum, here.X_test)), here.t_test[:40], here.t_train[-40:]))


def test_stratified_split_by_hand() -> None:
    """Largest remainder: 0.5 of classes of 3, 3 and 2 examples is 1.5, 1.5, 1 -> 4 in all; the tie of
    the two remainders goes to class 0."""
    t = [0, 1, 2, 0, 1, 2, 0, 1]
    train, test = stratified_split(t, 0.5, random.Random(0))
    assert sorted(train + test) == list(range(8))
    assert Counter(t[i] for i in test) == {0: 2, 1: 1, 2: 1}
    assert train == sorted(train) and test == sorted(test)


@pytest.mark.parametrize(
    ("test_fraction", "error", "match"),
    [
        (0.0, ValueError, "test_fraction must be a finite number in"),
        (1.0, ValueError, "test_fraction must be a finite number in"),
        (-0.25, ValueError, "test_fraction"),
        (math.nan, ValueError, "test_fraction"),
        (0.001, ValueError, "test_fraction = 0.001 leaves class"),  # no test example of some class
        (0.999, ValueError, "test_fraction = 0.999 leaves class"),  # no training example of some class
        ("0.25", TypeError, "test_fraction must be a real number"),
        (True, TypeError, "test_fraction must be a real number"),
        (None, TypeError, "test_fraction must be a real number"),
    ],
)
def test_digits_bad_test_fraction(test_fraction: object, error: type[Exception], match: str) -> None:
    if error is ValueError and "leaves class" in match:
        require_module("sklearn")
    with pytest.raises(error, match=match):
        digits(test_fraction=test_fraction)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [None, 1.5, "0", True])
def test_digits_bad_seed(seed: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        digits(seed=seed)  # type: ignore[arg-type]


def test_digits_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        digits(0.25)  # type: ignore[misc]


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import sklearn...` fail, as if scikit-learn were not installed.
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r'needs scikit-learn.*pip install "micrograd_lite\[digits\]"'):
        digits()


def _extra(pyproject: str, name: str) -> set[str]:
    """The distribution names an extra of pyproject.toml lists (its block ``name = [...]``)."""
    block = re.search(rf"^{name} = \[(.*?)\]$", pyproject, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, f"no extra {name!r}"
    without_comments = re.sub(r"#.*$", "", block.group(1), flags=re.MULTILINE)
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0] for r in re.findall(r'"([^"]+)"', without_comments)}


def test_the_extras_are_declared() -> None:
    """The message's extra exists: [digits] installs scikit-learn, [fast] numpy, and both are in the
    dev extra (which CI installs) and in the notebooks extra (notebook 09 needs them)."""
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert DIGITS_INSTALL == 'pip install "micrograd_lite[digits]"'
    assert _extra(pyproject, "digits") == {"scikit-learn"}
    assert _extra(pyproject, "fast") == {"numpy"}
    for extra in ("dev", "notebooks"):
        assert {"numpy", "scikit-learn"} <= _extra(pyproject, extra), extra
    assert "pytest" in _extra(pyproject, "dev")  # the parsing reads the real lists
