"""The delta table as HTML: the same numbers as the text table, every label escaped, shown by Jupyter."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from micrograd_lite import DeltaTable, worked_example
from micrograd_lite.delta_table import ParameterRow, UnitRow

HOSTILE = "<img src=x onerror=alert(1)>"
CLOSER = "</script><script>alert(1)</script>"


class Cells(HTMLParser):
    """Collects the tables' rows (cell texts and data-value attributes) and every start tag."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.values: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []
            value = dict(attrs).get("data-value")
            if value is not None:
                self.values.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html_text: str) -> Cells:
    parser = Cells()
    parser.feed(html_text)
    parser.close()
    return parser


def test_worked_example_as_html_has_every_row_and_exact_values() -> None:
    table = worked_example()
    html_text = table.to_html()
    assert table._repr_html_() == html_text
    cells = parse(html_text)
    assert cells.rows[0] == ["unit", "a[l]_i", "z[l]_i", "delta[l]_i"]
    units = [row for row in cells.rows if row and row[0].startswith("[")]
    assert [row[0] for row in units] == ["[1]_1", "[1]_2", "[2]_1", "[2]_2", "[3]_1 (y)"]
    params = {row[0]: row[1:] for row in cells.rows if row and row[0][:1] in "Wb"}
    assert set(params) == {p.label for p in table.parameters}
    for p in table.parameters:
        assert params[p.label] == [f"{p.value:.12g}", f"{p.grad:.12g}"]
    # Every number is also there in full: the data-value attributes hold repr(float).
    expected = [x for r in table.units for x in (r.a, r.z, r.delta)]
    expected += [x for p in table.parameters for x in (p.value, p.grad)]
    assert [float(v).hex() for v in cells.values] == [x.hex() for x in expected]
    assert table.title in "".join(cells.text)


def test_labels_and_target_are_escaped() -> None:
    table = DeltaTable(
        x=[1.0],
        t=CLOSER,
        E=0.5,
        units=[UnitRow(1, 1, 0.1, 0.2, 0.3, f"y {HOSTILE}")],
        parameters=[ParameterRow(HOSTILE, 1.0, 2.0), ParameterRow(CLOSER, 3.0, 4.0)],
        title=f"<b>{HOSTILE}</b>",
        loss="squared & error",
    )
    html_text = table.to_html()
    assert HOSTILE not in html_text and "<script" not in html_text and "<img" not in html_text
    cells = parse(html_text)
    assert set(cells.tags) <= {
        "div",
        "p",
        "b",
        "span",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
    labels = [row[0] for row in cells.rows]
    assert HOSTILE in labels and CLOSER in labels and f"[1]_1 (y {HOSTILE})" in labels
    text = "".join(cells.text)
    assert f"<b>{HOSTILE}</b>" in text and f"t = {CLOSER}" in text and "squared & error" in text


def test_text_table_columns_line_up_whatever_the_labels() -> None:
    """Each number's last digit sits under its header's last letter, in every row."""
    text = worked_example().to_text()
    lines = text.splitlines()
    for header in ("unit", "parameter"):
        start = next(k for k, line in enumerate(lines) if line.startswith(header))
        end = lines.index("", start) if "" in lines[start:] else len(lines)
        rows = lines[start:end]
        assert len({len(row) for row in rows}) == 1, rows  # before: the row "[3]_1 (y)" was one longer
        ends = [m.end() for m in re.finditer(r"\S+", rows[0])][1:]  # where each number column ends
        for row in rows[1:]:
            assert [m.end() for m in re.finditer(r"\S+", row)][-len(ends) :] == ends, row
    assert "[3]_1 (y)" in text
    long = DeltaTable(
        x=[1.0],
        t=1.0,
        E=0.5,
        units=[UnitRow(1, 1, 0.1, 0.2, 0.3, "y_with_a_long_name")],
        parameters=[ParameterRow("W[12]_123,456_and_more", 1.0, 2.0)],
    ).to_text()
    assert "[1]_1 (y_with_a_long_name)  " in long and "W[12]_123,456_and_more  " in long
