"""What ``import micrograd_lite`` costs: Graphviz's Python package is imported only when a drawing is
rendered, the public names are all there, and ``color_by_grad`` is the option's one spelling.

Imports are checked in fresh interpreters (``sys.modules`` of this test process already holds
everything), each importing this checkout's package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import micrograd_lite
from micrograd_lite import Value, draw

ROOT = Path(__file__).resolve().parent.parent


PREAMBLE = f"""
import sys
import micrograd_lite
assert micrograd_lite.__file__.startswith({str(ROOT / "micrograd_lite")!r}), micrograd_lite.__file__
"""


def run_python(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter, after importing this checkout's micrograd_lite; its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PREAMBLE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_package_imports_neither_graphviz_nor_subprocess(tmp_path: Path) -> None:
    out = run_python(
        """
        print(sorted(m for m in ("graphviz", "subprocess") if m in sys.modules))
        """,
        tmp_path,
    )
    assert out.strip() == "[]"


def test_drawings_are_built_and_saved_as_dot_without_graphviz_installed(tmp_path: Path) -> None:
    # sys.modules[name] = None makes `import name` fail, as if the package were not installed.
    out = run_python(
        """
        sys.modules["graphviz"] = None
        from micrograd_lite import Value, draw
        a = Value(2.0, label="a")
        E = (a * a).tanh()
        E.backward()
        drawing = draw(E, highlight=a, color_by_grad=True)
        drawing.save("g.dot")
        print("digraph G" in drawing.source, open("g.dot").read() == drawing.source)
        """,
        tmp_path,
    )
    assert out.split() == ["True", "True"]


@pytest.mark.needs_dot
def test_rendering_imports_graphviz_when_first_needed(tmp_path: Path) -> None:
    out = run_python(
        """
        from micrograd_lite import Value, draw
        a = Value(2.0, label="a")
        E = a * 3.0
        E.backward()
        drawing = draw(E)
        print("graphviz" in sys.modules)
        svg = drawing.svg()
        print("graphviz" in sys.modules, "<svg" in svg, ">a<" in svg)
        """,
        tmp_path,
    )
    assert out.split() == ["False", "True", "True", "True"]


def test_every_public_name_is_importable() -> None:
    assert len(micrograd_lite.__all__) == len(set(micrograd_lite.__all__))
    missing = [name for name in micrograd_lite.__all__ if not hasattr(micrograd_lite, name)]
    assert missing == []
    assert isinstance(micrograd_lite.__version__, str) and micrograd_lite.__version__.count(".") >= 2


# ------------------------------------------------------------------------- one spelling
def graph() -> tuple[Value, Value]:
    a = Value(-1.5, label="a")
    b = Value(0.5, label="b")
    E = (a * b + 2.0).tanh() ** 2
    E.backward()
    return E, a


def test_color_by_grad_fills_boxes_and_draws_the_key() -> None:
    E, _ = graph()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current spelling warns about nothing
        colored = draw(E, color_by_grad=True).source
    plain = draw(E).source
    assert 'id="legend"' in colored and 'id="legend"' not in plain
    assert colored.count('fillcolor="#') > plain.count('fillcolor="#')
    assert draw(E, color_by_grad=False).source == plain


def test_colour_by_grad_still_works_with_a_deprecation_warning() -> None:
    E, a = graph()
    with pytest.warns(
        DeprecationWarning, match=r"colour_by_grad= is deprecated.*use color_by_grad="
    ) as caught:
        old = draw(E, highlight=a, colour_by_grad=True).source
    assert old == draw(E, highlight=a, color_by_grad=True).source
    assert caught[0].filename == __file__  # the warning points at the caller's line, not into draw()
    with pytest.warns(DeprecationWarning):
        assert draw(E, colour_by_grad=False).source == draw(E).source


@pytest.mark.parametrize("old, new", [(True, True), (True, False), (False, True), (False, False)])
def test_passing_both_spellings_is_a_type_error(old: bool, new: bool) -> None:
    E, _ = graph()
    with pytest.raises(
        TypeError, match=r"draw: pass color_by_grad= only: colour_by_grad= is its old spelling"
    ):
        draw(E, colour_by_grad=old, color_by_grad=new)
