r"""The lecture's matrix form, found in one example's scalar graph and written as numpy code.

Where the units of a layer share their inputs (every MLP), one example's graph holds, for each
layer l, ``n_l`` ``linear`` nodes ``a[l]_i`` over the same inputs ``z[l-1]``, each followed by
the layer's activation. :func:`recognise` finds those layers by walking the graph down from the
error node (nothing is taken from the model object), and :func:`compile_batched` then writes the
step for a batch of B examples (the rows of ``X``) as the lecture writes backpropagation::

    A[l]     = Z[l-1] @ W[l].T + b[l]           # (B, n_l)    Z[0] = X
    Z[l]     = f(A[l])                          # (B, n_l)
    Delta[L] = f'(A[L]) * dE/dZ[L]              # (B, n_L)    y - t for the paired errors
    Delta[l] = f'(A[l]) * (Delta[l+1] @ W[l+1]) # (B, n_l)
    dE/dW[l] = Delta[l].T @ Z[l-1]              # (n_l, n_{l-1}), summed over the batch
    dE/db[l] = sum over the batch of Delta[l]   # (n_l,)

``f`` and ``f'`` are the activation's table entry written for arrays
(:meth:`~micrograd_lite.primitives.Primitive.array_value_source`), the error and its
derivatives :data:`micrograd_lite.array_numerics.TERMS`; so the matrix code computes what the
per-node code computes, only grouped by layer. Names are made from layer numbers only (``A3``,
``Z2``, ``Delta3``, ``dE_dW3``): no label reaches the source.

A graph that is anything else (an extra operation, a weight used twice, a skip connection) is
compiled one array operation per node instead (:func:`micrograd_lite.batched.compile_per_node`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from micrograd_lite import losses
from micrograd_lite.autodiff import topological_order
from micrograd_lite.batched import BatchedGraph, Example, compile_per_node, namespace, require_numpy
from micrograd_lite.compiler import verify_nodes
from micrograd_lite.engine import SoftmaxOutput, Value
from micrograd_lite.primitives import PRIMITIVES


@dataclass
class MatrixLayer:
    """Layer l as the graph holds it: ``weights[i][j]`` and ``biases[i]`` are parameter indices
    (``parameters()`` order) of ``W[l]_ij`` and ``b[l]_i``; ``activation`` is the op of its
    outputs (``"softmax"``, or ``None`` where the error takes the logits ``A[l]`` itself)."""

    weights: list[list[int]]
    biases: list[int]
    activation: str | None

    @property
    def n_out(self) -> int:
        return len(self.biases)

    @property
    def n_in(self) -> int:
        return len(self.weights[0])


@dataclass
class Network:
    """The layers found in a graph, the columns of ``X`` the first one reads, and the error's op."""

    layers: list[MatrixLayer]
    input_columns: list[int]
    loss: str


def _linear_parts(node: Value) -> tuple[tuple[Value, ...], tuple[Value, ...], Value] | None:
    if node.op != "linear" or len(node.parents) % 2 != 1 or len(node.parents) < 3:
        return None
    n = (len(node.parents) - 1) // 2
    return node.parents[:n], node.parents[n : 2 * n], node.parents[-1]


def _layer_below(outputs: Sequence[Value]) -> tuple[list[Value], str | None] | None:
    """The linear nodes ``a[l]_i`` under a layer's outputs, and the activation, or None."""
    if all(isinstance(v, SoftmaxOutput) for v in outputs):
        logits = outputs[0].parents
        if len(logits) != len(outputs) or any(
            v.parents != logits or getattr(v, "index", None) != k for k, v in enumerate(outputs)
        ):
            return None
        return list(logits), "softmax"
    if all(v.op == "linear" for v in outputs):
        return list(outputs), None
    op = outputs[0].op
    entry = PRIMITIVES.get(op)
    if entry is None or not entry.activation or entry.arity != 1:
        return None
    if any(v.op != op or len(v.parents) != 1 or v.parents[0].op != "linear" for v in outputs):
        return None
    return [v.parents[0] for v in outputs], op


