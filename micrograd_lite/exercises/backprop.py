"""``check_backprop``: grade backpropagation worked by hand, number by number, in the lecture's labels.

A student gives any of ``E``, ``y``, ``a[l]_i``, ``z[l]_i``, ``delta[l]_i``, ``dE/dW[l]_ij``,
``dE/db[l]_i``. The expected numbers come from the engine (one forward and one backward pass,
:func:`micrograd_lite.delta_table`). To tell a mistake from its consequences, every given number
is also recomputed with the lecture's formula from the student's *own* upstream numbers::

    a[l]_i     = sum_j W[l]_ij z[l-1]_j + b[l]_i          z[l]_i = f(a[l]_i)
    delta[L]_i = dE/dz[L]_i f'(a[L]_i)   (= y - t for sigmoid + cross-entropy, identity + squared error)
    delta[l]_i = f'(a[l]_i) sum_k delta[l+1]_k W[l+1]_ki
    dE/dW[l]_ij = delta[l]_i z[l-1]_j                     dE/db[l]_i = delta[l]_i

A wrong number that equals its formula on the student's numbers, one of which is wrong, *follows*
from that earlier mistake; any other wrong number is a mistake of its own and gets a hint: the
formula with the student's numbers plugged in, and the slip it looks like (a sign, a missing
``f'``, ``f'`` at ``z`` instead of ``a``, ``W`` not transposed, a path left out, ...).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from micrograd_lite import numerics
from micrograd_lite.delta_table import delta_table
from micrograd_lite.exercises.display import NOT_DONE, TO_FIX, Table, TableReport, describe_exception, num
from micrograd_lite.losses import binary_cross_entropy_terms, squared_error_terms
from micrograd_lite.nn import MLP, Activation, subscript
from micrograd_lite.worked_example import BIASES, WEIGHTS, T, X

LossName = Literal["binary_cross_entropy", "squared_error"]
Answers = Mapping[str, object]

#: Numbers rounded to 4 significant figures are within 5e-4 of the truth, relatively.
DEFAULT_REL_TOL = 5e-4
_ABS_TOL = 1e-12  # a quantity that is 0 up to rounding: any tiny answer is right

# A quantity: (kind, l, i, j), unused indices 0. Kinds: a, z, E, delta, dW, db.
Key = tuple[str, int, int, int]

FORMS = "E, y, a[l]_i, z[l]_i, delta[l]_i, dE/dW[l]_ij, dE/db[l]_i (e.g. 'delta[2]_1', 'dE/dW[1]_12')"
_UNIT = re.compile(r"^(a|z|delta)\[(\d+)\](?:_(\d+))?$")
_WEIGHT = re.compile(r"^dE/dW\[(\d+)\]_(\d+)(?:,(\d+))?$")
_BIAS = re.compile(r"^dE/db\[(\d+)\](?:_(\d+))?$")
_OUTPUT = re.compile(r"^y(?:_(\d+))?$")


# ------------------------------------------------------------------ the network and its labels


def _sigma(a: float) -> float:
    return numerics.sigmoid(a)


def _f(activation: str, a: float) -> float:
    """The activation ``f(a)``."""
    if activation == "sigmoid":
        return numerics.sigmoid(a)
    if activation == "tanh":
        return math.tanh(a)
    if activation == "relu":
        return a if a > 0.0 else 0.0
    return a


def _f_prime_from_z(activation: str, z: float) -> float:
    """``f'(a)`` written with the unit's output ``z = f(a)``, as the lecture does."""
    if activation == "sigmoid":
        return z * (1.0 - z)
    if activation == "tanh":
        return 1.0 - z * z
    if activation == "relu":
        return 1.0 if z > 0.0 else 0.0
    return 1.0


class _Network:
    """The numbers of one network and example, its quantities in the order a student computes them."""

    def __init__(
        self,
        x: Sequence[float],
        t: float | Sequence[float],
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        activations: Activation | Sequence[Activation],
        loss: str,
    ) -> None:
        if loss not in ("binary_cross_entropy", "squared_error"):
            raise ValueError(
                f"loss must be 'binary_cross_entropy' or 'squared_error', got {loss!r} "
                "(check_backprop grades the lecture's sigmoid and regression outputs)"
            )
        model = MLP.from_weights(weights, biases, activations)
        self.activations = [layer.activation for layer in model.layers]
        if "softmax" in self.activations:
            raise ValueError("activations: check_backprop does not grade softmax outputs; use sigmoid")
        self.sizes = model.sizes
        self.L = len(model.layers)
        self.W = model.weights()
        self.b = model.biases()
        self.loss = loss
        K = self.sizes[-1]
        if isinstance(t, numbers.Real) and not isinstance(t, bool):
            targets = [float(t)]
        elif isinstance(t, Sequence) and not isinstance(t, (str, bytes)):
            targets = list(t)
        else:
            raise TypeError(f"t must be a number (or a list of {K} numbers), got {type(t).__name__}")
        if len(targets) != K:
            raise ValueError(f"t: the network has {K} output unit(s) but t has {len(targets)} number(s)")
        table = delta_table(model, x, targets[0] if K == 1 else targets, loss=loss)  # type: ignore[arg-type]
        self.x = table.x
        self.t = [float(tk) for tk in targets]
        correct: dict[Key, float] = {("E", 0, 0, 0): table.E}
        for row in table.units:
            correct[("a", row.layer, row.index, 0)] = row.a
            correct[("z", row.layer, row.index, 0)] = row.z
            correct[("delta", row.layer, row.index, 0)] = row.delta
        for l, layer in enumerate(model.layers, start=1):
            for i, neuron in enumerate(layer.neurons, start=1):
                for j, w in enumerate(neuron.W, start=1):
                    correct[("dW", l, i, j)] = w.grad
                correct[("db", l, i, 0)] = neuron.b.grad
        self.correct = correct
        self.order = self._order()
        self.position = {key: n for n, key in enumerate(self.order)}

    def _order(self) -> list[Key]:
        """The forward pass layer by layer, E, the deltas from the output back, then the gradients."""
        order: list[Key] = []
        for l in range(1, self.L + 1):
            for i in range(1, self.sizes[l] + 1):
                order += [("a", l, i, 0), ("z", l, i, 0)]
        order.append(("E", 0, 0, 0))
        for l in range(self.L, 0, -1):
            order += [("delta", l, i, 0) for i in range(1, self.sizes[l] + 1)]
        for l in range(self.L, 0, -1):
            for i in range(1, self.sizes[l] + 1):
                order += [("dW", l, i, j) for j in range(1, self.sizes[l - 1] + 1)]
                order.append(("db", l, i, 0))
        return order

    def label(self, key: Key) -> str:
        """The canonical lecture label of a quantity."""
        kind, l, i, j = key
        if kind == "E":
            return "E"
        if kind == "dW":
            return f"dE/dW[{l}]_{subscript(i, j)}"
        if kind == "db":
            return f"dE/db[{l}]_{i}"
        return f"{kind}[{l}]_{i}"

    def parse(self, label: object, what: str = "answers") -> Key:
        """A student's label as a quantity of this network; a clear error for anything else."""
        if not isinstance(label, str):
            raise TypeError(f"{what}: a label must be a str such as 'delta[2]_1', got {type(label).__name__}")
        text = "".join(label.split()).replace("δ", "delta")
        if text == "E":
            return ("E", 0, 0, 0)
        match = _OUTPUT.match(text)
        if match:
            K = self.sizes[-1]
            k = int(match.group(1)) if match.group(1) else 1
            if match.group(1) is None and K > 1:
                raise ValueError(f"{what}: {label!r}: the network has {K} outputs; say which, y_1 .. y_{K}")
            self._check_unit(label, what, self.L, k)
            return ("z", self.L, k, 0)
        match = _UNIT.match(text)
        if match:
            kind, l = match.group(1), int(match.group(2))
            if l == 0:
                raise ValueError(
                    f"{what}: {label!r}: layer 0 is the input x_j, which is given, not an answer"
                )
            i = self._unit_index(label, what, l, match.group(3))
            return (kind, l, i, 0)
        match = _WEIGHT.match(text)
        if match:
            l = int(match.group(1))
            if match.group(3) is not None:
                i, j = int(match.group(2)), int(match.group(3))
            elif len(match.group(2)) == 2:
                i, j = int(match.group(2)[0]), int(match.group(2)[1])
            else:
                raise ValueError(
                    f"{what}: {label!r}: write the two indices of W[l]_ij as two digits ('W[1]_12') "
                    "or, when one exceeds 9, with a comma ('W[2]_1,12')"
                )
            self._check_unit(label, what, l, i)
            if not 1 <= j <= self.sizes[l - 1]:
                source = "inputs x_j" if l == 1 else f"units in layer {l - 1}"
                raise ValueError(
                    f"{what}: {label!r}: W[{l}]_ij has j = 1..{self.sizes[l - 1]} "
                    f"(there are {self.sizes[l - 1]} {source}), got j = {j}"
                )
            return ("dW", l, i, j)
        match = _BIAS.match(text)
        if match:
            l = int(match.group(1))
            return ("db", l, self._unit_index(label, what, l, match.group(2)), 0)
        raise ValueError(f"{what}: {label!r} is not a label of the lecture; use one of {FORMS}")

    def _unit_index(self, label: str, what: str, l: int, index: str | None) -> int:
        self._check_layer(label, what, l)
        if index is None:
            if self.sizes[l] != 1:
                raise ValueError(
                    f"{what}: {label!r}: layer {l} has {self.sizes[l]} units; add the unit, e.g. {label}_1"
                )
            return 1
        i = int(index)
        self._check_unit(label, what, l, i)
        return i

    def _check_layer(self, label: str, what: str, l: int) -> None:
        if not 1 <= l <= self.L:
            raise ValueError(
                f"{what}: {label!r}: the network has layers 1..{self.L} "
                f"({self.L} weight layers), not layer {l}"
            )

    def _check_unit(self, label: str, what: str, l: int, i: int) -> None:
        self._check_layer(label, what, l)
        if not 1 <= i <= self.sizes[l]:
            raise ValueError(
                f"{what}: {label!r}: layer {l} has units 1..{self.sizes[l]}, there is no unit {i}"
            )


