"""Reading the first sheet of an ``.xlsx`` as a stream, with the limits of
:mod:`ledger.sheets.table` checked as it is read.

The file's bytes (at most :data:`MAX_FILE_BYTES`) are read once into memory, checked by
:func:`ledger.sheets.xlsx_guard.check_xlsx` (zip structure, part sizes while decompressing,
shared strings, no DTDs), and only then given to :mod:`openpyxl` in read-only mode, which
parses the sheet row by row (``iter_rows``): the same bytes both times, so the file cannot
change between the check and the read. The sheet's claimed dimension is ignored (a sheet can
claim a million rows), rows are counted as they come, and a **formula cell is refused**: its
cached value is whatever the program that saved the file wrote, not something the officer saw
checked, so it is never imported. Any damage openpyxl meets (bad XML, odd values) is an
:class:`InputError` naming the row reached, never a traceback.

Cost: one decompression of every part for the check, one parse of the shared strings and the
sheet; memory: the rows kept, the shared strings (bounded by the guard) and the file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ledger.sheets.table import MAX_FILE_BYTES, Table, TableBuilder, one_line
from ledger.sheets.xlsx_guard import DAMAGED, check_xlsx
from verifier.core.errors import InputError

__all__ = ["read_xlsx"]


def read_limited(path: Path) -> bytes:
    """The bytes of the regular file ``path``, refused past :data:`MAX_FILE_BYTES`
    (checked on the size and on the bytes read). Raises :class:`InputError`."""
    where = str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", field=where) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"文件超过 {MAX_FILE_BYTES} 字节 file larger than {MAX_FILE_BYTES} bytes; split it",
            field=where,
        )
    return data


def _rows(book: Any, builder: TableBuilder) -> None:
    sheets = book.worksheets
    if not sheets:
        raise builder.fail("没有工作表 the workbook has no worksheet")
    sheet = sheets[0]
    sheet.reset_dimensions()  # never trust the claimed size: count what is there
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        cells: list[Any] = []
        for pos, cell in enumerate(row):
            if cell.data_type == "f":
                raise builder.fail(
                    f"公式单元格不能导入，请粘贴为数值 formula cell {one_line(cell.value, 60)!r} "
                    "refused: paste values instead",
                    number,
                    pos,
                )
            cells.append(cell.value)
        builder.add(number, cells)


def read_xlsx(path: Path) -> Table:
    """The first worksheet of the ``.xlsx`` file ``path`` as a :class:`Table`. Raises
    :class:`InputError` (naming the file, and the row where known) for a file that fails
    a check or a limit, holds a formula cell, or cannot be parsed."""
    import openpyxl  # local: only the import command needs it

    where = str(path)
    data = read_limited(path)
    check_xlsx(data, where)
    builder = TableBuilder(where)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except DAMAGED as exc:
        raise InputError(
            f"无法读取 xlsx cannot read the workbook: {one_line(exc)}", field=where
        ) from None
    except Exception as exc:  # openpyxl's own exceptions (InvalidFileException, …)
        raise InputError(
            f"无法读取 xlsx cannot read the workbook: {type(exc).__name__}: {one_line(exc)}",
            field=where,
        ) from None
    try:
        _rows(book, builder)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise builder.fail(
            f"工作表 XML 格式错误 malformed sheet XML at line {line}, column {column}",
            builder.seen + 1,
        ) from None
    except DAMAGED as exc:
        raise builder.fail(
            f"无法读取 cannot read the sheet: {type(exc).__name__}: {one_line(exc)}",
            builder.seen + 1,
        ) from None
    finally:
        book.close()
    return builder.table()
