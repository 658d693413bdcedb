"""The step page in JupyterLab, as a fresh clone opens a notebook (untrusted) and once trusted.

An untrusted notebook's HTML outputs go through JupyterLab's sanitiser, which removes the
page's ``<iframe>``; the static view (the drawing and the steps as a table) must show instead,
with a note on how to get the interactive page. Trusted, the interactive page shows alone.

A JupyterLab server (:func:`lab_server.jupyterlab_server`) runs on a free loopback port with
every Jupyter folder in a temporary directory; only ``trusted.ipynb`` is signed in its trust database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from lab_server import jupyterlab_server

from micrograd_lite import worked_example
from micrograd_lite.step_page import step_page

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "out" / "screenshots"

pytestmark = pytest.mark.needs_dot


@dataclass
class Lab:
    url: str
    env: dict[str, str]
    folder: Path
    steps: int


def notebook_with_the_page(path: Path) -> int:
    """A notebook whose one code cell shows the worked example's page, as a saved notebook holds it."""
    nbformat = require_module("nbformat")
    table = worked_example()
    assert table.root is not None
    page = step_page(table.root, height=760)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells.append(nbformat.v4.new_markdown_cell("# The step page"))
    cell = nbformat.v4.new_code_cell("step_page(E, height=760)", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": page._repr_html_(), "text/plain": repr(page)},
            execution_count=1,
        )
    ]
    nb.cells.append(cell)
    nbformat.write(nb, path)
    return len(page.recording)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    folder = base / "notebooks"
    folder.mkdir()
    steps = notebook_with_the_page(folder / "untrusted.ipynb")
    notebook_with_the_page(folder / "trusted.ipynb")
    with jupyterlab_server(base, folder, trusted=[folder / "trusted.ipynb"]) as server:
        yield Lab(server.url, server.env, folder, steps)


def open_notebook(browser: Any, lab: Lab, name: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{lab.url}/lab/tree/{name}?reset")
    page.wait_for_selector(".jp-OutputArea-output", timeout=60_000)
    return page


def test_an_untrusted_notebook_shows_the_static_view(browser: Any, lab: Lab) -> None:
    page = open_notebook(browser, lab, "untrusted.ipynb")
    try:
        output = page.locator(".jp-OutputArea-output").first
        static = output.locator(".mgl-static")
        static.wait_for(timeout=30_000)
        assert output.locator("iframe").count() == 0  # the sanitiser removed the interactive page
        assert static.is_visible()
        assert "Run this cell" in static.inner_text() and "Trust Notebook" in static.inner_text()
        image = static.locator("img")
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => { const i = document.querySelector('.mgl-static img'); return i && i.complete; }"
        )
        size = image.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
        assert size[0] > 0 and size[1] > 300, size  # the drawing decoded and is shown
        rows = static.locator("tbody tr")
        assert rows.count() == lab.steps
        assert "a[1]_1" in rows.nth(lab.steps - 1).inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_untrusted_static_view.png"))
    finally:
        page.context.close()


def test_a_trusted_notebook_shows_the_interactive_page_alone(browser: Any, lab: Lab) -> None:
    page = open_notebook(browser, lab, "trusted.ipynb")
    try:
        output = page.locator(".jp-OutputArea-output").first
        iframe = output.locator("iframe")
        iframe.wait_for(timeout=30_000)
        assert not output.locator(".mgl-static").is_visible()  # the rule hides it next to the iframe
        frame = iframe.element_handle().content_frame()
        assert frame is not None
        frame.wait_for_function("() => window.stepPage !== undefined")
        frame.locator("#step").click()
        assert frame.evaluate("() => window.stepPage.position()") == 1
        iframe.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_trusted_step_page.png"))
    finally:
        page.context.close()