# ------------------------------------------------------------------ recomputing from a student's numbers


@dataclass(frozen=True)
class _Formula:
    """A quantity recomputed from the student's numbers: its value, written out, and likely slips."""

    value: float
    text: str  # "delta[2]_1 = f'(a[2]_1) sum_k ... = 0.249999 * (-0.50853 * 0.5) = -0.0635661"
    used: tuple[Key, ...]  # the student's numbers it was computed from
    slips: tuple[tuple[str, float], ...]  # (what went wrong, the number that slip gives)


def _pair(first: int | str, second: int | str) -> str:
    """Two indices as the lecture writes them: ``ij``, or ``i,j`` once one has more than one digit."""
    first, second = str(first), str(second)
    return first + second if len(first) == len(second) == 1 else f"{first},{second}"


class _Recompute:
    """The lecture's formulas evaluated on the student's numbers, the correct ones where none was given."""

    def __init__(self, net: _Network, given: Mapping[Key, float]) -> None:
        self.net = net
        self.given = given

    def value(self, key: Key) -> tuple[float, tuple[Key, ...]]:
        if key in self.given:
            return self.given[key], (key,)
        return self.net.correct[key], ()

    def z(self, l: int, j: int) -> tuple[float, tuple[Key, ...], str]:
        """``z[l]_j`` as the student has it (computed from their ``a`` if only that was given)."""
        if l == 0:
            return self.net.x[j - 1], (), f"x_{j}"
        key, a_key = ("z", l, j, 0), ("a", l, j, 0)
        if key not in self.given and a_key in self.given:
            return _f(self.net.activations[l - 1], self.given[a_key]), (a_key,), f"z[{l}]_{j}"
        value, used = self.value(key)
        return value, used, f"z[{l}]_{j}"

    def f_prime(self, l: int, i: int) -> tuple[float, tuple[Key, ...]]:
        """``f'(a[l]_i)``, from the student's ``z[l]_i`` (or ``a[l]_i``) where given."""
        z, used, _ = self.z(l, i)
        return _f_prime_from_z(self.net.activations[l - 1], z), used

    def formula(self, key: Key) -> _Formula:
        kind = key[0]
        if kind == "a":
            return self._a(key[1], key[2])
        if kind == "z":
            return self._z(key[1], key[2])
        if kind == "E":
            return self._E()
        if kind == "delta":
            return self._output_delta(key[2]) if key[1] == self.net.L else self._hidden_delta(key[1], key[2])
        if kind == "dW":
            return self._dW(key[1], key[2], key[3])
        return self._db(key[1], key[2])

    def _a(self, l: int, i: int) -> _Formula:
        net = self.net
        W, b = net.W[l - 1], net.b[l - 1][i - 1]
        inputs = [self.z(l - 1, j) for j in range(1, net.sizes[l - 1] + 1)]
        r = sum(W[i - 1][j] * z for j, (z, _, _) in enumerate(inputs)) + b
        used = tuple(k for _, u, _ in inputs for k in u)
        prev = "x" if l == 1 else f"z[{l - 1}]"
        products = " + ".join(f"{num(W[i - 1][j])} * {num(z)}" for j, (z, _, _) in enumerate(inputs))
        formula = f"a[{l}]_{i} = sum_j W[{l}]_{_pair(i, 'j')} {prev}_j + b[{l}]_{i}"
        text = f"{formula} = {products} + {num(b)} = {num(r)}"
        slips = [("the sign", -r)]
        if b != 0.0:
            slips.append((f"the bias b[{l}]_{i} is missing", r - b))
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        if n_in <= n_out and i <= n_in:
            transposed = sum(W[j][i - 1] * z for j, (z, _, _) in enumerate(inputs)) + b
            slips.append(
                (
                    f"W[{l}] is transposed: a[{l}]_{i} takes W[{l}]_{_pair(i, 'j')}, "
                    f"not W[{l}]_{_pair('j', i)}",
                    transposed,
                )
            )
        if l > 1:
            a_prev = [self.value(("a", l - 1, j, 0))[0] for j in range(1, n_in + 1)]
            slips.append(
                (
                    f"a[{l - 1}]_j was used instead of z[{l - 1}]_j: layer {l} takes the outputs z = f(a)",
                    sum(W[i - 1][j] * a for j, a in enumerate(a_prev)) + b,
                )
            )
        return _Formula(r, text, used, tuple(slips))

    def _z(self, l: int, i: int) -> _Formula:
        activation = self.net.activations[l - 1]
        a, used = self.value(("a", l, i, 0))
        r = _f(activation, a)
        name = f"z[{l}]_{i}"
        if l == self.net.L:
            name = ("y" if self.net.sizes[-1] == 1 else f"y_{i}") + f" = {name}"
        written = {
            "sigmoid": (f"sigma(a[{l}]_{i})", f"sigma({num(a)})"),
            "tanh": (f"tanh(a[{l}]_{i})", f"tanh({num(a)})"),
            "relu": (f"max(0, a[{l}]_{i})", f"max(0, {num(a)})"),
            "identity": (f"a[{l}]_{i}", num(a)),
        }[activation]
        text = f"{name} = {written[0]} = {written[1]} = {num(r)}"
        slips = [("the sign", -r)]
        if activation != "identity":
            slips.append((f"f was not applied: z[{l}]_{i} = f(a[{l}]_{i}), not a[{l}]_{i}", a))
        if activation == "sigmoid":
            slips.append(("the sign in the exponent: sigma(a) = 1 / (1 + e^(-a))", _sigma(-a)))
        return _Formula(r, text, used, tuple(slips))

    def _E(self) -> _Formula:
        net = self.net
        K = net.sizes[-1]
        outputs = [self.z(net.L, k) for k in range(1, K + 1)]
        ys = [y for y, _, _ in outputs]
        used = tuple(k for _, u, _ in outputs for k in u)
        if net.loss == "binary_cross_entropy":
            r = binary_cross_entropy_terms(ys, net.t)[0]
            if K == 1:
                y, t = ys[0], net.t[0]
                text = (
                    f"E = -t log y - (1 - t) log(1 - y) = -{num(t)} * log({num(y)}) "
                    f"- {num(1 - t)} * log({num(1 - y)}) = {num(r)}"
                )
            else:
                values = ", ".join(f"y_{k} = {num(y)}" for k, y in enumerate(ys, start=1))
                text = f"E = -sum_k {{t_k log y_k + (1 - t_k) log(1 - y_k)}} with {values} = {num(r)}"
            slips = [
                ("the sign", -r),
                ("log10 was used: the lecture's log is the natural log, ln", r / math.log(10)),
            ]
        else:
            r = squared_error_terms(ys, net.t)[0]
            squares = " + ".join(f"({num(t)} - {num(y)})^2" for y, t in zip(ys, net.t))
            text = f"E = 1/2 sum_k (t_k - y_k)^2 = 0.5 * ({squares}) = {num(r)}"
            slips = [("the sign", -r), ("the factor 1/2 is missing", 2.0 * r)]
        return _Formula(r, text, used, tuple(slips))

    def _output_delta(self, i: int) -> _Formula:
        net = self.net
        L, activation = net.L, net.activations[-1]
        y, used_y, _ = self.z(L, i)
        t = net.t[i - 1]
        y_name, t_name = ("y", "t") if net.sizes[-1] == 1 else (f"y_{i}", f"t_{i}")
        if net.loss == "binary_cross_entropy":
            dE_dy = -numerics.div(t, y) + numerics.div(1.0 - t, 1.0 - y)
            dE_dy_text = f"-{t_name}/{y_name} + (1 - {t_name})/(1 - {y_name})"
        else:
            dE_dy = y - t
            dE_dy_text = f"({y_name} - {t_name})"
        paired = (net.loss, activation) in {
            ("binary_cross_entropy", "sigmoid"),
            ("squared_error", "identity"),
        }
        slips: list[tuple[str, float]]
        if paired:  # the lecture's simplification: dE/dy f'(a) = y - t
            r = y - t
            text = f"delta[{L}]_{i} = {y_name} - {t_name} = {num(y)} - {num(t)} = {num(r)}"
            slips = [("the sign", -r)]
            if activation == "sigmoid":
                slips.append((f"the factor f'(a[{L}]_{i}) = y(1 - y) is missing: that is dE/dy alone", dE_dy))
            return _Formula(r, text, used_y, tuple(slips))
        fp, used_fp = self.f_prime(L, i)
        r = dE_dy * fp
        text = (
            f"delta[{L}]_{i} = dE/d{y_name} f'(a[{L}]_{i}) = {dE_dy_text} f'(a[{L}]_{i}) "
            f"= {num(dE_dy)} * {num(fp)} = {num(r)}"
        )
        slips = [("the sign", -r)]
        if activation != "identity":
            slips.append((f"the factor f'(a[{L}]_{i}) is missing", dE_dy))
            slips.append(self._f_prime_at_z(L, i, dE_dy))
        return _Formula(r, text, used_y + used_fp, tuple(slips))

    def _f_prime_at_z(self, l: int, i: int, factor: float) -> tuple[str, float]:
        """The slip ``f'(z[l]_i)``: the derivative taken at the unit's output instead of its input."""
        activation = self.net.activations[l - 1]
        z, _, _ = self.z(l, i)
        return (
            f"f' was evaluated at z[{l}]_{i} instead of a[{l}]_{i}",
            _f_prime_from_z(activation, _f(activation, z)) * factor,
        )

    def _hidden_delta(self, l: int, i: int) -> _Formula:
        net = self.net
        activation = net.activations[l - 1]
        W_next = net.W[l]  # W[l+1], n_(l+1) x n_l
        fp, used_fp = self.f_prime(l, i)
        deltas = [self.value(("delta", l + 1, k, 0)) for k in range(1, net.sizes[l + 1] + 1)]
        terms = [d * W_next[k][i - 1] for k, (d, _) in enumerate(deltas)]
        s = sum(terms)
        r = fp * s
        written = " + ".join(f"{num(d)} * {num(W_next[k][i - 1])}" for k, (d, _) in enumerate(deltas))
        text = (
            f"delta[{l}]_{i} = f'(a[{l}]_{i}) sum_k delta[{l + 1}]_k W[{l + 1}]_{_pair('k', i)} "
            f"= {num(fp)} * ({written}) = {num(r)}"
        )
        used = used_fp + tuple(k for _, u in deltas for k in u)
        slips = [("the sign", -r)]
        if activation != "identity":
            slips.append((f"the factor f'(a[{l}]_{i}) is missing", s))
            slips.append(self._f_prime_at_z(l, i, s))
            if activation in ("sigmoid", "tanh"):
                a, _ = self.value(("a", l, i, 0))
                form = "a(1 - a)" if activation == "sigmoid" else "1 - a^2"
                right = "z(1 - z)" if activation == "sigmoid" else "1 - z^2"
                slips.append(
                    (
                        f"f'(a[{l}]_{i}) was computed as {form} from a[{l}]_{i}; it is {right} "
                        f"with z[{l}]_{i} = f(a[{l}]_{i})",
                        _f_prime_from_z(activation, a) * s,
                    )
                )
        n_next, n_here = net.sizes[l + 1], net.sizes[l]
        if i <= n_next and n_next <= n_here:
            transposed = sum(d * W_next[i - 1][k] for k, (d, _) in enumerate(deltas))
            slips.append(
                (
                    f"W[{l + 1}] is not transposed: the sum takes W[{l + 1}]_{_pair('k', i)} "
                    f"(out of unit {i}), not W[{l + 1}]_{_pair(i, 'k')}",
                    fp * transposed,
                )
            )
        if len(terms) > 1:
            for k, term in enumerate(terms, start=1):
                slips.append(
                    (
                        f"the path through a[{l + 1}]_{k} is missing (the term delta[{l + 1}]_{k} "
                        f"W[{l + 1}]_{subscript(k, i)})",
                        fp * (s - term),
                    )
                )
        return _Formula(r, text, used, tuple(slips))

    def _dW(self, l: int, i: int, j: int) -> _Formula:
        net = self.net
        d, used_d = self.value(("delta", l, i, 0))
        z, used_z, z_name = self.z(l - 1, j)
        r = d * z
        text = f"dE/dW[{l}]_{subscript(i, j)} = delta[{l}]_{i} {z_name} = {num(d)} * {num(z)} = {num(r)}"
        slips = [("the sign", -r)]
        if j <= net.sizes[l] and i <= net.sizes[l - 1]:
            d_j, _ = self.value(("delta", l, j, 0))
            z_i, _, z_i_name = self.z(l - 1, i)
            slips.append((f"the indices are swapped: that is delta[{l}]_{j} {z_i_name}", d_j * z_i))
        w = net.W[l - 1][i - 1][j - 1]
        slips.append((f"multiplied by the weight W[{l}]_{subscript(i, j)} instead of {z_name}", d * w))
        if j <= net.sizes[l]:
            z_same, _, _ = self.z(l, j)
            slips.append(
                (f"z[{l}]_{j} was used: the weight's input is {z_name}, from layer {l - 1}", d * z_same)
            )
        if l > 1:
            a_prev, _ = self.value(("a", l - 1, j, 0))
            slips.append((f"a[{l - 1}]_{j} was used instead of z[{l - 1}]_{j}", d * a_prev))
        return _Formula(r, text, used_d + used_z, tuple(slips))

    def _db(self, l: int, i: int) -> _Formula:
        d, used = self.value(("delta", l, i, 0))
        text = f"dE/db[{l}]_{i} = delta[{l}]_{i} = {num(d)}"
        return _Formula(d, text, used, (("the sign", -d),))


