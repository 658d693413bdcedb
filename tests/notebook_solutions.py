"""Answers to the notebooks' exercises, kept out of the notebooks (which fold theirs away in the text).

``SOLUTIONS[notebook][cell id]`` is the source that replaces the exercise's answer cell (tagged
``answer``, where the variable starts as ``None``); ``WRONG`` holds a plausible mistake for each,
which the checking cell must report as wrong. ``tests/test_notebooks.py`` runs every notebook with
each set and reads what the checking cells (``<answer cell id minus "-answer">-check``) printed.
"""

from __future__ import annotations

SOLUTIONS: dict[str, dict[str, str]] = {
    "01": {
        "01-ex1-answer": "dg_dx = 2 * 0.7 * -1.5",
        "01-ex2-answer": "def cube_derivative(u):\n    return 3 * u**2",
    },
    "02": {
        "02-ex1-answer": "def output_delta(y, t):\n    return (y - t) * y * (1 - y)",
        "02-ex2-answer": "dE_dW2_21 = 0.0752695 * 0.4255575",  # delta[2]_2 z[1]_1, copied from the printout
    },
    "03": {
        "03-ex1-answer": "paths_w3_L5 = 27",
        "03-ex2-answer": "paths_second_layer = 9",
    },
    "04": {
        "04-ex1-answer": (
            "exps = [math.exp(a) for a in (1, 2, 3)]\n"
            "softmax_delta = [e / sum(exps) - t_k for e, t_k in zip(exps, (1, 0, 0))]"
        ),
        "04-ex2-answer": "mismatched_delta = 0.9 * 0.9 * 0.1",
    },
    "05": {
        "05-ex1-answer": "smallest_layer = 1",
        "05-ex2-answer": "bound = 0.25**7",
    },
    "06": {
        "06-ex1-answer": "RATES = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016]\nlr_raw, lr_std = 0.001, 0.008",
        "06-ex2-answer": (
            "x_new_std = [(10.0 - standardizer.mean[0]) / standardizer.std[0],"
            " (0.5 - standardizer.mean[1]) / standardizer.std[1]]"
        ),
    },
    "09": {
        "09-ex1-answer": "n_parameters = 64 * 64 + 64 + 10 * 64 + 10",
        "09-ex2-answer": (
            "delta_output = [y_k - (1 if k == t_example else 0) for k, y_k in enumerate(y_example)]"
        ),
    },
}

WRONG: dict[str, dict[str, str]] = {
    "01": {
        "01-ex1-answer": "dg_dx = 0.7 * -1.5",  # one path only
        "01-ex2-answer": "def cube_derivative(u):\n    return u**2",
    },
    "02": {
        "02-ex1-answer": "def output_delta(y, t):\n    return y - t",  # the cross-entropy's delta
        "02-ex2-answer": "dE_dW2_21 = -0.0635661 * 0.6224593",  # dE/dW[2]_12: the indices swapped
    },
    "03": {
        "03-ex1-answer": "paths_w3_L5 = 81",  # w^(L-1)
        "03-ex2-answer": "paths_second_layer = 27",
    },
    "04": {
        "04-ex1-answer": (  # y, not y - t
            "exps = [math.exp(a) for a in (1, 2, 3)]\nsoftmax_delta = [e / sum(exps) for e in exps]"
        ),
        "04-ex2-answer": "mismatched_delta = 0.9 - 0",  # y - t: the slope of the sigmoid left out
    },
    "05": {
        "05-ex1-answer": "smallest_layer = 8",
        "05-ex2-answer": "bound = 0.25",
    },
    "06": {
        "06-ex1-answer": "RATES = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016]\nlr_raw, lr_std = 0.008, 0.008",
        "06-ex2-answer": "x_new_std = [10.0 / standardizer.std[0], 0.5 / standardizer.std[1]]",  # no mean
    },
    "09": {
        "09-ex1-answer": "n_parameters = 64 * 64 + 10 * 64",  # the biases left out
        "09-ex2-answer": "delta_output = list(y_example)",  # y, not y - t
    },
}
