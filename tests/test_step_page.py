"""The step-through page: its data and escaping, and its behaviour in a real headless browser.

The browser tests drive Debian's chromium with Python playwright (the ``browser`` fixture of
``conftest.py``). Without them they skip on a developer's machine, but fail in CI (``CI`` set): a
browser test that silently skips tests nothing.
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import require_program

from micrograd_lite import MLP, Value, squared_error, topological_order, worked_example
from micrograd_lite.__main__ import main
from micrograd_lite.dot import number
from micrograd_lite.drawing import GraphTooLargeError, GraphvizNotFoundError, draw, graphviz_available
from micrograd_lite.step_page import Layout, StepPage, script_json, step_page
from micrograd_lite.stepper import Recording

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>"
CLOSER = "</script><script>alert(1)</script>"
QUOTES = "\"'><svg onload=alert(2)>"

needs_dot = pytest.mark.needs_dot


# ------------------------------------------------------------------ graphs
def worked_root() -> Value:
    table = worked_example()
    assert table.root is not None
    return table.root


def hostile_root() -> Value:
    x = Value(0.5, label=HOSTILE)
    w = Value(-1.5, label=CLOSER)
    h = (w * x + 1.0).tanh()
    h.label = QUOTES
    E = h * h + x
    E.label = "E & <E>"
    return E


def embedded_data(page_html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="step-data">(.*?)</script>', page_html, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def expected_grads(recording: Recording, position: int) -> list[str | None]:
    """Each node's grad as the page must show it after ``position`` steps (None: blank)."""
    shown: list[str | None] = [None] * len(recording.order)
    if position >= 1:
        shown[recording.index[recording.root]] = repr(recording.steps[0].delta)
    for step in recording.steps[:position]:
        for slot in recording.shown_slots(step):  # constants and targets stay blank: no grad shown
            shown[recording.index[step.edges[slot].parent]] = repr(recording.running_total(step, slot))
    return shown


def final_grads(recording: Recording) -> list[str | None]:
    """What the page shows at the end: every grad, but none for constants and targets."""
    return [repr(v.grad) if recording.shows_grad(v) else None for v in recording.order]


# ------------------------------------------------------------------ without a browser
def test_script_json_cannot_close_the_script_and_round_trips() -> None:
    data = {"label": CLOSER + "&<!--\u2028\u2029", "n": [1, "nan"]}
    text = script_json(data)
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text) == data


def test_page_embeds_the_engines_numbers_and_is_self_contained() -> None:
    root = worked_root()
    page = step_page(root)
    recording = page.recording
    data = embedded_data(page.html)
    assert len(data["steps"]) == len(recording) == 11
    for step, shown in zip(recording, data["steps"]):
        assert shown["node"] == recording.index[step.node]
        assert shown["delta"] == repr(step.delta) and float(shown["delta"]) == step.node.grad
        assert shown["formula"] == recording.formula(step)
        # Every edge but those into constants and targets (here the edge E -> t), whose grads are not shown.
        listed = [recording.index[e.parent] for e in step.edges if e.parent.label != "t"]
        assert [e["parent"] for e in shown["edges"]] == listed
    assert [n["name"] for n in data["nodes"]] == [recording.names[n] for n in recording.order]
    # Nothing to fetch: no external URL, no src or href attribute at all.
    assert not re.search(r"""(src|href)\s*=|https?://(?!www\.w3\.org/)""", page.html)
    assert page.html.count("<script") == 2


def test_the_page_pass_equals_backward_and_zeroes_first() -> None:
    reference = worked_root()  # one backward() after zero_grad, in delta_table
    root = worked_root()
    root.backward()  # a stale pass: leaves now hold twice their gradient
    step_page(root)
    assert [n.grad.hex() for n in topological_order(root)] == [
        n.grad.hex() for n in topological_order(reference)
    ]
    step_page(root, zero_grad=False)  # accumulates, as backward() would
    leaf = next(n for n in topological_order(root) if n.label == "W[1]_12")
    ref = next(n for n in topological_order(reference) if n.label == "W[1]_12")
    assert leaf.grad == 2 * ref.grad


