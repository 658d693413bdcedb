"""Drawings: DOT structure, rendered SVG, highlighting, views, escaping, and life without Graphviz."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd_lite import (
    MLP,
    Drawing,
    GraphTooLargeError,
    GraphvizNotFoundError,
    Value,
    draw,
    paths,
    squared_error,
    topological_order,
    worked_example,
)
from micrograd_lite.dot import VIRIDIS, ZERO_GRAD_COLOUR, html_text, number, quote, viridis
from micrograd_lite.drawing import INSTALL_HINT

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ['"]; evil [label="x', "<b>x</b>", "{a|b}", "\\", "a\nb", "€∂", "x\\N\\G\\l", "&amp; &#60;"]


# ------------------------------------------------------------------ helpers
def by_label(root: Value, label: str) -> Value:
    (node,) = [v for v in topological_order(root) if v.label == label]
    return node


def dot_nodes(source: str) -> dict[str, str]:
    """Node statements of our DOT: id -> the rest of the line."""
    found = {}
    for line in source.splitlines():
        m = re.match(r"^  (\w+) \[id=\"(\w+)\"(.*)\];$", line)
        if m and m.group(1) == m.group(2):
            found[m.group(1)] = m.group(3)
    return found


def dot_edges(source: str) -> dict[str, tuple[str, str, str]]:
    """Edge statements of our DOT: id -> (tail, head, the rest of the line)."""
    found = {}
    for line in source.splitlines():
        m = re.match(r"^  (\w+) -> (\w+) \[id=\"(\w+)\"(.*)\];$", line)
        if m:
            found[m.group(3)] = (m.group(1), m.group(2), m.group(4))
    return found


def title(attrs: str) -> str:
    """The bold first line of a box: its label."""
    m = re.search(r"<B>([^<]*)</B>", attrs)
    assert m is not None, attrs
    return m.group(1)


def classes(attrs: str) -> set[str]:
    m = re.search(r' class="([^"]*)"', attrs)
    return set(m.group(1).split()) if m else set()


def svg_groups(svg: str, kind: str) -> dict[str, ET.Element]:
    """The <g class="node ..."> or <g class="edge ..."> elements of a rendered SVG, by id."""
    tree = ET.fromstring(svg)
    return {g.get("id", ""): g for g in tree.iter(f"{SVG}g") if kind in (g.get("class") or "").split()}


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def mlp_2_16_16_1() -> tuple[MLP, Value, Value]:
    model = MLP(2, [16, 16, 1], activations=["tanh", "tanh", "identity"], seed=0)
    y = model([0.5, -1.0])
    assert isinstance(y, Value)
    E = squared_error(y, 0.3)
    E.backward()
    return model, y, E


@pytest.fixture
def example() -> Value:
    E = worked_example().root
    assert E is not None
    return E


# ----------------------------------------------------------- DOT structure
def test_full_view_has_a_box_per_value_and_an_arrow_per_edge_labelled_with_its_local_derivative(
    example: Value,
) -> None:
    order = topological_order(example)
    drawing = draw(example)
    nodes, edges = dot_nodes(drawing.source), dot_edges(drawing.source)
    assert len(nodes) == len(order) == drawing.boxes
    assert len(edges) == sum(len(v.parents) for v in order) == drawing.arrows
    index = {v: k for k, v in enumerate(order)}
    for child in order:
        for slot, (parent, local) in enumerate(zip(child.parents, child.local_grads)):
            tail, head, attrs = edges[f"e{index[child]}_{slot}"]
            assert (tail, head) == (f"n{index[parent]}", f"n{index[child]}")
            if parent.label == "t":  # the target: no gradient shown, so no derivative on its edge
                assert "label=" not in attrs
            else:
                assert f"label=<{number(local)}>" in attrs
    for v in order:
        attrs = nodes[f"n{index[v]}"]
        assert f"<B>{v.label}</B>" in attrs
        assert f"data {number(v.data)}" in attrs
        assert (f"grad {number(v.grad)}" in attrs) == (v.label != "t")
    assert "rankdir=LR" in drawing.source


def test_network_columns_are_rank_groups_read_off_the_labels(example: Value) -> None:
    drawing = draw(example)
    order = topological_order(example)
    groups = {}
    for line in drawing.source.splitlines():
        m = re.match(r"^  \{rank=same; (.*) \[style=invis\]\}  // (\w+)$", line)
        if m:
            groups[m.group(2)] = {order[int(n[1:])].label for n in m.group(1).split(" -> ")}
    assert groups["z0"] == {"x_1", "x_2", "W[1]_11", "W[1]_12", "W[1]_21", "W[1]_22", "b[1]_1", "b[1]_2"}
    assert groups["a1"] == {"a[1]_1", "a[1]_2"}
    assert groups["z1"] == {
        "z[1]_1",
        "z[1]_2",
        "W[2]_11",
        "W[2]_12",
        "W[2]_21",
        "W[2]_22",
        "b[2]_1",
        "b[2]_2",
    }
    assert groups["a2"] == {"a[2]_1", "a[2]_2"}
    assert groups["z2"] == {"z[2]_1", "z[2]_2", "W[3]_11", "W[3]_12", "b[3]_1"}
    assert set(groups) == {"z0", "a1", "z1", "a2", "z2"}  # a[3], y, E are alone in their columns


@pytest.mark.needs_dot
def test_highlighted_edges_are_exactly_the_edges_on_paths(example: Value) -> None:
    w = by_label(example, "W[1]_12")
    order = topological_order(example)
    index = {v: k for k, v in enumerate(order)}
    expected_edges = {f"e{index[c]}_{s}" for p in paths(example, w) for c, s in zip(p.nodes[1:], p.slots)}
    expected_nodes = {f"n{index[v]}" for p in paths(example, w) for v in p.nodes}
    drawing = draw(example, highlight=w)
    edges, nodes = dot_edges(drawing.source), dot_nodes(drawing.source)
    assert {e for e, (_, _, attrs) in edges.items() if "path" in classes(attrs)} == expected_edges
    assert {n for n, attrs in nodes.items() if "path" in classes(attrs)} == expected_nodes
    assert len(expected_edges) == 10  # W -> a[1]_1 -> z[1]_1, two branches of 3, a[3] -> y -> E
    assert "wrt" in classes(nodes[f"n{index[w]}"]) and "root" in classes(nodes[f"n{index[example]}"])
    # ...and the same set in the rendered SVG.
    svg = drawing.svg()
    assert {i for i, g in svg_groups(svg, "edge").items() if "path" in g.get("class", "")} == expected_edges
    assert {i for i, g in svg_groups(svg, "node").items() if "path" in g.get("class", "")} == expected_nodes


@pytest.mark.needs_dot
def test_caption_lists_the_paths_and_their_sum_is_the_gradient(example: Value) -> None:
    w = by_label(example, "W[1]_12")
    svg = draw(example, highlight="W[1]_12").svg()
    root_group = ET.fromstring(svg).find(f"{SVG}g")
    assert root_group is not None and root_group.get("class") == "graph"
    caption = " ".join(t.text or "" for t in root_group.findall(f"{SVG}text"))  # graph label only
    assert "2 paths from W[1]_12 to E" in caption
    for k, p in enumerate(paths(example, w), start=1):
        chain, factors = p.parts()
        assert f"{k}. {chain}:" in caption and factors in caption
        assert p.text() == f"{chain}: {factors}"
    assert (
        f"= dE/dW[1]_12 = {sum(p.product for p in paths(example, w)):.12g} = W[1]_12.grad = {w.grad:.12g}"
        in (caption)
    )


def test_caption_says_when_grad_is_not_the_path_sum() -> None:
    a = Value(2.0, label="a")
    y = a * a
    y.label = "y"  # no backward(): a.grad is 0, the path sum is 4
    source = draw(y, highlight=a).source
    assert "sum over the 2 paths = dy/da = 4 != a.grad = 0" in source
    assert "call y.backward()" in source


def test_caption_with_more_paths_than_it_lists_sums_them_all() -> None:
    a = first = Value(1.5, label="a")
    for _ in range(100):
        a = a * 0.5 + a * 0.5
    a.label = "E"
    a.backward()
    drawing = draw(a, highlight=first, max_caption_paths=3)
    assert "1,267,650,600,228,229,401,496,703,205,376 paths from a to E" in drawing.source
    assert drawing.source.count("a -&gt; ") == 3
    # Each listed path has 200 edges; the caption shows its first 8 and last 8.
    assert drawing.source.count("-&gt; ... (200 edges) ...") == 3
    assert "and 1,267,650,600,228,229,401,496,703,205,373 more paths" in drawing.source
    assert "= dE/da = 1 = a.grad = 1" in drawing.source


def test_highlight_must_be_in_the_graph() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    with pytest.raises(ValueError, match="not in this graph"):
        draw(a * 2.0, highlight=b)
    with pytest.raises(ValueError, match="no node"):
        draw(a * 2.0, highlight="b")
    twin = Value(3.0, label="a")
    with pytest.raises(ValueError, match="2 nodes"):
        draw(a + twin, highlight="a")
    with pytest.raises(TypeError):
        draw(a * 2.0, highlight=3)
    with pytest.raises(TypeError):
        draw(1.0)


# -------------------------------------------------------------------- options
def test_options_hide_data_grads_derivatives_and_constants() -> None:
    x = Value(0.5, label="x")
    y = (x * 3.0 + 1.0).tanh()
    y.label = "y"
    y.backward()
    full = draw(y)
    assert "data 0.5" in full.source and "grad " in full.source and "label=<3>" in full.source
    assert "data " not in draw(y, show_data=False).source
    assert "grad " not in draw(y, show_grad=False).source
    assert not any(
        "label=" in attrs for *_, attrs in dot_edges(draw(y, show_derivatives=False).source).values()
    )
    hidden = draw(y, show_constants=False)
    assert (hidden.boxes, hidden.arrows) == (full.boxes - 2, full.arrows - 2)  # the constants 3 and 1
    assert "const" not in hidden.source and "const" in full.source


@pytest.mark.needs_dot
def test_viridis_stops_and_colouring_by_gradient_magnitude() -> None:
    assert viridis(0.0) == VIRIDIS[0] == "#440154"
    assert viridis(0.5) == "#21908C"
    assert viridis(1.0) == VIRIDIS[-1] == "#FDE725"
    assert viridis(0.05) == "#461365"  # halfway between the first two stops
    a, b, c = Value(3.0, label="a"), Value(1e-3, label="b"), Value(1e-3, label="c")
    E = a * b + c * 0.0
    E.label = "E"
    E.backward()  # |grad|: b 3 (largest), a 1e-3 (smallest nonzero), E 1, c 0
    source = draw(E, color_by_grad=True).source
    fill = {}
    for attrs in dot_nodes(source).values():
        colour = re.search(r'fillcolor="(#[0-9A-F]{6})"', attrs)
        if "const" in classes(attrs):  # a constant has no gradient shown: not coloured, not on the scale
            assert colour is None and "grad" not in attrs
        elif "legend" not in classes(attrs):
            assert colour is not None
            fill[title(attrs)] = colour.group(1)
    assert fill["b"] == "#FDE725"
    assert fill["a"] == "#440154"
    assert fill["c"] == ZERO_GRAD_COLOUR
    assert fill["E"] == viridis((0.0 + 3.0) / (math.log10(3.0) + 3.0))  # log10 |1| on [log10 1e-3, log10 3]
    assert 'fontcolor="#FFFFFF"' in next(v for v in dot_nodes(source).values() if "<B>a</B>" in v)
    assert 'fontcolor="#000000"' in next(v for v in dot_nodes(source).values() if "<B>b</B>" in v)
    assert "|grad| (log scale, viridis)" in source
    svg = draw(E, color_by_grad=True).svg()
    legend = svg_groups(svg, "node")["legend"]
    assert texts(legend)[0] == "|grad| (log scale, viridis)"
    assert {"0.001", "3", "0", "nan/inf"} <= set(texts(legend))


def test_a_zero_gradient_is_off_the_scale() -> None:
    x = Value(2.0, label="x")
    y = (x * 0.0).tanh()
    y.label = "y"
    y.backward()
    source = draw(y, color_by_grad=True).source
    attrs = next(a for a in dot_nodes(source).values() if "<B>x</B>" in a)
    assert f'fillcolor="{ZERO_GRAD_COLOUR}"' in attrs


# ------------------------------------------------------------------- escaping
def hostile_graph() -> tuple[Value, list[Value]]:
    leaves = [Value(float(k), label=label) for k, label in enumerate(HOSTILE, start=1)]
    E = leaves[0]
    for leaf in leaves[1:]:
        E = E * leaf
    E.label = "E"
    E.backward()
    return E, leaves


@pytest.mark.needs_dot
def test_hostile_labels_cannot_break_the_dot_or_inject_markup() -> None:
    E, leaves = hostile_graph()
    drawing = draw(E, highlight=leaves[0])
    order = topological_order(E)
    assert len(dot_nodes(drawing.source)) == len(order)
    assert len(dot_edges(drawing.source)) == sum(len(v.parents) for v in order)
    # Every line is one of our statements: nothing a label holds started a statement of its own.
    statement = re.compile(
        r'^(digraph G \{|\}|  (graph|node|edge) \[.*\];|  \w+ \[id="\w+".*\];|  \w+ -> \w+ \[id="\w+".*\];'
        r"|  \{rank=same; .*)$"
    )
    assert [line for line in drawing.source.splitlines() if not statement.match(line)] == []
    svg = drawing.svg()
    tree = ET.fromstring(svg)  # well-formed XML
    all_text = [t.text or "" for t in tree.iter(f"{SVG}text")]
    for label in HOSTILE:
        if "\n" in label:
            assert all(part in all_text for part in label.split("\n"))
        else:
            assert label in all_text, label
    # Exactly one node and no stray element came out of each label.
    assert len(svg_groups(svg, "node")) == len(order)
    assert not [e for e in tree.iter() if e.tag in ("b", f"{SVG}b")]
    # Edge tooltips (plain DOT strings, not HTML) carry each label verbatim, but for backslashes:
    # Graphviz versions unescape those differently, so they are shown as a look-alike.
    titles = [a.get("{http://www.w3.org/1999/xlink}title", "") for a in tree.iter(f"{SVG}a")]
    for label in HOSTILE:
        shown = label.replace("\\", "\u29f5")
        assert any(f"/d{shown} = " in title for title in titles), label


@pytest.mark.needs_dot
def test_control_characters_and_lone_surrogates_are_made_safe() -> None:
    x = Value(1.0, label="bell\x07 nul\x00 esc\x1b cr\r tab\t")
    y = Value(2.0, label="surrogate \ud800 noncharacter \uffff")
    E = x * y
    E.backward()
    svg = draw(E, highlight=x).svg()
    text = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert "bell\\x07 nul\\x00 esc\\x1b" in text
    assert "surrogate \ufffd noncharacter \ufffd" in text
    assert html_text("a\nb") == 'a<BR ALIGN="CENTER"/>b'
    assert quote('say "hi" \\N\nbye') == '"say \\"hi\\" \\\\N\\nbye"'


# ---------------------------------------------------------------------- views
def test_units_view_of_a_2_16_16_1_mlp_has_one_box_per_unit_and_one_arrow_per_weight() -> None:
    _, y, E = mlp_2_16_16_1()
    drawing = draw(y, view="units")
    nodes, edges = dot_nodes(drawing.source), dot_edges(drawing.source)
    units = [n for n, attrs in nodes.items() if "unit" in classes(attrs)]
    assert len(units) == 16 + 16 + 1
    assert len(nodes) == 35  # + x_1, x_2
    weights = [e for e in edges if e.startswith("w")]
    assert len(weights) == len(edges) == 2 * 16 + 16 * 16 + 16 * 1
    with_loss = draw(E, view="units")
    assert (with_loss.boxes, with_loss.arrows) == (37, 306)  # + t and E, and the edges y -> E, t -> E
    # Each unit box merges a[l]_i and z[l]_i, shows its bias and delta[l]_i = dE/da[l]_i.
    unit_5 = next(attrs for attrs in dot_nodes(with_loss.source).values() if "<B>z[1]_5</B>" in attrs)
    a_5 = by_label(E, "a[1]_5")
    assert f"a[1]_5 = {number(a_5.data)}" in unit_5 and f"delta[1]_5 = {number(a_5.grad)}" in unit_5
    assert "b[1]_5 = " in unit_5
    # 304 weights are too many to label; the arrow's tooltip names its weight.
    assert not any(
        "xlabel=" in attrs or "label=" in attrs.split("tooltip")[0]
        for *_, attrs in dot_edges(drawing.source).values()
    )
    assert 'tooltip="W[2]_3,12 = ' in drawing.source
    labelled = draw(y, view="units", show_derivatives=True)
    assert labelled.source.count("label=<W[") == 304


@pytest.mark.needs_dot
def test_units_view_renders_readably() -> None:
    _, _, E = mlp_2_16_16_1()
    svg = draw(E, view="units", color_by_grad=True).svg()
    assert len(svg_groups(svg, "node")) == 37 + 1  # + the legend
    assert len(svg_groups(svg, "edge")) == 306
    size = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert size is not None
    width, height = float(size.group(1)), float(size.group(2))
    assert height < 3000 and width < 3000  # no edge-label fan that spreads a layer over metres
    assert len(svg) < 1_000_000


def test_units_view_highlights_the_weights_and_units_on_paths(example: Value) -> None:
    drawing = draw(example, view="units", highlight="W[1]_12")
    on = {
        attrs.split('tooltip="')[1].split(" =")[0]
        for *_, attrs in dot_edges(drawing.source).values()
        if "path" in classes(attrs)
    }
    assert on == {"W[1]_12", "W[2]_11", "W[2]_21", "W[3]_11", "W[3]_12", "dE/dy"}
    boxes = {title(a) for a in dot_nodes(drawing.source).values() if "path" in classes(a)}
    assert boxes == {"z[1]_1", "z[2]_1", "z[2]_2", "y", "E"}
    labelled = draw(example, view="units")  # 10 weights: few enough to label
    assert "label=<W[1]_12<BR/>-0.25<BR/>grad " in labelled.source


@pytest.mark.needs_dot
def test_layers_view_summarises_each_layer_and_weight_matrix() -> None:
    _, _, E = mlp_2_16_16_1()
    drawing = draw(E, view="layers", highlight="W[1]_12")
    nodes, edges = dot_nodes(drawing.source), dot_edges(drawing.source)
    assert set(nodes) == {"L0", "L1", "L2", "L3", "n405", "n406"}  # n405: the target t, a leaf of E
    assert {(t, h) for t, h, _ in edges.values()} == {
        ("L0", "L1"),
        ("L1", "L2"),
        ("L2", "L3"),
        ("L3", "n406"),
        ("n405", "n406"),
    }
    assert "W[2]: 16 x 16" in edges["L1_L2"][2] and "W[1]: 16 x 2" in edges["L0_L1"][2]
    assert "16 units" in nodes["L1"] and "1 unit<" in nodes["L3"]
    assert all("path" in classes(attrs) for t, _, attrs in edges.values() if t != "n405")
    assert "path" not in classes(next(attrs for t, _, attrs in edges.values() if t == "n405"))
    assert "16 paths from W[1]_12 to E" in drawing.source
    ET.fromstring(drawing.svg())


def test_size_cap_suggests_the_collapsed_view() -> None:
    x = Value(0.1, label="x")
    v = x
    for _ in range(2000):
        v = v.tanh()
    with pytest.raises(GraphTooLargeError, match=r"2,001 boxes, more than max_nodes=2,000.*view='units'"):
        draw(v)
    assert draw(v, max_nodes=2001).boxes == 2001
    model = MLP(2, [64, 64, 1], activations="tanh", seed=0)
    y = model([0.1, 0.2])
    assert isinstance(y, Value)
    with pytest.raises(GraphTooLargeError, match="view='units'"):
        draw(y)
    assert draw(y, view="units").boxes == 2 + 64 + 64 + 1
    with pytest.raises(GraphTooLargeError, match="view='layers'"):
        draw(y, view="units", max_nodes=100)
    assert draw(y, view="layers").boxes == 4


def test_building_the_dot_for_10000_nodes_is_fast_and_not_recursive() -> None:
    a, b = Value(0.5, label="a"), Value(0.25, label="b")
    nodes = [a, b]
    while len(nodes) < 10_000:
        nodes.append(nodes[-1].tanh() if len(nodes) % 2 else nodes[-1] + nodes[-2])
    root = nodes[-1]
    assert len(topological_order(root)) == 10_000  # and 10,000 deep: far past the recursion limit
    root.backward()
    start = time.perf_counter()
    drawing = draw(root, max_nodes=10_000, highlight=a, color_by_grad=True)
    elapsed = time.perf_counter() - start
    assert drawing.boxes == 10_000
    assert elapsed < 5.0  # about 0.3 s here; the claim is "well under a second", checked loosely


# ---------------------------------------------------- rendering, saving, Jupyter
@pytest.mark.needs_dot
def test_saves_svg_png_and_dot(example: Value, tmp_path: Path) -> None:
    drawing = draw(example, highlight="W[1]_12")
    svg = drawing.save(tmp_path / "g.svg").read_text(encoding="utf-8")
    assert "W[1]_12" in " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert drawing.save(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert drawing.save(tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
        drawing.save(tmp_path / "g.pdf")


@pytest.mark.needs_dot
def test_jupyter_shows_svg_by_default_and_png_on_request(example: Value) -> None:
    svg_drawing = draw(example)
    bundle = svg_drawing._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert "<svg" in str(bundle["image/svg+xml"])
    assert svg_drawing._repr_svg_() == bundle["image/svg+xml"]
    assert svg_drawing._repr_png_() is None
    png_drawing = draw(example, image_format="png")
    bundle = png_drawing._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    png = bundle["image/png"]
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    assert png_drawing._repr_svg_() is None
    assert png_drawing._repr_png_() == bundle["image/png"]
    with pytest.raises(ValueError, match="image_format"):
        draw(example, image_format="pdf")


def test_without_graphviz_nothing_crashes(
    example: Value, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    drawing = draw(example, highlight="W[1]_12")
    assert isinstance(drawing, Drawing)
    bundle = drawing._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    plain = str(bundle["text/plain"])
    assert plain.splitlines()[0] == INSTALL_HINT
    assert "apt install graphviz" in plain and drawing.source in plain
    assert "&lt;" in str(bundle["text/html"])  # the source is shown escaped, not interpreted
    assert drawing._repr_svg_() is None
    with pytest.raises(GraphvizNotFoundError, match=r"install Graphviz.*save the drawing as \.dot"):
        drawing.save(tmp_path / "g.svg")
    with pytest.raises(GraphvizNotFoundError):
        drawing.save(tmp_path / "g.png")
    assert not (tmp_path / "g.svg").exists() and not (tmp_path / "g.png").exists()
    assert drawing.save(tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source


# ------------------------------------------------------------------ main job
def run_main(out: Path, path_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path_env}
    return subprocess.run(
        [sys.executable, "-m", "micrograd_lite", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.mark.needs_dot
def test_main_writes_the_table_and_the_highlighted_graph(tmp_path: Path) -> None:
    result = run_main(tmp_path / "out", os.environ["PATH"])
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "out" / "worked_example.txt").read_text(encoding="utf-8")
    assert table.strip() in result.stdout and "W[1]_12" in table
    svg = (tmp_path / "out" / "worked_example.svg").read_text(encoding="utf-8")
    highlighted = [g for g in svg_groups(svg, "edge").values() if "path" in g.get("class", "")]
    assert len(highlighted) == 10
    assert "2 paths from W[1]_12 to E" in " ".join(texts(ET.fromstring(svg)))
    assert (tmp_path / "out" / "worked_example.dot").exists()


def test_main_without_graphviz_writes_the_dot_and_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_main(tmp_path / "out", str(empty))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "worked_example.dot").read_text(encoding="utf-8").startswith("digraph")
    assert (tmp_path / "out" / "worked_example.txt").exists()
    assert not (tmp_path / "out" / "worked_example.svg").exists()
    assert "no SVG: Graphviz's `dot` program is not on PATH" in result.stdout


@pytest.mark.needs_dot
@pytest.mark.parametrize("view", ["full", "units", "layers"])
def test_hostile_parameter_labels_are_safe_in_every_view(view: str) -> None:
    """Labels starting with '<' reach tooltips too: they must be quoted there, not taken as HTML."""
    model = MLP(2, [2, 1], ["tanh", "identity"], seed=0)
    for p, label in zip(model.parameters(), ["<b>", '<x" onclick="y', "<", *HOSTILE]):
        p.label = label
    E = squared_error(model([0.5, -1.0]), 0.25)
    E.backward()
    drawing = draw(E, view=view)  # type: ignore[arg-type]
    for line in drawing.source.splitlines():
        for key in ("tooltip", "id", "class", "fillcolor"):
            assert not re.search(rf"\b{key}=<", line), line  # only labels may be HTML-like
    tree = ET.fromstring(drawing.svg())  # renders: the DOT parsed, the SVG is well-formed
    assert not [e for e in tree.iter() if e.tag in ("b", f"{SVG}b", "x", f"{SVG}x")]
    if view == "units":
        titles = [a.get("{http://www.w3.org/1999/xlink}title", "") for a in tree.iter(f"{SVG}a")]
        assert any(title.startswith("<b> = ") for title in titles)


# ------------------------------------------------- constants, targets and inputs
def loss_graph() -> tuple[Value, Value, Value, Value]:
    """``E = 0.5 (t - tanh(w x))^2`` in the notebook's form: a constant, a target and an input."""
    x, w, t = Value(0.8, label="x_1"), Value(-0.4, label="W[1]_11"), Value(1.0, label="t")
    y = (w * x).tanh()
    y.label = "y"
    E = 0.5 * (t - y) * (t - y)
    E.label = "E"
    E.backward()
    return E, x, w, t


