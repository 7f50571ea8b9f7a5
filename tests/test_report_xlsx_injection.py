"""Text from the log never becomes a formula in what Gongxin writes for spreadsheet programs
(:mod:`ledger.sheets.cells`): ``gongxin report --xlsx`` and the CSV writers put a ``'`` before
text that begins with ``= + - @``, tab or carriage return, and store every text cell of a
workbook as a string cell. Checked on the written files: openpyxl finds no formula cell and the
sheet XML holds no ``<f>`` element."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.demo.residents import DemoResident, write_residents_file
from ledger.sheets.cells import FORMULA_TRIGGERS, SafeCsvWriter, append_row, safe_text
from ledger.sheets.report_xlsx import replay_report, write_xlsx
from tests.report_log import _contract, _uscc, build_small_log

HOSTILE = {
    "name": '=HYPERLINK("http://127.0.0.1/x","点我")',
    "programme": "+1+cmd|' /C calc'!A0",
    "title": "@SUM(1,2)",
    "source": "-2+3",
}


def cells(book: Path) -> list[Any]:
    """Every non-empty cell of every sheet, after checking that none is a formula, in
    openpyxl's reading and in the raw sheet XML."""
    with zipfile.ZipFile(book) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name
    found = []
    wb = openpyxl.load_workbook(book)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if cell.value is not None:
                    found.append(cell.value)
    texts = [v for v in found if isinstance(v, str)]
    starts = [v for v in texts if v.startswith(FORMULA_TRIGGERS)]
    assert not starts, starts
    return found


def test_hostile_names_in_the_log_stay_text(tmp_path: Path) -> None:
    """The ledger accepts these names (printable text); the report writes them escaped."""
    log = build_small_log(tmp_path)
    party = {"party_id": "P-evil", "type": "company", "name": HOSTILE["name"], "uscc": _uscc(9)}
    log.add("finance", "party.register", party)
    log.add(
        "finance",
        "fund.appropriate",
        {
            "fund_id": "F-evil",
            "fiscal_year": 2026,
            "programme": HOSTILE["programme"],
            "source": "财政",
            "amount_fen": 100_000,
        },
    )
    log.add(
        "finance",
        "contract.award",
        {**_contract("K-evil", "F-evil", "P-evil", {"M1": 50_000}), "title": HOSTILE["title"]},
    )
    log.ledger.close()
    book = tmp_path / "report.xlsx"
    result = CliRunner().invoke(app, ["report", "--xlsx", str(book), "--db", log.url])
    assert result.exit_code == 0, result.output
    found = cells(book)
    for key in ("name", "programme", "title"):
        assert "'" + HOSTILE[key] in found, key


def _poison(rows: list[dict[str, Any]], counter: list[int]) -> None:
    for row in rows:
        for k, v in row.items():
            if isinstance(v, str):
                row[k] = FORMULA_TRIGGERS[counter[0] % len(FORMULA_TRIGGERS)] + v
                counter[0] += 1
            elif k == "payments":
                _poison(v, counter)


def test_every_text_column_of_every_sheet_is_escaped(tmp_path: Path) -> None:
    log = build_small_log(tmp_path)
    report = replay_report(log.ledger)
    log.ledger.close()
    counter = [0]
    for part in ("funds", "contracts", "providers", "communities"):
        _poison(report[part], counter)
    for k in ("origin", "checkpoint", "log_key"):
        report["verification"][k] = "=" + report["verification"][k]
    assert counter[0] > 30
    book = tmp_path / "poisoned.xlsx"
    write_xlsx(report, book)
    texts = {v for v in cells(book) if isinstance(v, str)}
    escaped = {v for v in texts if v[:1] == "'" and v[1:].startswith(FORMULA_TRIGGERS)}
    with zipfile.ZipFile(book) as z:
        raw = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))
    for trigger in FORMULA_TRIGGERS:
        if trigger == "\r":  # XML readers normalise a stored CR to LF: look at the bytes
            assert b">'\r" in raw and b">\r" not in raw
        else:
            assert any(v[1] == trigger for v in escaped), repr(trigger)
    assert "'=" + report["verification"]["origin"][1:] in texts


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_csv_writers_escape_text_cells(tmp_path: Path, trigger: str) -> None:
    community = f'{trigger}HYPERLINK("http://127.0.0.1/")'
    resident = DemoResident(community, "R-1", "ab" * 16, "ABCD1234EFGH5", 12)
    path = write_residents_file([resident], tmp_path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][0] == "'" + community
    assert not any(c.startswith(FORMULA_TRIGGERS) for r in rows for c in r)
    with (tmp_path / "direct.csv").open("w", encoding="utf-8", newline="") as fh:
        SafeCsvWriter(fh).writerows([[community, 5, "plain", "中文"]])
    with (tmp_path / "direct.csv").open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["'" + community, "5", "plain", "中文"]


def test_safe_text() -> None:
    assert [safe_text(t + "x") for t in FORMULA_TRIGGERS] == [
        "'" + t + "x" for t in FORMULA_TRIGGERS
    ]
    assert safe_text("春江社区") == "春江社区" and safe_text("") == "" and safe_text("a=b") == "a=b"


def test_text_cells_are_string_cells(tmp_path: Path) -> None:
    """openpyxl makes a string beginning with ``=`` a formula and ``#N/A`` an error cell;
    :func:`append_row` stores both as text (the first escaped as well)."""
    wb = openpyxl.Workbook()
    append_row(wb.active, ["#N/A", "#DIV/0!", "=1+2", 3, None])
    path = tmp_path / "types.xlsx"
    wb.save(path)
    row = next(openpyxl.load_workbook(path).active.iter_rows())
    assert [c.data_type for c in row[:4]] == ["s", "s", "s", "n"]
    assert [c.value for c in row[:4]] == ["#N/A", "#DIV/0!", "'=1+2", 3]