def recognise(example: Example, parameters: Sequence[Value]) -> Network | None:
    """The network's layers in ``example``'s graph (module docstring), or None if it is not one."""
    root = example.root
    if root.op not in losses.TERMS or len(root.parents) % 2 or not root.parents:
        return None
    K = len(root.parents) // 2
    outputs: Sequence[Value] = root.parents[:K]
    targets = root.parents[K:]
    if [id(t) for t in targets] != [id(t) for t in example.targets]:
        return None
    index = {id(p): i for i, p in enumerate(parameters)}
    columns = {id(x): j for j, x in enumerate(example.inputs)}
    layers: list[MatrixLayer] = []
    seen: set[int] = {id(root), *map(id, targets)}
    used: set[int] = set()
    input_columns: list[int] | None = None
    while input_columns is None:
        below = _layer_below(outputs)
        if below is None:
            return None
        linears, activation = below
        if activation is not None:
            seen.update(map(id, outputs))
        parts = [_linear_parts(a) for a in linears]
        if any(part is None for part in parts):
            return None
        shared = parts[0][1]  # type: ignore[index]
        weights: list[list[int]] = []
        biases: list[int] = []
        for a, part in zip(linears, parts):
            assert part is not None
            W, z, b = part
            if z != shared or any(id(v) not in index for v in (*W, b)):
                return None
            weights.append([index[id(w)] for w in W])
            biases.append(index[id(b)])
            seen.add(id(a))
        for i in (*(i for row in weights for i in row), *biases):
            if i in used:
                return None  # a weight used twice: the per-node form adds its two contributions
            used.add(i)
        layers.append(MatrixLayer(weights, biases, activation))
        if all(id(v) in columns for v in shared):
            input_columns = [columns[id(v)] for v in shared]
            seen.update(map(id, shared))
        else:
            outputs = list(shared)
            if len({id(v) for v in outputs}) != len(outputs):
                return None
    seen.update(id(p) for p in parameters if index[id(p)] in used)
    # Every node of the graph must be one of these: nothing else may hide among the layers.
    if any(id(node) not in seen for node in topological_order(root)):
        return None
    layers.reverse()
    if any(layer.activation in ("softmax", None) for layer in layers[:-1]):
        return None
    if layers[-1].activation is None and root.op not in ("sigmoid cross-entropy", "softmax cross-entropy"):
        return None  # (an error node on the linear outputs themselves is written per node)
    return Network(layers, input_columns, root.op)


def _shape(*dims: int | str) -> str:
    return f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(map(str, dims)) + ")"


def compile_batched(
    example: Example, parameters: Sequence[Value], check_finite: bool = False
) -> BatchedGraph:
    """The matrix form where :func:`recognise` finds the layers, else one operation per node."""
    network = recognise(example, parameters)
    if network is None:
        return compile_per_node(example, parameters, check_finite)
    verify_nodes([v for v in topological_order(example.root) if v.parents])
    return _write(network, len(parameters), len(example.targets), example.reduction == "mean", check_finite)


