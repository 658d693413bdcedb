"""The step page in JupyterLab, as a fresh clone opens a notebook (untrusted) and once trusted.

An untrusted notebook's HTML outputs go through JupyterLab's sanitiser, which removes the
page's ``<iframe>``; the static view (the drawing and the steps as a table) must show instead,
with a note on how to get the interactive page. Trusted, the interactive page shows alone.

A JupyterLab server runs on a free loopback port with every Jupyter folder in a temporary
directory, and is stopped by its process id.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CI

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
    nbformat = pytest.importorskip("nbformat") if not CI else __import__("nbformat")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CI:
        pytest.importorskip("jupyterlab", reason="needs JupyterLab (the notebooks extra)")
    base = tmp_path_factory.mktemp("jupyterlab")
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        (base / name).mkdir()
        env[name] = str(base / name)
    settings = base / "JUPYTERLAB_SETTINGS_DIR"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the page
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    folder = base / "notebooks"
    folder.mkdir()
    steps = notebook_with_the_page(folder / "untrusted.ipynb")
    notebook_with_the_page(folder / "trusted.ipynb")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "trust", str(folder / "trusted.ipynb")],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    log = (base / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--no-browser",
            "--ServerApp.open_browser=False",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={folder}",
            "--allow-root",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(base / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield Lab(f"http://127.0.0.1:{port}", env, folder, steps)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


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
