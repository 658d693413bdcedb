"""The step page's layout, measured in Chromium where students see it.

* at 1280x800 (a laptop): every text of the worked example's graph is at least
  ``READABLE_TEXT_PX`` at Fit, the push table never cuts off a number, and the panel keeps the
  node being processed in view;
* in a notebook-sized frame (830x760): the node being processed and the formula of its step are
  on screen together at every step, without scrolling;
* Space toggles Play/Pause after a button was clicked;
* exported by ``jupyter nbconvert --to html`` with the page below the fold: scrolled into view,
  every line of every box lies inside its box.

Nothing asserts on pixels; the screenshots a reviewer wants are written to ``out/screenshots/``.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module

from micrograd_lite import Value, topological_order, worked_example
from micrograd_lite.step_page import READABLE_TEXT_PX, StepPage, step_page

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "out" / "screenshots"
NOTEBOOK_02 = ROOT / "notebooks" / "02_the_worked_example.ipynb"
TITLE = "Step through backpropagation: the lecture's worked example"
TOLERANCE = 0.5  # CSS px: rounding of sub-pixel layout

pytestmark = pytest.mark.needs_dot


def worked_root() -> Value:
    table = worked_example()
    assert table.root is not None
    return table.root


def screenshot(target: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SCREENSHOTS / name))


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A new browser tab that collects the page's errors and refuses every request to the network."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    context.route("http*://**/*", lambda route: route.abort())
    page.errors = errors
    yield page
    context.close()


def open_page(tab: Any, page: StepPage, path: Path) -> Any:
    tab.goto(page.save(path).as_uri())
    tab.wait_for_function("() => window.stepPage !== undefined")
    return tab


# The geometry the tests read, in one script: rectangles are [left, top, right, bottom].
GEOMETRY = """() => {
  const box = r => [r.left, r.top, r.right, r.bottom];
  const graph = document.getElementById('graph');
  const g = graph.getBoundingClientRect();
  const pos = Number(document.body.dataset.position);
  const data = JSON.parse(document.getElementById('step-data').textContent);
  const cur = pos >= 1 ? data.steps[pos - 1] : null;
  const node = cur ? document.querySelector('#n' + cur.node + ' > path, #n' + cur.node + ' > polygon') : null;
  const card = document.getElementById('step-info').getBoundingClientRect();
  const style = getComputedStyle(document.getElementById('step-info'));
  const inner = [card.left + parseFloat(style.paddingLeft), card.right - parseFloat(style.paddingRight)];
  const scroll = document.querySelector('#step-info .scroll');
  return {
    viewport: [0, 0, window.innerWidth, window.innerHeight],
    graph: [g.left + graph.clientLeft, g.top + graph.clientTop,
            g.left + graph.clientLeft + graph.clientWidth, g.top + graph.clientTop + graph.clientHeight],
    node: node ? box(node.getBoundingClientRect()) : null,
    formula: cur ? box(document.getElementById('formula').getBoundingClientRect()) : null,
    stepPanel: box(document.getElementById('step-panel').getBoundingClientRect()),
    card: inner,
    wrapper: [scroll.scrollWidth, scroll.clientWidth],
    parts: Array.from(document.querySelectorAll('#edges .part')).map(
      part => [part.textContent, part.getBoundingClientRect().height]),
    cells: Array.from(document.querySelectorAll('#edges td')).map(td => {
      const r = td.getBoundingClientRect();
      return { text: td.textContent, scroll: td.scrollWidth, client: td.clientWidth,
               left: r.left, right: r.right };
    }),
  };
}"""

TEXT_SIZES = """() => Array.from(document.querySelectorAll('#graph-svg text'))
  .filter(t => t.textContent.trim())
  .map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
             t.getBoundingClientRect().height])"""


def inside(inner: list[float], outer: list[float]) -> bool:
    return (
        inner[0] >= outer[0] - TOLERANCE
        and inner[1] >= outer[1] - TOLERANCE
        and inner[2] <= outer[2] + TOLERANCE
        and inner[3] <= outer[3] + TOLERANCE
    )


def intersect(a: list[float], b: list[float]) -> list[float]:
    return [max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])]


def check_push_table(geometry: dict[str, Any], where: str) -> None:
    """No number of the push table is cut off: nothing overflows its cell, the table or the card."""
    scroll_width, client_width = geometry["wrapper"]
    assert scroll_width <= client_width, f"{where}: the push table is wider than its panel"
    left, right = geometry["card"]
    # "+= delta * local", "= contribution", "-> total" are each kept on one line: an operator is
    # never left at a line's end with its number below it (each part is one line high).
    heights = [height for _, height in geometry["parts"]]
    assert heights or not geometry["cells"], f"{where}: the pushes are not written as parts"
    if heights:
        broken = [text for text, height in geometry["parts"] if height > 1.5 * min(heights)]
        assert broken == [], f"{where}: a push is split across lines: {broken}"
    for cell in geometry["cells"]:
        assert cell["scroll"] <= cell["client"], f"{where}: {cell['text']!r} overflows its cell"
        assert left - TOLERANCE <= cell["left"] and cell["right"] <= right + TOLERANCE, (
            f"{where}: {cell['text']!r} runs past the panel "
            f"({cell['left']}..{cell['right']} in {left}..{right})"
        )


def test_at_1280x800_the_graph_is_readable_and_no_number_is_cut(tab: Any, tmp_path: Path) -> None:
    page = step_page(worked_root(), title=TITLE)
    w = open_page(tab, page, tmp_path / "page.html")
    assert w.get_attribute("#graph", "data-zoom") == "fit"
    sizes = w.evaluate(TEXT_SIZES)
    assert len(sizes) > 3 * len(page.recording.order)  # name, data and grad of every box, and the edges
    small = [(text, round(px, 2)) for text, px, _ in sizes if px < READABLE_TEXT_PX - 0.01]
    assert small == [], f"graph text smaller than {READABLE_TEXT_PX}px at Fit: {small[:5]}"
    assert min(height for _, _, height in sizes) >= READABLE_TEXT_PX - 0.01  # the glyph boxes as drawn
    screenshot(w, "step_page_1280x800_step00.png")
    for n in range(1, len(page.recording) + 1):
        w.click("#step")
        geometry = w.evaluate(GEOMETRY)
        check_push_table(geometry, f"step {n}")
        # The graph panel pans to the node being processed.
        visible = intersect(geometry["graph"], geometry["viewport"])
        assert inside(geometry["node"], visible), f"step {n}: the current node is not in view"
        if n in (3, 7, len(page.recording)):
            screenshot(w, f"step_page_1280x800_step{n:02d}.png")
    # The whole graph at once, on request: it fits the panel, however small its text.
    w.click("#zoom")
    assert w.get_attribute("#graph", "data-zoom") == "whole"
    svg = w.evaluate(
        "() => { const r = document.getElementById('graph-svg').getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; }"
    )
    assert inside(svg, w.evaluate(GEOMETRY)["graph"])
    screenshot(w, "step_page_1280x800_whole_graph.png")
    w.click("#zoom")
    assert min(px for _, px, _ in w.evaluate(TEXT_SIZES)) >= READABLE_TEXT_PX - 0.01
    assert w.errors == []


FIRST_NODE = """() => {
  const graph = document.getElementById('graph');
  const g = graph.getBoundingClientRect();
  const data = JSON.parse(document.getElementById('step-data').textContent);
  const first = data.steps[0].node;
  const shape = document.querySelector('#n' + first + ' > path, #n' + first + ' > polygon');
  const r = shape.getBoundingClientRect();
  return {
    panel: [g.left + graph.clientLeft, g.top + graph.clientTop,
            g.left + graph.clientLeft + graph.clientWidth, g.top + graph.clientTop + graph.clientHeight],
    node: [r.left, r.top, r.right, r.bottom],
    wider: graph.scrollWidth > graph.clientWidth,
  };
}"""


def test_before_the_first_step_the_output_node_is_in_view(tab: Any, tmp_path: Path) -> None:
    """A typed expression wider than the panel at Fit: at step 0, and again after Reset, the
    panel shows the node backpropagation starts from, not the graph's left end."""
    x, w, b = Value(0.5, "x"), Value(-1.2, "w"), Value(0.3, "b")
    E = ((x * w + b).tanh() - 0.5) ** 2
    page = open_page(tab, step_page(E), tmp_path / "typed.html")
    first = page.evaluate(FIRST_NODE)
    assert first["wider"], "the test needs a graph wider than the panel at Fit"
    assert inside(first["node"], first["panel"]), "step 0: the output node is not in view"
    screenshot(page, "step_page_1280x800_typed_expression_step00.png")
    for _ in range(3):
        page.click("#step")
    page.click("#reset")
    assert inside(page.evaluate(FIRST_NODE)["node"], first["panel"]), "after Reset: not in view"
    assert page.errors == []