def box_of(source: str, label: str) -> str:
    return next(attrs for attrs in dot_nodes(source).values() if f"<B>{label}</B>" in attrs)


@pytest.mark.parametrize("view", ["full", "units", "layers"])
def test_constants_and_targets_show_no_gradient_in_any_view(view: str) -> None:
    model = MLP(2, [2, 1], ["tanh", "identity"], seed=0)
    E = squared_error(model([0.5, -1.0]), 0.25)
    E.backward()
    source = draw(E, view=view, color_by_grad=True).source  # type: ignore[arg-type]
    target = box_of(source, "t")
    assert t_grad_hidden(target) and "target" in classes(target) and "data" in classes(target)
    assert "fillcolor" in target and "#E8EEF6" in target  # the data style, not a colour of the scale
    if view != "layers":
        x_1 = box_of(source, "x_1")
        assert "input" in classes(x_1) and "grad " in x_1  # inputs are data too, but keep dE/dx


def t_grad_hidden(attrs: str) -> bool:
    return "grad" not in attrs.split("tooltip")[0].replace("class=", "")


def test_a_constant_box_shows_only_its_value_and_its_edge_no_derivative() -> None:
    E, _, _, t = loss_graph()
    order = topological_order(E)
    index = {v: k for k, v in enumerate(order)}
    half = next(v for v in order if v.op == "const")
    drawing = draw(E, color_by_grad=True)
    nodes, edges = dot_nodes(drawing.source), dot_edges(drawing.source)
    const = nodes[f"n{index[half]}"]
    assert "<B>0.5</B>" in const and "grad" not in const and "data" not in const  # before: "grad 0.0..."
    assert "fillcolor" not in const  # not coloured: off the key's range
    for child in order:
        for slot, parent in enumerate(child.parents):
            attrs = edges[f"e{index[child]}_{slot}"][2]
            if parent is half or parent is t:
                assert "label=" not in attrs and "tooltip=" not in attrs  # before: label=<0.0...>
            else:
                assert f"label=<{number(child.local_grads[slot])}>" in attrs
    assert t_grad_hidden(nodes[f"n{index[t]}"])
    # The key's range is made of the gradients shown; the constant's, larger than all, is not in it.
    largest = max(abs(v.grad) for v in order if v is not half and v is not t)
    assert abs(half.grad) > largest
    legend = re.search(r"<TD BGCOLOR=\"#FDE725\"><FONT COLOR=\"#000000\">([^<]*)</FONT>", drawing.source)
    assert legend is not None and legend.group(1) == number(largest, 2)


