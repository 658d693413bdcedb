"""micrograd_lite.exercises: the graders, their verdicts, hints, displays and errors.

The answers a student would give are computed here with plain floats (:func:`by_hand`), never with
the engine, so "right" means the engine's expected numbers agree with an independent computation.
A slip is simulated by overriding one number while :func:`by_hand` works forward and backward, so
everything computed after it is what a student who made that slip would write down.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import student_values as sv
from conftest import require_module

from micrograd_lite import Value
from micrograd_lite.exercises import (
    check_backprop,
    check_local_derivative,
    check_value_class,
    summary,
)
from micrograd_lite.worked_example import BIASES, WEIGHTS, T, X

ROOT = Path(__file__).resolve().parent.parent
Matrices = list[list[list[float]]]

F: dict[str, Callable[[float], float]] = {
    "sigmoid": lambda a: 1.0 / (1.0 + math.exp(-a)),
    "tanh": math.tanh,
    "relu": lambda a: max(a, 0.0),
    "identity": lambda a: a,
}
F_PRIME_FROM_Z: dict[str, Callable[[float], float]] = {
    "sigmoid": lambda z: z * (1.0 - z),
    "tanh": lambda z: 1.0 - z * z,
    "relu": lambda z: 1.0 if z > 0.0 else 0.0,
    "identity": lambda z: 1.0,
}


def by_hand(
    W: Matrices = WEIGHTS,
    b: list[list[float]] = BIASES,
    x: tuple[float, ...] = X,
    t: list[float] | None = None,
    activations: list[str] | None = None,
    loss: str = "binary_cross_entropy",
    slip: Mapping[str, Callable[[dict[str, float]], float]] | None = None,
) -> dict[str, float]:
    """Every labelled number of one example in plain floats, in the order a student computes them.

    ``slip[label](numbers so far)`` replaces that label's number before anything later uses it.
    """
    L = len(W)
    t = [T] if t is None else t
    activations = activations or ["sigmoid"] * L
    slip = slip or {}
    out: dict[str, float] = {}

    def put(label: str, value: float) -> float:
        out[label] = value
        if label in slip:
            out[label] = slip[label](out)
        return out[label]

    z: list[list[float]] = [list(x)]
    for l in range(1, L + 1):
        f = F[activations[l - 1]]
        layer = []
        for i, row in enumerate(W[l - 1], start=1):
            a = put(f"a[{l}]_{i}", sum(w * zj for w, zj in zip(row, z[l - 1])) + b[l - 1][i - 1])
            layer.append(put(f"z[{l}]_{i}", f(a)))
        z.append(layer)
    y = z[L]
    if loss == "binary_cross_entropy":
        put("E", sum(-tk * math.log(yk) - (1 - tk) * math.log(1 - yk) for yk, tk in zip(y, t)))
    else:
        put("E", 0.5 * sum((tk - yk) ** 2 for yk, tk in zip(y, t)))
    delta: dict[int, list[float]] = {}
    fp = F_PRIME_FROM_Z[activations[L - 1]]
    outputs = []
    for i, (yk, tk) in enumerate(zip(y, t), start=1):
        dE_dy = -tk / yk + (1 - tk) / (1 - yk) if loss == "binary_cross_entropy" else yk - tk
        outputs.append(put(f"delta[{L}]_{i}", dE_dy * fp(yk)))
    delta[L] = outputs
    for l in range(L - 1, 0, -1):
        fp = F_PRIME_FROM_Z[activations[l - 1]]
        delta[l] = [
            put(
                f"delta[{l}]_{i}",
                fp(z[l][i - 1]) * sum(d * W[l][k][i - 1] for k, d in enumerate(delta[l + 1])),
            )
            for i in range(1, len(W[l - 1]) + 1)
        ]
    for l in range(L, 0, -1):
        for i, d in enumerate(delta[l], start=1):
            for j, zj in enumerate(z[l - 1], start=1):
                put(f"dE/dW[{l}]_{i}{j}", d * zj)
            put(f"dE/db[{l}]_{i}", d)
    return out


RIGHT = by_hand()


# ============================================================ check_backprop: verdicts


def test_every_right_answer_is_right_and_nothing_is_flagged() -> None:
    report = check_backprop(RIGHT)
    assert report.ok and report.passed and report.first_error is None
    assert len(report.rows) == 31 and all(row.verdict == "right" for row in report.rows)
    for row in report.rows:  # the engine's expected numbers agree with the plain floats
        assert math.isclose(row.expected, RIGHT[row.label], rel_tol=1e-12, abs_tol=1e-15), row.label
    assert report.hints == []


def test_rows_come_in_the_order_a_student_computes_them() -> None:
    labels = [row.label for row in check_backprop(dict(reversed(list(RIGHT.items())))).rows]
    assert labels[:4] == ["a[1]_1", "z[1]_1", "a[1]_2", "z[1]_2"]
    assert labels.index("E") < labels.index("delta[3]_1") < labels.index("delta[2]_1")
    assert labels.index("delta[2]_2") < labels.index("delta[1]_1") < labels.index("dE/dW[3]_11")


def _round(x: float, figures: int) -> float:
    return float(f"{x:.{figures}g}")


def test_four_significant_figures_are_right_and_rel_tol_changes_that() -> None:
    rounded = {label: _round(v, 4) for label, v in RIGHT.items()}
    assert check_backprop(rounded).ok
    strict = check_backprop(rounded, rel_tol=1e-9)
    assert not strict.ok and strict.first_error is not None
    two_figures = check_backprop({label: _round(v, 2) for label, v in RIGHT.items()})
    assert not two_figures.ok


def test_numbers_computed_from_rounded_numbers_are_not_mistakes() -> None:
    # a[2]_1 = 0.003175 is a difference of two numbers near 0.13: computed from z[1] rounded to
    # 3 figures it is 2% off, yet it is what a careful student gets from those numbers.
    answers = by_hand(slip={"z[1]_1": lambda n: 0.426, "z[1]_2": lambda n: 0.622})
    report = check_backprop({k: answers[k] for k in ("z[1]_1", "z[1]_2", "a[2]_1")}, rel_tol=2e-3)
    a21 = report.rows[-1]
    assert not math.isclose(a21.given, a21.expected, rel_tol=2e-3)  # not close to the exact number
    assert a21.verdict.startswith("right") and report.ok


@pytest.mark.parametrize(
    "label", ["a[1]_1", "z[1]_2", "a[2]_1", "E", "delta[3]_1", "delta[2]_2", "delta[1]_1", "dE/dW[2]_12"]
)
def test_a_slip_is_the_first_error_and_its_consequences_follow_from_it(label: str) -> None:
    answers = by_hand(slip={label: lambda n: n[label] * 1.3 + 0.05})
    report = check_backprop(answers)
    assert report.first_error == label and not report.ok
    followers = 0
    for row in report.rows:
        if row.label == label:
            assert row.verdict == "wrong" and row.hint and row.follows_from is None
        elif math.isclose(answers[row.label], RIGHT[row.label], rel_tol=5e-4):
            assert row.verdict == "right", row
        else:  # changed by the slip, and exactly what the student's numbers give
            assert row.verdict == f"follows from {label}" and row.follows_from == label and row.hint is None
            followers += 1
    assert followers >= (0 if label in ("E", "dE/dW[2]_12") else 3)  # E and a gradient feed nothing
    assert len(report.hints) == 1


def test_a_second_independent_mistake_is_counted_and_its_followers_name_it() -> None:
    answers = by_hand(
        slip={"z[1]_1": lambda n: n["z[1]_1"] + 0.1, "delta[2]_1": lambda n: -n["delta[2]_1"]},
    )
    report = check_backprop(answers)
    wrong = [row.label for row in report.rows if row.verdict == "wrong"]
    assert wrong == ["z[1]_1", "delta[2]_1"] and report.first_error == "z[1]_1"
    by_label = {row.label: row for row in report.rows}
    assert by_label["a[2]_1"].follows_from == "z[1]_1"
    assert by_label["dE/dW[2]_11"].follows_from == "z[1]_1"  # delta[2]_1's consequence, via z[1]_1 too
    assert by_label["dE/db[2]_1"].follows_from == "delta[2]_1"


def test_a_follower_of_a_follower_names_the_original_mistake() -> None:
    report = check_backprop(by_hand(slip={"a[1]_1": lambda n: 0.7}))
    rows = {row.label: row for row in report.rows}
    assert rows["z[2]_2"].follows_from == "a[1]_1"  # a[1]_1 -> z[1]_1 -> a[2]_2 -> z[2]_2
    assert rows["dE/dW[1]_12"].follows_from == "a[1]_1"


def test_partial_answers_grade_only_what_is_given() -> None:
    report = check_backprop({"delta[2]_1": RIGHT["delta[2]_1"], "E": 0.5})
    assert [row.label for row in report.rows] == ["E", "delta[2]_1"]
    assert report.first_error == "E" and report.rows[1].verdict == "right"


# ============================================================ check_backprop: hints


def _hint(label: str, value: float) -> str:
    report = check_backprop({label: value})
    assert report.first_error == label
    hint = report.rows[0].hint
    assert hint is not None
    return hint


def test_the_sign_hint_reads_as_the_lecture_writes_it() -> None:
    assert _hint("delta[2]_1", -RIGHT["delta[2]_1"]) == (
        "delta[2]_1 = f'(a[2]_1) sum_k delta[3]_k W[3]_k1 = 0.249999 * (-0.50853 * 0.5) = -0.0635661; "
        "you gave 0.0635661: the sign"
    )


def _delta1_1(f_prime: float, terms: list[float]) -> float:
    return f_prime * sum(terms)


Z11, A11 = RIGHT["z[1]_1"], RIGHT["a[1]_1"]
D2 = [RIGHT["delta[2]_1"], RIGHT["delta[2]_2"]]
W2 = WEIGHTS[1]


@pytest.mark.parametrize(
    ("value", "slip"),
    [
        (-RIGHT["delta[1]_1"], "the sign"),
        (D2[0] * W2[0][0] + D2[1] * W2[1][0], "the factor f'(a[1]_1) is missing"),
        (
            F["sigmoid"](Z11) * (1 - F["sigmoid"](Z11)) * (D2[0] * W2[0][0] + D2[1] * W2[1][0]),
            "f' was evaluated at z[1]_1 instead of a[1]_1",
        ),
        (A11 * (1 - A11) * (D2[0] * W2[0][0] + D2[1] * W2[1][0]), "was computed as a(1 - a) from a[1]_1"),
        (Z11 * (1 - Z11) * (D2[0] * W2[0][0] + D2[1] * W2[0][1]), "W[2] is not transposed"),
        (Z11 * (1 - Z11) * D2[0] * W2[0][0], "the path through a[2]_2 is missing"),
        (Z11 * (1 - Z11) * D2[1] * W2[1][0], "the path through a[2]_1 is missing"),
    ],
)
def test_each_slip_in_a_hidden_delta_gets_its_hint(value: float, slip: str) -> None:
    hint = _hint("delta[1]_1", value)
    assert hint.startswith("delta[1]_1 = f'(a[1]_1) sum_k delta[2]_k W[2]_k1 = 0.244458 * (")
    assert f"you gave {value:.6g}: " in hint and slip in hint


@pytest.mark.parametrize(
    ("label", "value", "slip"),
    [
        ("a[1]_1", RIGHT["a[1]_1"] - BIASES[0][0], "the bias b[1]_1 is missing"),
        ("a[1]_2", WEIGHTS[0][0][1] * X[0] + WEIGHTS[0][1][1] * X[1] + BIASES[0][1], "W[1] is transposed"),
        ("z[1]_1", RIGHT["a[1]_1"], "f was not applied"),
        ("z[1]_1", F["sigmoid"](-RIGHT["a[1]_1"]), "the sign in the exponent"),
        ("E", RIGHT["E"] / math.log(10), "log10 was used"),
        ("delta[3]_1", T - RIGHT["z[3]_1"], "the sign"),
        ("delta[3]_1", -T / RIGHT["z[3]_1"], "y(1 - y) is missing"),
        ("dE/dW[2]_12", RIGHT["delta[2]_2"] * RIGHT["z[1]_1"], "the indices are swapped"),
        ("dE/dW[2]_12", RIGHT["delta[2]_1"] * WEIGHTS[1][0][1], "multiplied by the weight W[2]_12"),
        ("dE/dW[2]_12", RIGHT["delta[2]_1"] * RIGHT["a[1]_2"], "a[1]_2 was used instead of z[1]_2"),
        ("dE/dW[2]_12", RIGHT["delta[2]_1"] * RIGHT["z[2]_2"], "z[2]_2 was used"),
        ("dE/db[1]_2", -RIGHT["delta[1]_2"], "the sign"),
    ],
)
def test_slips_in_the_forward_pass_the_output_delta_and_the_gradients(
    label: str, value: float, slip: str
) -> None:
    hint = _hint(label, value)
    assert hint.startswith(f"{label} = ") or hint.startswith("y = ") or label in hint
    assert slip in hint, hint


def test_a_mistake_without_a_known_slip_still_gets_the_formula_with_the_numbers() -> None:
    hint = _hint("dE/dW[1]_12", 0.123)
    assert hint == "dE/dW[1]_12 = delta[1]_1 x_2 = -0.0111019 * 2 = -0.0222037; you gave 0.123"


def test_the_hint_plugs_in_the_students_own_upstream_numbers() -> None:
    answers = {"z[2]_1": 0.6, "delta[3]_1": -0.5, "delta[2]_1": 0.06}
    hint = check_backprop(answers).rows[-1].hint
    assert hint is not None
    assert hint.startswith("delta[2]_1 = f'(a[2]_1) sum_k delta[3]_k W[3]_k1 = 0.24 * (-0.5 * 0.5) = -0.06")
    assert hint.endswith("the sign")


# ============================================================ check_backprop: other networks


def test_a_tanh_network_with_squared_error_is_graded_against_plain_floats() -> None:
    W = [[[0.3, -0.7, 0.2]], [[1.1], [-0.4]]]  # 3 inputs -> 1 tanh unit -> 2 identity outputs
    b = [[0.1], [0.0, 0.2]]
    x, t = (0.5, -1.0, 2.0), [0.3, -0.1]
    kw: dict[str, Any] = {"W": W, "b": b, "x": x, "t": t, "activations": ["tanh", "identity"]}
    right = by_hand(**kw, loss="squared_error")
    setting: dict[str, Any] = {"weights": W, "biases": b, "x": x, "t": t}
    report = check_backprop(right, **setting, activations=["tanh", "identity"], loss="squared_error")
    assert report.ok and len(report.rows) == len(right)
    slipped = by_hand(**kw, loss="squared_error", slip={"delta[2]_2": lambda n: -n["delta[2]_2"]})
    report = check_backprop(slipped, **setting, activations=["tanh", "identity"], loss="squared_error")
    assert report.first_error == "delta[2]_2"
    rows = {row.label: row for row in report.rows}
    assert rows["delta[1]_1"].follows_from == "delta[2]_2" and rows["dE/db[2]_2"].follows_from == "delta[2]_2"
    assert rows["delta[2]_1"].verdict == "right"


def test_a_relu_hidden_layer_and_a_sigmoid_output_with_squared_error() -> None:
    W = [[[0.5, -0.5], [1.0, 0.25]], [[0.8, -1.2]]]
    b = [[0.1, -0.3], [0.05]]
    right = by_hand(W, b, (1.0, 2.0), [1.0], ["relu", "sigmoid"], "squared_error")
    setting: dict[str, Any] = {"weights": W, "biases": b, "x": (1.0, 2.0), "t": 1.0}
    assert check_backprop(right, **setting, activations=["relu", "sigmoid"], loss="squared_error").ok
    missing_f_prime = right["z[2]_1"] - 1.0  # (y - t) without sigma'(a[2]_1)
    report = check_backprop({"delta[2]_1": missing_f_prime}, **setting, activations=["relu", "sigmoid"])
    assert report.ok  # with cross-entropy (the default) y - t is right ...
    report = check_backprop(
        {"delta[2]_1": missing_f_prime}, **setting, activations=["relu", "sigmoid"], loss="squared_error"
    )
    assert "the factor f'(a[2]_1) is missing" in report.hints[0]  # ... with squared error it is a slip


# ============================================================ check_backprop: labels and input


def test_the_lectures_short_labels_and_aliases() -> None:
    answers = {
        "y": RIGHT["z[3]_1"],
        "a[3]": RIGHT["a[3]_1"],
        "delta[3]": RIGHT["delta[3]_1"],
        "dE/db[3]": RIGHT["dE/db[3]_1"],
        " dE/dW[1]_12 ": RIGHT["dE/dW[1]_12"],
        "δ[2]_1": RIGHT["delta[2]_1"],
        "dE/dW[2]_1,2": RIGHT["dE/dW[2]_12"],
    }
    report = check_backprop(answers)
    assert report.ok and [row.label for row in report.rows][:2] == ["a[3]", "y"]


@pytest.mark.parametrize(
    ("answers", "error", "message"),
    [
        ({"q[1]_1": 0.1}, ValueError, "'q[1]_1' is not a label of the lecture"),
        ({"W[1]_12": 0.1}, ValueError, "is not a label of the lecture; use one of E, y"),
        ({"a[4]_1": 0.1}, ValueError, "has layers 1..3"),
        ({"a[2]_3": 0.1}, ValueError, "layer 2 has units 1..2, there is no unit 3"),
        ({"dE/dW[1]_13": 0.1}, ValueError, "j = 1..2"),
        ({"dE/dW[1]_123": 0.1}, ValueError, "with a comma"),
        ({"z[0]_1": 1.0}, ValueError, "the input x_j, which is given"),
        ({"a[1]": 0.1}, ValueError, "layer 1 has 2 units"),
        ({"y": 0.5, "z[3]_1": 0.5}, ValueError, "same quantity"),
        ({"E": "0.71"}, TypeError, "without quotes"),
        ({"E": True}, TypeError, "must be a number"),
        ({"E": None}, TypeError, "must be a number"),
        ({"E": Value(0.7)}, TypeError, "v.data"),
        ({1: 0.5}, TypeError, "must be a str"),
    ],
)
def test_bad_answers_are_clear_errors(answers: dict[Any, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        check_backprop(answers)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rel_tol": 0.0}, ValueError, "rel_tol must be between 0 and 1"),
        ({"rel_tol": "4"}, TypeError, "rel_tol must be a number"),
        ({"weights": WEIGHTS}, ValueError, "give weights and biases together"),
        ({"loss": "categorical_cross_entropy"}, ValueError, "loss must be"),
        ({"activations": ["sigmoid", "sigmoid", "softmax"]}, ValueError, "softmax"),
        ({"t": [1.0, 0.0]}, ValueError, "1 output unit(s) but t has 2"),
        ({"x": (1.0,)}, ValueError, "x must have 2 features"),
        ({"expect": ["a[9]_1"]}, ValueError, "expect: 'a[9]_1'"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        check_backprop({"E": 0.7}, **kwargs)


def test_answers_must_be_a_mapping_or_a_function_returning_one() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        check_backprop([("E", 0.7)])  # type: ignore[arg-type]

    def forgot_return() -> None:
        pass

    with pytest.raises(TypeError, match=r"forgot_return\(\) must return a dict .* forget to `return`"):
        check_backprop(forgot_return)  # type: ignore[arg-type]


def test_a_function_stub_is_not_done_yet_and_other_exceptions_are_one_line() -> None:
    def stub() -> dict[str, float]:
        raise NotImplementedError("exercise 1: replace this line with your numbers")

    report = check_backprop(stub, expect=["E"])
    assert report.not_done == "exercise 1: replace this line with your numbers"
    assert report.status == "not done yet" and not report.ok and not report.done
    assert str(report) == "not done yet: exercise 1: replace this line with your numbers"

    def broken() -> dict[str, float]:
        return {"E": 1 / 0}

    report = check_backprop(broken)
    assert report.status == "to fix" and report.error is not None
    assert (
        str(report)
        == 'your code raised ZeroDivisionError: division by zero (in broken: `return {"E": 1 / 0}`)'
    )
    assert "Traceback" not in report._repr_html_()


def test_no_answers_at_all_is_not_done_yet() -> None:
    report = check_backprop({"E": ...})
    assert report.rows == () and report.status == "not done yet" and not report.passed
    assert str(report) == "not done yet: no answers given"


def test_ellipsis_means_not_answered_and_expect_lists_what_is_missing() -> None:
    report = check_backprop({"z[1]_1": RIGHT["z[1]_1"], "a[1]_1": ...}, expect=["a[1]_1", "z[1]_1", "y"])
    assert report.ok and not report.done and report.status == "not done yet"
    assert report.missing == ("a[1]_1", "y") and "not done yet: a[1]_1, y" in str(report)
    full = check_backprop({"z[1]_1": RIGHT["z[1]_1"], "a[1]_1": RIGHT["a[1]_1"]}, expect="a[1]_1")
    assert full.passed and full.status == "passed"


# ============================================================ displays


def _columns_line_up(text: str, header: str) -> None:
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(header))
    table = [line for line in lines[start:] if line and not line.startswith("hint")]
    starts = [m.start() for m in re.finditer(r"(?<=  )\S", table[0])]
    for line in table[1:]:
        for s in starts:
            assert line[s - 1] == " " and (len(line) <= s or line[s] != " "), (line, s)


def test_backprop_report_as_text_and_html() -> None:
    report = check_backprop({"a[1]_1": -0.3, "delta[2]_1": 0.0635661})
    text = str(report)
    assert text.splitlines()[0] == "2 answers: 1 right, 1 wrong; first mistake: delta[2]_1"
    _columns_line_up(text, "quantity")
    assert text.splitlines()[-1].startswith("hint: delta[2]_1 = f'(a[2]_1)")
    html = report._repr_html_()
    assert html.count("<tr>") == 3 and "<script" not in html.lower() and " on" not in html.lower()
    assert "f&#x27;(a[2]_1)" in html  # the hint's quote is escaped like every other piece of text


def test_reports_show_their_table_as_repr_too() -> None:
    """Jupyter's text/plain (and GitHub without HTML) shows repr: the same table as str()."""
    for report in (
        check_backprop({"E": 0.5}),
        check_value_class(sv.Minimal),
        check_local_derivative("exp", math.exp),
        summary({"1": check_backprop({"E": 0.5})}),
    ):
        assert repr(report) == str(report) and not repr(report).startswith(type(report).__name__ + "(")


