"""Reading a CSV file as a stream, with the limits of :mod:`ledger.sheets.table` checked as
it is read.

The bytes come through :class:`_Limited` (refused past :data:`MAX_FILE_BYTES`), are split
into lines of at most :data:`MAX_LINE_BYTES` (a newline byte never occurs inside a UTF-8 or
GB18030 character), each decoded on its own, and fed to :func:`csv.reader`; rows go to a
:class:`TableBuilder` one by one. The text is tried as UTF-8 (a byte-order mark is dropped, as
Excel and WPS write "CSV UTF-8") and, if a line is not UTF-8, read again from the start as
GB18030 (what Excel saves as plain "CSV" on a Chinese Windows). Cost: one pass, two if the
file is GB18030; memory: the rows kept (bounded by the limits), never the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from ledger.sheets.table import MAX_FILE_BYTES, Table, TableBuilder, one_line
from verifier.core.errors import InputError

__all__ = ["MAX_LINE_BYTES", "read_csv_stream"]

#: Longest physical line of a CSV file, in bytes.
MAX_LINE_BYTES = 1 << 20


class _NotThisEncoding(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _lines(fh: BinaryIO, encoding: str, builder: TableBuilder) -> Iterator[str]:
    """The decoded lines of ``fh``, each checked for length; the total is checked against
    :data:`MAX_FILE_BYTES`. Raises :class:`_NotThisEncoding` at the first line that does not
    decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    total = 0
    number = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        number += 1
        total += len(raw)
        if total > MAX_FILE_BYTES:
            raise builder.fail(
                f"文件超过 {MAX_FILE_BYTES} 字节 file larger than {MAX_FILE_BYTES} bytes; split it"
            )
        if len(raw) > MAX_LINE_BYTES:
            raise builder.fail(
                f"第 {number} 行超过 {MAX_LINE_BYTES} 字节 line {number} is longer than "
                f"{MAX_LINE_BYTES} bytes"
            )
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError:
            raise _NotThisEncoding(number) from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _NotThisEncoding(number) from None


def _read(fh: BinaryIO, encoding: str, where: str) -> Table:
    builder = TableBuilder(where)
    reader = csv.reader(_lines(fh, encoding, builder), strict=True)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            builder.add(number, cells)
    except csv.Error as exc:
        raise builder.fail(f"CSV 格式错误 malformed CSV: {one_line(exc)}", number + 1) from None
    return builder.table()


def read_csv_stream(fh: BinaryIO, where: str) -> Table:
    """Read the CSV in the seekable binary stream ``fh`` (``where`` names it in errors).
    Raises :class:`InputError` for text that is neither UTF-8 nor GB18030, malformed CSV, or
    a file past a limit."""
    try:
        return _read(fh, "utf-8-sig", where)
    except _NotThisEncoding as not_utf8:
        utf8_line = not_utf8.line
        fh.seek(0)
    try:
        return _read(fh, "gb18030", where)
    except _NotThisEncoding as not_gb:
        line = max(utf8_line, not_gb.line)  # the encoding that got further was meant
        raise InputError(
            f"第 {line} 行 (line {line}): CSV 既不是 UTF-8 也不是 GB18030 — not UTF-8 "
            "or GB18030 text",
            field=where,
        ) from None


def read_csv_bytes(data: bytes, where: str = "csv") -> Table:
    """:func:`read_csv_stream` over bytes in memory."""
    return read_csv_stream(io.BytesIO(data), where)
