"""``gongxin report --xlsx``: the workbook's figures equal the traceability report that
``gongxin-verify --report`` builds from an export of the same demo log (signatures checked,
its own replay), and the raw-entry sums of :func:`tests.report_sums.independent_sums`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.sheets.report_xlsx import _indices_text, replay_report
from tests.report_sums import independent_sums
from verifier.cli.main import main as verify_main
from verifier.core.errors import InputError

ENTRIES = 2000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """(db url, workbook path, the verifier's report of the same log)."""
    from ledger.demo import build_demo

    tmp = tmp_path_factory.mktemp("xlsx")
    url = f"sqlite:///{tmp / 'demo.db'}"
    build_demo(url, ENTRIES, 1, None)
    with Ledger.open(url, create=False, replay=False) as ledger:
        export_bundle(ledger, tmp / "bundle")
    vkey = (tmp / "bundle" / "log.vkey").read_text().strip()
    out = tmp / "report.json"
    assert (
        verify_main([str(tmp / "bundle"), "--log-key", vkey, "--quiet", "--report", str(out)]) == 0
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    book = tmp / "report.xlsx"
    result = CliRunner().invoke(app, ["report", "--xlsx", str(book), "--db", url])
    assert result.exit_code == 0, result.output
    assert "tree size 2000" in result.stdout
    yield url, book, report


def rows(book: Path, sheet: str) -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(book)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], r, strict=True)) for r in values[1:]]


def money(row: dict[str, Any], header: str) -> int:
    """The fen column, after checking the yuan column says the same to the fen."""
    fen = row[f"{header}（分 fen）"]
    yuan = row[f"{header}（元）"]
    assert type(fen) is int, (header, fen)
    assert Decimal(str(yuan)) * 100 == fen, (header, yuan, fen)
    return fen


def ix(row: dict[str, Any], header: str) -> list[int]:
    text = row[header]
    return [int(x) for x in text.split(", ")] if text else []


def test_funds_sheet(demo: tuple[str, Path, dict[str, Any]]) -> None:
    _, book, report = demo
    sheet = {r["资金编号 fund_id"]: r for r in rows(book, "资金")}
    assert set(sheet) == {f["fund_id"] for f in report["funds"]} and sheet
    for f in report["funds"]:
        r = sheet[f["fund_id"]]
        assert (r["来源 source"], r["年度 fiscal_year"], r["项目 programme"]) == (
            f["source"],
            f["fiscal_year"],
            f["programme"],
        )
        for header, name in [
            ("拨款 appropriated", "appropriated"),
            ("捐赠 donated", "donated"),
            ("合同 contracted", "contracted"),
            ("已付 paid", "paid"),
            ("冲正 reversed", "reversed"),
            ("待审批 pending", "pending"),
            ("未分配 unallocated", "unallocated"),
            ("余额 remaining", "remaining"),
        ]:
            assert money(r, header) == f[f"{name}_fen"], (f["fund_id"], name)
        for header, name in [
            ("拨款条目 appropriated entries", "appropriated"),
            ("捐赠条目 donated entries", "donated"),
            ("合同条目 contracted entries", "contracted"),
            ("付款条目 paid entries", "paid"),
            ("冲正条目 reversed entries", "reversed"),
            ("待审批条目 pending entries", "pending"),
        ]:
            assert ix(r, header) == f["entries"][name], (f["fund_id"], name)


def test_contracts_and_payments_sheets(demo: tuple[str, Path, dict[str, Any]]) -> None:
    _, book, report = demo
    contracts = {r["合同编号 contract_id"]: r for r in rows(book, "合同")}
    payments = {r["付款编号 payment_id"]: r for r in rows(book, "付款")}
    assert set(contracts) == {c["contract_id"] for c in report["contracts"]}
    want_payments = {p["payment_id"]: (c, p) for c in report["contracts"] for p in c["payments"]}
    assert set(payments) == set(want_payments) and payments
    for c in report["contracts"]:
        r = contracts[c["contract_id"]]
        assert (r["资金编号 fund_id"], r["服务机构 provider"], r["采购方式 method"]) == (
            c["fund_id"],
            c["provider"],
            c["method"],
        )
        for header, name in [
            ("合同总额 total", "total"),
            ("已付 paid", "paid"),
            ("冲正 reversed", "reversed"),
            ("待审批 pending", "pending"),
            ("未付 unpaid", "unpaid"),
        ]:
            assert money(r, header) == c[f"{name}_fen"], (c["contract_id"], name)
        assert ix(r, "授予条目 awarded entries") == c["entries"]["awarded"]
        assert ix(r, "付款条目 payment entries") == c["entries"]["payments"]
    for pid, (c, p) in want_payments.items():
        r = payments[pid]
        assert (r["合同编号 contract_id"], r["资金编号 fund_id"], r["状态 state"]) == (
            c["contract_id"],
            c["fund_id"],
            p["state"],
        )
        assert money(r, "金额 amount") == p["amount_fen"]
        assert ix(r, "条目（申请、审批/驳回、冲正）entries") == p["entries"]


