"""The dated charts of the HTML report, from the members :mod:`verifier.reports.series` adds:

- spending by month against each fund's budget (``fund_months``; bars: net paid per month,
  line: paid so far, dashed: appropriated + donated);
- payments against milestones on a timeline (``schedule``; ◇ a milestone's due date,
  ● a payment on the day it was counted, rejected, reversed or proposed while pending);

and the shared helpers of :mod:`verifier.reports.charts_parties` (provider concentration and
volunteer credits).

Each returns a :class:`~verifier.reports.view.Chart` whose table holds every figure drawn.
Pure. Cost: O(figures + entry links shown).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from verifier.reports.markdown import yuan
from verifier.reports.svg import Mark, RefLine, TimelinePoint, TimelineRow, bar_chart, timeline
from verifier.reports.view import Cell, Chart, Row, Table, entries_cell, money, title_of

__all__ = ["MAX_PANELS", "fill_months", "milestone_chart", "spending_chart"]

#: At most this many small charts (funds, communities) or timeline rows (contracts) are drawn,
#: the largest first; the tables list all.
MAX_PANELS = 8
MAX_ROWS = 24


def _yuan_axis(v: float) -> str:
    """Axis labels in yuan: 万 (10^4) above 10,000 yuan."""
    y = v / 100
    return f"{y / 10_000:g}万" if abs(y) >= 10_000 else f"{y:g}"


def fill_months(months: list[dict[str, Any]]) -> list[str]:
    """Every month from the first to the last of ``months`` (sorted ``YYYY-MM``)."""
    if not months:
        return []
    y, m = int(months[0]["month"][:4]), int(months[0]["month"][5:7])
    out = [f"{y:04d}-{m:02d}"]
    while out[-1] < months[-1]["month"]:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(f"{y:04d}-{m:02d}")
    return out


def spending_chart(report: dict[str, Any]) -> Chart:
    """Net payments per fund and month against the fund's budget."""
    funds = {f["fund_id"]: f for f in report["funds"]}
    series = {s["fund_id"]: s["months"] for s in report.get("fund_months", [])}
    table = Table(
        "每月支付 Payments per fund and month (元 yuan)",
        [
            "资金 Fund",
            "月份 Month",
            "支付净额 Paid (net)",
            "累计 Paid so far",
            "预算 Budget",
            "来源条目 Entries",
        ],
        name="spend",
    )
    svgs: list[str] = []
    order = sorted(funds, key=lambda f: -(funds[f]["appropriated_fen"] + funds[f]["donated_fen"]))
    for fid in order:
        f, months = funds[fid], series.get(fid, [])
        budget = f["appropriated_fen"] + f["donated_fen"]
        by_month = {m["month"]: m for m in months}
        marks, line, so_far = [], [], 0
        for month in fill_months(months):
            m = by_month.get(month, {"paid_fen": 0, "entries": []})
            so_far += m["paid_fen"]
            row_id = f"r-spend-{len(table.rows)}"
            if month in by_month:
                table.add(
                    Row(
                        [
                            Cell(fid, header=True),
                            Cell(month),
                            money(m["paid_fen"], "paid_fen"),
                            money(so_far, "paid_so_far_fen"),
                            money(budget, "budget_fen"),
                            entries_cell(m["entries"]),
                        ],
                        id=row_id,
                    )
                )
            href = f"#{row_id}" if month in by_month else None
            marks.append(
                Mark(
                    m["paid_fen"],
                    title_of(f"{fid} {month} 支付 paid", f"{yuan(m['paid_fen'])} 元", m["entries"]),
                    href,
                )
            )
            line.append(Mark(so_far, f"{fid} {month} 累计 paid so far: {yuan(so_far)} 元", href))
        if len(svgs) < MAX_PANELS and marks:
            svgs.append(
                bar_chart(
                    fill_months(months),
                    [("每月支付 paid per month", marks)],
                    line=("累计 paid so far", line),
                    refs=[RefLine(budget, f"预算 budget {yuan(budget)}")],
                    title=f"{fid} {f['programme'] or ''}",
                    fmt=_yuan_axis,
                    width=460,
                    height=230,
                )
            )
    return Chart(
        "spend",
        "每月支出与预算 Spending by month against the budget",
        "每个资金每月的支付净额（已支付减冲正），折线为累计，虚线为预算（拨款 + 捐赠）；按预算从大到小，"
        f"最多画 {MAX_PANELS} 个。 Net payments (counted less reversed) of each fund per month, "
        f"the running total as a line and the budget (appropriated + donated) dashed; the "
        f"{MAX_PANELS} largest funds are drawn, the table lists all.",
        svgs,
        table,
    )