# ------------------------------------------------------------------ the report


@dataclass(frozen=True)
class BackpropRow:
    """One given answer: the expected number, the given one and the verdict.

    ``verdict`` is ``"right"``, ``"wrong"`` (a mistake of its own; ``hint`` says more) or
    ``"follows from <label>"`` (right for the student's earlier wrong number ``follows_from``).
    """

    label: str
    expected: float
    given: float
    verdict: str
    hint: str | None = None
    follows_from: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.startswith("right")


@dataclass(frozen=True, repr=False)  # shown as its table (TableReport)
class BackpropReport(TableReport):
    """What :func:`check_backprop` found; shows as a table in Jupyter and as text in ``str()``."""

    rows: tuple[BackpropRow, ...]
    missing: tuple[str, ...] = ()  # labels ``expect`` asked for that were not given
    not_done: str | None = None  # the message of the student's NotImplementedError
    error: str | None = None  # the student's code raised something else

    @property
    def ok(self) -> bool:
        """Every given answer is right (False while the answers are not done or their code failed)."""
        return self.not_done is None and self.error is None and all(row.ok for row in self.rows)

    @property
    def done(self) -> bool:
        """There are answers, none that ``expect`` asked for is missing, and their code ran."""
        return self.not_done is None and self.error is None and not self.missing and bool(self.rows)

    @property
    def passed(self) -> bool:
        """Done, and every answer right."""
        return self.done and self.ok

    @property
    def status(self) -> str:
        """``passed``, ``to fix`` (a mistake, or the code raised) or ``not done yet``."""
        if self.error is not None or (self.not_done is None and not self.ok):
            return TO_FIX
        return "passed" if self.passed else NOT_DONE

    @property
    def first_error(self) -> str | None:
        """The label of the earliest wrong answer in the order they are computed, or None."""
        return next((row.label for row in self.rows if not row.ok), None)

    @property
    def hints(self) -> list[str]:
        return [row.hint for row in self.rows if row.hint]

    def _table(self) -> Table:
        if self.not_done is not None:
            return Table(f"{NOT_DONE}: {self.not_done}", (), ())
        if self.error is not None:
            return Table(f"your code raised {self.error}", (), ())
        right = sum(row.ok for row in self.rows)
        wrong = sum(row.verdict == "wrong" for row in self.rows)
        follows = len(self.rows) - right - wrong
        n = len(self.rows)
        if n == 0:
            title = f"{NOT_DONE}: no answers given"
        elif right == n:
            title = f"all {n} answers right" if n > 1 else "the answer is right"
        else:
            title = f"{n} answer{'s' if n != 1 else ''}: {right} right, {wrong} wrong" + (
                f", {follows} following from them" if follows else ""
            )
            if self.first_error:
                title += f"; first mistake: {self.first_error}"
        notes = [f"hint: {hint}" for hint in self.hints]
        if self.missing:
            notes.append(f"{NOT_DONE}: {', '.join(self.missing)}")
        rows = [(row.label, num(row.expected), num(row.given), row.verdict) for row in self.rows]
        header = ("quantity", "expected", "given", "verdict")
        return Table(title, header, rows, notes, verdict_column=3, numeric_columns=(1, 2))