def test_highlighting_a_target_still_lists_its_paths() -> None:
    E, *_ = loss_graph()
    source = draw(E, highlight="t").source
    assert "2 paths from t to E" in source  # the data is drawn as data, but it is a node like any other


# ------------------------------------------------------------------ the caption
@pytest.mark.needs_dot
def test_caption_text_is_at_least_as_large_as_the_boxes_and_wrapped_to_the_graph() -> None:
    model = MLP(2, [3, 3, 3, 1], activations="tanh", seed=0)
    y = model([0.5, -1.0])
    assert isinstance(y, Value)
    y.backward()
    svg = draw(y, view="units", highlight=model.layers[0].neurons[0].W[0]).svg()
    tree = ET.fromstring(svg)
    graph = tree.find(f"{SVG}g")
    assert graph is not None
    caption = [t for t in graph.findall(f"{SVG}text")]  # the graph's own label: the caption
    box_text = [t for g in svg_groups(svg, "node").values() for t in g.iter(f"{SVG}text")]
    caption_size = min(float(t.get("font-size", "0")) for t in caption)
    box_size = max(float(t.get("font-size", "0")) for t in box_text)
    assert caption_size >= box_size  # before: 11 pt under a graph whose notebook display shrinks it
    # No caption line is wider than the drawing of the graph itself: the caption never widens the image.
    xs = [
        float(p)
        for g in svg_groups(svg, "node").values()
        for poly in g.iter(f"{SVG}path")
        for p in re.findall(r"[-\d.]+", poly.get("d", ""))[::2]
    ]
    graph_width = max(xs) - min(xs)
    longest = max(len(t.text or "") for t in caption)
    assert longest * caption_size * 0.6 <= graph_width * 1.1
    heading = next(t for t in caption if "paths from" in (t.text or ""))
    assert heading.text == "9 paths from W[1]_11 to y"  # its own line: no bold/plain gap beside it