_STATE_COLOUR = {
    "counted": "#009E73",
    "pending": "#0072B2",
    "rejected": "#D55E00",
    "reversed": "#E69F00",
}
_STATE_NAME = {
    "counted": "已支付 counted",
    "pending": "待审批 pending",
    "rejected": "驳回 rejected",
    "reversed": "冲正 reversed",
}


_STATE_DAY = {"counted": "counted_on", "rejected": "rejected_on", "reversed": "reversed_on"}


def _pay_day(p: dict[str, Any]) -> str | None:
    """The day a payment reached its state (pending: the day it was proposed)."""
    day: str | None = p[_STATE_DAY.get(p["state"], "proposed_on")]
    return day


def milestone_chart(report: dict[str, Any]) -> Chart:
    """Milestones (due dates) and payments (dates) per contract, largest contracts drawn."""
    totals = {c["contract_id"]: c["total_fen"] for c in report["contracts"]}
    schedule = sorted(
        report.get("schedule", []),
        key=lambda s: (-totals.get(s["contract_id"], 0), s["contract_id"]),
    )
    table = Table(
        "里程碑与付款 Milestones and payments (元 yuan)",
        [
            "合同 Contract",
            "里程碑 Milestone",
            "到期 Due",
            "金额 Amount",
            "付款 Payment",
            "付款金额 Paid",
            "状态 State",
            "日期 Date",
            "来源条目 Entries",
        ],
        name="milestones",
    )
    rows: list[TimelineRow] = []
    for s in schedule:
        cid, pts = s["contract_id"], []
        for m in s["milestones"]:
            row_id = f"r-milestones-{len(table.rows)}"
            table.add(
                Row(
                    [
                        Cell(cid, header=True),
                        Cell(m["milestone_id"]),
                        Cell(m["due"]),
                        money(m["amount_fen"], "milestone_fen"),
                        Cell(""),
                        Cell(""),
                        Cell(""),
                        Cell(""),
                        entries_cell([m["set_at"]]),
                    ],
                    id=row_id,
                )
            )
            title = title_of(
                f"{cid} 里程碑 milestone {m['milestone_id']} 到期 due {m['due']}",
                f"{yuan(m['amount_fen'])} 元",
                [m["set_at"]],
            )
            pts.append(
                TimelinePoint(
                    date.fromisoformat(m["due"]),
                    "diamond",
                    "#555",
                    Mark(m["amount_fen"], title, f"#{row_id}"),
                )
            )
        for p in s["payments"]:
            row_id = f"r-milestones-{len(table.rows)}"
            day = _pay_day(p)
            table.add(
                Row(
                    [
                        Cell(cid, header=True),
                        Cell(p["milestone_id"]),
                        Cell(""),
                        Cell(""),
                        Cell(p["payment_id"]),
                        money(p["amount_fen"], f"payment_{p['state']}_fen"),
                        Cell(_STATE_NAME.get(p["state"], p["state"])),
                        Cell(day or "—"),
                        entries_cell(p["entries"]),
                    ],
                    id=row_id,
                )
            )
            if day is not None:
                title = title_of(
                    f"{cid} 付款 payment {p['payment_id']} ({_STATE_NAME.get(p['state'], p['state'])}, {day})",
                    f"{yuan(p['amount_fen'])} 元",
                    p["entries"],
                )
                pts.append(
                    TimelinePoint(
                        date.fromisoformat(day),
                        "circle",
                        _STATE_COLOUR.get(p["state"], "#999"),
                        Mark(p["amount_fen"], title, f"#{row_id}"),
                    )
                )
        if len(rows) < MAX_ROWS:
            rows.append(TimelineRow(cid, pts))
    legend = [("◇ 里程碑到期 milestone due", "#555")] + [
        (n, _STATE_COLOUR[s]) for s, n in _STATE_NAME.items()
    ]
    svg = timeline(rows, title="付款与里程碑 Payments against milestones", legend_items=legend)
    return Chart(
        "milestones",
        "付款与里程碑 Payments against milestones",
        "每行一个合同（按金额从大到小，最多画 "
        f"{MAX_ROWS} 个）：◇ 为里程碑到期日，● 为付款（已支付、驳回、冲正之日，待审批为提出之日）。"
        f" One row per contract (the {MAX_ROWS} largest drawn): ◇ a milestone's due date, ● a "
        "payment on the day it was counted, rejected or reversed (pending: proposed).",
        [svg],
        table,
    )
