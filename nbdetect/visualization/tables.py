"""Tables of results, one dict per row: fixed-width text for terminals, HTML for notebooks.

The `TrainingMonitor`'s table of epochs and an evaluation's per-class table (class, AP,
AP50, ..., TP, FP, FN) are both a `Table`: columns in order, a cell per row and column,
numbers formatted alike, and a name with a qualifier (`MaP@[IoU=50]`) shown on two lines.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

# Inline styles, so that the table looks the same in every notebook frontend (no CSS file).
_CELL = "padding:2px 8px;text-align:{align};white-space:nowrap"
_HEAD = ";border-bottom:1px solid #888;vertical-align:bottom"
# Translucent, so that it reads on light and dark notebook themes alike.
_HIGHLIGHT = "background:rgba(255,193,7,0.3);font-weight:bold"


def format_value(value: Any) -> str:
    """A table cell: whole numbers as they are, others with 4 decimals, `None` as `-`.

    Numbers below 0.001 or from 100,000 up get 4 significant digits instead, so that
    learning rates and large losses stay readable.

    Example:
        >>> from nbdetect.visualization.tables import format_value
        >>> [format_value(v) for v in (3, 0.41234, 1e-5, 123456.7, None, float("nan"), "cat")]
        ['3', '0.4123', '1e-05', '1.235e+05', '-', 'nan', 'cat']
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)


def header_lines(name: str) -> list[str]:
    """A column name on one line, or two when it has a COCO qualifier (`MaP` / `@[IoU=50]`).

    Example:
        >>> from nbdetect.visualization.tables import header_lines
        >>> header_lines("MaP@[IoU=50]"), header_lines("loss")
        (['MaP', '@[IoU=50]'], ['loss'])
    """
    head, at, tail = name.partition("@")
    return [head, at + tail] if at else [name]


class Table:
    """Rows of dicts shown as a fixed-width text table and as an HTML `<table>`.

    A cell is `format_value(row[column])` (or the column's own function in `formats`);
    a column a row lacks shows `-`. Numbers are right-aligned, the `left` columns (names)
    left-aligned. The text form is for terminals and logs: its columns are at least as
    wide as their names and `min_width`, so that rows printed one at a time line up under
    a header printed before them. The HTML form scrolls inside a notebook cell when it is
    wider than the cell.

    Args:
        columns: the keys of the rows to show, in order.
        left: the columns aligned left; the others are aligned right.
        min_width: the narrowest a text column is, in characters.
        min_widths: `{column: width}`, overriding `min_width` for those columns.
        formats: `{column: function}` turning a cell's value into its text, for those
            columns; `format_value` for the others.

    Example:
        >>> from nbdetect.visualization.tables import Table
        >>> table = Table(["class", "AP", "AP@[IoU=50]", "TP"], left=["class"])
        >>> rows = [{"class": "cat", "AP": 0.5, "AP@[IoU=50]": 0.75, "TP": 12},
        ...         {"class": "dog", "AP": 0.25, "TP": 3}]
        >>> print(table.text(rows))
                            AP
        class      AP  @[IoU=50]  TP
        -----  ------  ---------  --
        cat    0.5000     0.7500  12
        dog    0.2500          -   3
        >>> table.html(rows, caption="Per class", highlight=1).count("<tr")
        3
    """

    def __init__(
        self,
        columns: Sequence[str],
        *,
        left: Collection[str] = (),
        min_width: int = 0,
        min_widths: Mapping[str, int] | None = None,
        formats: Mapping[str, Callable[[Any], str]] | None = None,
    ) -> None:
        self.columns = list(columns)
        self.left = set(left)
        self.min_width = min_width
        self.min_widths = dict(min_widths or {})
        self.formats = dict(formats or {})

    def cell(self, row: Mapping[str, Any], column: str) -> str:
        """The text of one cell."""
        return self.formats.get(column, format_value)(row.get(column))

    def text(self, rows: Sequence[Mapping[str, Any]], header: bool = True) -> str:
        """The table as lines of text: the header and a rule (unless `header=False`), then rows.

        Args:
            rows: the rows, one dict each.
            header: begin with the column names and a rule under them.

        Returns:
            The lines joined by newlines, without trailing spaces.
        """
        cells = [[self.cell(row, column) for column in self.columns] for row in rows]
        names = [header_lines(column) for column in self.columns]
        widths = [
            max(
                *map(len, name),
                self.min_widths.get(column, self.min_width),
                *(len(line[i]) for line in cells),
            )
            for i, (column, name) in enumerate(zip(self.columns, names))
        ]
        lines = []
        if header:
            depth = max((len(name) for name in names), default=1)
            # Single-line names sit on the last line, beside the qualifiers.
            names = [[""] * (depth - len(name)) + name for name in names]
            lines = [self._line([name[i] for name in names], widths) for i in range(depth)]
            lines.append("  ".join("-" * width for width in widths))
        lines.extend(self._line(line, widths) for line in cells)
        return "\n".join(lines)

    def html(
        self,
        rows: Sequence[Mapping[str, Any]],
        caption: str | None = None,
        note: str | None = None,
        highlight: int | None = None,
    ) -> str:
        """The table as HTML: a `<table>` in a `<div>` that scrolls sideways when needed.

        Args:
            rows: the rows, one dict each.
            caption: a bold title above the table.
            note: a grey line above the rows, e.g. `"… 3 earlier epochs"`.
            highlight: the index in `rows` of a row to highlight (e.g. the one selected).

        Returns:
            The HTML, with every name and cell escaped.
        """
        header = "".join(
            f'<th style="{self._style(column)}{_HEAD}">'
            + "<br>".join(html.escape(part) for part in header_lines(column))
            + "</th>"
            for column in self.columns
        )
        body = []
        if note is not None:
            body.append(
                f'<tr><td colspan="{len(self.columns)}" style="{_CELL.format(align="left")};'
                f'color:#888">{html.escape(note)}</td></tr>'
            )
        for index, row in enumerate(rows):
            cells = "".join(
                f'<td style="{self._style(column)}">{html.escape(self.cell(row, column))}</td>'
                for column in self.columns
            )
            style = f' style="{_HIGHLIGHT}"' if index == highlight else ""
            body.append(f"<tr{style}>{cells}</tr>")
        title = (
            ""
            if caption is None
            else f'<caption style="text-align:left;font-weight:bold">{html.escape(caption)}'
            "</caption>"
        )
        return (
            '<div style="overflow-x:auto;max-width:100%">'
            '<table style="border-collapse:collapse;font-family:monospace;font-size:12px">'
            f"{title}<thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    def _line(self, texts: Sequence[str], widths: Sequence[int]) -> str:
        return "  ".join(
            text.ljust(width) if column in self.left else text.rjust(width)
            for column, text, width in zip(self.columns, texts, widths)
        ).rstrip()

    def _style(self, column: str) -> str:
        return _CELL.format(align="left" if column in self.left else "right")