def test_html_escapes_what_a_student_wrote() -> None:
    def stub() -> dict[str, float]:
        raise NotImplementedError("<script>alert(1)</script>")

    html = check_backprop(stub)._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html


# ============================================================ check_value_class


def test_micrograd_passes_everything_but_the_deep_chain_and_the_report_says_why() -> None:
    micrograd = require_module("micrograd.engine")
    report = check_value_class(micrograd.Value)
    assert report.failed == ["deep chain (10,000 nodes)"] and not report.ok
    assert sorted(report.not_implemented) == sorted(
        f"{op} {kind}" for op in ("exp", "log", "tanh", "sigmoid") for kind in ("forward", "gradient")
    )
    assert report.not_done == []
    deep = report.result("deep chain (10,000 nodes)")
    assert deep.happened.startswith("raised RecursionError: maximum recursion depth exceeded")
    assert "calls itself once per node" in deep.hint and "explicit stack" in deep.hint
    assert "x.grad = k^10000 = 2.71815" in deep.expected
    passed = [r.name for r in report.results if r.status == "passed"]
    assert len(passed) == len(report.results) - 9
    for name in ("node used twice: a + a", "order: a short and a long path", "backward after zeroing"):
        assert name in passed


def test_micrograd_lite_and_a_correct_student_class_pass_every_check() -> None:
    for cls in (Value, sv.Good):
        report = check_value_class(cls)
        assert report.passed and report.failed == [] and report.not_implemented == [], cls
        assert len(report.results) == 29


