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

A screenshot of each notebook is written to ``out/screenshots/`` (ignored by git). Locally the test
skips without Chromium, playwright or JupyterLab; in CI (``CI`` set) a missing one is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = ROOT / "out" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 90
KERNEL_START_MS = 90_000
SETTLE_SECONDS = 1.5  # after the kernel's info arrived: JupyterLab writes the metadata it reports
CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(what: str) -> None:
    message = f"{what} is needed to open the notebooks in JupyterLab"
    if CI:
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Lab:
    url: str
    folder: Path
    process: subprocess.Popen[bytes]
    browser: Any
    log: Path
    opened: dict[str, dict[str, Any]] = field(default_factory=dict)


def _settings(folder: Path) -> None:
    """Every cell in the page (no virtual scrolling) and no news or update checks (no network)."""
    for plugin, values in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes], url: str) -> None:
    """Shut the server (and its kernels) down through its API; terminate it by its pid if that fails."""
    try:
        request = urllib.request.Request(f"{url}/api/shutdown", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=20)
    except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CHROMIUM.exists():
        _missing(f"Chromium ({CHROMIUM})")
    for module in ("playwright", "jupyterlab", "ipykernel"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"the Python package {module} (the dev extra)")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("jupyterlab")
    folder = tmp / "notebooks"
    folder.mkdir()
    for path in PATHS:
        shutil.copyfile(path, folder / path.name)  # exactly the committed bytes
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "settings")}
    for directory in dirs.values():
        directory.mkdir()
    _settings(dirs["settings"])
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        # This environment's python3 kernel, importing this checkout's micrograd_lite.
        JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port_retries=0",
                "--ServerApp.token=",
                "--ServerApp.password=",
                f"--ServerApp.root_dir={folder}",
                "--ServerApp.allow_root=True",  # containers often run as root
                "--LabApp.extension_manager=readonly",  # no queries to PyPI
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to read the notebook's state
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    try:
        _wait_for_server(url, process, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield Lab(url=url, folder=folder, process=process, browser=browser, log=log)
            finally:
                browser.close()
    finally:
        _stop(process, url)


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
