"""micrograd_lite.micrograd: karpathy's micrograd 0.1.0, drop-in, checked against micrograd itself.

The README example and the training loop of micrograd's ``demo.ipynb`` run here twice, on
micrograd and on the drop-in, with the same ``random.seed``; the code is micrograd's, with only
the import line changed. What must be equal bit for bit: every forward value (the drop-in
composes ``-``, ``/`` from micrograd's primitives as micrograd does, so the arithmetic is the
same), the initial parameters, the printed model. What may differ in the last bits: gradients.
A node used several times (a weight, once per example) sums its gradient over its uses in the
order of the backward walk: micrograd's order follows the iteration order of its ``_prev`` sets,
which follows memory addresses (it changes from run to run, in micrograd alone), while
micrograd_lite walks the ordered parents; and ``d(a**n)/da`` is computed as ``n a^n / a``
rather than ``n a^(n-1)``. Those differences are rounding, about 1e-16 relative, and stay that
small over the 100 training steps (checked below, with the accuracies equal at every step).

The drop-in's Values are micrograd_lite Values: ``draw``, ``step_page``, ``record_steps`` and
``gradcheck`` work on its graphs (tested here), and so does micrograd's own ``draw_dot``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import math
import random
import re
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from conftest import require_module

import micrograd_lite
from micrograd_lite import draw, record_steps, step_page, topological_order
from micrograd_lite.datasets import two_moons
from micrograd_lite.micrograd.engine import Value
from micrograd_lite.micrograd.nn import MLP, Layer, Neuron
from micrograd_lite.testing import gradcheck

DROP_IN = "micrograd_lite.micrograd"
PACKAGES = ("micrograd", DROP_IN)

# Gradients and the training losses agree with micrograd's up to rounding in the order of
# summation (module docstring): a few units in the last place, far below this.
RTOL = 1e-12


@pytest.fixture(autouse=True)
def _micrograd() -> None:
    require_module("micrograd.engine")


@pytest.fixture
def rare_cycle_collection() -> Iterator[None]:
    """Let Python's cycle collector run rarely while micrograd trains.

    Each micrograd node's ``_backward`` closure holds the node, so every graph is a reference
    cycle: with the default thresholds the collector rescans the growing heap again and again
    and the demo takes minutes (micrograd_lite's graphs have no cycles). Numbers are unaffected.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(1_000_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def engine_of(package: str) -> Any:
    return importlib.import_module(f"{package}.engine")


def nn_of(package: str) -> Any:
    return importlib.import_module(f"{package}.nn")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-15)


# --------------------------------------------------------------- micrograd's README example
def readme_example(package: str) -> tuple[Any, Any, Any, str]:
    """micrograd's README example; returns ``(a, b, g)`` and what it prints."""
    Value = engine_of(package).Value  # from micrograd.engine import Value
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # ---- micrograd's README, verbatim from here
        # fmt: off
        a = Value(-4.0)
        b = Value(2.0)
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        print(f'{g.data:.4f}') # prints 24.7041, the outcome of this forward pass
        g.backward()
        print(f'{a.grad:.4f}') # prints 138.8338, i.e. the numeric value of dg/da
        print(f'{b.grad:.4f}') # prints 645.5773, i.e. the numeric value of dg/db
        # fmt: on
    return a, b, g, out.getvalue()


def test_readme_example_prints_micrograds_numbers() -> None:
    *_, printed_by_micrograd = readme_example("micrograd")
    *_, g, printed = readme_example(DROP_IN)
    assert printed == printed_by_micrograd == "24.7041\n138.8338\n645.5773\n"
    assert isinstance(g, Value) and isinstance(g, micrograd_lite.Value)


def test_readme_example_forward_is_bit_for_bit_and_gradients_agree() -> None:
    ma, mb, mg, _ = readme_example("micrograd")
    a, b, g, _ = readme_example(DROP_IN)
    assert g.data == mg.data  # the same operations in the same order: the same bits
    assert close(a.grad, ma.grad) and close(b.grad, mb.grad)
    # An independent check of the gradient: central differences through the drop-in's forward.
    assert gradcheck(lambda a_, b_: readme_graph(Value(0.0) + a_, Value(0.0) + b_), [-4.0, 2.0])