def test_labels_are_escaped_in_the_page() -> None:
    page = step_page(hostile_root(), title=f"{HOSTILE} {CLOSER}", layout="columns")
    assert HOSTILE not in page.html and QUOTES not in page.html
    assert page.html.count("<script") == 2 and page.html.count("</script>") == 2
    assert "<img" not in page.html and "<svg onload" not in page.html
    names = [n["name"] for n in embedded_data(page.html)["nodes"]]
    assert HOSTILE in names and CLOSER in names and QUOTES in names and "E & <E>" in names


@needs_dot
def test_svg_layout_is_inline_and_escaped() -> None:
    page = step_page(hostile_root())
    assert page.layout == "svg"
    assert (
        '<svg id="graph-svg"' in page.html and "<?xml" not in page.html and "<!DOCTYPE svg" not in page.html
    )
    assert HOSTILE not in page.html and "<img" not in page.html and "<svg onload" not in page.html
    opening = re.search(r"<svg id=\"graph-svg\"[^>]*>", page.html)
    assert opening is not None and " width=" not in opening.group(0) and "viewBox" in opening.group(0)


@needs_dot
def test_python_centres_each_grad_line_and_sends_the_boxes() -> None:
    """The page needs no text measurement: positions come from Graphviz's own coordinates."""
    root = worked_root()
    page = step_page(root)
    geometry = embedded_data(page.html)["graph"]
    drawn = draw(root).svg()  # dot's own layout of the same graph, read independently
    view = re.search(r'viewBox="([^"]*)"', drawn)
    assert view is not None
    assert [geometry["width"], geometry["height"]] == [float(v) for v in view.group(1).split()[2:]]
    assert geometry["minFont"] == min(float(f) for f in re.findall(r'font-size="([^"]*)"', drawn))
    shift = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", page.html)
    assert shift is not None
    tx, ty = float(shift.group(1)), float(shift.group(2))
    groups = re.findall(r'<g id="n(\d+)" class="node[^"]*">(.*?)</g>', page.html, re.S)
    assert len(groups) == len(page.recording.order)
    for k, body in groups:
        x, y, w, h = geometry["boxes"][int(k)]
        outline = re.search(r' (?:d|points)="([^"]*)"', body)  # a rounded box, or a data box
        assert outline is not None
        corners = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", outline.group(1))]
        assert (x, x + w) == (min(corners[0::2]) + tx, max(corners[0::2]) + tx)
        assert (y, y + h) == (min(corners[1::2]) + ty, max(corners[1::2]) + ty)
        if page.recording.kinds[page.recording.order[int(k)]] in ("const", "target"):
            assert "grad-row" not in body  # a constant or a target has no gradient to show
            continue
        row = re.search(r"<text ([^>]*)>([^<]*)</text>\s*$", body)
        assert row is not None and row.group(2) == "grad ?"  # blank until the pass reaches it
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', row.group(1)))
        assert attrs["class"] == "grad-row" and attrs["text-anchor"] == "middle"
        assert float(attrs["x"]) + tx == pytest.approx(x + w / 2)
    assert "getBBox" not in page.html


@needs_dot
def test_every_box_is_drawn_wide_enough_for_every_running_total() -> None:
    """A box is sized for the longest grad its line will show, and the graph keeps its gradients."""
    x = Value(0.1, "x")
    E = x * 0.123456 + x * 1.876544  # x's running totals: one of the two, then 2 ("2": shorter)
    page = step_page(E)
    total = 0.123456 + 1.876544
    assert [v.grad for v in page.recording.order] == [v.grad for v in topological_order(E)]
    assert x.grad == total  # the graph keeps the gradients of the full pass
    widest = max(
        (page.recording.running_total(s, slot) for s, slot in page.recording.received(x)),
        key=lambda v: len(number(v, 4)),
    )
    assert len(number(widest, 4)) > len(number(x.grad, 4))  # the final grad is not the longest
    k = page.recording.index[x]
    width = embedded_data(page.html)["graph"]["boxes"][k][2]
    x.grad = widest
    wide = re.search(rf'<g id="n{k}" class="node[^"]*">.*?</g>', draw(E).svg(), re.S)
    x.grad = total
    assert wide is not None
    outline = re.search(r' (?:d|points)="([^"]*)"', wide.group(0))  # a rounded box, or a data box
    assert outline is not None
    corners = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", outline.group(1))]
    assert width == max(corners[0::2]) - min(corners[0::2])


