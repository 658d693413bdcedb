"""What every exercise report shares: a table shown as aligned text and as HTML, and a student's
exception described in one line.

A report is a title, a table (a header and rows of text) and notes (hints) under it. ``str()``
gives aligned plain text; Jupyter shows ``_repr_html_``: a plain ``<table>`` with every piece of
text escaped and no script, so it survives an untrusted notebook's sanitiser and GitHub.
"""

from __future__ import annotations

import html
import math
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

#: A verdict's colour in the HTML table (text stays the same in plain text).
COLOURS = {
    "right": "#1a7f37",
    "passed": "#1a7f37",
    "wrong": "#cf222e",
    "failed": "#cf222e",
    "follows": "#9a6700",
    "not done yet": "#57606a",
    "not implemented": "#57606a",
    "missing": "#57606a",
    "to fix": "#cf222e",
}

NOT_DONE = "not done yet"
TO_FIX = "to fix"
ALL_PASSED = "all checks passed"


def num(x: float) -> str:
    """A number as the hints write it: 6 significant digits (``-0.0635661``)."""
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.6g}"


@dataclass(frozen=True)
class Table:
    """A titled table of text with notes under it: one renderer for every report."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = ()
    #: Index of the column whose text picks a row's colour (its first word), or None.
    verdict_column: int | None = None
    #: Columns of numbers: right-aligned, monospace, so digits line up.
    numeric_columns: tuple[int, ...] = ()

    def text(self) -> str:
        """Aligned plain text: columns padded to their widest cell."""
        lines = [self.title] if self.title else []
        if self.rows:
            widths = [max(len(cell) for cell in column) for column in zip(self.header, *self.rows)]
            for row in [list(self.header), *self.rows]:
                lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        lines.extend(self.notes)
        return "\n".join(lines)

    def html(self) -> str:
        """The same table as HTML: escaped text, inline styles only, no script."""
        esc = html.escape
        parts = ['<div class="micrograd-exercise">']
        if self.title:
            parts.append(f"<p><b>{esc(self.title)}</b></p>")
        if self.rows:
            parts.append("<table><thead><tr>")
            parts.append("".join(f'<th style="text-align: left">{esc(h)}</th>' for h in self.header))
            parts.append("</tr></thead><tbody>")
            for row in self.rows:
                cells = []
                for k, cell in enumerate(row):
                    style = "text-align: left"
                    if k in self.numeric_columns:
                        style = "text-align: right; font-family: monospace"
                    if k == self.verdict_column:
                        colour = COLOURS.get(_verdict_key(cell))
                        if colour:
                            style += f"; color: {colour}; font-weight: bold"
                    cells.append(f'<td style="{style}">{esc(cell)}</td>')
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
        if self.notes:
            parts.append('<ul style="list-style: none; padding-left: 0">')
            parts.extend(f'<li style="font-family: monospace">{esc(note)}</li>' for note in self.notes)
            parts.append("</ul>")
        parts.append("</div>")
        return "\n".join(parts)


class TableReport:
    """A report shown as its table: ``str()`` and ``repr()`` give the aligned text (what Jupyter
    shows as text/plain), ``_repr_html_`` the escaped HTML table. Subclasses build ``_table()``."""

    def _table(self) -> Table:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._table().text()

    def __repr__(self) -> str:  # the table, not the fields
        return self._table().text()

    def _repr_html_(self) -> str:
        return self._table().html()


def _verdict_key(cell: str) -> str:
    for key in COLOURS:
        if cell.startswith(key):
            return key
    return ""


_HERE = os.path.dirname(os.path.abspath(__file__))


def describe_exception(error: BaseException) -> str:
    """``ZeroDivisionError: float division by zero (in __truediv__: `return ...`)``.

    One line, no file paths: the exception, and the innermost line of the student's code
    (the last frame outside this package) that was running.
    """
    message = str(error)
    if len(message) > 200:
        message = message[:197] + "..."
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not os.path.abspath(frame.filename).startswith(_HERE)
    ]
    if frames:
        frame = frames[-1]
        line = (frame.line or "").strip()
        where = f"in {frame.name}" + (f": `{line[:100]}`" if line else f", line {frame.lineno}")
        text += f" ({where})"
    return text