def _write(
    network: Network, n_parameters: int, n_targets: int, mean: bool, check_finite: bool
) -> BatchedGraph:
    np = require_numpy()
    layers, L = network.layers, len(network.layers)
    d = len(network.input_columns)
    # The code is two functions: make_step(w, G) takes its views of the parameters' values w and
    # of the gradients G once, and returns the step, which reads w and writes G on every call.
    setup = [
        "def make_step(w, G):",
        "    # views, taken once, of the parameters' values w and of their gradients G",
    ]
    lines = ["    def batched_step(X, T, scale):"]
    say = lines.append
    say("        # forward pass: A[l] = Z[l-1] @ W[l].T + b[l], Z[l] = f(A[l])")
    say("        # (_dot is numpy's dot, the @ of the formulas: on small matrices it costs less)")
    if network.input_columns == list(range(d)):
        say(f"        Z0 = X  # {_shape('B', d)}")
    else:
        say(f"        Z0 = X[:, {network.input_columns!r}]  # {_shape('B', d)}")
    order: list[int] = []  # the parameter index of each entry of G, as written
    checked: list[str] = []
    for l, layer in enumerate(layers, start=1):
        block = [[*row, b] for row, b in zip(layer.weights, layer.biases)]
        first = block[0][0]
        flat = [i for row in block for i in row]
        n, m = layer.n_out, layer.n_in
        shapes = f"{_shape(n, m)}, {_shape(n)}"
        views = f"W{l}, b{l} = Wb{l}[:, :{m}], Wb{l}[:, {m}]  # {shapes}"
        if flat == list(range(first, first + len(flat))):
            piece = f"w[{first}:{first + len(flat)}]"
            setup.append(f"    Wb{l} = {piece}.reshape({n}, {m + 1})  # W[{l}] | b[{l}]")
            setup.append(f"    {views}")
        else:  # a copy, so taken on every call
            say(f"        Wb{l} = w[_array({block!r})]  # W[{l}] | b[{l}], gathered")
            say(f"        {views}")
        offset = len(order)
        order.extend(flat)
        piece = f"G[{offset}:{len(order)}]"
        setup.append(f"    dE_dWb{l} = {piece}.reshape({n}, {m + 1})  # dE/dW[{l}] | dE/db[{l}]")
        setup.append(f"    dE_dW{l}, dE_db{l} = dE_dWb{l}[:, :{m}], dE_dWb{l}[:, {m}]  # {shapes}")
        say(f"        A{l} = _dot(Z{l - 1}, W{l}.T) + b{l}  # {_shape('B', n)}")
        checked.append(f"A{l}")
        if layer.activation == "softmax":
            say(f"        Z{l} = _softmax_rows(A{l})  # {_shape('B', n)}")
            checked.append(f"Z{l}")
        elif layer.activation is not None:
            value = PRIMITIVES[layer.activation].array_value_source(f"A{l}")
            say(f"        Z{l} = {value}  # {_shape('B', n)}")
            checked.append(f"Z{l}")
    top = layers[-1]
    K = top.n_out
    mean_note = " (scale = 1/B: the mean)" if mean else ""
    say(f"        # the error of each example, and the output delta{mean_note}")
    fn = "_matrix_" + "".join(c if c.isalpha() else "_" for c in network.loss)
    # dE_n/dT only where detect_anomaly() checks it (backward() computes it); else None, into _.
    d_targets, shapes_out = ("dE_dT", f", {_shape('B', n_targets)}") if check_finite else ("_", "")
    scaled = (lambda x: f"scale * {x}") if mean else (lambda x: x)
    if top.activation is None:  # paired: the error takes the logits, and dE_n/dA[L] is y - t
        call = f"{fn}(A{L}, T, target_grads={check_finite})"
        say(f"        E_n, dE_dA{L}, {d_targets} = {call}  # (B,), {_shape('B', K)}{shapes_out}")
        say(f"        Delta{L} = {scaled(f'dE_dA{L}')}  # {_shape('B', K)}")
    else:
        call = f"{fn}(Z{L}, T, target_grads={check_finite})"
        say(f"        E_n, dE_dZ{L}, {d_targets} = {call}  # (B,), {_shape('B', K)}{shapes_out}")
        if top.activation == "softmax":
            say(f"        Delta{L} = _softmax_backward(Z{L}, {scaled(f'dE_dZ{L}')})  # {_shape('B', K)}")
        else:
            derivative = _derivative(top.activation, L)
            gradient = scaled(f"dE_dZ{L}")
            if derivative is not None:
                gradient = f"{derivative} * " + (f"({gradient})" if mean else gradient)
            say(f"        Delta{L} = {gradient}  # {_shape('B', K)}")
        checked.append(f"dE_dZ{L}")
    checked += ["E_n", f"Delta{L}", "scale * dE_dT"]  # (only read with check_finite)
    say("        # backward pass: Delta[l] = f'(A[l]) * (Delta[l+1] @ W[l+1])")
    for l in range(L - 1, 0, -1):
        layer = layers[l - 1]
        assert layer.activation is not None
        derivative = _derivative(layer.activation, l)
        product = f"_dot(Delta{l + 1}, W{l + 1})"
        say(
            f"        Delta{l} = {product if derivative is None else f'{derivative} * {product}'}"
            f"  # {_shape('B', layer.n_out)}"
        )
        checked.append(f"Delta{l}")
        if check_finite:
            checked.append(product)
    say("        # gradients summed over the batch, written into G (unit by unit: W[l]_i1 .. W[l]_in,")
    say("        # then b[l]_i): dE/dW[l] = Delta[l].T @ Z[l-1], dE/db[l] = sum_n Delta[l]")
    say("        ones = _ones(X.shape[0])  # (B,): ones @ Delta sums over the batch")
    for l, layer in enumerate(layers, start=1):
        n, m = layer.n_out, layer.n_in
        say(f"        dE_dW{l}[...] = _dot(Delta{l}.T, Z{l - 1})  # {_shape(n, m)}")
        say(f"        dE_db{l}[...] = _dot(ones, Delta{l})  # {_shape(n)}")
        checked.append(f"dE_dWb{l}")
    if check_finite:
        checked.append("_dot(Delta1, W1)")  # dE/dx, which backward() computes too
    finite = f"_finite(({', '.join(checked)},))" if check_finite else "None"
    if order == list(range(n_parameters)):  # G is in parameters() order
        say(f"        return E_n, G.tolist(), {finite}")
    else:  # another order, or parameters the graph does not use (their gradient is 0)
        setup.append(f"    in_order = _array({order!r})  # the parameter of each entry of G")
        say(f"        grads = _zeros({n_parameters})")
        say("        grads[in_order] = G")
        say(f"        return E_n, grads.tolist(), {finite}")
    source = "\n".join([*setup, *lines, "    return batched_step", ""])
    scope = namespace()
    scope.update(
        _softmax_rows=_array_numerics().softmax,
        _softmax_backward=_softmax_backward,
        _zeros=np.zeros,
        _ones=_array_numerics().ones,
        _dot=np.dot,
        **{
            "_matrix_" + "".join(c if c.isalpha() else "_" for c in op): f
            for op, f in _array_numerics().TERMS.items()
        },
    )
    # The source is built from layer numbers, sizes, indices and fixed templates only.
    exec(compile(source, "<micrograd_lite batched step, matrix form>", "exec"), scope)
    weights = np.zeros(n_parameters)
    step = scope["make_step"](weights, np.zeros(len(order)))
    return BatchedGraph(source, step, "matrix", weights)


def _derivative(activation: str, l: int) -> str | None:
    """``f'(A[l])`` for the layer's activation, from its table entry (None where it is 1)."""
    (local,) = PRIMITIVES[activation].array_derivative_sources([f"A{l}"], f"Z{l}")
    return None if local == "1.0" else local


def _array_numerics() -> Any:
    from micrograd_lite import array_numerics

    return array_numerics


def _softmax_backward(Y: Any, G: Any) -> Any:
    r"""$\delta_k = \sum_j g_j \, dy_j/da_k$ for each example: the softmax's Jacobian applied to ``G``."""
    np = require_numpy()
    return np.einsum("nj,njk->nk", G, _array_numerics().softmax_jacobian(Y))
