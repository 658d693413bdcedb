"""The package reads as layers, and its imports have no cycle.

Imports are read from the source with ``ast``: every ``import`` and ``from ... import`` anywhere in a
module counts, at module level or inside a function (an import inside a function that closes a loop
is a cycle in disguise: it only moves the cycle from import time to call time).

The layers, from the ground up: the numerics (on floats, and on numpy arrays for batched steps),
the graph walk (``autodiff``, which imports nothing of the package) and the engine with its anomaly
mode; the model (``nn``, losses, optimisers, data sets, parameter files); the graph layer every view
shares (``naming``, ``graph``); the compilers and the training loop (scalar and batched); and on top
the views and tools. A module imports only from its own layer or the ones below, and takes no other
module's internals (a ``_name``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "micrograd_lite"

BOTTOM = {"errors", "numerics", "array_numerics", "primitives", "autodiff", "engine", "anomaly"}
MODEL = {"nn", "losses", "optim", "datasets", "serialization"}
GRAPH = {"naming", "graph"}
# The compilers and the training steps built on them (scalar code, batched numpy code).
COMPILERS = {"compiler", "batched", "matrix_form", "compiled_loss", "training"}
LAYERS = [("bottom", BOTTOM), ("model", MODEL), ("graph", GRAPH), ("compilers", COMPILERS)]

#: Internals one module takes from another today, each with the reason it is allowed.
ALLOWED_INTERNALS = {
    # detect_anomaly() opens one of the engine's own per-thread mode blocks (its creation hook).
    ("anomaly", "engine._mode_block"),
    # The micrograd drop-in turns a number operand into a float exactly as the engine's operations do.
    ("micrograd.engine", "engine._operand"),
}


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name relative to the package."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root / package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` in module ``name`` reads from, as an absolute dotted path."""
    if not node.level:
        return node.module or ""
    base = name.split(".")[: -node.level] if node.level else []
    return ".".join([*base, node.module] if node.module else base)


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """For each module: the package's modules it imports, and the internals (``module._name``) it takes."""
    found = modules(root, package)
    prefix = package + "."
    edges: dict[str, set[str]] = {name: set() for name in found}
    internals: dict[str, set[str]] = {name: set() for name in found}

    def local(dotted: str) -> str | None:
        if dotted == package:
            return ""
        return dotted[len(prefix) :] if dotted.startswith(prefix) else None

    for name, path in found.items():
        aliases: dict[str, str] = {}  # a name bound to one of the package's modules
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = local(alias.name)
                    if target is not None:
                        edges[name].add(target)
                        if alias.asname:
                            aliases[alias.asname] = target
            elif isinstance(node, ast.ImportFrom):
                source = local(_absolute(f"{package}.{name}" if name else package, node))
                if source is None:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}" if source else alias.name
                    if sub in found:  # `from package import module`
                        edges[name].add(sub)
                        aliases[alias.asname or alias.name] = sub
                    else:
                        edges[name].add(source)
                        if alias.name.startswith("_"):
                            internals[name].add(f"{source}.{alias.name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                internals[name].add(f"{aliases[node.value.id]}.{node.attr}")
        edges[name].discard(name)
    return edges, internals


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph ``edges`` as ``[a, b, ..., a]``, or None. Iterative depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(edges):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(edges[start]))]
        state[start] = 1
        while stack:
            for nxt in stack[-1]:
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in state and nxt in edges:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(sorted(edges[nxt])))
                    break
            else:
                state[path.pop()] = 2
                stack.pop()
    return None


# ------------------------------------------------------------------------ the reader itself


def test_the_reader_finds_a_cycle_closed_by_an_import_inside_a_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def walk():\n    from pkg.high import Node\n    return Node\n")
    (package / "high.py").write_text("from pkg import low\n\nclass Node:\n    pass\n")
    (package / "apart.py").write_text("from . import low\nlow._hidden\n")
    edges, internals = import_graph(tmp_path, "pkg")
    assert edges["low"] == {"high"} and edges["high"] == {"low"} and edges["apart"] == {"low"}
    assert find_cycle(edges) in (["high", "low", "high"], ["low", "high", "low"])
    assert internals["apart"] == {"low._hidden"}
    del edges["high"]
    assert find_cycle(edges) is None


# ------------------------------------------------------------------------ the package


EDGES, INTERNALS = import_graph(ROOT, PACKAGE)


def test_the_package_is_read_whole() -> None:
    expected = {"engine", "autodiff", "graph", "steps", "lecture_text", "stepper", "testing.strategies"}
    assert expected <= set(EDGES)
    assert "autodiff" in EDGES["engine"] and "engine" in EDGES["graph"]


def test_the_imports_of_micrograd_lite_have_no_cycle() -> None:
    assert find_cycle(EDGES) is None


def test_the_walk_is_under_the_engine_and_imports_nothing_of_the_package() -> None:
    assert EDGES["autodiff"] == set()
    assert "autodiff" in EDGES["engine"]


@pytest.mark.parametrize("layer", range(len(LAYERS)), ids=[name for name, _ in LAYERS])
def test_a_layer_imports_only_from_itself_and_the_layers_below(layer: int) -> None:
    name, members = LAYERS[layer]
    allowed = set().union(*(m for _, m in LAYERS[: layer + 1]))
    upward = {(module, target) for module in members for target in EDGES[module] - allowed}
    assert not upward, f"the {name} layer imports from above it: {sorted(upward)}"


def test_no_module_takes_another_modules_internals() -> None:
    taken = {(module, internal) for module, names in INTERNALS.items() for internal in names}
    assert taken <= ALLOWED_INTERNALS, sorted(taken - ALLOWED_INTERNALS)