def readme_graph(a: Any, b: Any) -> Any:
    """The README example's forward pass as a function of ``a`` and ``b``."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_graph_has_micrograds_nodes_prev_and_op() -> None:
    """Node by node (in micrograd's own walk order), the same data, ``_op`` and number of ``_prev``."""
    *_, mg, _ = readme_example("micrograd")
    *_, g, _ = readme_example(DROP_IN)
    mine, theirs = micrograd_topo(g), micrograd_topo(mg)
    assert len(mine) == len(theirs) == 39
    assert sorted((v.data, v._op, len(v._prev)) for v in mine) == sorted(
        (float(v.data), v._op, len(v._prev)) for v in theirs
    )
    assert {v._op for v in mine} == {"", "+", "*", "**3", "**2", "**-1", "ReLU"}
    assert all(isinstance(v, Value) and isinstance(v._prev, set) for v in mine)


def micrograd_topo(root: Any) -> list[Any]:
    """micrograd's ``build_topo`` (from ``Value.backward``), walking ``_prev``."""
    # fmt: off
    topo = []
    visited = set()
    def build_topo(v):  # type: ignore[no-untyped-def]
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)
    build_topo(root)
    # fmt: on
    return topo


def test_micrograds_own_backward_loop_runs_on_prev_and_backward() -> None:
    """micrograd's ``backward()`` body (``_prev`` walk, ``_backward()`` per node) gives the engine's grads."""
    a, b, g, _ = readme_example(DROP_IN)
    engine_grads = (a.grad, b.grad)
    for v in micrograd_topo(g):
        v.grad = 0.0
    # fmt: off
    topo = micrograd_topo(g)
    g.grad = 1
    for v in reversed(topo):
        v._backward()
    # fmt: on
    assert close(a.grad, engine_grads[0]) and close(b.grad, engine_grads[1])
    ma, mb, *_ = readme_example("micrograd")
    assert close(a.grad, ma.grad) and close(b.grad, mb.grad)


# ---------------------------------------------------------- micrograd's draw_dot
class RecordingDigraph:
    """Stands in for ``graphviz.Digraph`` (not a dependency): records the nodes and edges drawn."""

    def __init__(self, format: str = "svg", graph_attr: dict[str, str] | None = None) -> None:  # noqa: A002
        self.nodes: list[tuple[str, str]] = []
        self.edges: list[tuple[str, str]] = []

    def node(self, name: str, label: str, shape: str = "") -> None:
        self.nodes.append((name, label))

    def edge(self, tail: str, head: str) -> None:
        self.edges.append((tail, head))


def draw_dot(root: Any, format: str = "svg", rankdir: str = "LR") -> RecordingDigraph:  # noqa: A002
    """micrograd's ``trace`` and ``draw_dot`` (its trace_graph.ipynb), verbatim but for ``Digraph``."""
    Digraph = RecordingDigraph  # from graphviz import Digraph

    # fmt: off
    def trace(root):  # type: ignore[no-untyped-def]
        nodes, edges = set(), set()
        def build(v):  # type: ignore[no-untyped-def]
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)
        build(root)
        return nodes, edges

    assert rankdir in ['LR', 'TB']
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
    for n in nodes:
        dot.node(name=str(id(n)), label = "{ data %.4f | grad %.4f }" % (n.data, n.grad), shape='record')  # noqa: UP031
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    # fmt: on
    return dot


def test_micrograds_draw_dot_draws_the_same_picture() -> None:
    *_, mg, _ = readme_example("micrograd")
    *_, g, _ = readme_example(DROP_IN)
    theirs, mine = draw_dot(mg), draw_dot(g)
    assert sorted(label for _, label in mine.nodes) == sorted(label for _, label in theirs.nodes)
    assert len(mine.nodes) == len(theirs.nodes) == 67
    assert len(mine.edges) == len(theirs.edges) == 79
    names = {name for name, _ in mine.nodes}
    assert all(tail in names and head in names for tail, head in mine.edges)


# ------------------------------------------------------------------------- micrograd's nn
def test_same_seed_gives_micrograds_parameters_in_micrograds_order() -> None:
    their_nn, my_nn = nn_of("micrograd"), nn_of(DROP_IN)
    for make in (
        lambda nn: nn.MLP(2, [16, 16, 1]),
        lambda nn: nn.MLP(3, [4, 4, 2]),
        lambda nn: nn.Layer(3, 2, nonlin=False),
        lambda nn: nn.Neuron(4),
    ):
        random.seed(1337)
        theirs = make(their_nn)
        random.seed(1337)
        mine = make(my_nn)
        assert [p.data for p in mine.parameters()] == [float(p.data) for p in theirs.parameters()]
        assert repr(mine) == repr(theirs)
        x = [0.5, -1.25, 2.0, 0.75][: _inputs(mine)]
        out, their_out = mine(x), theirs(x)
        outs = out if isinstance(out, list) else [out]
        their_outs = their_out if isinstance(their_out, list) else [their_out]
        assert [v.data for v in outs] == [float(v.data) for v in their_outs]  # bit for bit


