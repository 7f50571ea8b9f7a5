"""Hand-built ``.xlsx`` files for the import tests: the smallest workbook openpyxl opens
(content types, relationships, one sheet, optional shared strings), with any part replaced
or added, so a test can write exactly the XML or zip structure it means to refuse."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
PAYMENT_HEADERS = ("付款编号", "合同编号", "里程碑", "金额（元）", "发票号", "发票哈希")
PAYMENT_ROW = ("P-1", "HT-1", "M1", "1.00", "INV-1", "ab" * 32)


def col(position: int) -> str:
    """0 → A, 26 → AA."""
    letters, n = "", position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def cell(row: int, position: int, value: object) -> str:
    """One ``<c>``: text inline, numbers as numbers, ``("f", "1+2")`` a formula with a
    cached value, ``("s", 3)`` shared string 3."""
    ref = f"{col(position)}{row}"
    if isinstance(value, tuple) and value[0] == "f":
        return f'<c r="{ref}"><f>{escape(value[1])}</f><v>3</v></c>'
    if isinstance(value, tuple) and value[0] == "s":
        return f'<c r="{ref}" t="s"><v>{value[1]}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(
    rows: Iterable[tuple[int, Sequence[object]]], dimension: str = "A1:F2", head: str = ""
) -> bytes:
    """The sheet part for ``(row number, cells)`` pairs."""
    body = "".join(
        f'<row r="{n}">' + "".join(cell(n, p, v) for p, v in enumerate(cells)) + "</row>"
        for n, cells in rows
    )
    return (
        f'{head}<worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/>'
        f"<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def payments_sheet(*extra: tuple[int, Sequence[object]]) -> bytes:
    return sheet_xml([(1, PAYMENT_HEADERS), (2, PAYMENT_ROW), *extra])


def strings_xml(strings: Iterable[str]) -> bytes:
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return f'<sst xmlns="{MAIN}">{items}</sst>'.encode()


def base_parts(sheet: bytes, strings: bytes | None = None) -> dict[str, bytes]:
    overrides = (
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    )
    if strings is not None:
        overrides += f'<Override PartName="/{STRINGS}" ContentType="{_SST}"/>'
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{_PKG}/content-types"><Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{_REL}"><sheets><sheet name="Sheet1" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ).encode(),
        SHEET: sheet,
    }
    if strings is not None:
        parts[STRINGS] = strings
    return parts


def zip_parts(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def xlsx(sheet: bytes, strings: bytes | None = None, **extra: bytes) -> bytes:
    """A workbook with ``sheet`` as its first sheet (and shared ``strings``)."""
    return zip_parts({**base_parts(sheet, strings), **extra})
