"""The distribution: the sdist and the wheel hold what they should, the wheel installs into a fresh
virtual environment and runs the main job there, and ``pip install -e .`` prints no warning box.

Everything runs offline on a copy of the project in a temporary folder (the checkout is never
written to). The sdist and wheel come from setuptools' PEP 517 hooks, called the way
``python -m build --no-isolation`` calls them: the sdist from the project, the wheel from the
unpacked sdist (so a file the sdist lacks is missing from the wheel too). A fresh venv has only pip;
the installed ``graphviz`` (and, for the editable install, ``setuptools``) is copied into it from this
environment, file by file from its own RECORD, so pip can check the dependency without an index.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = "Scripts" if os.name == "nt" else "bin"
# What a clean clone does not have: never copied into the project copy that is built.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", "out", "test-artifacts",
    ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints",
)  # fmt: skip


def source_version() -> str:
    """``micrograd_lite.__version__`` as written in the source (read, not imported)."""
    tree = ast.parse((ROOT / "micrograd_lite" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__version__"]:
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            return node.value.value
    raise AssertionError("micrograd_lite/__init__.py sets no __version__")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Python or pip settings (no PYTHONPATH to this checkout,
    no pip configuration or index: installs must work from local files only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{output[-4000:]}"
    return output


def copy_distribution(name: str, venv_dir: Path) -> None:
    """Copy the installed distribution ``name`` (its package and dist-info) into ``venv_dir``."""
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run([venv_dir / BIN / "python", "-c", where], venv_dir).strip())
    dist = importlib.metadata.distribution(name)
    for file in dist.files or []:
        if file.parts[0] == ".." or "__pycache__" in file.parts:  # scripts in bin/, compiled files
            continue
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            target = site_packages / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def fresh_venv(path: Path, *distributions: str) -> Path:
    """A new virtual environment (pip only) with ``distributions`` copied in; its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    for name in distributions:
        copy_distribution(name, path)
    return path / BIN / "python"


# ------------------------------------------------------------------------------ building
@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project as a clone has it, plus a new subpackage (``packages.find`` must find it)."""
    copy = tmp_path_factory.mktemp("project") / "micrograd_lite_project"
    shutil.copytree(ROOT, copy, ignore=NOT_IN_A_CLONE)
    probe = copy / "micrograd_lite" / "newly_added"
    probe.mkdir()
    (probe / "__init__.py").write_text('"""A subpackage that no list in pyproject.toml names."""\n')
    return copy


@pytest.fixture(scope="module")
def dists(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"sdist": ..., "wheel": ...}``: the sdist built from the project, the wheel from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    hooks = (
        "import sys; from setuptools import build_meta as hooks; print('built:', hooks.build_{}(sys.argv[1]))"
    )

    def build(kind: str, source: Path) -> str:
        built = re.findall(
            r"^built: (.+)$", run([sys.executable, "-c", hooks.format(kind), out], source), re.M
        )
        assert len(built) == 1
        return str(built[0])

    sdist_name = build("sdist", project)
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(out / sdist_name) as archive:
        archive.extractall(unpacked, filter="data")
    (sdist_root,) = unpacked.iterdir()
    wheel_name = build("wheel", sdist_root)
    return {"sdist": out / sdist_name, "wheel": out / wheel_name, "sdist_root": sdist_root}


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_every_package_file_and_the_template(project: Path, dists: dict[str, Path]) -> None:
    version = source_version()
    assert dists["wheel"].name == f"micrograd_lite-{version}-py3-none-any.whl"
    names = wheel_names(dists["wheel"])
    package = project / "micrograd_lite"
    expected = {
        path.relative_to(project).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "micrograd_lite/newly_added/__init__.py" in expected
    assert "micrograd_lite/templates/step_page.html" in expected and "micrograd_lite/py.typed" in expected
    assert expected - names == set()  # every file of the package, data included, is in the wheel


def test_the_wheel_holds_only_the_package_and_its_license(dists: dict[str, Path]) -> None:
    names = wheel_names(dists["wheel"])
    info = f"micrograd_lite-{source_version()}.dist-info"
    assert {name.split("/")[0] for name in names} == {"micrograd_lite", info}  # no tests/, notebooks/
    assert not any(name.endswith((".pyc", ".ipynb")) or "__pycache__" in name for name in names)
    assert f"{info}/licenses/LICENSE" in names
    with zipfile.ZipFile(dists["wheel"]) as archive:
        metadata = archive.read(f"{info}/METADATA").decode("utf-8")
        license_text = archive.read(f"{info}/licenses/LICENSE").decode("utf-8")
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License") and "The micrograd_lite authors" in license_text
    assert re.search(r"^License-Expression: MIT$", metadata, re.M)
    assert re.search(rf"^Version: {re.escape(source_version())}$", metadata, re.M)
    assert re.search(r"^Requires-Dist: graphviz>=0\.20$", metadata, re.M)
    assert re.search(r"^Keywords: .*backpropagation", metadata, re.M)
    classifiers = re.findall(r"^Classifier: (.*)$", metadata, re.M)
    assert "Intended Audience :: Education" in classifiers and "Typing :: Typed" in classifiers


def test_the_sdist_holds_what_its_tests_need(dists: dict[str, Path]) -> None:
    prefix = f"micrograd_lite-{source_version()}/"
    with tarfile.open(dists["sdist"]) as archive:
        names = {name.removeprefix(prefix) for name in archive.getnames()}
    # Everything the tests read: conftest.py, the other test files and helpers, the exercise
    # solutions, the notebooks, the README; and the files that build and run them.
    wanted = {"README.md", "LICENSE", "pyproject.toml", "MANIFEST.in", "dev.py", ".ci/run"}
    for folder, pattern in [("tests", "**/*.py"), ("notebooks", "*"), ("benchmarks", "*.py")]:
        wanted |= {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob(pattern) if p.is_file()}
    wanted -= {name for name in wanted if "__pycache__" in name or name.endswith(".pyc")}
    assert "tests/conftest.py" in wanted and "notebooks/02_the_worked_example.ipynb" in wanted
    assert wanted - names == set()
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_the_unpacked_sdist_collects_its_tests(dists: dict[str, Path]) -> None:
    """Collecting imports every test module and conftest.py from the sdist, with its own package."""
    sdist_root = dists["sdist_root"]
    output = run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        sdist_root,
        env={**os.environ, "PYTHONPATH": str(sdist_root)},
    )
    # run() has checked the exit status: a module that failed to import would make it 2.
    collected = re.search(r"^(\d+) tests? collected", output, re.M)
    assert collected is not None and int(collected.group(1)) > 100, output[-2000:]


# ------------------------------------------------------------------- installing the wheel
@pytest.fixture(scope="module")
def installed(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (its dependency, graphviz, copied in first); its python."""
    python = fresh_venv(tmp_path_factory.mktemp("venv") / "venv", "graphviz")
    run([python, "-m", "pip", "install", dists["wheel"]], python.parent)  # PIP_NO_INDEX: offline
    return python