# ------------------------------------------------------------------ check_backprop


def _answer(label: str, value: object) -> float | None:
    """A given number as a float; ``...`` means not answered yet (None)."""
    if value is Ellipsis:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        extra = ""
        if hasattr(value, "data") and hasattr(value, "grad"):
            extra = " (for a Value give its number: v.data, or v.grad for a gradient)"
        elif isinstance(value, str):
            extra = " (write the number without quotes)"
        raise TypeError(
            f"answers[{label!r}] must be a number, got {type(value).__name__} {value!r:.40}{extra}"
        )
    return float(value)


def check_backprop(
    answers: Answers | Callable[[], Answers],
    *,
    x: Sequence[float] = X,
    t: float | Sequence[float] = T,
    weights: Sequence[Sequence[Sequence[float]]] | None = None,
    biases: Sequence[Sequence[float]] | None = None,
    activations: Activation | Sequence[Activation] = "sigmoid",
    loss: LossName = "binary_cross_entropy",
    rel_tol: float = DEFAULT_REL_TOL,
    expect: Iterable[str] = (),
) -> BackpropReport:
    """Grade numbers worked by hand on the lecture's network (by default its worked example).

    ``answers`` maps lecture labels (``E``, ``y``, ``a[l]_i``, ``z[l]_i``, ``delta[l]_i``,
    ``dE/dW[l]_ij``, ``dE/db[l]_i``) to numbers; give as many as you like. It may also be a
    function returning that mapping: if the function raises ``NotImplementedError`` the report
    says "not done yet", and any other exception it raises is shown in one line. A value ``...``
    means "not answered yet". ``expect`` lists labels the exercise asks for: those not given are
    listed as not done yet. A number within ``rel_tol`` (relative; 5e-4 by default, so 4
    significant figures are enough) of the expected one is right.

    Bad input raises: TypeError for a non-number or a label that is not a str, ValueError for a
    malformed label or one naming a unit the network does not have.
    """
    if isinstance(rel_tol, bool) or not isinstance(rel_tol, numbers.Real):
        raise TypeError(f"rel_tol must be a number, got {type(rel_tol).__name__}")
    if not 0.0 < rel_tol < 1.0:
        raise ValueError(
            f"rel_tol must be between 0 and 1 (5e-4 accepts 4 significant figures), got {rel_tol!r}"
        )
    if weights is None and biases is None:
        weights, biases = WEIGHTS, BIASES
    elif weights is None or biases is None:
        raise ValueError("give weights and biases together (or neither, for the lecture's worked example)")
    net = _Network(x, t, weights, biases, activations, loss)
    if isinstance(expect, str):
        expect = [expect]
    expected = {net.parse(label, "expect"): label.strip() for label in expect}

    if callable(answers):
        name = getattr(answers, "__name__", "answers")
        try:
            result = answers()
        except NotImplementedError as error:
            return BackpropReport((), not_done=str(error) or f"{name}() is not written yet")
        except Exception as error:
            return BackpropReport((), error=describe_exception(error))
        if not isinstance(result, Mapping):
            hint = ": did it forget to `return` them?" if result is None else ""
            raise TypeError(
                f"{name}() must return a dict of labels to numbers, e.g. {{'a[1]_1': 0.15}}; "
                f"it returned {type(result).__name__}{hint}"
            )
        answers = result
    if not isinstance(answers, Mapping):
        raise TypeError(
            f"answers must be a dict of labels to numbers, e.g. {{'a[1]_1': 0.15}}, "
            f"or a function returning one; got {type(answers).__name__}"
        )

    given: dict[Key, float] = {}
    shown: dict[Key, str] = {}
    for label, value in answers.items():
        key = net.parse(label)
        number = _answer(label, value)
        if number is None:
            continue
        if key in given:
            raise ValueError(f"answers: {shown[key]!r} and {label!r} are the same quantity; give it once")
        given[key], shown[key] = number, label.strip()
    return _grade(net, given, shown, expected, rel_tol)