# ------------------------------------------------------------------ long labels
@pytest.mark.needs_dot
@pytest.mark.parametrize("label", ["&" * 4000, "x" * 100_000, "<" * 20_000 + "\\" * 20_000])
def test_any_label_draws_shortened_in_the_box_and_whole_in_the_tooltip(label: str) -> None:
    w = Value(0.5, label=label)
    E = (w * 2.0).tanh()
    E.label = "E"
    E.backward()
    for view in ("full", "units", "layers"):
        drawing = draw(E, highlight=w, view=view)  # type: ignore[arg-type]
        tree = ET.fromstring(drawing.svg())  # before: dot refused it, or a BrokenPipeError escaped
        shown = [t.text or "" for t in tree.iter(f"{SVG}text")]
        assert any("\u2026" in t for t in shown)  # visibly shortened
        assert max(len(t) for t in shown) < 400
    tooltips = [a.get("{http://www.w3.org/1999/xlink}title", "") for a in tree.iter(f"{SVG}a")]
    shown_label = label.replace("\\", "\u29f5")
    if len(label) <= 1000:
        assert shown_label in tooltips
    else:
        assert any(t.startswith(shown_label[:600]) and "\u2026" in t for t in tooltips)


def test_a_failing_dot_run_is_a_graphviz_error_not_a_raw_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphviz  # type: ignore[import-untyped]  # drawing imports it when it first renders

    from micrograd_lite import drawing as drawing_module

    class Source:
        def __init__(self, source: str) -> None:
            pass

        def pipe(self, **kwargs: object) -> bytes:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(graphviz, "Source", Source)
    monkeypatch.setattr(drawing_module, "graphviz_available", lambda: True)
    drawing = draw(Value(1.0, label="a") * 2.0)
    with pytest.raises(drawing_module.GraphvizError, match=r"could not render this drawing.*BrokenPipeError"):
        drawing.svg()
    assert isinstance(drawing_module.GraphvizError("x"), RuntimeError)
    bundle = drawing._repr_mimebundle_()  # the notebook shows the source and why, instead of crashing
    assert "could not render" in str(bundle["text/plain"])


