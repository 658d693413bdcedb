"""Reference solutions for notebooks/07_your_turn_backprop_by_hand.ipynb.

Each ``# %% <cell id>`` section replaces the exercise cell with that id; tests/test_exercise_notebooks.py
applies them to a copy of the notebook, runs it to the end and asserts that every check passes. The
names they use (``W``, ``b``, ``x_1``, ``sigma``, ...) are defined by the notebook's first cells.
"""
# ruff: noqa: F821


# %% 07-exercise-1
def layer_1():
    """a[1]_i and z[1]_i for i = 1, 2."""
    answers = {}
    for i in (1, 2):
        a = W(1, i, 1) * x_1 + W(1, i, 2) * x_2 + b(1, i)
        answers[f"a[1]_{i}"] = a
        answers[f"z[1]_{i}"] = sigma(a)
    return answers


# %% 07-exercise-2
def layer_2_and_output():
    """a[2]_i, z[2]_i for i = 1, 2; a[3], y = z[3]; and E."""
    mine = layer_1()
    z1 = [mine["z[1]_1"], mine["z[1]_2"]]
    answers = {}
    for i in (1, 2):
        a = W(2, i, 1) * z1[0] + W(2, i, 2) * z1[1] + b(2, i)
        answers[f"a[2]_{i}"] = a
        answers[f"z[2]_{i}"] = sigma(a)
    a3 = W(3, 1, 1) * answers["z[2]_1"] + W(3, 1, 2) * answers["z[2]_2"] + b(3, 1)
    y = sigma(a3)
    answers.update({"a[3]": a3, "y": y, "E": -t * math.log(y) - (1 - t) * math.log(1 - y)})
    return answers


# %% 07-exercise-3
def output_delta():
    """delta[3] = dE/da[3]."""
    y = layer_2_and_output()["y"]
    return {"delta[3]": y - t}  # (-t/y + (1 - t)/(1 - y)) * y (1 - y) = y - t


# %% 07-exercise-4
def hidden_deltas():
    """delta[2]_1, delta[2]_2, then delta[1]_1, delta[1]_2."""
    z = {**layer_1(), **layer_2_and_output()}
    delta3 = output_delta()["delta[3]"]
    answers = {}
    for i in (1, 2):
        z2 = z[f"z[2]_{i}"]
        answers[f"delta[2]_{i}"] = z2 * (1 - z2) * delta3 * W(3, 1, i)
    for i in (1, 2):
        z1 = z[f"z[1]_{i}"]
        path_sum = sum(answers[f"delta[2]_{k}"] * W(2, k, i) for k in (1, 2))
        answers[f"delta[1]_{i}"] = z1 * (1 - z1) * path_sum
    return answers


# %% 07-exercise-5
def gradients():
    """dE/dW[l]_ij and dE/db[l]_i for every weight and bias of the network."""
    mine = {**layer_1(), **layer_2_and_output(), **output_delta(), **hidden_deltas()}
    delta = {(3, 1): mine["delta[3]"], **{(l, i): mine[f"delta[{l}]_{i}"] for l in (1, 2) for i in (1, 2)}}
    z = {(0, 1): x_1, (0, 2): x_2, **{(l, i): mine[f"z[{l}]_{i}"] for l in (1, 2) for i in (1, 2)}}
    answers = {}
    for l, units in ((1, 2), (2, 2), (3, 1)):
        for i in range(1, units + 1):
            for j in (1, 2):
                answers[f"dE/dW[{l}]_{i}{j}"] = delta[l, i] * z[l - 1, j]
            answers[f"dE/db[{l}]_{i}"] = delta[l, i]
    return answers