def test_in_a_notebook_frame_the_node_and_its_formula_show_together(tab: Any) -> None:
    page = step_page(worked_root(), height=760)
    tab.set_viewport_size({"width": 830, "height": 800})
    tab.set_content(f'<!DOCTYPE html><html><body style="margin: 0">{page._repr_html_()}</body></html>')
    frame = tab.frame_locator("iframe")
    frame.locator("#step").wait_for()
    inner = tab.frames[1]
    size = inner.evaluate("() => [window.innerWidth, window.innerHeight]")
    assert abs(size[0] - 828) <= 2 and abs(size[1] - 758) <= 2  # the notebook's frame, inside its border
    for n in range(1, len(page.recording) + 1):
        frame.locator("#step").click()
        geometry = inner.evaluate(GEOMETRY)
        viewport = geometry["viewport"]
        assert inside(geometry["formula"], intersect(viewport, geometry["stepPanel"])), (
            f"step {n}: the formula is not in view: {geometry['formula']} in {viewport}"
        )
        assert inside(geometry["node"], intersect(viewport, geometry["graph"])), (
            f"step {n}: the current node is not in view: {geometry['node']} in {geometry['graph']}"
        )
        check_push_table(geometry, f"step {n}")
        if n in (1, 3, len(page.recording)):
            tab.wait_for_timeout(300)  # let the frame paint before the picture
            screenshot(tab, f"step_page_notebook_frame_step{n:02d}.png")
    assert tab.errors == []


