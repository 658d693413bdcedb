"""Drawing a graph: ``draw(root)`` and the :class:`Drawing` it returns.

``draw(E)`` lays the graph out left to right (Graphviz ``dot``, ``rankdir=LR``):
each Value a box with its lecture label, operation, data and grad; each edge
labelled with its local derivative d(child)/d(parent), the number ``backward()``
multiplies by. ``highlight=w`` emphasises every path from ``w`` to ``E`` and adds
a caption listing the paths, the products of their local derivatives, and their
sum, which is ``w.grad``. See :mod:`micrograd_lite.graph_views` for the three
views (``full``, ``units``, ``layers``) and :mod:`micrograd_lite.dot` for escaping.

A :class:`Drawing` displays itself in Jupyter (SVG, or PNG with ``image_format="png"``)
and saves to ``.svg``, ``.png`` or ``.dot``. Without Graphviz's ``dot`` program
nothing crashes: the notebook shows the DOT source and how to install Graphviz,
``save("g.dot")`` works, and saving ``.svg``/``.png`` raises
:class:`GraphvizNotFoundError` saying how to install it. Graphviz's Python package is
imported only then, when a drawing is rendered, so ``import micrograd_lite`` stays quick.
"""

from __future__ import annotations

import html
import itertools
import math
import shutil
import textwrap
import warnings
from pathlib import Path as FilePath
from typing import Literal

from micrograd_lite.dot import GradScale, attributes, html_text, text_colour
from micrograd_lite.engine import Value
from micrograd_lite.errors import MicrogradLiteError
from micrograd_lite.graph import Graph, graph_of
from micrograd_lite.graph_views import Box, Names, Options, View, collapsed_view, full_view
from micrograd_lite.paths import count_paths, iter_paths, nodes_on_paths, path_sum

ViewName = Literal["full", "units", "layers"]
ImageFormat = Literal["svg", "png"]

INSTALL_HINT = (
    "Graphviz's `dot` program is not on PATH: install Graphviz (Debian/Ubuntu: sudo apt install graphviz; "
    "macOS: brew install graphviz; conda: conda install graphviz; others: https://graphviz.org/download/)"
)

PATH_COLOUR = "#D62728"  # red: not on the viridis scale, so a highlighted path stands out from it
DIM_COLOUR = "#A0A0A0"
DATA_COLOUR = "#E8EEF6"  # inputs and targets: data the graph is computed from, square-cornered boxes
CAPTION_FONT_SIZE = (
    14  # larger than the boxes' 11 pt: a notebook shrinks a wide graph, and the caption is read, not scanned
)
# Caption lines wrap at this many characters: an unwrapped path listing is wider than most graphs, and a
# notebook shrinks the whole image to its width, so the caption would make every text in it tiny.
CAPTION_WIDTH = 100
CAPTION_MAX_EDGES = 16  # a longer path is shortened to its first and last edges in the caption
BACKSLASH_LOOKALIKE = "\u29f5"  # reverse solidus operator


class GraphvizError(MicrogradLiteError, RuntimeError):
    """Graphviz's ``dot`` program failed on a drawing (the message says why)."""


class GraphvizNotFoundError(GraphvizError):
    """Graphviz's ``dot`` program is needed (to render SVG or PNG) but not installed."""


class GraphTooLargeError(MicrogradLiteError, ValueError):
    """The drawing would have more boxes than ``max_nodes``."""


