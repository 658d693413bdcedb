"""Writing Graphviz DOT safely: escaping, numbers, and the viridis colour scale.

Every piece of user text (a node's label) reaches the DOT source through
:func:`html_text`, inside an HTML-like label ``<...>``: ``html.escape`` turns
``< > & " '`` into entities, so no label can close the label, end the
statement or inject markup; backslashes are doubled, since Graphviz expands
``\\N`` (node name), ``\\G`` (graph name) and the like even there; newlines
become ``<BR/>``; characters that XML (and hence the SVG) cannot hold are
replaced, and bidirectional controls (U+202E and friends) shown as ``\\u202e``;
a ``str`` subclass is copied to a plain ``str`` first, so none of its methods
run. Identifiers (``n12``, ``e12_0``) and colours are our own; quoted attribute
values go through :func:`quote`.
"""

from __future__ import annotations

import html
import math

from micrograd_lite.naming import visible

# ------------------------------------------------------------------ escaping


def html_text(text: str) -> str:
    """``text`` as the content of a Graphviz HTML-like label: escaped, newlines as ``<BR/>``.

    ``text`` is first made plain and visible (:func:`micrograd_lite.naming.visible`), so a
    ``str`` subclass cannot skip the escaping and no bidirectional control reaches the drawing.
    """
    escaped = html.escape(visible(text), quote=True)
    if "\\" in escaped:  # Graphviz expands \N, \G, \E ... even in HTML labels; \\ is one backslash
        escaped = escaped.replace("\\", "\\\\")
    if "\n" in escaped:
        escaped = escaped.replace("\n", '<BR ALIGN="CENTER"/>')
    return escaped


def quote(text: str) -> str:
    """``text`` as a DOT double-quoted string (for tooltips and other plain attributes).

    Quotes and newlines are escaped, control characters made visible, and
    backslashes doubled as DOT's escString rules ask; Graphviz 2.43 still
    expands some doubled escapes in tooltips (``\\\\G``), which is why the
    drawing shows a backslash in a tooltip as a look-alike character.
    """
    text = visible(text)
    if '"' not in text and "\\" not in text and "\n" not in text:
        return f'"{text}"'  # the common case: nothing to escape
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def number(x: float, precision: int = 4) -> str:
    """``x`` with ``precision`` significant digits (``nan``, ``inf`` and ``-inf`` as such)."""
    if x == 0.0:
        return "0"
    return f"{x:.{precision}g}"


#: The attributes whose values this package builds as HTML-like labels (``<...>``),
#: escaping every piece of text inside them; every other value is quoted.
HTML_LABEL_KEYS = frozenset({"label", "xlabel", "headlabel", "taillabel"})


def attributes(attrs: dict[str, str]) -> str:
    """``[key=value ...]``: label values starting with ``<`` are HTML-like labels, all else is quoted.

    Only label keys may carry HTML-like values: a tooltip or any other value that
    happens to start with ``<`` (a user label such as ``"<b>"``) is quoted like
    any other text, so it can never end the attribute list or inject markup.
    """
    parts = [
        f"{key}={value if key in HTML_LABEL_KEYS and value.startswith('<') else quote(value)}"
        for key, value in attrs.items()
    ]
    return f"[{' '.join(parts)}]"


# --------------------------------------------------------------- viridis scale

#: The viridis colour map (van der Walt and Smith, matplotlib 2.0's default) at
#: 0, 0.1, ..., 1: the published table's entries, as R's viridisLite lists them.
#: Perceptually uniform and readable in greyscale and by colour-blind readers.
VIRIDIS: tuple[str, ...] = (
    "#440154",
    "#482576",
    "#414487",
    "#35608D",
    "#2A788E",
    "#21908C",
    "#22A884",
    "#43BF71",
    "#7AD151",
    "#BBDF27",
    "#FDE725",
)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def viridis(t: float) -> str:
    """The viridis colour at ``t`` in [0, 1] (clamped), interpolated between the stops."""
    t = min(max(t, 0.0), 1.0)
    position = t * (len(VIRIDIS) - 1)
    k = min(int(position), len(VIRIDIS) - 2)
    f = position - k
    lo, hi = _rgb(VIRIDIS[k]), _rgb(VIRIDIS[k + 1])
    r, g, b = (round(a + (c - a) * f) for a, c in zip(lo, hi))
    return f"#{r:02X}{g:02X}{b:02X}"


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#RRGGBB``)."""
    r, g, b = _rgb(background)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#FFFFFF"


#: Fill for a gradient of exactly 0, and for nan/inf: outside the scale.
ZERO_GRAD_COLOUR = "#E0E0E0"
NONFINITE_COLOUR = "#FF9DA7"


class GradScale:
    """Maps ``|grad|`` to viridis on a log scale spanning the given magnitudes.

    The smallest nonzero finite ``|grad|`` is dark purple, the largest yellow; 0
    and nan/inf get colours of their own, off the scale.
    """

    def __init__(self, grads: list[float]) -> None:
        logs = [math.log10(abs(g)) for g in grads if g != 0.0 and math.isfinite(g)]
        self.lo = min(logs) if logs else 0.0
        self.hi = max(logs) if logs else 0.0

    def position(self, grad: float) -> float:
        """Where ``|grad|`` lies on the scale, 0 to 1."""
        if self.hi == self.lo:
            return 1.0
        return (math.log10(abs(grad)) - self.lo) / (self.hi - self.lo)

    def colour(self, grad: float) -> str:
        if grad == 0.0:
            return ZERO_GRAD_COLOUR
        if not math.isfinite(grad):
            return NONFINITE_COLOUR
        return viridis(self.position(grad))

    def legend(self, stops: int = 5) -> str:
        """An HTML-like label: the key, swatches from the smallest to the largest ``|grad|``."""
        cells = []
        n = stops if self.hi > self.lo else 1
        for k in range(n):
            t = k / (n - 1) if n > 1 else 1.0
            magnitude = 10.0 ** (self.lo + t * (self.hi - self.lo))
            colour = viridis(t)
            text = f'<FONT COLOR="{text_colour(colour)}">{number(magnitude, 2)}</FONT>'
            cells.append(f'<TD BGCOLOR="{colour}">{text}</TD>')
        cells.append(f'<TD BGCOLOR="{ZERO_GRAD_COLOUR}">0</TD>')
        cells.append(f'<TD BGCOLOR="{NONFINITE_COLOUR}">nan/inf</TD>')
        return (
            '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f'<TR><TD COLSPAN="{len(cells)}"><B>|grad| (log scale, viridis)</B></TD></TR>'
            f"<TR>{''.join(cells)}</TR></TABLE>>"
        )
