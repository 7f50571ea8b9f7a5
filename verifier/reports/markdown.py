"""The human-readable (Markdown) form of a traceability report, Chinese first.

:func:`render_markdown` takes the JSON-ready dict of
:meth:`verifier.reports.traceability.ReportBuilder.build` (so the two files always agree) and returns
Markdown: amounts in yuan ("1234.56"), each figure followed by the entry indices it comes
from ("#12, #40 …", truncated with a count when long; the JSON has the full lists).
Pure: no I/O. O(size of the report).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.reports.flags_markdown import flags_section
from verifier.reports.labels import TOTAL_CREDITS, TOTAL_MONEY

__all__ = ["MAX_PAYMENT_ROWS", "refs", "render_markdown", "yuan"]

#: The Markdown lists at most this many payments (the JSON lists every one).
MAX_PAYMENT_ROWS = 2000
#: Indices shown before a list is truncated: the first ``_HEAD`` and the last ``_TAIL``.
_HEAD, _TAIL = 6, 2

_STATES = {
    "pending": "待审批 pending",
    "counted": "已支付 counted",
    "rejected": "驳回 rejected",
    "reversed": "冲正 reversed",
}
_PARTY_TYPES = {
    "community": "社区 community",
    "social_organisation": "社会组织 social organisation",
    "company": "企业 company",
}


def yuan(fen: int) -> str:
    """Integer fen as a yuan string: ``123456`` → ``"1234.56"``, ``-5`` → ``"-0.05"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def refs(indices: Sequence[int]) -> str:
    """Entry indices as ``#3, #7, #9``; long lists keep the first and last few and the count."""
    n = len(indices)
    if n == 0:
        return "—"
    if n <= _HEAD + _TAIL:
        return ", ".join(f"#{i}" for i in indices)
    head = ", ".join(f"#{i}" for i in indices[:_HEAD])
    tail = ", ".join(f"#{i}" for i in indices[-_TAIL:])
    return f"{head}, … {tail}（共 {n} 条 {n} entries）"


_ESCAPE = str.maketrans({c: f"\\{c}" for c in "\\|*_`[]<>#"})


def _esc(value: object) -> str:
    """Text from the log, safe inside a Markdown table cell."""
    if value is None:
        return "—"
    return str(value).translate(_ESCAPE)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _figure_rows(items: Sequence[tuple[str, str, Sequence[int] | None]]) -> list[list[str]]:
    return [[label, value, refs(ix) if ix is not None else "—"] for label, value, ix in items]


_FIGURE_HEADER = ["数字 Figure", "数值 Value", "来源条目 Entries"]


def _witness_rows(v: dict[str, Any]) -> list[list[str]]:
    """The witnesses row, when ``gongxin-verify`` required cosignatures (FORMAT.md §15)."""
    w = v.get("witnesses")
    if not isinstance(w, dict):
        return []
    who = ", ".join(str(n) for n in w.get("cosigned_by") or []) or "—"
    return [["见证副署 Witnesses", _esc(f"{who} ({w.get('policy', '')})")]]


def _header(report: dict[str, Any]) -> list[str]:
    v = report.get("verification") or {}
    prev = v.get("previous_checkpoint_size")
    lines = [
        "# 公信 可追溯报告 Gongxin traceability report",
        "",
        *_table(
            ["项目 Item", "值 Value"],
            [
                ["日志 Log (origin)", _esc(v.get("origin"))],
                ["条目数 Entries", _esc(v.get("tree_size"))],
                ["根哈希 Root (SHA-256)", f"`{v.get('root', '—')}`"],
                ["日志公钥 Log key", f"`{v.get('log_key', '—')}`"],
                ["先前检查点 Previous checkpoint", _esc(prev) if prev is not None else "—"],
                ["验证结果 Verdict", "✓ 验证通过 valid" if v.get("valid") else "—"],
                *_witness_rows(v),
            ],
        ),
        "说明：金额单位为元（人民币），由 JSON 报告中的整数“分”换算；积分以分值计。"
        "“#n”指导出包 entries.jsonl 中序号为 n 的条目（第 n+1 行）。每个数字后列出其来源条目，"
        "过长时只列首尾并注明条数，完整列表见 JSON 报告。"
        "未分配 = 拨款 + 捐赠 − 合同；余额 = 拨款 + 捐赠 − 已付（已付为扣除冲正后的净额）。",
        "",
        "Notes: amounts are in yuan (CNY), converted from the integer fen of the JSON report; "
        "credits are in points. “#n” is the entry with index n in the bundle's entries.jsonl "
        "(line n+1). Every figure is followed by the entries it comes from, truncated when "
        "long (the JSON report has the full lists). Unallocated = appropriated + donated − "
        "contracted; remaining = appropriated + donated − paid (paid is net of reversals).",
        "",
    ]
    return lines