def test_space_plays_and_pauses_after_a_button_was_clicked(tab: Any, tmp_path: Path) -> None:
    page = step_page(worked_root())
    w = open_page(tab, page, tmp_path / "page.html")
    for button in ("#step", "#back", "#step", "#play", "#speed"):
        w.click(button)
        if w.get_attribute("body", "data-playing") == "true":
            w.keyboard.press(" ")  # pause what the Play button started
        assert w.get_attribute("body", "data-playing") == "false"
        position = w.get_attribute("body", "data-position")
        w.keyboard.press(" ")
        assert w.get_attribute("body", "data-playing") == "true", f"space after clicking {button}"
        w.keyboard.press(" ")
        assert w.get_attribute("body", "data-playing") == "false", f"second space after clicking {button}"
        # space did not also press the clicked button (a step would have moved the position)
        assert w.get_attribute("body", "data-position") == position
    # A button reached with Tab keeps the keyboard's usual meaning: space presses it.
    w.click("#reset")
    w.focus("#step")
    w.keyboard.press(" ")
    assert w.get_attribute("body", "data-position") == "1"
    assert w.get_attribute("body", "data-playing") == "false"
    assert w.errors == []


# ------------------------------------------------------------------ nbconvert


@pytest.fixture(scope="module")
def exported_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Notebook 02 run against this checkout's code and exported by ``jupyter nbconvert --to html``.

    It runs a copy (the committed notebook keeps its outputs, from whatever code last saved it).
    """
    nbformat, nbclient = require_module("nbformat"), require_module("nbclient")
    require_module("nbconvert")
    require_module("ipykernel")
    folder = tmp_path_factory.mktemp("nbconvert")
    nb = copy.deepcopy(nbformat.read(NOTEBOOK_02, as_version=4))
    env_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's micrograd_lite
    try:
        client = nbclient.NotebookClient(
            nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(ROOT / "notebooks")}}
        )
        client.execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    executed = folder / "02.ipynb"
    nbformat.write(nb, executed)
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", str(executed)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder / "02.html"


BOX_LINES = """() => Array.from(document.querySelectorAll('g.node')).map(g => {
  const shape = g.querySelector('path, polygon').getBoundingClientRect();
  return [g.id, [shape.left, shape.top, shape.right, shape.bottom],
          Array.from(g.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
            const r = t.getBoundingClientRect();
            return [t.textContent, [r.left, r.top, r.right, r.bottom]];
          })];
})"""


def page_steps(frame: Any) -> list[Any]:
    steps: list[Any] = frame.evaluate(
        "() => JSON.parse(document.getElementById('step-data').textContent).steps"
    )
    return steps


# Hides every iframe of the top document until the test shows it (as a collapsed output would).
HIDE_FRAMES = """if (window === window.top) {
  document.addEventListener('DOMContentLoaded', () => {
    const style = document.createElement('style');
    style.id = 'hide-frames';
    style.textContent = 'iframe { display: none !important; }';
    document.head.appendChild(style);
  });
}"""


@pytest.mark.parametrize("hidden", [False, True], ids=["below-the-fold", "hidden-at-load"])
def test_nbconvert_export_lays_out_the_page_when_shown(
    tab: Any, exported_notebook: Path, hidden: bool
) -> None:
    """The page's script runs while the frame is off screen (or not displayed at all); every line of
    every box must still lie inside its box once it is scrolled into view."""
    if hidden:
        tab.add_init_script(HIDE_FRAMES)
    tab.goto(exported_notebook.as_uri())
    iframe = tab.locator("iframe")
    assert iframe.count() == 1
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_function("() => window.stepPage !== undefined")
    if hidden:
        assert frame.evaluate("() => document.getElementById('graph').clientWidth") == 0  # laid out hidden
        tab.evaluate("() => document.getElementById('hide-frames').remove()")
    box = iframe.bounding_box()
    assert box is not None and box["y"] > 800, "the step page should start below the fold"
    # Where the iframe is, the static view is hidden: the exported page shows the page once.
    assert not tab.locator(".mgl-static").is_visible()
    iframe.scroll_into_view_if_needed()
    frame.wait_for_function("() => document.getElementById('graph').clientWidth > 0")
    tab.wait_for_timeout(100)
    for where, button in (("before the first step", None), ("at the end", "#end")):
        if button:
            frame.locator(button).click()
            assert frame.evaluate("() => window.stepPage.position()") == len(page_steps(frame))
        boxes = frame.evaluate(BOX_LINES)
        assert len(boxes) == len(topological_order(worked_root()))  # every node is drawn
        outside = [(name, text) for name, shape, lines in boxes for text, r in lines if not inside(r, shape)]
        assert outside == [], f"{where}: lines outside their boxes: {outside[:5]}"
        state = "hidden_at_load" if hidden else "below_the_fold"
        tab.wait_for_timeout(300)  # let the frame paint before the picture
        screenshot(iframe, f"nbconvert_step_page_{state}_{'end' if button else 'start'}.png")
    # The export asks a CDN for MathJax and require.js; the test refuses the network, nothing else fails.
    assert all("net::" in e or "Failed to load" in e for e in tab.errors), tab.errors