# ----------------------------------------------------------- hostile str labels
class Sneaky(str):
    """A label whose methods skip escaping: replace is a no-op and formatting lies."""

    def replace(self, *args: object) -> str:  # type: ignore[override]
        return str.__str__(self)

    def isprintable(self) -> bool:
        return True

    def __str__(self) -> str:
        return self

    def __format__(self, spec: str) -> str:
        return str.__str__(self)


@pytest.mark.needs_dot
def test_str_subclass_labels_and_bidi_controls_cannot_reach_the_drawing_unescaped() -> None:
    link = '<A HREF="javascript:alert(1)">x</A>'
    w = Value(0.5)
    w.label = Sneaky(link)  # set after construction, as a user may
    b = Value(1.0, label="bad\u202eevil")
    E = w * b
    E.label = "E"
    E.backward()
    drawing = draw(E, highlight=w)
    labels = re.findall(r"label=(<.*?>)(?: \w+=|\])", drawing.source)
    assert labels and not [x for x in labels if "<A " in x]  # in HTML-like labels only as escaped text
    assert "\u202e" not in drawing.source
    svg = drawing.svg()
    assert "\u202e" not in svg and "bad\\u202eevil" in svg
    tree = ET.fromstring(svg)
    hrefs = [a.get("{http://www.w3.org/1999/xlink}href", "") for a in tree.iter(f"{SVG}a")]
    assert not [h for h in hrefs if "javascript" in h]  # before: the link became an <a> of the SVG
    assert link in [t.text for t in tree.iter(f"{SVG}text")]  # shown as the text it is
    page_module = __import__("micrograd_lite.step_page", fromlist=["page_data"])
    from micrograd_lite.stepper import record_steps

    data = page_module.page_data(record_steps(E))
    assert all("\u202e" not in n["name"] for n in data["nodes"])
    assert all(type(n["name"]) is str for n in data["nodes"])