def test_operations_a_class_lacks_are_not_implemented_not_failures() -> None:
    report = check_value_class(sv.Minimal)
    assert report.ok and report.passed
    assert len(report.not_implemented) == 18 and "exp gradient" in report.not_implemented
    assert "3 + a not tried: no __radd__" in report.result("+ forward").expected


@pytest.mark.parametrize(
    ("cls", "failed", "hint"),
    [
        (
            sv.Overwrites,
            [
                "node used twice: a + a",
                "node used twice: a * a",
                "node with two consumers",
                "order: a short and a long path",
                "backward after zeroing",
                "deep chain (10,000 nodes)",
            ],
            "add into grad (+=), never assign (=)",
        ),
        (sv.BreadthFirst, ["order: a short and a long path"], "reverse topological order"),
        (sv.MarksVisited, ["backward after zeroing"], "a 'visited' mark stored on the nodes"),
        (sv.Recursive, ["deep chain (10,000 nodes)"], "Build the topological order with a loop"),
        (sv.TanhAtInput, ["tanh gradient"], "d tanh(a)/da = 1 - tanh(a)^2"),
        (sv.DividesByZero, ["/ forward", "/ gradient"], ""),
    ],
)
def test_a_broken_class_fails_exactly_the_checks_its_bug_should(
    cls: type, failed: list[str], hint: str
) -> None:
    report = check_value_class(cls)
    assert report.failed == failed and report.status == "to fix"
    assert hint in report.result(failed[0]).hint