def test_without_dot_the_nodes_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package's `step_page` is the function; the module is reached by its full name.
    page_module = importlib.import_module("micrograd_lite.step_page")
    drawing_module = importlib.import_module("micrograd_lite.drawing")
    monkeypatch.setattr(page_module, "graphviz_available", lambda: False)
    page = step_page(worked_root())
    assert page.layout == "columns" and "<svg" not in page.html
    assert "was not found" in page.html and 'data-layout="columns"' in page.html
    monkeypatch.setattr(drawing_module, "graphviz_available", lambda: False)
    with pytest.raises(GraphvizNotFoundError):
        step_page(worked_root(), layout="svg")


@needs_dot
def test_a_graph_too_large_to_draw_is_listed() -> None:
    page = step_page(worked_root(), max_nodes=5)
    assert page.layout == "columns" and "max_nodes=5" in page.html
    with pytest.raises(GraphTooLargeError):
        step_page(worked_root(), layout="svg", max_nodes=5)


def test_save_path_and_arguments(tmp_path: Path) -> None:
    root = worked_root()
    page = step_page(root, tmp_path / "a.html")
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == page.html
    assert page.save(tmp_path / "b.html") == tmp_path / "b.html"
    assert "11 steps" in repr(page)
    with pytest.raises(TypeError, match="needs a Value"):
        step_page(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layout"):
        step_page(root, layout="grid")  # type: ignore[arg-type]
    leaf = step_page(Value(1.0, label="w"), layout="columns")
    assert embedded_data(leaf.html)["steps"] == []


def test_notebook_view_is_a_sandboxed_iframe_of_the_page() -> None:
    """The iframe first, then the static view that a rule hides while the iframe is there."""
    page = step_page(hostile_root(), title=f"t {HOSTILE}", layout="columns")
    view = page._repr_html_()
    match = re.fullmatch(
        r'<div class="mgl-step-page">'
        r"<style>\.mgl-step-page iframe ~ \.mgl-static \{ display: none; \}</style>"
        r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" title="([^"]*)" style="[^"]*"></iframe>'
        r'(<div class="mgl-static".*)</div>',
        view,
        re.S,
    )
    assert match is not None
    assert html.unescape(match.group(1)) == page.html
    assert html.unescape(match.group(2)) == f"t {HOSTILE}" == page.title
    assert "<script" not in match.group(1)
    assert match.group(3) == page.static_html


class Tags(HTMLParser):
    """Every tag and attribute of an HTML fragment, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# What JupyterLab 4's sanitiser keeps in an untrusted notebook, found by opening one in it
# (tests/test_step_page_jupyterlab.py checks the static view there): it removes <iframe>, <style>,
# inline <svg>, <script>, the hidden attribute, ids and aria-* attributes.
SANITISER_SAFE_TAGS = {
    "div",
    "p",
    "b",
    "i",
    "img",
    "details",
    "summary",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "br",
}


@needs_dot
def test_static_view_shows_the_finished_pass_with_what_an_untrusted_notebook_keeps() -> None:
    page = step_page(hostile_root(), title=f"t {HOSTILE}")
    recording = page.recording
    parsed = Tags()
    parsed.feed(page.static_html)
    assert {tag for tag, _ in parsed.tags} <= SANITISER_SAFE_TAGS
    assert all(
        not attr.startswith("on") and attr not in ("id", "hidden") for _, a in parsed.tags for attr in a
    )
    images = [a for tag, a in parsed.tags if tag == "img"]
    assert len(images) == 1
    src = images[0]["src"] or ""
    assert src.startswith("data:image/svg+xml;base64,")
    drawing = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
    assert "<script" not in drawing and HOSTILE not in drawing
    grad_rows = re.findall(r'<text [^>]*class="grad-row"[^>]*>([^<]*)</text>', drawing)
    # the picture shows the finished pass: every box's grad as the drawing writes it
    assert sorted(grad_rows) == sorted(
        f"grad {number(v.grad, 4)}"
        for v in recording.order
        if recording.kinds[v] not in ("const", "target")  # they have no gradient to show
    )
    text = "".join(parsed.text)
    for step in recording:  # one row per step: the node, its delta, its pushes
        assert recording.names[step.node] in text and repr(step.delta) in text
        for line in recording.edge_lines(step):
            assert line in text
    assert "Run this cell" in text and "Trust Notebook" in text
    assert HOSTILE not in page.static_html and "<img src=x" not in page.static_html


def test_static_view_without_the_drawing_is_the_table() -> None:
    page = step_page(worked_root(), layout="columns")
    assert "<img" not in page.static_html and page.static_html.count("<tr>") == len(page.recording) + 1


def test_a_lone_surrogate_is_replaced_not_an_error(tmp_path: Path) -> None:
    """Text Python holds but UTF-8 cannot encode (a lone surrogate) used to fail the save."""
    x = Value(2.0, label="x\udc80")
    E = (x * x).tanh()
    E.label = "E\ud800"
    page = step_page(E, tmp_path / "page.html", title="t\ud83d", layout="columns")
    written = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "<title>t\ufffd</title>" in written and page.title == "t\ufffd"
    assert "\ufffd" in page.static_html and not re.search("[\ud800-\udfff]", page._repr_html_())
    page._repr_html_().encode("utf-8")  # what Jupyter sends must encode too
    if graphviz_available():
        step_page(E, tmp_path / "drawn.html", title="t\ud83d").static_html.encode("utf-8")


def test_main_job_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "out")]) == 0
    written = (tmp_path / "out" / "worked_example.html").read_text(encoding="utf-8")
    assert len(embedded_data(written)["steps"]) == 11 and "worked example" in written
    assert "worked_example.html" in capsys.readouterr().out
    assert main(["--out", str(tmp_path / "out2"), "--page", str(tmp_path / "elsewhere.html")]) == 0
    assert (tmp_path / "elsewhere.html").exists() and not (tmp_path / "out2" / "worked_example.html").exists()


# ------------------------------------------------------------------ in a browser
@dataclass
class Watched:
    """A browser page with everything it reported: console errors, uncaught errors, dialogs, requests."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        assert self.requests == [], self.requests

    def position(self) -> int:
        return int(self.page.get_attribute("body", "data-position"))

    def current(self) -> tuple[int, str] | None:
        """``(node index, repr of its delta)`` of the step shown, or None before the first."""
        found = self.page.evaluate(
            """() => { const d = document.getElementById('current-delta');
                       return d.hasAttribute('data-value') ? [Number(d.dataset.node), d.dataset.value,
                              d.textContent] : null; }"""
        )
        if found is None:
            return None
        assert found[2] == found[1]  # shown in full, as repr(float)
        return found[0], found[1]

    def grads(self) -> list[str | None]:
        """The grad each node shows (the table's data-grad attribute; None when blank)."""
        shown: list[str | None] = self.page.eval_on_selector_all(
            "#node-table tbody tr", "rows => rows.map(r => r.getAttribute('data-grad'))"
        )
        return shown


@pytest.fixture
def open_page(browser: Any, tmp_path: Path) -> Iterator[Callable[..., Watched]]:
    pages: list[Watched] = []

    def open_(page: StepPage | str, name: str = "page.html") -> Watched:
        tab = browser.new_page(viewport={"width": 1400, "height": 860})
        watched = Watched(tab)

        def on_console(message: Any) -> None:
            if message.type == "error":
                watched.errors.append(message.text)

        def on_dialog(dialog: Any) -> None:
            watched.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_request(request: Any) -> None:
            if not request.url.startswith(("file:", "about:", "data:")):
                watched.requests.append(request.url)

        tab.on("console", on_console)
        tab.on("pageerror", lambda error: watched.errors.append(str(error)))
        tab.on("dialog", on_dialog)
        tab.on("request", on_request)
        if isinstance(page, StepPage):
            tab.goto(page.save(tmp_path / name).as_uri())
        else:
            tab.set_content(page)
        pages.append(watched)
        return watched

    yield open_
    for watched in pages:
        watched.page.close()


def test_stepping_fills_in_the_engines_deltas(open_page: Callable[..., Watched]) -> None:
    layout: Layout = "svg" if graphviz_available() else "columns"
    page = step_page(worked_root(), title="The worked example", layout=layout)
    recording = page.recording
    w = open_page(page)
    assert w.position() == 0 and w.current() is None
    assert w.grads() == [None] * len(recording.order)  # every grad starts blank
    for n in range(1, len(recording) + 1):
        w.page.click("#step")
        assert w.position() == n
        step = recording[n - 1]
        node, shown = w.current() or (-1, "")
        assert node == recording.index[step.node]
        assert float(shown).hex() == step.delta.hex() == step.node.grad.hex()
        assert w.grads() == expected_grads(recording, n)
        formula = w.page.eval_on_selector_all("#formula .line", "ls => ls.map(l => l.textContent)")
        assert formula == recording.formula(step)
        edges = w.page.eval_on_selector_all("#edges tr", "rs => rs.map(r => r.textContent)")
        parts = recording.edge_parts(step)
        assert edges == ["".join(parts[slot]) for slot in recording.shown_slots(step)]
        if layout == "svg":
            assert "current" in (w.page.get_attribute(f"#n{node}", "class") or "")
            grad_row = w.page.eval_on_selector(
                f"#n{node}", "g => g.querySelector('text.grad-row').textContent"
            )
            assert grad_row == f"grad {number(step.delta, 4)}"
        if n == 5:
            ARTIFACTS.mkdir(exist_ok=True)
            w.page.screenshot(path=str(ARTIFACTS / "step_page.png"), full_page=True)
    # The end: every node, leaves included, shows exactly the gradient the engine holds.
    assert w.grads() == final_grads(recording)
    assert w.page.is_visible("#done") and w.page.is_disabled("#step")
    w.check()


def test_back_reset_play_keys_and_clicks(open_page: Callable[..., Watched]) -> None:
    page = step_page(worked_root())
    recording = page.recording
    w = open_page(page)
    for _ in range(5):
        w.page.click("#step")
    w.page.click("#back")
    assert w.position() == 4
    assert w.current() == (recording.index[recording[3].node], repr(recording[3].delta))
    assert w.grads() == expected_grads(recording, 4)
    w.page.click("#reset")
    assert w.position() == 0 and w.current() is None
    assert w.grads() == [None] * len(recording.order)
    if page.layout == "svg":
        rows = w.page.eval_on_selector_all("text.grad-row", "ts => ts.map(t => t.textContent)")
        assert rows and set(rows) == {"grad ?"}
    # Play at full speed runs to the end and stops there.
    w.page.fill("#speed", "7")
    assert w.page.text_content("#speed-label") == "100 steps/s"
    w.page.click("#play")
    w.page.wait_for_function(
        "n => document.body.dataset.position === String(n) && document.body.dataset.playing === 'false'",
        arg=len(recording),
        timeout=10_000,
    )
    assert w.grads() == final_grads(recording)
    # Keys: Home resets, the arrows step, End jumps to the end.
    w.page.keyboard.press("Home")
    assert w.position() == 0
    w.page.keyboard.press("ArrowRight")
    w.page.keyboard.press("ArrowRight")
    w.page.keyboard.press("ArrowLeft")
    assert w.position() == 1
    w.page.keyboard.press("End")
    assert w.position() == len(recording)
    # Clicking a node jumps to its step.
    target = next(k for k, s in enumerate(recording) if s.node.label == "a[2]_1")
    w.page.click(
        f"#n{recording.index[recording[target].node]}, #card-{recording.index[recording[target].node]}"
    )
    assert w.position() == target + 1
    w.check()


def test_columns_layout_works_without_the_drawing(open_page: Callable[..., Watched]) -> None:
    model = MLP(2, [3, 2, 1], activations=["tanh", "relu", "identity"], seed=4)
    E = squared_error(model([0.4, -0.7]), 0.25)
    page = step_page(E, layout="columns")
    recording = page.recording
    w = open_page(page)
    assert w.page.query_selector("#graph-svg") is None
    assert len(w.page.query_selector_all(".node-card")) == len(recording.order)
    for n in range(1, 4):
        w.page.click("#step")
        assert w.current() == (recording.index[recording[n - 1].node], repr(recording[n - 1].delta))
        card = w.page.get_attribute(f"#card-{recording.index[recording[n - 1].node]}", "class") or ""
        assert "current" in card
    w.page.click("#end")
    assert w.grads() == final_grads(recording)
    cards = w.page.eval_on_selector_all(".node-card .grad", "gs => gs.map(g => g.getAttribute('data-value'))")
    assert sorted(cards, key=str) == sorted(final_grads(recording), key=str)
    w.check()


@pytest.mark.parametrize("layout", ["svg", "columns"])
def test_hostile_labels_show_as_text(open_page: Callable[..., Watched], layout: Layout) -> None:
    if layout == "svg":
        require_program("dot")
    page = step_page(hostile_root(), title=f"{HOSTILE}{CLOSER}", layout=layout)
    w = open_page(page)
    w.page.click("#end")
    for k in range(len(page.recording) + 1):  # every step's formula and edges, by keys
        w.page.keyboard.press("ArrowLeft" if k else "Home")
    w.page.click("#end")
    names = w.page.eval_on_selector_all(
        "#node-table tbody tr td:first-child", "ts => ts.map(t => t.textContent)"
    )
    assert {HOSTILE, CLOSER, QUOTES, "E & <E>"} <= set(names)
    assert w.page.title() == f"{HOSTILE}{CLOSER}"
    assert w.page.text_content("h1") == f"{HOSTILE}{CLOSER}"
    counts = w.page.evaluate(
        "() => [document.querySelectorAll('img').length, document.scripts.length,"
        " document.querySelectorAll('svg').length]"
    )
    assert counts == [0, 2, 1 if layout == "svg" else 0]
    if layout == "svg":
        texts = w.page.eval_on_selector_all("#graph-svg text", "ts => ts.map(t => t.textContent)")
        assert HOSTILE in texts and CLOSER in texts
    edges = w.page.text_content("#edges") or ""
    assert "alert(1)" in edges or "alert(1)" in (w.page.text_content("#formula") or "")
    w.check()


def test_numbers_are_shown_as_python_formats_them(open_page: Callable[..., Watched]) -> None:
    """Every number on the page is Python's own format of it, ties included (1.0625 -> 1.062)."""
    x, w = Value(1.0625, "x"), Value(1.0, "w")
    E = x * w + Value(-2.5e-7, "c") * Value(123456.0, "k")
    page = step_page(E, layout="columns")
    w_ = open_page(page)
    w_.page.click("#end")
    table = w_.page.eval_on_selector_all(
        "#node-table td.grad[data-value]", "cs => cs.map(c => [c.dataset.value, c.textContent])"
    )
    cards = w_.page.eval_on_selector_all(
        ".node-card .grad[data-value]", "cs => cs.map(c => [c.dataset.value, c.textContent])"
    )
    assert len(table) == len(cards) == len(page.recording.order)
    assert all(text == number(float(value), 6) for value, text in table), table
    assert all(text == "grad " + number(float(value), 4) for value, text in cards), cards
    assert ["1.0625", "grad 1.062"] in cards  # dW = x: an exact tie, rounded half to even as Python does
    w_.check()


def test_notebook_view_steps_in_its_iframe(open_page: Callable[..., Watched]) -> None:
    page = step_page(hostile_root(), layout="columns")
    w = open_page(f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>")
    frame = w.page.frame_locator("iframe")
    frame.locator("#step").click()
    frame.locator("#step").click()
    step = page.recording[1]
    assert frame.locator("#current-delta").get_attribute("data-value") == repr(step.delta)
    assert HOSTILE in (frame.locator("#node-table").text_content() or "")
    w.check()
