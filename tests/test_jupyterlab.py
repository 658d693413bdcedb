"""The committed notebooks as a student sees them: opened in a real JupyterLab, untrusted, in Chromium.

One JupyterLab server (from the ``notebooks`` / ``dev`` extra) runs for the whole module on a free
loopback port, with its own config, data, runtime and settings folders in a temporary directory:
nothing of the user's Jupyter set-up is read, no notebook is trusted (the trust database starts
empty, as on a fresh machine) and the server's folder is a byte-for-byte copy of ``notebooks/``, so
whatever JupyterLab might save never touches the repository. Each notebook is opened in headless
Chromium through playwright, and the test asserts

* every code cell with committed outputs shows something for each output (text, an image, a
  table, a frame with content): no output area that renders to nothing;
* the notebook is not marked modified once its kernel has started (so closing it does not ask to
  save): the committed metadata is what JupyterLab itself would write;
* the page logged no errors.

The server is :func:`lab_server.jupyterlab_server`; the browser is the ``browser`` fixture of
``conftest.py``. A screenshot of each notebook is written to ``out/screenshots/`` (ignored by git).
Locally the test skips without Chromium, playwright or JupyterLab; in CI (``CI`` set) a missing one
is a failure.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from lab_server import jupyterlab_server

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = ROOT / "out" / "screenshots"
KERNEL_START_MS = 90_000
SETTLE_SECONDS = 1.5  # after the kernel's info arrived: JupyterLab writes the metadata it reports


@dataclass
class Lab:
    url: str
    folder: Path
    browser: Any
    opened: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Lab]:
    require_module("ipykernel")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    folder = tmp / "notebooks"
    folder.mkdir()
    for path in PATHS:
        shutil.copyfile(path, folder / path.name)  # exactly the committed bytes
    with jupyterlab_server(tmp, folder) as server:
        yield Lab(url=server.url, folder=folder, browser=browser)


# What the page reports about the open notebook, once its kernel has answered.
NOTEBOOK_STATE = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    const session = panel.sessionContext;
    await session.ready;
    await session.session.kernel.info;
    return {
        kernel: session.session.kernel.name,
        trusted: Array.from(panel.content.model.cells).map(cell => cell.trusted),
    };
}"""
DIRTY = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current');
    return {
        model: panel.context.model.dirty,
        tab: tab !== null && tab.classList.contains('jp-mod-dirty'),
        metadata: panel.context.model.metadata,
    };
}"""
# For each code cell in the page: for each output, does it show anything?
OUTPUTS = """async () => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
    return Promise.all(cells.map(async cell => {
        const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
        return Promise.all(outputs.map(async out => {
            for (const img of out.querySelectorAll('img')) {
                try { await img.decode(); } catch (e) {}
            }
            const box = out.getBoundingClientRect();
            const images = [...out.querySelectorAll('img')].filter(i => i.naturalWidth * i.naturalHeight > 0);
            const frames = [...out.querySelectorAll('iframe')];
            return {
                text: out.innerText.trim().length,
                images: images.length,
                svgs: [...out.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().height).length,
                frames: frames.length,
                height: box.height,
                mime: out.getAttribute('data-mime-type'),
            };
        }));
    }));
}"""
# How much text a frame shows (outputs such as an HTML page may run in a sandboxed frame).
FRAMES = ".jp-Notebook .jp-CodeCell .jp-OutputArea-output iframe"  # the same order as OUTPUTS walks
FRAME_TEXT = """() => (document.body ? document.body.innerText.trim().length : 0)"""


def _frame_text(frame: Any) -> int:
    content = frame.content_frame()
    if content is None:
        return 0
    try:
        content.wait_for_load_state(timeout=10_000)
        return int(content.evaluate(FRAME_TEXT))
    except Exception:  # a frame that cannot load shows nothing
        return 0


def _open(lab: Lab, name: str) -> dict[str, Any]:
    """Open ``name`` in a fresh page once; what it showed, for every test of this notebook."""
    if name in lab.opened:
        return lab.opened[name]
    page = lab.browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        page.goto(f"{lab.url}/lab/tree/{name}?reset")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext",
            timeout=KERNEL_START_MS,
        )
        state = page.evaluate(NOTEBOOK_STATE)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=KERNEL_START_MS)
        time.sleep(SETTLE_SECONDS)
        dirty = page.evaluate(DIRTY)
        outputs = page.evaluate(OUTPUTS)
        frame_text = [_frame_text(frame) for frame in page.query_selector_all(FRAMES)]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{Path(name).stem}.png"))
        found = {
            "state": state,
            "dirty": dirty,
            "outputs": outputs,
            "frame_text": frame_text,
            "errors": errors,
        }
    finally:
        page.close()
    lab.opened[name] = found
    return found


def _committed_code_cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


@pytest.mark.parametrize("path", PATHS, ids=[p.name[:2] for p in PATHS])
def test_notebook_opens_untrusted_and_unmodified(lab: Lab, path: Path) -> None:
    found = _open(lab, path.name)
    assert found["state"]["kernel"] == "python3"
    assert not any(found["state"]["trusted"]), "a fresh clone's notebook should open untrusted"
    dirty = found["dirty"]
    committed = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    changed = {
        key
        for key in set(committed) | set(dirty["metadata"])
        if committed.get(key) != dirty["metadata"].get(key)
    }
    assert not dirty["model"] and not dirty["tab"], (
        f"{path.name} is marked modified once its kernel started; JupyterLab changed the metadata"
        f" {sorted(changed)}: {json.dumps({key: dirty['metadata'].get(key) for key in changed})};"
        " re-save it with notebooks/run_all.py"
    )


@pytest.mark.parametrize("path", PATHS, ids=[p.name[:2] for p in PATHS])
def test_every_committed_output_shows_something(lab: Lab, path: Path) -> None:
    found = _open(lab, path.name)
    committed = _committed_code_cells(path)
    shown = found["outputs"]
    assert len(shown) == len(committed), "the page shows another number of code cells than the file has"
    frames = iter(found["frame_text"])
    empty = []
    for number, (cell, outputs) in enumerate(zip(committed, shown), start=1):
        if len(outputs) != len(cell["outputs"]):
            empty.append(
                f"code cell {number}: {len(cell['outputs'])} outputs committed, {len(outputs)} shown"
            )
            continue
        for out in outputs:
            framed = [next(frames, 0) for _ in range(out["frames"])]
            if out["text"] or out["images"] or out["svgs"] or any(framed):
                continue
            source = "".join(cell["source"])[:60]
            empty.append(f"code cell {number} ({source!r}): its {out['mime']} output renders to nothing")
    assert not empty, f"{path.name}:\n" + "\n".join(empty)


@pytest.mark.parametrize("path", PATHS, ids=[p.name[:2] for p in PATHS])
def test_the_page_logs_no_errors(lab: Lab, path: Path) -> None:
    found = _open(lab, path.name)
    assert not found["errors"], f"{path.name}: the page logged errors:\n" + "\n".join(found["errors"])