def test_the_first_failure_says_what_was_expected_and_what_happened() -> None:
    twice = check_value_class(sv.Overwrites).result("node used twice: a + a")
    assert (twice.expected, twice.happened) == ("x.grad = 2", "x.grad = 1")
    tanh = check_value_class(sv.TanhAtInput).result("tanh gradient")
    assert tanh.expected == f"d(tanh(a))/da = {1 - math.tanh(0.6) ** 2:.6g} at a = 0.6 (central difference)"
    assert tanh.happened == f"a.grad = {1 - 0.6**2:.6g}"


def test_a_students_exception_is_one_line_not_a_traceback() -> None:
    report = check_value_class(sv.DividesByZero)
    result = report.result("/ forward")
    assert result.happened == (
        "raised ZeroDivisionError: float division by zero (in __truediv__: "
        "`return type(self)(self.data / 0, (self,), (0.0,))`)"
    )
    assert result.expected == "a / b = -3.75; a / 2 = 0.75; 3 / a = 2"
    assert "Traceback" not in str(report) and "File " not in str(report)


def test_stubs_are_not_done_yet() -> None:
    report = check_value_class(sv.Unfinished)
    assert report.failed == [] and report.status == "not done yet" and not report.passed
    result = report.result("* forward")
    assert result.status == "not done yet" and result.happened == "exercise 1: write __mul__"
    assert report.result("+ gradient").happened == "exercise 5: write backward"
    assert report.result("+ forward").status == "passed"