def test_credits_and_providers_sheets(demo: tuple[str, Path, dict[str, Any]]) -> None:
    _, book, report = demo
    credits = {r["社区 community"]: r for r in rows(book, "积分")}
    assert set(credits) == {c["party_id"] for c in report["communities"]} and credits
    for c in report["communities"]:
        r = credits[c["party_id"]]
        assert r["名称 name"] == c["name"] and r["活动数 activities"] == c["activities"]
        for name, label in [
            ("awarded", "获得 awarded"),
            ("redeemed", "兑换 redeemed"),
            ("transferred_in", "转入 transferred in"),
            ("transferred_out", "转出 transferred out"),
            ("expired", "过期 expired"),
            ("corrected", "更正 corrected"),
        ]:
            assert r[f"{label}（积分 points）"] == c[f"{name}_points"], (c["party_id"], name)
            assert ix(r, f"{label} 条目 entries") == c["entries"][name]
        assert r["结余 outstanding（积分 points）"] == c["outstanding_points"]
    providers = {r["主体编号 party_id"]: r for r in rows(book, "服务商")}
    for p in report["providers"]:
        r = providers[p["party_id"]]
        assert money(r, "已付 paid") == p["paid_fen"] and r["统一社会信用代码 uscc"] == p["uscc"]
        assert ix(r, "付款条目 paid entries") == p["entries"]["paid"]


def test_raw_entry_sums_agree(demo: tuple[str, Path, dict[str, Any]]) -> None:
    """The fund figures again, against sums over the raw entry lines (no verifier code)."""
    url, book, _ = demo
    with Ledger.open(url, create=False, replay=False) as ledger:
        want = independent_sums(list(ledger.iter_lines()))
    sheet = {r["资金编号 fund_id"]: r for r in rows(book, "资金")}
    for fid, f in want["funds"].items():
        for header, name in [
            ("拨款 appropriated", "appropriated"),
            ("合同 contracted", "contracted"),
            ("已付 paid", "paid"),
        ]:
            assert money(sheet[fid], header) == f.get(name, 0), (fid, name)


def test_about_sheet_and_layout(demo: tuple[str, Path, dict[str, Any]]) -> None:
    url, book, report = demo
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["资金", "合同", "付款", "服务商", "积分", "说明"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(cell.font.bold for cell in ws[1] if cell.value), ws.title
    assert wb["资金"]["E2"].number_format == "#,##0.00"
    about = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    with Ledger.open(url, create=False, replay=False) as ledger:
        checkpoint = ledger.latest_checkpoint()
    assert about["日志 log origin"] == report["verification"]["origin"]
    assert about["条目数 tree size"] == ENTRIES == report["verification"]["tree_size"]
    assert about["签名检查点 signed checkpoint"] == checkpoint
    assert about["根哈希 root (base64)"] == checkpoint.split("\n")[2]
    assert about["生成时间 generated at (UTC)"].endswith("Z")


def test_entries_that_do_not_match_the_checkpoint_are_refused(tmp_path: Path) -> None:
    from ledger.demo import build_demo

    db = tmp_path / "d.db"
    build_demo(f"sqlite:///{db}", 300, 2, None)
    conn = sqlite3.connect(db)
    (line,) = conn.execute("SELECT line FROM entries WHERE idx = 299").fetchone()
    # change one digit of the log time's microseconds: still a well-formed entry
    at = bytes(line).index(b'Z","prev"') - 1
    digit = bytes(line)[at : at + 1]
    forged = bytes(line)[:at] + (b"1" if digit != b"1" else b"2") + bytes(line)[at + 1 :]
    # someone with write access to the database drops the append-only guard and edits
    for (trigger,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{trigger}"')
    conn.execute("UPDATE entries SET line = ? WHERE idx = 299", (forged,))
    conn.commit()
    conn.close()
    with (
        Ledger.open(f"sqlite:///{db}", create=False, replay=False) as ledger,
        pytest.raises(InputError),
    ):
        replay_report(ledger)
    result = CliRunner().invoke(
        app, ["report", "--xlsx", str(tmp_path / "x.xlsx"), "--db", f"sqlite:///{db}"]
    )
    assert result.exit_code == 2 and not (tmp_path / "x.xlsx").exists()


def test_a_missing_database_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["report", "--xlsx", str(tmp_path / "x.xlsx"), "--db", f"sqlite:///{tmp_path / 'no.db'}"],
    )
    assert result.exit_code == 2


def test_long_index_lists_are_cut_with_a_note() -> None:
    text = _indices_text(list(range(100_000)))
    assert len(text) <= 32_767 and "more" in text
    shown = text.split(" …")[0].split(", ")
    assert [int(x) for x in shown] == list(range(len(shown)))
    assert f"+{100_000 - len(shown)}" in text
    assert _indices_text([3, 7]) == "3, 7" and _indices_text([]) == ""
