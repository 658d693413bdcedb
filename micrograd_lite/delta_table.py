"""The lecture's table: ``a[l]_i``, ``z[l]_i``, ``delta[l]_i`` per unit, ``dE/d(parameter)``.

:func:`delta_table` runs one example forward, calls ``backward()`` once and
reads the numbers off the graph: ``delta[l]_i`` is the ``grad`` of the node
``a[l]_i`` and ``dE/dW[l]_ij`` the ``grad`` of the leaf ``W[l]_ij``. Nothing is
recomputed by hand here; the tests compare these numbers with the lecture's
closed forms, computed independently.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from micrograd_lite.engine import Value
from micrograd_lite.losses import binary_cross_entropy, categorical_cross_entropy, squared_error
from micrograd_lite.naming import plain, visible
from micrograd_lite.nn import MLP, Trace

LossName = Literal["binary_cross_entropy", "squared_error", "categorical_cross_entropy"]


@dataclass(frozen=True)
class UnitRow:
    """One unit ``i`` of layer ``l``."""

    layer: int
    index: int
    a: float
    z: float
    delta: float
    z_label: str


@dataclass(frozen=True)
class ParameterRow:
    """One weight or bias with its value and ``dE/d(parameter)``."""

    label: str
    value: float
    grad: float


@dataclass
class DeltaTable:
    """The numbers the lecture works by hand, for one network and one example."""

    x: list[float]
    t: object
    E: float
    units: list[UnitRow]
    parameters: list[ParameterRow]
    title: str = ""
    loss: str = ""
    trace: Trace | None = field(default=None, repr=False, compare=False)
    root: Value | None = field(default=None, repr=False, compare=False)

    def unit(self, layer: int, index: int) -> UnitRow:
        """The row of unit ``index`` of layer ``layer`` (both counted from 1)."""
        for row in self.units:
            if row.layer == layer and row.index == index:
                return row
        raise KeyError(f"no unit {index} in layer {layer}")

    def grad(self, label: str) -> float:
        """``dE/d(parameter)`` by its lecture label, e.g. ``grad("W[1]_12")``."""
        for row in self.parameters:
            if row.label == label:
                return row.grad
        raise KeyError(f"no parameter labelled {label!r}")

    def to_text(self) -> str:
        """The table as aligned plain text."""
        lines = []
        if self.title:
            lines += [self.title, ""]
        xs = ", ".join(f"{v:g}" for v in self.x)
        lines.append(f"x = ({xs}), t = {self.t}, {self.loss}: E = {self.E:.12g}")
        lines.append("")
        lines += _text_table(
            ["unit", "a[l]_i", "z[l]_i", "delta[l]_i"],
            [[_unit_name(r), r.a, r.z, r.delta] for r in self.units],
        )
        lines.append("")
        lines += _text_table(
            ["parameter", "value", "dE/d(parameter)"],
            [[visible(p.label), p.value, p.grad] for p in self.parameters],
        )
        return "\n".join(lines)

    def to_html(self) -> str:
        """The table as HTML (what Jupyter shows); every label and the target are escaped
        (as plain ``str``, control and bidirectional characters made visible: see
        :func:`micrograd_lite.naming.visible`).

        Numbers show 12 significant digits, as in :meth:`to_text`; hovering shows the
        full ``repr`` (also in each cell's ``data-value``).
        """
        esc = html.escape
        parts = ['<div class="micrograd-delta-table">']
        if self.title:
            parts.append(f"<p><b>{esc(visible(self.title))}</b></p>")
        xs = ", ".join(f"{v:g}" for v in self.x)
        t, loss = esc(visible(str(self.t))), esc(visible(self.loss))
        parts.append(f"<p>x = ({esc(xs)}), t = {t}, {loss}: E = {_html_number(self.E)}</p>")
        parts.append(
            _html_table(
                "units: delta[l]_i = dE/da[l]_i",
                ["unit", "a[l]_i", "z[l]_i", "delta[l]_i"],
                [[_unit_name(r), r.a, r.z, r.delta] for r in self.units],
            )
        )
        parts.append(
            _html_table(
                "parameters",
                ["parameter", "value", "dE/d(parameter)"],
                [[p.label, p.value, p.grad] for p in self.parameters],
            )
        )
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def _unit_name(row: UnitRow) -> str:
    name = f"[{row.layer}]_{row.index}"
    z_label = plain(row.z_label)
    return f"{name} ({visible(z_label)})" if z_label.startswith("y") else name


def _text_table(header: list[str], rows: list[list[str | float]]) -> list[str]:
    """Aligned plain-text rows: a left-aligned label, then right-aligned numbers (12 digits).

    Each column is as wide as its widest entry, header included, and two spaces apart,
    so a long label (``[3]_1 (y)``, ``W[2]_1,12``) never pushes its row's numbers out of line.
    """
    cells = [[str(row[0]), *(f"{x:.12g}" for x in row[1:])] for row in rows]
    widths = [max(len(c) for c in column) for column in zip(header, *cells)]
    lines = []
    for first, *rest in [header, *cells]:
        right = "".join(f"  {x:>{w}}" for x, w in zip(rest, widths[1:]))  # two spaces between columns
        lines.append(f"{first:<{widths[0]}}{right}")
    return lines


_CELL = 'style="text-align: right; font-family: monospace"'


def _html_number(x: float) -> str:
    return f'<span title="{x!r}" data-value="{x!r}">{x:.12g}</span>'


def _html_table(caption: str, header: list[str], rows: list[list[str | float]]) -> str:
    """A table whose first column is a (escaped) label and the others numbers."""
    esc = html.escape
    lines = [f'<table><caption style="text-align: left">{esc(caption)}</caption><thead><tr>']
    lines.append("".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for label, *numbers in rows:
        cells = "".join(f'<td {_CELL} data-value="{x!r}" title="{x!r}">{x:.12g}</td>' for x in numbers)
        lines.append(f"<tr><td>{esc(visible(str(label)))}</td>{cells}</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


LOSSES: dict[str, Callable[..., Value]] = {
    "binary_cross_entropy": binary_cross_entropy,
    "squared_error": squared_error,
    "categorical_cross_entropy": categorical_cross_entropy,
}


def delta_table(
    model: MLP,
    x: Sequence[float],
    t: object,
    loss: LossName = "binary_cross_entropy",
    paired: bool = True,
    title: str = "",
) -> DeltaTable:
    """Forward ``x``, ``E`` against ``t``, one backward pass, and the table of it.

    Parameter gradients are zeroed first, so the table shows this example alone.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    trace = model.forward(x)
    y = trace.output
    if loss == "squared_error":
        E = squared_error(y, t)
    else:
        E = LOSSES[loss](y, t, paired=paired)
    model.zero_grad()
    E.backward()
    units = [
        UnitRow(l, i, a.data, z.data, a.grad, z.label or "")
        for l in range(1, len(trace.a))
        for i, (a, z) in enumerate(zip(trace.a[l], trace.z[l]), start=1)
    ]
    params = [ParameterRow(p.label or "", p.data, p.grad) for p in model.parameters()]
    return DeltaTable(
        x=[v.data for v in trace.x],
        t=t,
        E=E.data,
        units=units,
        parameters=params,
        title=title,
        loss=loss.replace("_", " "),
        trace=trace,
        root=E,
    )
