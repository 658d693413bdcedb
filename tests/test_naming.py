"""One set of names per graph, the node kinds, and one resolver for nodes given by name."""

from __future__ import annotations

import re

import pytest

from micrograd_lite import (
    Value,
    binary_cross_entropy,
    count_paths,
    draw,
    path_sum,
    paths,
    sum_values,
    topological_order,
    worked_example,
)
from micrograd_lite.naming import node_kinds, node_names, plain, resolve_node, shorten, visible
from micrograd_lite.paths import iter_paths, nodes_on_paths
from micrograd_lite.step_page import page_data
from micrograd_lite.stepper import record_steps

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def unlabelled_graph() -> tuple[Value, Value]:
    x = Value(0.5, label="x")
    h = (x * 2.0 + x).tanh()
    E = (h * h + sum_values([h, x, 1.0])) ** 2.0
    return E, x


# -------------------------------------------------------------------- names
def test_unlabelled_nodes_are_named_by_operation_and_counter_never_as_numbers() -> None:
    E, _ = unlabelled_graph()
    order = topological_order(E)
    names = node_names(order)
    unlabelled = [names[v] for v in order if v.label is None and v.op != "const"]
    assert unlabelled == ["mul_1", "add_1", "tanh_1", "mul_2", "sum_1", "add_2", "pow_1"]
    assert all(IDENTIFIER.match(n) for n in unlabelled)  # a word: no '#', no parentheses, no bare number
    assert len(set(unlabelled)) == len(unlabelled)
    assert {names[v] for v in order if v.op == "const"} == {"2", "1"}  # constants by their value


def test_generated_names_skip_names_that_labels_use() -> None:
    a = Value(1.0, label="tanh_1")
    E = a.tanh() + a
    names = node_names(topological_order(E))
    assert names[E.parents[0]] == "tanh_2"  # tanh_1 is a's label
    assert sorted(names.values()) == ["add_1", "tanh_1", "tanh_2"]


def test_every_view_uses_the_same_name_for_a_node() -> None:
    E, x = unlabelled_graph()
    E.backward()
    names = node_names(topological_order(E))
    recording = record_steps(E)
    assert recording.names == names
    data = page_data(recording)
    assert [n["name"] for n in data["nodes"]] == [names[v] for v in recording.order]
    assert recording.text(0).startswith("step 1 of 7: pow_1 (**2)")
    source = draw(E, highlight=x).source
    for name in ("pow_1", "tanh_1", "sum_1", "mul_2"):
        assert f"<B>{name}</B>" in source  # the box title
    assert "x -&gt; mul_1 -&gt; add_1 -&gt; tanh_1" in source  # the caption's paths
    assert "#" not in re.sub(r'"#[0-9A-Fa-f]{6}"', "", source)  # no '#k' names (colours aside)
    assert "dpow_1/dx" in source  # the caption's sum: d(root)/d(x) with the root's name
    for k in range(len(recording)):
        assert "#" not in recording.text(k)


# -------------------------------------------------------------------- kinds
def test_constants_targets_inputs_and_parameters_are_told_apart() -> None:
    E = worked_example().root
    assert E is not None
    kinds = {v.label: kind for v, kind in node_kinds(topological_order(E)).items()}
    assert kinds["t"] == "target" and kinds["x_1"] == kinds["x_2"] == "input"
    assert kinds["W[1]_12"] == kinds["b[3]_1"] == "leaf" and kinds["E"] == "value"
    # A target given as a Value of any label is found by where the loss uses it.
    y = Value(0.3, label="y").sigmoid()
    goal = Value(1.0, label="goal")
    loss = binary_cross_entropy(y, goal, paired=False)
    assert node_kinds(topological_order(loss))[goal] == "target"
    c = Value(2.0, label="c")
    assert node_kinds(topological_order(c * 3.0))[(c * 3.0).parents[1]] == "const"


# -------------------------------------------------------------------- resolver
def test_labels_are_accepted_wherever_a_node_is_named() -> None:
    E = worked_example().root
    assert E is not None
    w = next(v for v in topological_order(E) if v.label == "W[1]_12")
    assert count_paths(E, "W[1]_12") == count_paths(E, w) == 2  # before: 0, silently
    assert [p.nodes for p in paths(E, "W[1]_12")] == [p.nodes for p in paths(E, w)]
    assert path_sum(E, "W[1]_12") == path_sum(E, w)
    assert nodes_on_paths(E, "W[1]_12") == nodes_on_paths(E, w)
    assert len(list(iter_paths(E, "W[1]_12"))) == 2


def test_a_generated_name_is_accepted_too() -> None:
    E, _ = unlabelled_graph()
    tanh = next(v for v in topological_order(E) if v.op == "tanh")
    assert resolve_node(topological_order(E), "tanh_1", "wrt") is tanh
    assert count_paths(E, "tanh_1") == count_paths(E, tanh) == 3  # h * h twice, the sum once


@pytest.mark.parametrize(
    "call",
    [count_paths, path_sum, paths, iter_paths, nodes_on_paths],
    ids=["count_paths", "path_sum", "paths", "iter_paths", "nodes_on_paths"],
)
def test_a_name_that_matches_no_node_or_several_is_a_clear_error(call: object) -> None:
    a, twin = Value(1.0, label="a"), Value(2.0, label="a")
    E = a * twin
    assert callable(call)
    with pytest.raises(ValueError, match=r"wrt='W\[1\]_12': no node of this graph has that label or name"):
        call(E, "W[1]_12")
    with pytest.raises(ValueError, match=r"wrt='a': 2 nodes of this graph have that label"):
        call(E, "a")
    with pytest.raises(TypeError, match=r"wrt must be a Value or the name of a node"):
        call(E, 3)
    with pytest.raises(ValueError, match="no node"):
        draw(E, highlight="W[1]_12")


# -------------------------------------------------------------------- text
class Sneaky(str):
    """A label that lies about itself: every method a view might call is overridden."""

    def replace(self, *args: object) -> str:  # type: ignore[override]
        return str.__str__(self)

    def __str__(self) -> str:
        return "<a href='javascript:alert(1)'>x</a>"

    def __format__(self, spec: str) -> str:
        return self.__str__()

    def isprintable(self) -> bool:
        return True


def test_plain_copies_a_str_subclass_without_calling_its_methods() -> None:
    sneaky = Sneaky("<b>&")
    copy = plain(sneaky)
    assert type(copy) is str and copy == "<b>&"
    assert type(visible(sneaky)) is str and visible(sneaky) == "<b>&"
    with pytest.raises(TypeError, match="must be a str"):
        plain(3)


def test_bidirectional_and_control_characters_are_made_visible() -> None:
    assert visible("abc\u202edef") == "abc\\u202edef"
    assert visible("\u2066x\u2069 \u200f") == "\\u2066x\\u2069 \\u200f"
    assert visible("bell\x07\ttab") == "bell\\x07\\x09tab"
    assert visible("two\nlines\r\nok") == "two\nlines\nok"
    assert visible("emoji \U0001f469\u200d\U0001f52c") == "emoji \U0001f469\u200d\U0001f52c"  # ZWJ kept
    assert shorten("x" * 100, 10) == "xxxxxx\u2026xxx" and len(shorten("x" * 100, 10)) == 10
    assert shorten("short", 10) == "short"