def _totals(t: dict[str, Any]) -> list[str]:
    pay = t["payments"]
    money, credits = TOTAL_MONEY, TOTAL_CREDITS
    counts = (
        f"资金 funds {t['funds']} · 合同 contracts {t['contracts']} · 服务机构 providers "
        f"{t['providers']} · 社区 communities {t['communities']} · 付款 payments: "
        + " · ".join(f"{_STATES[s]} {n}" for s, n in pay.items())
    )
    return [
        "## 总计 Totals",
        "",
        counts,
        "",
        *_table(["资金 Money", "元 Yuan"], [[label, yuan(t[key])] for label, key in money]),
        *_table(["积分 Credits", "分 Points"], [[label, str(t[key])] for label, key in credits]),
    ]


def _funds(funds: Sequence[dict[str, Any]]) -> list[str]:
    out = ["## 资金 Funds", ""]
    if not funds:
        return [*out, "（无 none）", ""]
    out += _table(
        [
            "资金 Fund",
            "来源 Source",
            "年度 Year",
            "项目 Programme",
            "拨款 Appropriated",
            "捐赠 Donated",
            "合同 Contracted",
            "已付 Paid",
            "未分配 Unallocated",
            "余额 Remaining",
        ],
        [
            [
                _esc(f["fund_id"]),
                _esc(f["source"]),
                _esc(f["fiscal_year"]),
                _esc(f["programme"]),
                *(
                    yuan(f[k])
                    for k in (
                        "appropriated_fen",
                        "donated_fen",
                        "contracted_fen",
                        "paid_fen",
                        "unallocated_fen",
                        "remaining_fen",
                    )
                ),
            ]
            for f in funds
        ],
    )
    for f in funds:
        e = f["entries"]
        out += [f"### 资金 Fund {_esc(f['fund_id'])} — {_esc(f['programme'])}", ""]
        out += _table(
            _FIGURE_HEADER,
            _figure_rows(
                [
                    ("拨款 Appropriated", yuan(f["appropriated_fen"]), e["appropriated"]),
                    ("捐赠 Donated", yuan(f["donated_fen"]), e["donated"]),
                    ("合同 Contracted", yuan(f["contracted_fen"]), e["contracted"]),
                    ("已付 Paid (net)", yuan(f["paid_fen"]), e["paid"]),
                    ("冲正 Reversed", yuan(f["reversed_fen"]), e["reversed"]),
                    ("待审批 Pending", yuan(f["pending_fen"]), e["pending"]),
                    ("未分配 Unallocated", yuan(f["unallocated_fen"]), None),
                    ("余额 Remaining", yuan(f["remaining_fen"]), None),
                ]
            ),
        )
    return out


