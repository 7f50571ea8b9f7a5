"""The table an import reads, and the limits every reader checks while it reads.

A :class:`Table` is a header row and numbered data rows (row 1 is the header, row 2 the
first data row, as the spreadsheet program numbers them). :class:`TableBuilder` takes rows one
at a time from a streaming reader (:mod:`ledger.sheets.csv_read`,
:mod:`ledger.sheets.xlsx_read`) and refuses a file the moment it passes a limit, so a hostile
file costs at most the limits, never its own size:

- :data:`MAX_FILE_BYTES` bytes on disk (checked before and while reading);
- :data:`MAX_ROWS` non-empty data rows and :data:`MAX_SHEET_ROWS` rows in all (empty rows
  count here: a sheet can claim a million blank rows);
- :data:`MAX_COLUMNS` columns holding anything and :data:`MAX_CELL_CHARS` characters a cell.

Every refusal is an :class:`~verifier.core.errors.InputError` naming the file, and the row and
column where known, on one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.core.errors import InputError

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_SHEET_ROWS",
    "Table",
    "TableBuilder",
    "column_letter",
    "one_line",
]

#: Largest spreadsheet file read (CSV or xlsx), in bytes: 100,000 payment rows take ~15 MB.
MAX_FILE_BYTES = 32 << 20
#: More non-empty data rows than this in one import is refused (split the file).
MAX_ROWS = 100_000
#: More rows than this in all, empty ones included, is refused.
MAX_SHEET_ROWS = 2 * MAX_ROWS
#: A row with anything in a column after this one is refused (the kinds need at most 7).
MAX_COLUMNS = 64
#: Longest cell, in characters (the longest body field is far shorter).
MAX_CELL_CHARS = 4_096


def column_letter(position: int) -> str:
    """Spreadsheet column letter of a 0-based position: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line (control characters as spaces), at most ``limit`` characters:
    for quoting a library's error message or a cell in an error line."""
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in str(text))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


@dataclass(frozen=True)
class Table:
    """A header row and the non-empty data rows, each with its spreadsheet row number."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]


@dataclass
class TableBuilder:
    """Collects rows as a reader yields them, checking the limits on each (O(1) a cell).
    ``where`` names the file in errors."""

    where: str
    headers: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    seen: int = 0

    def fail(self, message: str, row: int | None = None, column: int | None = None) -> InputError:
        """An :class:`InputError` at ``row`` (1-based) and ``column`` (0-based), if known."""
        where = ""
        if row is not None:
            where = f"第 {row} 行"
            where_en = f"row {row}"
            if column is not None:
                where += f" {column_letter(column)} 列"
                where_en += f", column {column_letter(column)}"
            where = f"{where} ({where_en}): "
        return InputError(one_line(where + message, 400), field=self.where)

    def add(self, number: int, cells: list[Any]) -> None:
        """Take spreadsheet row ``number`` (rows must come in increasing order). Raises
        :class:`InputError` past a limit, or if row 1 (the header) is empty."""
        self.seen += 1
        if self.seen > MAX_SHEET_ROWS or number > MAX_SHEET_ROWS:
            raise self.fail(
                f"超过 {MAX_SHEET_ROWS} 行 more than {MAX_SHEET_ROWS} rows; split the file"
            )
        while cells and _empty(cells[-1]):
            cells.pop()
        if len(cells) > MAX_COLUMNS:
            raise self.fail(
                f"超过 {MAX_COLUMNS} 列 more than {MAX_COLUMNS} columns", number, len(cells) - 1
            )
        for pos, cell in enumerate(cells):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise self.fail(
                    f"单元格超过 {MAX_CELL_CHARS} 个字符 cell longer than {MAX_CELL_CHARS} "
                    "characters",
                    number,
                    pos,
                )
        if self.headers is None:
            if number != 1 or not cells:
                raise self.fail("第 1 行应为表头 — row 1 must hold the column headers")
            self.headers = ["" if c is None else str(c).strip() for c in cells]
            return
        if not cells:
            return
        if len(self.rows) == MAX_ROWS:
            raise self.fail(
                f"超过 {MAX_ROWS} 行数据 more than {MAX_ROWS} data rows; split the file"
            )
        self.rows.append((number, cells))

    def table(self) -> Table:
        """The table read. Raises :class:`InputError` if there was no header row."""
        if self.headers is None:
            raise self.fail("第 1 行应为表头 — row 1 must hold the column headers")
        return Table(self.headers, self.rows)