class Drawing:
    """A drawn graph: its DOT ``source``, rendered by Graphviz on demand.

    ``image_format`` (``"svg"`` or ``"png"``) is what a notebook displays. Renderings
    are cached, so displaying twice runs ``dot`` once.
    """

    def __init__(
        self, source: str, image_format: ImageFormat = "svg", boxes: int = 0, arrows: int = 0
    ) -> None:
        _check_format(image_format)
        self.source = source
        self.boxes = boxes
        self.arrows = arrows
        self.image_format: ImageFormat = image_format
        self._rendered: dict[str, bytes] = {}

    def render(self, image_format: ImageFormat = "svg") -> bytes:
        """The drawing as SVG or PNG bytes; :class:`GraphvizNotFoundError` without ``dot``."""
        _check_format(image_format)
        if image_format not in self._rendered:
            self._rendered[image_format] = _run_dot(self.source, image_format)
        return self._rendered[image_format]

    def svg(self) -> str:
        """The drawing as SVG text."""
        return self.render("svg").decode("utf-8")

    def save(self, path: str | FilePath) -> FilePath:
        """Write to ``path``; its suffix (``.svg``, ``.png``, ``.dot`` or ``.gv``) picks the format.

        ``.dot`` needs no Graphviz; ``.svg`` and ``.png`` raise
        :class:`GraphvizNotFoundError` (before creating the file) without ``dot``.
        """
        path = FilePath(path)
        suffix = path.suffix.lower()
        if suffix in (".dot", ".gv"):
            path.write_text(self.source, encoding="utf-8")
        elif suffix in (".svg", ".png"):
            path.write_bytes(self.render("svg" if suffix == ".svg" else "png"))
        else:
            raise ValueError(f"cannot save a drawing as {path.name!r}: use a .svg, .png or .dot file name")
        return path

    # ------------------------------------------------------------- notebooks
    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str | bytes]:
        """What Jupyter shows: the rendered image, or the DOT source and how to install Graphviz."""
        mime = "image/svg+xml" if self.image_format == "svg" else "image/png"
        try:
            image = self.render(self.image_format)
        except (GraphvizNotFoundError, RuntimeError) as error:
            message = str(error) if not isinstance(error, GraphvizNotFoundError) else INSTALL_HINT
            return {
                "text/plain": f"{message}\n\n{self.source}",
                "text/html": f"<p>{html.escape(message)}</p><pre>{html.escape(self.source)}</pre>",
            }
        return {
            mime: image.decode("utf-8") if self.image_format == "svg" else image,
            "text/plain": repr(self),
        }

    def _repr_svg_(self) -> str | None:
        if self.image_format != "svg":
            return None
        try:
            return self.svg()
        except RuntimeError:
            return None

    def _repr_png_(self) -> bytes | None:
        if self.image_format != "png":
            return None
        try:
            return self.render("png")
        except RuntimeError:
            return None

    def __repr__(self) -> str:
        return f"<Drawing: {self.boxes} boxes, {self.arrows} arrows; .save('graph.svg'), .source for the DOT>"

    def __str__(self) -> str:
        return self.source


def _check_format(image_format: object) -> None:
    if image_format not in ("svg", "png"):
        raise ValueError(f"image_format must be 'svg' or 'png', got {image_format!r}")


def graphviz_available() -> bool:
    """Whether Graphviz's ``dot`` program is on PATH."""
    return shutil.which("dot") is not None


def _run_dot(source: str, image_format: str) -> bytes:
    if not graphviz_available():
        raise GraphvizNotFoundError(INSTALL_HINT + "; or save the drawing as .dot, which needs no Graphviz")
    import graphviz  # type: ignore[import-untyped]  # no type hints; imported here, when first rendering

    try:
        image: bytes = graphviz.Source(source).pipe(format=image_format, engine="dot", quiet=True)
        return image
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(INSTALL_HINT) from error
    except graphviz.CalledProcessError as error:
        stderr = error.stderr.decode("utf-8", "replace") if isinstance(error.stderr, bytes) else ""
        raise GraphvizError(f"Graphviz's dot failed on this drawing: {stderr.strip()[:2000]}") from error
    except OSError as error:  # e.g. a broken pipe: dot stopped before it had read the whole drawing
        raise GraphvizError(
            f"Graphviz's dot could not render this drawing ({type(error).__name__}: {error}); "
            "save it as .dot to look at the source"
        ) from error