def _contracts(contracts: Sequence[dict[str, Any]]) -> list[str]:
    out = ["## 合同 Contracts", ""]
    if not contracts:
        return [*out, "（无 none）", ""]
    rows = []
    for c in contracts:
        e = c["entries"]
        links = f"授予 award {refs(e['awarded'])}"
        if e["amended"]:
            links += f"；变更 amend {refs(e['amended'])}"
        if e["payments"]:
            links += f"；付款 payments {refs(e['payments'])}"
        rows.append(
            [
                _esc(c["contract_id"]),
                _esc(c["title"]),
                _esc(c["method"]),
                _esc(c["fund_id"]),
                _esc(c["provider"]),
                yuan(c["total_fen"]),
                yuan(c["paid_fen"]),
                yuan(c["unpaid_fen"]),
                yuan(c["pending_fen"]),
                links,
            ]
        )
    out += _table(
        [
            "合同 Contract",
            "名称 Title",
            "方式 Method",
            "资金 Fund",
            "服务机构 Provider",
            "总额 Total",
            "已付 Paid",
            "未付 Unpaid",
            "待审批 Pending",
            "来源条目 Entries",
        ],
        rows,
    )
    payments = [(c["contract_id"], p) for c in contracts for p in c["payments"]]
    out += ["### 付款 Payments", ""]
    if not payments:
        return [*out, "（无 none）", ""]
    if len(payments) > MAX_PAYMENT_ROWS:
        out += [
            f"仅列出前 {MAX_PAYMENT_ROWS} 笔，共 {len(payments)} 笔，完整列表见 JSON 报告。"
            f" The first {MAX_PAYMENT_ROWS} of {len(payments)} payments; the JSON report "
            "lists all.",
            "",
        ]
    out += _table(
        ["付款 Payment", "合同 Contract", "金额 Amount", "状态 State", "来源条目 Entries"],
        [
            [
                _esc(p["payment_id"]),
                _esc(cid),
                yuan(p["amount_fen"]),
                _STATES.get(p["state"], _esc(p["state"])),
                refs(p["entries"]),
            ]
            for cid, p in payments[:MAX_PAYMENT_ROWS]
        ],
    )
    return out


def _providers(providers: Sequence[dict[str, Any]]) -> list[str]:
    out = ["## 服务机构 Providers", ""]
    if not providers:
        return [*out, "（无 none）", ""]
    for p in providers:
        e = p["entries"]
        kind = _PARTY_TYPES.get(p["type"] or "", "—")
        out += [
            f"### {_esc(p['name'])}（{_esc(p['party_id'])}）",
            "",
            f"{kind} · 统一社会信用代码 USCC {_esc(p['uscc'])} · 登记 registered "
            f"{refs([p['registered_at']]) if p['registered_at'] is not None else '—'} · "
            f"合同 contracts: {', '.join(_esc(c) for c in p['contracts']) or '—'}",
            "",
        ]
        out += _table(
            _FIGURE_HEADER,
            _figure_rows(
                [
                    ("合同 Contracted", yuan(p["contracted_fen"]), e["contracted"]),
                    ("已付 Paid (net)", yuan(p["paid_fen"]), e["paid"]),
                    ("冲正 Reversed", yuan(p["reversed_fen"]), e["reversed"]),
                ]
            ),
        )
    return out


_CREDIT_ROWS = (
    ("获得 Awarded", "awarded"),
    ("更正 Corrected", "corrected"),
    ("兑换 Redeemed", "redeemed"),
    ("转入 Transferred in", "transferred_in"),
    ("转出 Transferred out", "transferred_out"),
    ("过期 Expired", "expired"),
)


def _communities(communities: Sequence[dict[str, Any]]) -> list[str]:
    out = ["## 社区积分 Community credits", ""]
    if not communities:
        return [*out, "（无 none）", ""]
    out += _table(
        ["社区 Community", "名称 Name", "活动 Activities"]
        + [label for label, _ in _CREDIT_ROWS]
        + ["结余 Outstanding"],
        [
            [_esc(c["party_id"]), _esc(c["name"]), str(c["activities"])]
            + [str(c[f"{key}_points"]) for _, key in _CREDIT_ROWS]
            + [str(c["outstanding_points"])]
            for c in communities
        ],
    )
    for c in communities:
        e = c["entries"]
        out += [
            f"### {_esc(c['name'])}（{_esc(c['party_id'])}）",
            "",
            f"统一社会信用代码 USCC {_esc(c['uscc'])} · 活动 activities {c['activities']}: "
            f"{refs(e['activities'])}",
            "",
        ]
        out += _table(
            _FIGURE_HEADER,
            _figure_rows(
                [(label, str(c[f"{key}_points"]), e[key]) for label, key in _CREDIT_ROWS]
                + [("结余 Outstanding", str(c["outstanding_points"]), None)]
            ),
        )
    return out


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown form of ``report`` (as built by ``ReportBuilder.build``)."""
    lines = [
        *_header(report),
        *_totals(report["totals"]),
        *_funds(report["funds"]),
        *_contracts(report["contracts"]),
        *_providers(report["providers"]),
        *_communities(report["communities"]),
        *flags_section(report),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