def test_a_raised_recursion_limit_cannot_crash_the_grader_and_is_restored() -> None:
    micrograd = require_module("micrograd.engine")
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)  # a notebook's "fix": recursion 10,000 deep would then crash C
    try:
        report = check_value_class(micrograd.Value)
        assert sys.getrecursionlimit() == 1_000_000
    finally:
        sys.setrecursionlimit(before)
    assert report.failed == ["deep chain (10,000 nodes)"]


def test_an_endless_loop_is_reported_after_the_timeout() -> None:
    sv.release.clear()
    try:
        report = check_value_class(sv.LoopsOnDeepGraphs, timeout=0.5)
    finally:
        sv.release.set()  # lets the abandoned check finish
    deep = report.result("deep chain (10,000 nodes)")
    assert report.failed == ["deep chain (10,000 nodes)"]
    assert deep.happened == "still running" and "endless loop" in deep.hint
    assert "within 0.5 s" in deep.expected


def test_check_value_class_bad_input() -> None:
    with pytest.raises(TypeError, match="pass the class itself, not an instance"):
        check_value_class(Value(1.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        check_value_class(Value, timeout=0)


def test_value_class_report_as_text_and_html() -> None:
    report = check_value_class(sv.Overwrites)
    text = str(report)
    assert text.splitlines()[0] == "check_value_class(Overwrites): 23 passed, 6 failed"
    _columns_line_up(text, "check")
    html = report._repr_html_()
    assert html.count("<tr>") == 30 and "<script" not in html and "(+=)" in html


# ============================================================ check_local_derivative


def _sigma(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


RIGHT_DERIVATIVES: dict[str, Callable[[float], float]] = {
    "exp": math.exp,
    "log": lambda a: 1.0 / a,
    "sigmoid": lambda a: _sigma(a) * (1.0 - _sigma(a)),
    "tanh": lambda a: 1.0 - math.tanh(a) ** 2,
    "relu": lambda a: 1.0 if a > 0 else 0.0,
}


@pytest.mark.parametrize("op", sorted(RIGHT_DERIVATIVES))
def test_a_right_local_derivative_is_right_at_every_input(op: str) -> None:
    report = check_local_derivative(op, RIGHT_DERIVATIVES[op])
    assert report.ok and report.first_disagreement is None and report.status == "passed"
    assert len(report.rows) >= 9 and str(report).startswith(f"d {op}(a)/da: right at all")


def test_the_engines_derivatives_it_compares_with_are_the_closed_forms() -> None:
    mpmath = require_module("mpmath")
    closed = {
        "exp": mpmath.exp,
        "log": lambda a: 1 / a,
        "sigmoid": lambda a: mpmath.exp(-a) / (1 + mpmath.exp(-a)) ** 2,
        "tanh": lambda a: mpmath.sech(a) ** 2,
    }
    for op, f in closed.items():
        for row in check_local_derivative(op, RIGHT_DERIVATIVES[op]).rows:
            # sigma(1 - sigma) is exact to about one ulp of sigma (<= 1), not relatively: 1 - sigma cancels
            exact = float(f(mpmath.mpf(row.a)))
            assert math.isclose(row.expected, exact, rel_tol=1e-12, abs_tol=1e-15), (op, row)


def test_a_wrong_derivative_is_caught_at_the_first_ordinary_input() -> None:
    report = check_local_derivative("sigmoid", _sigma)  # sigma itself, not sigma'
    assert report.first_disagreement == 0.5 and report.status == "to fix"
    assert (
        str(report).splitlines()[0]
        == "d sigmoid(a)/da: first disagreement at a = 0.5: expected 0.235004, got 0.622459"
    )


def test_a_formula_that_overflows_is_caught_at_the_awkward_inputs() -> None:
    report = check_local_derivative("tanh", lambda a: 1.0 / math.cosh(a) ** 2)
    assert report.first_disagreement == 700.0
    text = str(report)
    assert "got raised OverflowError" in text and "right for ordinary inputs, not at this awkward one" in text
    naive = check_local_derivative("sigmoid", lambda a: math.exp(-a) / (1 + math.exp(-a)) ** 2)
    assert naive.first_disagreement is not None and abs(naive.first_disagreement) >= 700


def test_relu_at_its_kink_accepts_either_one_sided_derivative() -> None:
    assert check_local_derivative("relu", lambda a: 1.0 if a >= 0 else 0.0).ok
    assert check_local_derivative("relu", lambda a: 1.0 if a > 0 else 0.0).ok
    assert check_local_derivative("relu", lambda a: 0.5 if a == 0 else float(a > 0)).ok
    assert check_local_derivative("relu", lambda a: 2.0 if a == 0 else float(a > 0)).first_disagreement == 0.0


def test_check_local_derivative_stub_non_numbers_and_bad_input() -> None:
    def stub(a: float) -> float:
        raise NotImplementedError("exercise 2: d_tanh")

    report = check_local_derivative("tanh", stub)
    assert report.status == "not done yet" and str(report) == "d tanh(a)/da: not done yet: exercise 2: d_tanh"
    text = check_local_derivative("exp", lambda a: "e^a")  # type: ignore[arg-type, return-value]
    assert text.first_disagreement == 0.5 and "str 'e^a', not a number" in str(text)
    with pytest.raises(ValueError, match="op must be one of exp, log, sigmoid, tanh, relu"):
        check_local_derivative("sin", math.cos)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_local_derivative("tanh", 0.5)  # type: ignore[arg-type]


# ============================================================ summary


def test_summary_says_all_checks_passed_only_when_every_exercise_passed() -> None:
    good = check_backprop({"E": RIGHT["E"]})
    assert (
        str(summary({"1": good, "2": [good, check_local_derivative("exp", math.exp)]})) == "all checks passed"
    )

    def stub() -> dict[str, float]:
        raise NotImplementedError("todo")

    progress = summary(
        {"1. forward": good, "2. deltas": check_backprop(stub), "3. mistakes": check_backprop({"E": 1.0})}
    )
    text = str(progress)
    assert not progress.all_passed and "all checks passed" not in text
    assert text.splitlines()[0] == "1 of 3 exercises passed"
    assert re.search(r"2\. deltas\s+not done yet", text) and re.search(r"3\. mistakes\s+to fix", text)
    mixed = summary({"both": [good, check_backprop(stub)]})
    assert mixed.items == (("both", "not done yet"),)
    with pytest.raises(ValueError, match="has no report"):
        summary({"empty": []})


# ============================================================ packaging


def test_importable_without_hypothesis_torch_or_jupyter() -> None:
    code = (
        "import sys\n"
        "for name in ('hypothesis', 'torch', 'IPython', 'ipykernel', 'nbformat', 'numpy', 'micrograd'):\n"
        "    sys.modules[name] = None\n"
        "import micrograd_lite.exercises as ex\n"
        "print(ex.check_backprop({'E': 0.710355}).ok)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_no_check_leaves_a_thread_behind_except_an_abandoned_one() -> None:
    before = {t.ident for t in threading.enumerate()}
    check_value_class(sv.Good)
    after = {t.ident for t in threading.enumerate() if t.name == "check_value_class"}
    assert after <= before