# ------------------------------------------------------------------ draw()
def draw(
    root: Value | Graph,
    *,
    view: ViewName = "full",
    highlight: Value | str | None = None,
    show_data: bool = True,
    show_grad: bool = True,
    show_derivatives: bool | None = None,
    show_constants: bool = True,
    color_by_grad: bool | None = None,
    max_nodes: int = 2000,
    max_caption_paths: int = 12,
    precision: int = 4,
    image_format: ImageFormat = "svg",
    colour_by_grad: bool | None = None,
) -> Drawing:
    """Draw the graph of ``root``, left to right, each edge labelled with its local derivative.

    ``root`` is a Value, or the :class:`~micrograd_lite.graph.Graph` of one (a view that has
    walked the graph already hands it on, and the drawing does not walk it again).

    * ``view``: ``"full"`` (every Value), ``"units"`` (one box per network unit,
      an arrow per weight) or ``"layers"`` (one box per layer).
    * ``highlight``: a Value (or its label) of the graph, typically a parameter or
      input: every path from it to ``root`` is drawn in red (DOT ``class="path"``)
      and a caption lists the paths with the products of their local derivatives
      and their sum, ``d root / d highlight``, next to ``highlight.grad``.
    * ``show_data``, ``show_grad``, ``show_derivatives`` (edge labels; by default on, except
      that the units view labels its weight arrows only for up to 40 weights: an
      arrow's width shows its weight's size, hovering shows its value), ``show_constants``.
    * ``color_by_grad``: fill boxes on the viridis scale by log |grad|, with a key (default
      False). ``colour_by_grad``, its old spelling, still works for one release, with a
      :class:`DeprecationWarning`.
    * ``max_nodes``: past this many boxes a :class:`GraphTooLargeError` suggests a
      collapsed view instead of producing an unreadable drawing.
    * ``image_format``: what a notebook displays, ``"svg"`` or ``"png"``.

    Building the DOT is linear in the size of the graph; ``dot`` runs only when
    the drawing is displayed or saved.
    """
    if not isinstance(root, (Value, Graph)):
        raise TypeError(f"draw needs a Value, got {type(root).__name__}")
    if view not in ("full", "units", "layers"):
        raise ValueError(f"view must be 'full', 'units' or 'layers', got {view!r}")
    _check_format(image_format)
    flags = {"show_data": show_data, "show_grad": show_grad, "show_constants": show_constants}
    if colour_by_grad is not None:
        color_by_grad = _renamed("colour_by_grad", colour_by_grad, "color_by_grad", color_by_grad)
        flags["colour_by_grad"] = color_by_grad  # an error names the argument as the caller spelled it
    else:
        color_by_grad = False if color_by_grad is None else color_by_grad
        flags["color_by_grad"] = color_by_grad
    for name, flag in flags.items():
        _check_bool(name, flag)
    if show_derivatives is not None:
        _check_bool("show_derivatives", show_derivatives)
    _check_int("max_nodes", max_nodes, 1, "at least 1 box")
    _check_int("max_caption_paths", max_caption_paths, 0, "0 or more paths (0 lists none)")
    _check_int("precision", precision, 1, "1 to 17 significant digits", 17)
    graph = graph_of(root)
    names = Names(graph.names, graph.kinds)
    options = Options(show_data, show_grad, show_derivatives, show_constants, precision)
    if view == "full":
        order = graph.order
        n = len(order) if show_constants else sum(1 for v in order if v.op != "const")
        _check_size(n, max_nodes, view)
        drawn = full_view(graph, options, names)
    else:
        drawn = collapsed_view(graph, options, view, names)
        _check_size(len(drawn.boxes), max_nodes, view)
    wrt = _resolve_highlight(graph, highlight)
    source = _to_dot(drawn, graph, wrt, color_by_grad, max_caption_paths, precision)
    return Drawing(source, image_format, len(drawn.boxes), len(drawn.arrows))


# The release that drops the old spellings of renamed arguments (colour_by_grad=).
REMOVED_IN = "0.2.0"


def _renamed(old: str, old_value: bool, new: str, new_value: bool | None) -> bool:
    """``old_value``, passed under the deprecated name ``old``, with a DeprecationWarning."""
    if new_value is not None:
        raise TypeError(f"draw: pass {new}= only: {old}= is its old spelling, and passing both is ambiguous")
    warnings.warn(
        f"draw: {old}= is deprecated and will be removed in micrograd_lite {REMOVED_IN}; "
        f"use {new}= (the spelling DOT uses)",
        DeprecationWarning,
        stacklevel=3,  # the caller of draw(), not draw() itself
    )
    return old_value


def _check_size(n: int, max_nodes: int, view: str) -> None:
    if n <= max_nodes:
        return
    if view == "layers":
        hint = "draw a smaller graph, or"
    elif view == "units":
        hint = "draw one box per layer with view='layers', or"
    else:
        hint = "draw one box per unit with view='units' (or per layer with view='layers'), or"
    raise GraphTooLargeError(
        f"this graph would be drawn with {n:,} boxes, more than max_nodes={max_nodes:,}: too many to read "
        f"(and a multi-megabyte SVG); {hint} pass a larger max_nodes"
    )


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"draw: {name} must be True or False, got {type(value).__name__} {value!r:.40}")