def _inputs(module: Any) -> int:
    """How many inputs a drop-in module takes."""
    if isinstance(module, Neuron):
        return len(module.w)
    if isinstance(module, Layer):
        return len(module.neurons[0].w)
    return len(module.layers[0].neurons[0].w)


def test_mlp_architecture_is_relu_hidden_and_linear_output() -> None:
    random.seed(0)
    model = MLP(2, [16, 16, 1])
    assert [n.nonlin for layer in model.layers for n in layer.neurons] == [True] * 32 + [False]
    assert len(model.parameters()) == 337
    assert all(-1.0 <= w.data <= 1.0 for n in model.layers[0].neurons for w in n.w)
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)
    # labelled in the lecture's notation, in parameters() order
    labels = [p.label for p in model.parameters()]
    assert labels[:3] == ["W[1]_11", "W[1]_12", "b[1]_1"]
    assert labels[-2:] == ["W[3]_1,16", "b[3]_1"]
    # a hidden unit's output passes through ReLU, the output is linear
    out = model([1.0, -1.0])
    assert isinstance(out, Value) and out._op == "+"
    hidden = model.layers[0]([1.0, -1.0])
    assert isinstance(hidden, list) and {v._op for v in hidden} == {"ReLU"}


def test_zero_grad_zeroes_every_parameter() -> None:
    random.seed(3)
    model = MLP(2, [3, 1])
    model([0.5, 0.25]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# ------------------------------------------------------------- micrograd's demo.ipynb
def make_moons(n_samples: int = 100, noise: float = 0.1) -> tuple[Any, Any]:
    """Stands in for ``sklearn.datasets.make_moons`` (sklearn is not a dependency): the same
    kind of data, two interleaving half circles with labels 0 and 1, as numpy arrays."""
    X, t = two_moons(n_samples, noise, seed=0)
    return np.array(X), np.array(t)


def demo_notebook(package: str) -> str:
    """micrograd's ``demo.ipynb`` up to its training loop, run on ``package``; returns what it prints.

    The plotting lines are left out; everything else is the notebook's code, verbatim.
    """
    Value = engine_of(package).Value  # from micrograd.engine import Value
    MLP = nn_of(package).MLP  # from micrograd.nn import Neuron, Layer, MLP
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # ---- micrograd's demo.ipynb, verbatim from here (the plots left out)
        # fmt: off
        np.random.seed(1337)
        random.seed(1337)

        # make up a dataset
        X, y = make_moons(n_samples=100, noise=0.1)

        y = y*2 - 1 # make y be -1 or 1

        # initialize a model
        model = MLP(2, [16, 16, 1]) # 2-layer neural network
        print(model)
        print("number of parameters", len(model.parameters()))

        # loss function
        def loss(batch_size=None):  # type: ignore[no-untyped-def]

            # inline DataLoader :)
            if batch_size is None:
                Xb, yb = X, y
            else:
                ri = np.random.permutation(X.shape[0])[:batch_size]
                Xb, yb = X[ri], y[ri]
            inputs = [list(map(Value, xrow)) for xrow in Xb]

            # forward the model to get scores
            scores = list(map(model, inputs))

            # svm "max-margin" loss
            losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
            data_loss = sum(losses) * (1.0 / len(losses))
            # L2 regularization
            alpha = 1e-4
            reg_loss = alpha * sum((p*p for p in model.parameters()))  # noqa: UP034
            total_loss = data_loss + reg_loss

            # also get accuracy
            accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
            return total_loss, sum(accuracy) / len(accuracy)

        total_loss, acc = loss()
        print(total_loss, acc)

        # optimization
        for k in range(100):

            # forward
            total_loss, acc = loss()

            # backward
            model.zero_grad()
            total_loss.backward()

            # update (sgd)
            learning_rate = 1.0 - 0.9*k/100
            for p in model.parameters():
                p.data -= learning_rate * p.grad

            if k % 1 == 0:
                print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
        # fmt: on
    return out.getvalue()


STEP_LINE = re.compile(r"step (\d+) loss (\S+), accuracy (\S+)%")


@pytest.mark.usefixtures("rare_cycle_collection")
def test_demo_notebook_trains_as_micrograd_does() -> None:
    """100 SGD steps on the drop-in print micrograd's losses and accuracies.

    The first loss is micrograd's bit for bit (the same forward arithmetic on the same
    parameters); later ones agree to rounding (the module docstring says why), and every
    step's accuracy is the same.
    """
    theirs = demo_notebook("micrograd").splitlines()
    mine = demo_notebook(DROP_IN).splitlines()
    assert len(mine) == len(theirs) == 103
    assert mine[0] == theirs[0]  # print(model)
    assert mine[0].startswith("MLP of [Layer of [ReLUNeuron(2), ")
    assert mine[1] == theirs[1] == "number of parameters 337"
    first = re.fullmatch(r"Value\(data=(\S+), grad=0(?:\.0)?\) (\S+)", mine[2])
    their_first = re.fullmatch(r"Value\(data=(\S+), grad=0(?:\.0)?\) (\S+)", theirs[2])
    assert first is not None and their_first is not None
    assert first.groups() == their_first.groups()  # the initial loss, bit for bit, and accuracy
    steps = [STEP_LINE.fullmatch(line) for line in mine[3:]]
    their_steps = [STEP_LINE.fullmatch(line) for line in theirs[3:]]
    assert all(steps) and all(their_steps)
    for k, (m, t) in enumerate(zip(steps, their_steps)):
        assert m is not None and t is not None
        assert int(m[1]) == int(t[1]) == k
        assert close(float(m[2]), float(t[2])), (k, m[2], t[2])
        assert m[3] == t[3], (k, m[3], t[3])  # accuracy, exactly
    assert steps[0] is not None and their_steps[0] is not None and steps[0][2] == their_steps[0][2]
    # It learns: the last loss is far below the first, and the moons are separated.
    assert float(steps[-1][2]) < 0.1 * float(steps[0][2])  # type: ignore[index]
    assert float(steps[-1][3]) >= 95.0  # type: ignore[index]


def test_demo_gradients_agree_with_micrographs_before_the_first_step() -> None:
    """One forward and backward pass of the demo's loss: the gradient of every parameter."""
    X, y = make_moons()
    y = y * 2 - 1
    grads = {}
    for package in PACKAGES:
        V, nn = engine_of(package).Value, nn_of(package)
        random.seed(1337)
        model = nn.MLP(2, [16, 16, 1])
        scores = [model(list(map(V, xrow))) for xrow in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        total.backward()
        grads[package] = [float(p.grad) for p in model.parameters()]
    theirs, mine = grads["micrograd"], grads[DROP_IN]
    assert len(mine) == 337 and any(g != 0.0 for g in mine)
    assert all(close(m, t) for m, t in zip(mine, theirs))


# ------------------------------------------ micrograd_lite's tools on the drop-in's graphs
def small_network_loss() -> tuple[Any, list[Value]]:
    random.seed(7)
    model = MLP(2, [2, 1])
    x = [Value(0.5), Value(-1.5)]
    return (model(x) - 1.0) ** 2, model.parameters()


def test_draw_shows_the_drop_in_graph() -> None:
    loss, _ = small_network_loss()
    loss.backward()
    drawing = draw(loss)
    assert drawing.boxes == len(topological_order(loss))
    assert "W[1]_11" in drawing.source and "b[2]_1" in drawing.source
    assert drawing.arrows == sum(len(v.parents) for v in topological_order(loss))


def test_record_steps_and_step_page_replay_the_drop_in_backward_pass() -> None:
    loss, params = small_network_loss()
    loss.backward()
    expected = [p.grad for p in params]
    loss.zero_grad()
    recording = record_steps(loss)
    assert len(recording) == sum(1 for v in topological_order(loss) if v.parents)
    # each parameter's running total ends at the grad backward() gives
    last_total = {}
    for step in recording:
        for edge in step.edges:
            last_total[edge.parent] = edge.total
    assert [last_total[p] for p in params] == expected
    page = step_page(loss, layout="columns")  # zero_grad, then its own pass
    assert page.layout == "columns" and "W[1]_11" in page.html
    assert [p.grad for p in params] == expected


def test_gradcheck_passes_on_the_drop_in_network() -> None:
    random.seed(11)
    model = MLP(3, [4, 4, 1])
    assert gradcheck(lambda x1, x2, x3: model([x1, x2, x3]), [0.3, -0.7, 1.1])


def test_graphs_need_no_cycle_collector() -> None:
    """A node keeps numbers, not closures: a dropped graph is freed at once by reference counting."""
    a = Value(2.0)
    out = (a * a + 1).relu() / 3.0
    out.backward()
    out._backward()  # the closure is made on request and not kept
    node = weakref.ref(out)
    gc.disable()
    try:
        del out
        assert node() is None
    finally:
        gc.enable()


# ------------------------------------------------------- where the drop-in says no
def test_assigning_backward_says_to_give_local_grads() -> None:
    x = Value(0.5)
    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")
    with pytest.raises(AttributeError, match=r"local_grads=\(1 - t\*\*2,\)"):
        out._backward = lambda: None

    # the way it says works: d tanh(x)/dx = 1 - tanh(x)^2, checked by central differences
    def tanh_node(v: Value) -> Value:
        return Value(math.tanh(v.data), (v,), "tanh", local_grads=(1 - math.tanh(v.data) ** 2,))

    assert gradcheck(tanh_node, [0.5])
    tanh = Value(t, (x,), "tanh", local_grads=(1 - t**2,))
    tanh.backward()
    assert x.grad == 1 - t**2 and tanh._op == "tanh" and tanh._prev == {x}


def test_hand_made_node_without_local_grads_passes_nothing_on_as_in_micrograd() -> None:
    x = Value(3.0)
    out = Value(9.0, (x, x), "**2")
    out.backward()
    assert x.grad == 0.0 and out._prev == {x}


def test_every_operation_returns_a_drop_in_value() -> None:
    a, b = Value(0.5), Value(2.0)
    results = [a + b, a - b, a * b, a / b, a**2, -a, 1 + a, 1 - a, 2 * a, 1 / a, 2**a, a**b]
    results += [a.relu(), a.exp(), a.log(), a.tanh(), a.sigmoid(), a.identity()]
    results += [a.log1p(), a.expm1(), a.sqrt(), abs(a), a.abs()]
    plain = micrograd_lite.Value(1.0)
    results += [plain + a, plain * a, plain - a, plain / a]
    assert all(type(r).__name__ in ("Value", "_PowerValue", "_SigmoidValue") for r in results)
    assert all(isinstance(r, Value) for r in results)
    assert (a**2)._op == "**2" and (a**0.5)._op == "**0.5" and (a / b)._op == "*"
    assert a.sigmoid().logit == 0.5 and (a**2).exponent == 2.0  # the engine's fields are kept


def test_comparisons_compare_data_and_equality_stays_identity_as_in_micrograd() -> None:
    a, b = Value(0.5), Value(2.0)
    assert a < b and b >= 2 and 0 < a and sorted([b, a]) == [a, b]
    assert Value(1.0) != Value(1.0) and len({a, b, a}) == 2


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: Value(1.0) + "2", TypeError, "operand must be a Value or a real number"),
        (lambda: Value(1.0) ** "2", TypeError, "exponent must be an int or a float"),
        (lambda: Value(1.0, Value(2.0)), TypeError, "_children must be a tuple of Values"),
        (lambda: Value(1.0, (Value(2.0),), "f", local_grads=(1.0, 2.0)), ValueError, "1 parents but 2"),
        (lambda: MLP(2, 16), TypeError, r"nouts must be a list of layer sizes such as \[16, 16, 1\]"),
        (lambda: MLP(0, [1]), ValueError, "nin .* must be a positive int"),
        (lambda: Layer(2, 0), ValueError, "nout .* must be a positive int"),
        (lambda: Neuron(2)([1.0]), ValueError, "has 2 weights but got 1 inputs"),
        (lambda: Neuron(2)(Value(1.0)), TypeError, "takes a list of 2 inputs"),
    ],
)
def test_bad_input_is_a_clear_error(make: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        make()


# ---------------------------- no silent difference in micrograd_lite's own MLP (pending)
def test_PENDING_nn_change_micrograd_lite_mlp_without_activations_is_an_error() -> None:
    """``micrograd_lite.MLP(2, [16, 16, 1])``, micrograd's call, must not silently build sigmoids.

    PENDING: this test fails until ``micrograd_lite/nn.py`` makes ``activations`` required
    (raising TypeError that names micrograd's default and points to micrograd_lite.micrograd.nn).
    """
    with pytest.raises(TypeError, match="activations") as raised:
        micrograd_lite.MLP(2, [16, 16, 1])
    message = str(raised.value)
    assert "['relu', 'relu', 'identity']" in message
    assert "micrograd_lite.micrograd.nn" in message
    # Naming them keeps working.
    model = micrograd_lite.MLP(2, [16, 16, 1], activations=["relu", "relu", "identity"])
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "identity"]
