"""Writing text into spreadsheets so that it stays text (CSV / formula injection).

A spreadsheet program treats a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a
formula, and some also after a leading tab or carriage return; text from the log (names,
programmes, titles — written by whoever signed a statement) must never run as a formula on a
finance officer's machine (``=HYPERLINK(…)``, ``=cmd|…``, DDE). The rule (OWASP "CSV
injection"): every text cell that begins with one of :data:`FORMULA_TRIGGERS` gets a single
quote ``'`` in front, which the program shows and never evaluates; in an xlsx the cell is
also stored as a string cell (``data_type "s"``), never as a formula, whatever it holds.
Characters XML 1.0 cannot hold (C0 controls other than tab, newline and carriage return) are
written as U+FFFD, since :mod:`openpyxl` refuses them.

Readers who need the logged value exactly take it from the log (``gongxin entry N``) or strip
one leading ``'`` from a text cell that has one followed by a trigger.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = [
    "FORMULA_TRIGGERS",
    "SafeCsvWriter",
    "append_row",
    "safe_text",
    "set_text",
    "xlsx_value",
]

#: First characters that make a spreadsheet program read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(text: str) -> str:
    """``text``, with ``'`` in front if it begins with a formula trigger. O(1)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def xlsx_value(value: Any) -> Any:
    """A value ready for an openpyxl cell: text made safe (:func:`safe_text`) and cleared of
    characters XML cannot hold; numbers, dates and ``None`` unchanged."""
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("\ufffd", safe_text(value))
    return value


def set_text(cell: Any) -> None:
    """Store an openpyxl ``cell`` holding ``str`` as a string cell, never a formula (openpyxl
    makes any string beginning with ``=`` a formula and ``#N/A`` and the like error cells)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """Append a row to the openpyxl worksheet ``ws`` with every text cell made safe
    (:func:`xlsx_value`) and stored as text (:func:`set_text`)."""
    ws.append([xlsx_value(v) for v in values])
    for cell in ws[ws.max_row]:
        set_text(cell)


class SafeCsvWriter:
    """:func:`csv.writer` over ``fh`` that writes every ``str`` cell through
    :func:`safe_text`; other values as :mod:`csv` writes them."""

    def __init__(self, fh: TextIO) -> None:
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_text(v) if isinstance(v, str) else v for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