def _check_int(name: str, value: object, lo: int, what: str, hi: int | None = None) -> None:
    """``value`` must be an int (not a bool) in ``lo..hi``; ``what`` says what the number counts."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"draw: {name} must be an int ({what}), got {type(value).__name__} {value!r:.40}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"draw: {name} must be {what}, got {value}")


def _resolve_highlight(graph: Graph, highlight: object) -> Value | None:
    if highlight is None:
        return None
    highlight = graph.node(highlight, "highlight")
    if highlight not in graph:
        raise ValueError(
            f"highlight: {highlight!r} is not in this graph (the root does not depend on it), "
            "so it has no paths"
        )
    return highlight


# ------------------------------------------------------------ DOT assembly
_GRAPH_HEAD = (
    "digraph G {",
    '  graph [rankdir=LR fontname="Helvetica" fontsize=11 nodesep=0.15 ranksep=0.5];',
    '  node [shape=box style="rounded,filled" fillcolor="#FFFFFF" fontname="Helvetica" fontsize=11'
    ' margin="0.04,0.02"];',
    '  edge [fontname="Helvetica" fontsize=9 arrowsize=0.6 color="#606060"];',
)


_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'


def _box_label(box: Box) -> str:
    head = f"<B>{html_text(box.title)}</B>"
    if box.op and box.kind != "const":
        head += f' <FONT POINT-SIZE="9">{html_text(box.op)}</FONT>'
    rows = "".join(f"<TR><TD>{html_text(row)}</TD></TR>" for row in box.rows)
    return f"<{_TABLE}<TR><TD>{head}</TD></TR>{rows}</TABLE>>"


def _to_dot(
    drawn: View,
    graph: Graph,
    wrt: Value | None,
    color_by_grad: bool,
    max_caption_paths: int,
    precision: int,
) -> str:
    root = graph.root
    lines = list(_GRAPH_HEAD)
    if drawn.xlabels:
        lines.append("  graph [forcelabels=true];")
    on_path = nodes_on_paths(graph, wrt) if wrt is not None else set()
    scale = None
    if color_by_grad:
        grads = [b.grad for b in drawn.boxes if b.grad is not None]
        grads += [a.grad for a in drawn.arrows if a.grad is not None]
        scale = GradScale(grads)
    ranks: dict[str, list[str]] = {}
    for box in drawn.boxes:
        attrs = {"id": box.id, "label": _box_label(box)}
        classes = [box.kind]
        if box.kind == "const":
            attrs["style"] = "rounded,dashed,filled"
        elif box.kind in ("input", "target", "inputs"):
            classes.append("data")
            attrs["style"] = "filled"
            attrs["fillcolor"] = DATA_COLOUR
        if box.tooltip:
            attrs["tooltip"] = box.tooltip
        if scale is not None and box.grad is not None:
            fill = scale.colour(box.grad)
            attrs["fillcolor"] = fill
            attrs["fontcolor"] = text_colour(fill)
        if wrt is not None and any(m in on_path for m in box.members):
            classes.append("path")
            if wrt in box.members:
                classes.append("wrt")
            if root in box.members:
                classes.append("root")
            attrs["color"] = PATH_COLOUR
            attrs["penwidth"] = "3"
        attrs["class"] = " ".join(classes)
        lines.append(f"  {box.id} {attributes(attrs)};")
        if box.rank is not None:
            ranks.setdefault(box.rank, []).append(box.id)
    for arrow in drawn.arrows:
        attrs = {"id": arrow.id}
        if arrow.lines:
            label_key = "xlabel" if drawn.xlabels else "label"
            attrs[label_key] = "<" + "<BR/>".join(html_text(line) for line in arrow.lines) + ">"
        if arrow.tooltip:
            # Graphviz versions unescape backslashes in plain strings differently (2.43 turns
            # \\G into G but \\N into \N), so a tooltip shows a backslash as the look-alike U+29F5;
            # and it passes entities through to the SVG, so a literal & is written &amp;.
            tooltip = arrow.tooltip.replace("\\", BACKSLASH_LOOKALIKE).replace("&", "&amp;")
            attrs["tooltip"] = tooltip
        if arrow.width is not None:
            attrs["penwidth"] = f"{arrow.width:.2f}"
        if scale is not None and arrow.grad is not None:
            attrs["color"] = scale.colour(arrow.grad)
            attrs.setdefault("penwidth", "1.5")
        if wrt is not None:
            if any(child.parents[slot] in on_path for child, slot in arrow.members):
                attrs.update({"class": "path", "color": PATH_COLOUR, "fontcolor": PATH_COLOUR})
                attrs["penwidth"] = f"{max(2.5, arrow.width or 0.0):.2f}"
            elif scale is None:
                attrs.update({"color": DIM_COLOUR, "fontcolor": DIM_COLOUR})
        lines.append(f"  {arrow.tail} -> {arrow.head} {attributes(attrs)};")
    for rank, ids in ranks.items():
        if len(ids) > 1:
            # Invisible edges within the rank keep its boxes in the graph's order (unit 1 on top).
            chain = " -> ".join(ids)
            lines.append(f"  {{rank=same; {chain} [style=invis]}}  // {rank}")
    if scale is not None:
        key = f'legend [id="legend" class="legend" shape=plaintext style="" label={scale.legend()}]'
        lines.append(f'  subgraph cluster_legend {{ label="" color="#FFFFFF"; {key}; }}')
    if wrt is not None:
        caption = _caption(graph, wrt, drawn.names, max_caption_paths, precision)
        lines.append(f"  graph [labelloc=b labeljust=l label={caption}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _wrapped(text: str, indent: int = 0) -> str:
    """``text`` escaped, wrapped at spaces to :data:`CAPTION_WIDTH` characters, continuations indented."""
    lines = textwrap.wrap(
        text,
        CAPTION_WIDTH,
        initial_indent="\u00a0" * indent,  # no-break spaces: Graphviz keeps them at the start of a line
        subsequent_indent="\u00a0" * (indent + 4),
        break_on_hyphens=False,
    )
    return "<BR/>".join(html_text(line) for line in lines)


def _caption(graph: Graph, wrt: Value, names: dict[Value, str], max_listed: int, precision: int) -> str:
    """The paths from ``wrt`` to the root, their products, and their sum next to ``wrt.grad``.

    An HTML-like table whose text is set larger than the boxes' (it is drawn under a
    graph that a notebook scales down to its width), one sentence per row: a bold
    run beside a plain one on the same row would be spaced by Graphviz's estimate of
    bold text width, which leaves a wide gap.
    """
    r, w = names[graph.root], names[wrt]
    n = count_paths(graph, wrt)
    listed = list(itertools.islice(iter_paths(graph, wrt), max_listed))
    plural = "path" if n == 1 else "paths"
    rows = [
        f"<B>{html_text(f'{n:,} {plural} from {w} to {r}')}</B>",
        html_text("Each term is the product of the local derivatives on its edges:"),
    ]
    for k, p in enumerate(listed, start=1):
        chain, factors = p.parts(names, precision, max_edges=CAPTION_MAX_EDGES)
        rows.append(f"{_wrapped(f'{k}. {chain}:')}<BR/>{_wrapped(factors, indent=4)}")
    if n > len(listed):
        rows.append(html_text(f"... and {n - len(listed):,} more {plural} (not listed)"))
        total = path_sum(graph, wrt)
    else:
        total = sum(p.product for p in listed)
    scale = sum(abs(p.product) for p in listed) if n == len(listed) else abs(total)
    agrees = math.isclose(total, wrt.grad, rel_tol=1e-9, abs_tol=1e-12 * scale)
    sign = "=" if agrees else "!="
    sum_text = f"sum over the {n:,} {plural} = d{r}/d{w} = {total:.12g} {sign} {w}.grad = {wrt.grad:.12g}"
    rows.append(f"<B>{_wrapped(sum_text)}</B>")
    if not agrees:
        rows.append(
            html_text(f"(grad is from another backward pass: zero the gradients and call {r}.backward())")
        )
    font = f'<FONT POINT-SIZE="{CAPTION_FONT_SIZE}">'
    cells = "".join(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{font}{row}</FONT></TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{cells}</TABLE>>'
