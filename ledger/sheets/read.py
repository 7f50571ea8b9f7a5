"""Reading officers' spreadsheets: the first sheet of an ``.xlsx`` or a ``.csv`` file, as a
header row and numbered data rows (row 1 is the header, row 2 the first data row, as the
spreadsheet program numbers them).

CSV is read as UTF-8 (with or without a byte-order mark, as Excel and WPS save "CSV UTF-8"),
falling back to GB18030 (what Excel saves as plain "CSV" on a Chinese Windows). Cells keep
their types from ``.xlsx`` (``int``, ``float``, ``datetime``, ``str``) and are ``str`` from
CSV. Rows whose cells are all empty are skipped (their numbers are not reused).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.core.errors import InputError

__all__ = ["MAX_ROWS", "Table", "read_csv_bytes", "read_table"]

#: More rows than this in one import is refused (split the file).
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Table:
    """A header row and the non-empty data rows, each with its spreadsheet row number."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _table(raw_rows: list[list[Any]], where: str) -> Table:
    if not raw_rows or all(_empty(c) for c in raw_rows[0]):
        raise InputError("第 1 行应为表头 — row 1 must hold the column headers", field=where)
    headers = ["" if c is None else str(c).strip() for c in raw_rows[0]]
    rows = [
        (number, list(cells))
        for number, cells in enumerate(raw_rows[1:], start=2)
        if not all(_empty(c) for c in cells)
    ]
    if len(rows) > MAX_ROWS:
        raise InputError(f"more than {MAX_ROWS} rows; split the file", field=where)
    return Table(headers, rows)


def read_csv_bytes(data: bytes, where: str = "csv") -> Table:
    """Parse CSV bytes: UTF-8 (BOM optional), else GB18030. Raises :class:`InputError`."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("CSV 既不是 UTF-8 也不是 GB18030 — not UTF-8 or GB18030 text", field=where)
    try:
        raw = [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise InputError(f"CSV 格式错误 malformed CSV: {exc}", field=where) from None
    return _table(raw, where)


def _read_xlsx(path: Path) -> Table:
    import openpyxl  # local: only the import command needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(
            f"无法读取 xlsx cannot read the workbook: {exc}", field=str(path)
        ) from None
    try:
        sheet = book.worksheets[0]
        raw = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(raw, str(path))


def read_table(path: Path) -> Table:
    """The table in ``path`` (``.xlsx``: its first sheet; ``.csv``). Raises
    :class:`InputError` for another extension, an unreadable file or no header row."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError("只支持 .xlsx 和 .csv — give a .xlsx or .csv file", field=str(path))
    if not path.is_file():
        raise InputError("文件不存在 no such file", field=str(path))
    if suffix == ".xlsx":
        return _read_xlsx(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", field=str(path)) from None
    return read_csv_bytes(data, str(path))