def _grade(
    net: _Network, given: dict[Key, float], shown: dict[Key, str], expect: dict[Key, str], rel_tol: float
) -> BackpropReport:
    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=_ABS_TOL)

    recompute = _Recompute(net, given)
    # root[k]: the original mistake behind answer k's number. A right answer (within rel_tol) can
    # carry a small part of an earlier mistake on to a later answer, so it may have a root too.
    root: dict[Key, Key] = {}
    rows = []
    for key in sorted(given, key=net.position.__getitem__):
        g, expected = given[key], net.correct[key]
        formula = recompute.formula(key)
        roots = sorted({root[u] for u in formula.used if u in root}, key=net.position.__getitem__)
        consistent = close(g, formula.value)  # what the formula gives on the student's numbers
        hint = follows = None
        if close(g, expected):
            verdict = "right"
            if consistent and roots:
                root[key] = roots[0]
        elif consistent and roots:
            root[key] = roots[0]
            follows = shown[roots[0]]
            verdict = f"follows from {follows}"
        elif consistent:  # right for the student's own rounded numbers
            verdict = "right (for your rounded numbers)"
        else:
            root[key] = key
            verdict = "wrong"
            hint = f"{formula.text}; you gave {num(g)}"
            for slip, value in formula.slips:
                if not close(value, formula.value) and close(g, value):
                    hint += f": {slip}"
                    break
        rows.append(BackpropRow(shown[key], expected, g, verdict, hint, follows))
    missing = tuple(expect[key] for key in sorted(set(expect) - set(given), key=net.position.__getitem__))
    return BackpropReport(tuple(rows), missing)
