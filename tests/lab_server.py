"""A throwaway JupyterLab server for the tests that open notebooks in it, as a fresh clone would.

:func:`jupyterlab_server` starts JupyterLab (this interpreter's, so its ``python3`` kernel imports
this checkout's micrograd_lite) on a free loopback port, with its config, data, runtime and
settings folders in a temporary directory: nothing of the user's Jupyter set-up is read, and the
trust database starts empty (only the notebooks passed as ``trusted`` are signed). The settings
put every cell in the page (``windowingMode: none``, no virtual scrolling) and turn off news and
update checks; no token, no password, no browser; ``--allow-root`` only when running as root
(containers often do). It waits for ``/api/status``, and on exit shuts down the server it started
(and so its kernels) through its API, then by its process id if it is still running.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_module

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 90
STOP_SECONDS = 20
# Every cell in the page (tests count and measure them), and no news or update checks (no network).
SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


@dataclass(frozen=True)
class JupyterLabServer:
    """A running server: its ``url`` (no trailing slash), the folder it serves, its environment and log."""

    url: str
    root_dir: Path
    env: dict[str, str]
    log: Path


def free_port() -> int:
    """A loopback port nothing listens on now (the server is told not to try others)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def jupyter_environment(base: Path) -> dict[str, str]:
    """This process's environment with every Jupyter folder inside ``base`` (created, with SETTINGS)."""
    folders = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for plugin, values in SETTINGS.items():
        path = folders["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    return dict(
        os.environ,
        **{name: str(folder) for name, folder in folders.items()},
        # This environment's python3 kernel, importing this checkout's micrograd_lite.
        JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n{_tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {START_SECONDS} s:\n{_tail(log)}", pytrace=False)


def _stop(url: str, process: subprocess.Popen[bytes]) -> None:
    """Shut the server (and its kernels) down through its API; end it by its pid if that fails."""
    if process.poll() is not None:
        return
    try:
        # Jupyter's XSRF check is a double submit: the header must repeat the cookie.
        xsrf = secrets.token_hex(16)
        request = urllib.request.Request(
            f"{url}/api/shutdown",
            method="POST",
            data=b"",
            headers={"Cookie": f"_xsrf={xsrf}", "X-XSRFToken": xsrf},
        )
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=STOP_SECONDS)
        return
    except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
        pass
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def jupyterlab_server(base: Path, root_dir: Path, trusted: Sequence[Path] = ()) -> Iterator[JupyterLabServer]:
    """Run JupyterLab serving ``root_dir``, with its Jupyter folders and log in ``base``.

    The notebooks in ``trusted`` are signed in the server's fresh trust database before it starts;
    every other notebook opens untrusted. Skips (fails in CI) without JupyterLab.
    """
    require_module("jupyterlab")
    env = jupyter_environment(base)
    for notebook in trusted:
        subprocess.run(
            [sys.executable, "-m", "jupyter", "trust", str(notebook)],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    as_root = ["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    log = base / "server.log"
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
                f"--ServerApp.root_dir={root_dir}",
                "--LabApp.extension_manager=readonly",  # no queries to PyPI
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to read a notebook's state
                *as_root,
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=base,
        )
    try:
        _wait_until_up(url, process, log)
        yield JupyterLabServer(url=url, root_dir=root_dir, env=env, log=log)
    finally:
        _stop(url, process)