# ------------------------------------------------------------- argument errors
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"precision": 1.5},
            TypeError,
            r"draw: precision must be an int \(1 to 17 significant digits\), got float",
        ),
        ({"precision": 0}, ValueError, "draw: precision must be 1 to 17 significant digits, got 0"),
        ({"max_nodes": None}, TypeError, r"draw: max_nodes must be an int \(at least 1 box\), got NoneType"),
        ({"max_nodes": 0}, ValueError, "draw: max_nodes must be at least 1 box"),
        ({"max_caption_paths": -1}, ValueError, "draw: max_caption_paths must be 0 or more paths"),
        ({"max_caption_paths": "3"}, TypeError, "draw: max_caption_paths must be an int"),
        ({"show_grad": "no"}, TypeError, "draw: show_grad must be True or False, got str"),
        ({"color_by_grad": 1}, TypeError, "draw: color_by_grad must be True or False, got int"),
        pytest.param(  # the deprecated spelling: the error names the argument as it was passed
            {"colour_by_grad": 1},
            TypeError,
            "draw: colour_by_grad must be True or False, got int",
            marks=pytest.mark.filterwarnings("ignore:draw. colour_by_grad= is deprecated:DeprecationWarning"),
        ),
        ({"show_derivatives": "yes"}, TypeError, "draw: show_derivatives must be True or False"),
    ],
)
def test_bad_arguments_are_named_in_the_error(kwargs: dict[str, object], error: type, message: str) -> None:
    E = Value(1.0, label="a") * 2.0
    with pytest.raises(error, match=message):
        draw(E, highlight="a", **kwargs)  # type: ignore[arg-type]