def test_the_installed_wheel_is_what_is_imported_and_reports_its_version(
    installed: Path, tmp_path: Path
) -> None:
    venv_dir = installed.parent.parent
    out = run(
        [
            installed,
            "-c",
            "import importlib.metadata, micrograd_lite; print(micrograd_lite.__file__); "
            "print(micrograd_lite.__version__); print(importlib.metadata.version('micrograd-lite'))",
        ],
        tmp_path,
    )
    file, version, installed_version = out.split()
    assert Path(file).resolve().is_relative_to(venv_dir.resolve())  # not this checkout's copy
    assert version == installed_version == source_version()


def test_the_installed_wheel_runs_the_main_job(installed: Path, tmp_path: Path) -> None:
    out = run([installed, "-m", "micrograd_lite", "--out", "out"], tmp_path)
    assert re.search(r"^W\[3\]_12 +-0\.6 +-0\.283523039173$", out, re.M)  # a row of the delta table
    assert "(paths from W[1]_12 to E highlighted)" in out
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    expected = ["worked_example.dot", "worked_example.html", "worked_example.txt"]
    if shutil.which("dot") is not None:
        expected.append("worked_example.svg")
    assert written == sorted(expected)
    page = (tmp_path / "out" / "worked_example.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "W[1]_12" in page
    # The console script the wheel declares runs the same job.
    script = installed.parent / ("micrograd-lite.exe" if os.name == "nt" else "micrograd-lite")
    run([script, "--out", "out2"], tmp_path)
    assert (tmp_path / "out2" / "worked_example.txt").read_text() == (
        tmp_path / "out" / "worked_example.txt"
    ).read_text()


def test_the_installed_wheel_makes_a_step_page(installed: Path, tmp_path: Path) -> None:
    code = (
        "from micrograd_lite import Value, step_page\n"
        "a = Value(2.0, label='a'); b = Value(-3.0, label='b')\n"
        "E = (a * b).tanh()\n"
        "print(step_page(E, layout='columns').save('page.html'))\n"
    )
    run([installed, "-c", code], tmp_path)
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    template = (ROOT / "micrograd_lite" / "templates" / "step_page.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "tanh" in page
    # The page is built from the template shipped as package data: its stylesheet is in the page.
    style = re.search(r"<style>(.*?)</style>", template, re.S)
    assert style is not None and style.group(1).strip()[:200] in page


# ------------------------------------------------------------------------- editable install
def test_an_editable_install_prints_no_warning_box(project: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", "graphviz", "setuptools")
    output = run(
        [python, "-m", "pip", "install", "--verbose", "--no-build-isolation", "--editable", project],
        tmp_path,
    )  # --verbose: pip shows the build backend's output, where setuptools prints its boxes
    assert "Successfully installed micrograd-lite" in output
    assert "!!" not in output and "*" * 20 not in output, output[-4000:]
    assert not re.search(r"\b\w*Warning: ", output), output[-4000:]
    out = run([python, "-c", "import micrograd_lite; print(micrograd_lite.__file__)"], tmp_path)
    assert Path(out.strip()) == project / "micrograd_lite" / "__init__.py"  # the project's own files
