"""Reading officers' spreadsheets: the first sheet of an ``.xlsx`` or a ``.csv`` file, as a
header row and numbered data rows (row 1 is the header, row 2 the first data row, as the
spreadsheet program numbers them).

Both are read as streams with every limit of :mod:`ledger.sheets.table` checked while reading
(file bytes, rows, columns, cell length; for xlsx also the zip parts and shared strings,
:mod:`ledger.sheets.xlsx_guard`), so a hostile file is refused at the cost of the limits, not
of its size. CSV is UTF-8 (with or without a byte-order mark) or GB18030
(:mod:`ledger.sheets.csv_read`). Cells keep their types from ``.xlsx`` (``int``, ``float``,
``datetime``, ``str``; formula cells are refused) and are ``str`` from CSV. Rows whose cells
are all empty are skipped (their numbers are not reused).
"""

from __future__ import annotations

from pathlib import Path

from ledger.sheets.csv_read import read_csv_bytes, read_csv_stream
from ledger.sheets.table import MAX_FILE_BYTES, MAX_ROWS, Table
from ledger.sheets.xlsx_read import read_xlsx
from verifier.core.errors import InputError

__all__ = ["MAX_ROWS", "Table", "read_csv_bytes", "read_table"]


def read_table(path: Path) -> Table:
    """The table in ``path`` (``.xlsx``: its first sheet; ``.csv``). Raises
    :class:`InputError` (one line: the file, and the row and column where known) for another
    extension, a missing or non-regular file, a file past a limit, a formula cell, a
    malformed file, or no header row."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError("只支持 .xlsx 和 .csv — give a .xlsx or .csv file", field=str(path))
    if not path.is_file():
        raise InputError("文件不存在 no such file (or not a regular file)", field=str(path))
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(
            f"文件超过 {MAX_FILE_BYTES} 字节 file larger than {MAX_FILE_BYTES} bytes; split it",
            field=str(path),
        )
    if suffix == ".xlsx":
        return read_xlsx(path)
    try:
        with path.open("rb") as fh:
            return read_csv_stream(fh, str(path))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", field=str(path)) from None
