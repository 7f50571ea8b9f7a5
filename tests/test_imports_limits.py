"""Hostile spreadsheets for ``gongxin import`` (:mod:`ledger.sheets.read` and the modules
behind it): limits checked while reading (rows, bytes, columns, cell length, zip parts,
shared strings), formula cells refused, and every malformed file one ``✗`` line with exit 2.

The size tests run the reader in a fresh process and report its time and peak RSS
(``resource.getrusage``): the process is started through ``sh`` so that its peak is its own
(Linux hands a fork's high-water mark on across ``exec``, so a child forked straight from
pytest would report pytest's size).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.sheets.read import read_table
from ledger.sheets.table import MAX_CELL_CHARS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from ledger.sheets.xlsx_guard import MAX_SHARED_STRINGS
from ledger.signing.keyfile import write_private_key
from tests.keyring import key
from tests.xlsx_parts import (
    MAIN,
    PAYMENT_HEADERS,
    PAYMENT_ROW,
    SHEET,
    base_parts,
    payments_sheet,
    sheet_xml,
    strings_xml,
    xlsx,
    zip_parts,
)
from verifier.core.errors import InputError

REPO = Path(__file__).resolve().parent.parent
GONGXIN = Path(sys.executable).with_name("gongxin")
HEADER = ",".join(PAYMENT_HEADERS)

_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from ledger.sheets.read import read_table
from verifier.core.errors import InputError
start = time.perf_counter()
try:
    table = read_table(Path(sys.argv[1]))
    error, rows = None, len(table.rows)
except InputError as exc:
    error, rows = str(exc), None
print(json.dumps({
    "error": error, "rows": rows, "seconds": round(time.perf_counter() - start, 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def measure(path: Path) -> dict[str, Any]:
    """Read ``path`` in a fresh process: its error (or row count), seconds and peak RSS."""
    done = subprocess.run(
        ["sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    print(f"{path.name}: {figures}")  # the figures the report quotes (pytest -s)
    return figures


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_table(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


# -- size limits, measured --------------------------------------------------------------------


def test_a_million_row_csv_is_refused_quickly_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        fh.writelines(f"P-{i},HT-1,M1,1.00,I{i},x\n" for i in range(1_000_000))
    assert path.stat().st_size < MAX_FILE_BYTES  # refused by rows, while reading
    small = measure(write(tmp_path, "small.csv", f"{HEADER}\n{','.join(PAYMENT_ROW)}\n".encode()))
    assert small["error"] is None and small["rows"] == 1
    big = measure(path)
    assert f"more than {MAX_ROWS} data rows" in big["error"]
    assert big["seconds"] < 5
    assert big["peak_rss_mb"] < small["peak_rss_mb"] + 150  # the 100,000 rows kept, no more


def test_a_shared_strings_bomb_is_refused_before_openpyxl_loads_it(tmp_path: Path) -> None:
    # 85 MB of one repeated string, deflated 400:1: refused by its declared ratio, unread.
    ratio_bomb = b'<sst xmlns="%s">' % MAIN.encode() + b"<si><t>a</t></si>" * 5_000_000
    ratio = measure(write(tmp_path, "ratio.xlsx", xlsx(payments_sheet(), ratio_bomb + b"</sst>")))
    assert "zip bomb" in ratio["error"] and "xl/sharedStrings.xml" in ratio["error"]
    # 1.1 million distinct strings, 8:1: refused by their count while streaming them.
    many = strings_xml(format(i * 2654435761 % (1 << 40), "x") for i in range(1_100_000))
    count = measure(write(tmp_path, "count.xlsx", xlsx(payments_sheet(), many)))
    assert f"more than {MAX_SHARED_STRINGS} shared strings" in count["error"]
    small = measure(write(tmp_path, "small.xlsx", xlsx(payments_sheet())))
    assert small["error"] is None and small["rows"] == 1
    for figures in (ratio, count):
        assert figures["seconds"] < 10
        assert figures["peak_rss_mb"] < small["peak_rss_mb"] + 100


def test_a_part_larger_than_it_declares_is_refused(tmp_path: Path) -> None:
    """zipfile stops at the declared size, so the extra bytes are never inflated; the CRC
    of the truncated part no longer matches."""
    data = bytearray(xlsx(payments_sheet((3, ["x" * 3000]))))
    with zipfile.ZipFile(write(tmp_path, "t.xlsx", bytes(data))) as z:
        info = z.getinfo(SHEET)
    # the sheet's declared size, in its local header and its central directory record
    local = info.header_offset + 22
    data[local : local + 4] = (100).to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(SHEET)] != SHEET.encode():
        central = data.find(b"PK\x01\x02", central + 4)
        assert central > 0
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    assert "damaged" in refused(write(tmp_path, "lie.xlsx", bytes(data)))


def test_claimed_dimensions_and_row_gaps_cost_nothing(tmp_path: Path) -> None:
    wide = sheet_xml([(1, PAYMENT_HEADERS), (2, PAYMENT_ROW)], dimension="A1:XFD1048576")
    assert len(read_table(write(tmp_path, "dim.xlsx", xlsx(wide))).rows) == 1
    gap = sheet_xml([(1, PAYMENT_HEADERS), (1_048_576, PAYMENT_ROW)])
    assert "more than 200000 rows" in refused(write(tmp_path, "gap.xlsx", xlsx(gap)))


def test_columns_cells_and_bytes_are_limited(tmp_path: Path) -> None:
    wide = ",".join(["x"] * (MAX_COLUMNS + 1))
    message = refused(write(tmp_path, "wide.csv", f"{HEADER}\n{wide}\n".encode()))
    assert "row 2, column BM" in message and f"more than {MAX_COLUMNS} columns" in message
    long_cell = "P" * (MAX_CELL_CHARS + 1)
    message = refused(write(tmp_path, "long.csv", f"{HEADER}\n{long_cell},x\n".encode()))
    assert "row 2, column A" in message
    sheet = payments_sheet((3, ["P-2", "y" * (MAX_CELL_CHARS + 1)]))
    assert "row 3, column B" in refused(write(tmp_path, "long.xlsx", xlsx(sheet)))
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    assert f"file larger than {MAX_FILE_BYTES} bytes" in refused(big)
    one_line = tmp_path / "line.csv"
    one_line.write_bytes(HEADER.encode() + b"\n" + b"x" * (2 << 20))
    assert "longer than" in refused(one_line)


# -- formula cells -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "formula", ["1+2", "SUM(A1:A2)", 'HYPERLINK("http://127.0.0.1/","x")', "cmd|' /C calc'!A0"]
)
def test_formula_cells_are_refused_never_their_cached_value(tmp_path: Path, formula: str) -> None:
    sheet = payments_sheet((3, ["P-2", "HT-1", "M2", ("f", formula), "INV-2", "cd" * 32]))
    message = refused(write(tmp_path, "f.xlsx", xlsx(sheet)))
    assert "row 3, column D" in message and "formula" in message


# -- malformed files: exit 2, one line, no traceback -------------------------------------------


def _bad_sheet_xml() -> bytes:
    good = payments_sheet((3, ["P-2"]))
    return good.replace(b"</sheetData>", b'<row r="4"><c r="A4"><v>1</row></sheetData>')


MALFORMED: list[tuple[str, str, bytes, tuple[str, ...]]] = [
    ("bad zip", "a.xlsx", b"PK\x03\x04 not a zip at all", ("not an xlsx (zip) file",)),
    ("truncated zip", "b.xlsx", xlsx(payments_sheet())[:900], ("xlsx",)),
    ("bad sheet XML", "c.xlsx", xlsx(_bad_sheet_xml()), ("row 4", "malformed sheet XML", "line 1")),
    (
        "bad shared strings XML",
        "d.xlsx",
        xlsx(payments_sheet(), b'<sst xmlns="%s"><si><t>x</t></sst>' % MAIN.encode()),
        ("xl/sharedStrings.xml", "malformed XML at line 1"),
    ),
    (
        "DTD (entity bomb)",
        "e.xlsx",
        xlsx(
            sheet_xml(
                [(1, PAYMENT_HEADERS)],
                head='<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>',
            )
        ),
        ("DOCTYPE",),
    ),
    (
        "bzip2 part",
        "f.xlsx",
        zip_parts(base_parts(payments_sheet()), zipfile.ZIP_BZIP2),
        ("only stored and deflate",),
    ),
    (
        "formula",
        "g.xlsx",
        xlsx(payments_sheet((3, ["P-2", "HT-1", "M2", ("f", "1+2")]))),
        ("row 3, column D", "formula"),
    ),
    ("not UTF-8 nor GB18030", "h.csv", HEADER.encode() + b"\nP-1,\xff\xfe\n", ("line 2",)),
    ("unterminated quote", "i.csv", HEADER.encode() + b'\n"P-1,HT-1\n', ("row 2", "malformed CSV")),
    ("no header", "j.csv", b"\n\n", ("row 1 must hold the column headers",)),
]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "finance.key"
    write_private_key(path, key("finance"))
    return path


@pytest.mark.parametrize(
    ("name", "data", "wants"),
    [(n, d, w) for _, n, d, w in MALFORMED],
    ids=[m[0] for m in MALFORMED],
)
def test_malformed_files_are_one_line_and_exit_2(
    tmp_path: Path, key_file: Path, name: str, data: bytes, wants: tuple[str, ...]
) -> None:
    path = write(tmp_path, name, data)
    done = subprocess.run(
        [
            str(GONGXIN),
            "import",
            str(path),
            "--kind",
            "payments",
            "--dry-run",
            "--key",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("✗ 输入错误 input error: " + str(path)), lines[0]
    for want in wants:
        assert want in lines[0], (want, lines[0])
    assert done.stdout == ""


_GOOD = xlsx(payments_sheet((3, ["P-2", "HT-1", "M2", 2.5, "INV-2", "cd" * 32])))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(0, len(_GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_damaged_xlsx_is_a_table_or_an_input_error(
    tmp_path: Path, flips: list[tuple[int, int]]
) -> None:
    """Any byte changes of a good workbook: read, or refused as one line; nothing else."""
    data = bytearray(_GOOD)
    for at, value in flips:
        data[at] = value
    path = write(tmp_path, "fuzz.xlsx", bytes(data))
    try:
        read_table(path)
    except InputError as exc:
        assert "\n" not in str(exc)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_damaged_sheet_xml_is_a_table_or_an_input_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    """The zip intact, the sheet XML cut or changed: read, or refused as one line."""
    sheet = bytearray(payments_sheet((3, ["P-2", "HT-1", "M2", 2.5, "INV-2", "cd" * 32])))
    cut = data.draw(st.integers(0, len(sheet)))
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(sheet) - 1))
        sheet[at] = data.draw(st.sampled_from(b'<>/"=&;rcvtf0123 x'))
    path = write(tmp_path, "fuzz.xlsx", xlsx(bytes(sheet[:cut]) if cut % 2 else bytes(sheet)))
    try:
        read_table(path)
    except InputError as exc:
        assert "\n" not in str(exc)
