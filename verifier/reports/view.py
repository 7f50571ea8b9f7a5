"""What the HTML report shows, before templating: charts (SVG text) with their data tables.

A :class:`Table` is the accessible, copyable form of a chart: a caption, column headers, and
rows whose cells may carry the exact number behind the text (``data-key``/``data-value``:
fen, points, a share) so that a reader — or the browser test — can sum a column without
parsing yuan. A row's ``id`` is what the chart's marks link to. Row ids are generated here
(never from log text). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from verifier.reports.markdown import refs, yuan

__all__ = [
    "MAX_TABLE_ROWS",
    "Cell",
    "Chart",
    "Row",
    "Table",
    "entries_cell",
    "merged",
    "money",
    "points",
    "title_of",
]

#: A chart's data table lists at most this many rows (report.json has every figure).
MAX_TABLE_ROWS = 3000


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: its text and, optionally, the exact value and what it is."""

    text: str
    key: str | None = None
    value: int | float | None = None
    header: bool = False
    cls: str | None = None


@dataclass(slots=True)
class Row:
    cells: list[Cell]
    id: str | None = None


@dataclass(slots=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    name: str = ""
    note: str | None = None

    def add(self, row: Row) -> None:
        """Add ``row`` unless the table is full (then say so once in :attr:`note`)."""
        if len(self.rows) < MAX_TABLE_ROWS:
            self.rows.append(row)
        elif self.note is None:
            self.note = (
                f"仅列出前 {MAX_TABLE_ROWS} 行，完整数据见 report.json。"
                f" The first {MAX_TABLE_ROWS} rows; report.json has every figure."
            )


@dataclass(slots=True)
class Chart:
    """A section of the report: a heading, an explanation, SVG charts and their table."""

    id: str
    title: str
    intro: str
    svgs: list[str]
    table: Table
    #: Wide charts go above their table rather than beside it.
    wide: bool = False


def money(fen: int, key: str) -> Cell:
    """A yuan cell carrying its exact fen."""
    return Cell(yuan(fen), key=key, value=fen, cls="num")


def points(n: int, key: str) -> Cell:
    """A points cell carrying its exact value."""
    return Cell(str(n), key=key, value=n, cls="num")


def entries_cell(indices: Sequence[int]) -> Cell:
    """The entry indices behind a figure (first and last few, and the count)."""
    return Cell(refs(indices), cls="refs")


def title_of(label: str, value: str, indices: Sequence[int]) -> str:
    """The tooltip of a mark: what, how much, and the entries behind it."""
    return f"{label}: {value}\n条目 entries: {refs(indices)}"


def merged(lists: Iterable[Sequence[int]]) -> list[int]:
    """The sorted union of index lists."""
    out: set[int] = set()
    for ix in lists:
        out.update(ix)
    return sorted(out)
