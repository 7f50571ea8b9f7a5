"""``gongxin report --xlsx OUT.xlsx``: the traceability figures as a workbook for finance staff.

:func:`replay_report` reads the log read-only and replays it, as ``gongxin trace`` does,
through :class:`verifier.rules.log_state.LogState` with a
:class:`verifier.reports.traceability.ReportBuilder`
as the rulebook's observer (signatures are not re-checked: the ledger checked them before it
stored each entry; ``gongxin-verify`` checks everything from an export). It also recomputes
the Merkle root of the replayed entries and requires it to be the root of the log's signed
checkpoint, so the figures are those of exactly that checkpoint.

:func:`write_xlsx` writes the sheets 资金 funds, 合同 contracts, 付款 payments, 服务商
providers, 积分 credits by community, and 说明 (about: origin, tree size, checkpoint,
generation time). Money appears twice: yuan with two decimals (a number, formatted
``#,##0.00``) and the integer fen the log holds; every row lists the entry indices its
figures come from. The header row is bold and frozen. Text from the log is written as text
cells, never formulas, with ``'`` before a leading ``= + - @``, tab or carriage return
(:mod:`ledger.sheets.cells`).

Cost: the replay is O(n) (about 0.1 ms per entry); the workbook is O(funds + contracts +
payments + parties).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from ledger.sheets.cells import append_row
from verifier.core import compact_range, merkle
from verifier.core.checkpoint import open_checkpoint, parse_checkpoint_body
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.reports.traceability import ReportBuilder
from verifier.rules.log_state import LogState

__all__ = ["replay_report", "write_xlsx"]

#: Excel refuses cells longer than this; longer index lists are cut (with a note).
_MAX_CELL = 32_000


def replay_report(ledger: Ledger) -> dict[str, Any]:
    """Replay the log of ``ledger`` (opened read-only is enough) and return the
    traceability report (:meth:`ReportBuilder.build`) with ``verification`` holding the
    origin, tree size, root, checkpoint and log key. Raises :class:`InputError` for an
    empty log or if the replayed entries do not hash to the checkpoint's root, and
    :class:`~verifier.core.errors.VerificationError` if the checkpoint does not open under the
    log key the genesis entry names. O(n)."""
    note = ledger.latest_checkpoint()
    if ledger.log_vkey is not None:  # the log key of the genesis entry, from the database
        cp = open_checkpoint(note, ledger.log_vkey)
    else:  # pragma: no cover - every initialised ledger has one
        cp = parse_checkpoint_body(note[: note.index("\n\n") + 1])
    builder = ReportBuilder()
    state = LogState(rulebook=builder.rulebook())
    tree = compact_range.CompactRange()
    for i, line in enumerate(ledger.iter_lines(0, cp.size)):
        entry = parse_entry_line(line, i)
        leaf = merkle.leaf_hash(line)
        state.check_and_apply(entry, leaf, check_signatures=False)
        builder.entry(entry)
        tree.append(leaf)
    if tree.size != cp.size or tree.root() != cp.root:
        raise InputError(
            f"the {tree.size} entries read do not hash to the root of the checkpoint of "
            f"{cp.size}; 数据库中的条目与检查点不一致",
            field="database",
        )
    return builder.build(
        {
            "origin": cp.origin,
            "tree_size": cp.size,
            "root": base64.b64encode(cp.root).decode("ascii"),
            "checkpoint": note,
            "log_key": str(ledger.log_vkey) if ledger.log_vkey else None,
        }
    )


# -- the workbook --------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """A column: its header, how a row gives its value, and its kind: ``text``, ``int``,
    ``money`` (two columns: yuan and fen) or ``indices`` (entry indices as text)."""

    header: str
    get: Callable[[dict[str, Any]], Any]
    kind: str = "text"


def _m(header: str, name: str) -> Col:
    return Col(header, lambda r: r[name], "money")


def _ix(header: str, *path: str) -> Col:
    def get(r: dict[str, Any]) -> Any:
        for p in path:
            r = r[p]
        return r

    return Col(header, get, "indices")


def _t(header: str, name: str, kind: str = "text") -> Col:
    return Col(header, lambda r: r.get(name), kind)


FUND_COLUMNS = (
    _t("资金编号 fund_id", "fund_id"),
    _t("来源 source", "source"),
    _t("年度 fiscal_year", "fiscal_year", "int"),
    _t("项目 programme", "programme"),
    _m("拨款 appropriated", "appropriated_fen"),
    _m("捐赠 donated", "donated_fen"),
    _m("合同 contracted", "contracted_fen"),
    _m("已付 paid", "paid_fen"),
    _m("冲正 reversed", "reversed_fen"),
    _m("待审批 pending", "pending_fen"),
    _m("未分配 unallocated", "unallocated_fen"),
    _m("余额 remaining", "remaining_fen"),
    _ix("拨款条目 appropriated entries", "entries", "appropriated"),
    _ix("捐赠条目 donated entries", "entries", "donated"),
    _ix("合同条目 contracted entries", "entries", "contracted"),
    _ix("付款条目 paid entries", "entries", "paid"),
    _ix("冲正条目 reversed entries", "entries", "reversed"),
    _ix("待审批条目 pending entries", "entries", "pending"),
)
CONTRACT_COLUMNS = (
    _t("合同编号 contract_id", "contract_id"),
    _t("资金编号 fund_id", "fund_id"),
    _t("服务机构 provider", "provider"),
    _t("合同名称 title", "title"),
    _t("采购方式 method", "method"),
    _m("合同总额 total", "total_fen"),
    _m("已付 paid", "paid_fen"),
    _m("冲正 reversed", "reversed_fen"),
    _m("待审批 pending", "pending_fen"),
    _m("未付 unpaid", "unpaid_fen"),
    _ix("授予条目 awarded entries", "entries", "awarded"),
    _ix("变更条目 amended entries", "entries", "amended"),
    _ix("付款条目 payment entries", "entries", "payments"),
)
PAYMENT_COLUMNS = (
    _t("付款编号 payment_id", "payment_id"),
    _t("合同编号 contract_id", "contract_id"),
    _t("资金编号 fund_id", "fund_id"),
    _t("服务机构 provider", "provider"),
    _t("状态 state", "state"),
    _m("金额 amount", "amount_fen"),
    _ix("条目（申请、审批/驳回、冲正）entries", "entries"),
)
PROVIDER_COLUMNS = (
    _t("主体编号 party_id", "party_id"),
    _t("名称 name", "name"),
    _t("统一社会信用代码 uscc", "uscc"),
    _t("类型 type", "type"),
    _t("登记条目 registered at", "registered_at", "int"),
    Col("合同 contracts", lambda r: ", ".join(r["contracts"])),
    _m("合同金额 contracted", "contracted_fen"),
    _m("已付 paid", "paid_fen"),
    _m("冲正 reversed", "reversed_fen"),
    _ix("合同条目 contracted entries", "entries", "contracted"),
    _ix("付款条目 paid entries", "entries", "paid"),
    _ix("冲正条目 reversed entries", "entries", "reversed"),
)
_CREDIT_FIGURES = (
    ("awarded", "获得 awarded"),
    ("corrected", "更正 corrected"),
    ("redeemed", "兑换 redeemed"),
    ("transferred_in", "转入 transferred in"),
    ("transferred_out", "转出 transferred out"),
    ("expired", "过期 expired"),
)
CREDIT_COLUMNS = (
    _t("社区 community", "party_id"),
    _t("名称 name", "name"),
    _t("活动数 activities", "activities", "int"),
    *(_t(f"{label}（积分 points）", f"{name}_points", "int") for name, label in _CREDIT_FIGURES),
    _t("结余 outstanding（积分 points）", "outstanding_points", "int"),
    _ix("活动条目 activity entries", "entries", "activities"),
    *(_ix(f"{label} 条目 entries", "entries", name) for name, label in _CREDIT_FIGURES),
)


def _payment_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **p,
            "contract_id": c["contract_id"],
            "fund_id": c["fund_id"],
            "provider": c["provider"],
        }
        for c in report["contracts"]
        for p in c["payments"]
    ]


def _indices_text(indices: Sequence[int]) -> str:
    text = ", ".join(str(i) for i in indices)
    if len(text) <= _MAX_CELL:
        return text
    cut = text.rfind(", ", 0, _MAX_CELL - 80)
    shown = text[:cut].count(",") + 1
    return f"{text[:cut]} … (+{len(indices) - shown} 条 more; gongxin trace 列出全部 lists all)"


def _sheet(book: Any, title: str, columns: Sequence[Col], rows: Sequence[dict[str, Any]]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(title)
    headers: list[str] = []
    for c in columns:
        headers += (
            [f"{c.header}（元）", f"{c.header}（分 fen）"] if c.kind == "money" else [c.header]
        )
    append_row(ws, headers)
    for r in rows:
        cells: list[Any] = []
        for c in columns:
            value = c.get(r)
            if c.kind == "money":
                cells += [Decimal(value).scaleb(-2), value]
            elif c.kind == "indices":
                cells.append(_indices_text(value))
            else:
                cells.append(value)
        append_row(ws, cells)
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"
    position = 1
    for c in columns:
        for suffix in ("yuan", "fen") if c.kind == "money" else ("",):
            letter = get_column_letter(position)
            if suffix == "yuan":
                for (cell,) in ws.iter_rows(min_row=2, min_col=position, max_col=position):
                    cell.number_format = "#,##0.00"
            ws.column_dimensions[letter].width = min(max(12, len(headers[position - 1]) + 2), 40)
            position += 1


def _about(book: Any, report: dict[str, Any], generated: datetime) -> None:
    from openpyxl.styles import Alignment, Font

    v, t = report["verification"], report["totals"]
    ws = book.create_sheet("说明")
    append_row(ws, ["项目 item", "内容 value"])
    rows: list[tuple[str, Any]] = [
        ("日志 log origin", v.get("origin")),
        ("条目数 tree size", v.get("tree_size")),
        ("根哈希 root (base64)", v.get("root")),
        ("签名检查点 signed checkpoint", v.get("checkpoint")),
        ("日志公钥 log key", v.get("log_key")),
        ("生成时间 generated at (UTC)", generated.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("资金数 funds", t["funds"]),
        ("合同数 contracts", t["contracts"]),
        ("服务机构数 providers", t["providers"]),
        ("社区数 communities", t["communities"]),
        (
            "说明 notes",
            "金额同时以元（两位小数）和分（整数，账本原值）列出；每行列出其数字来源的条目序号。"
            "核对：gongxin entry N 打印第 N 条；gongxin-verify 以公开的日志公钥验证导出包并生成同样的"
            "数字。 — Money is shown in yuan (2 decimals) and in integer fen (as logged); every "
            "row lists the entry indices its figures come from. Check with `gongxin entry N`, "
            "and `gongxin-verify` on an export with the published log key.",
        ),
    ]
    for row in rows:
        append_row(ws, row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 100
    for (cell,) in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_xlsx(report: dict[str, Any], path: Path, generated: datetime | None = None) -> None:
    """Write ``report`` (from :func:`replay_report`) to ``path`` as an ``.xlsx`` workbook.
    ``generated`` defaults to now. Raises :class:`InputError` if the file cannot be written."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    _sheet(book, "资金", FUND_COLUMNS, report["funds"])
    _sheet(book, "合同", CONTRACT_COLUMNS, report["contracts"])
    _sheet(book, "付款", PAYMENT_COLUMNS, _payment_rows(report))
    _sheet(book, "服务商", PROVIDER_COLUMNS, report["providers"])
    _sheet(book, "积分", CREDIT_COLUMNS, report["communities"])
    _about(book, report, generated or datetime.now(UTC))
    try:
        book.save(path)
    except OSError as exc:
        raise InputError(f"cannot write the workbook: {exc.strerror}", field=str(path)) from None
