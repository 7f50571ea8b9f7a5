"""The per-party charts of the HTML report, from the members
:mod:`verifier.reports.series` adds:

- provider concentration per year of award (``concentration``: top-5 share and the
  Herfindahl–Hirschman index);
- volunteer credits awarded, redeemed and expired per community and month
  (``credit_months``).

Each returns a :class:`~verifier.reports.view.Chart` whose table holds every figure drawn.
Pure. Cost: O(figures + entry links shown).
"""

from __future__ import annotations

from typing import Any

from verifier.reports.charts_time import MAX_PANELS, fill_months
from verifier.reports.markdown import refs
from verifier.reports.svg import Mark, RefLine, bar_chart
from verifier.reports.view import Cell, Chart, Row, Table, entries_cell, money, points, title_of

__all__ = ["concentration_chart", "credit_chart"]


def concentration_chart(report: dict[str, Any]) -> Chart:
    """Top-5 share and HHI of contract value per year of award."""
    names = {p["party_id"]: p["name"] or p["party_id"] for p in report["providers"]}
    years = report.get("concentration", [])
    table = Table(
        "服务机构集中度 Provider concentration per year of award",
        [
            "年度 Year",
            "合同额 Contracted",
            "机构数 Providers",
            "前五份额 Top-5 share",
            "HHI",
            "前五 Top 5",
            "来源条目 Entries",
        ],
        name="concentration",
    )
    share_marks, hhi_marks = [], []
    for y in years:
        row_id = f"r-concentration-{len(table.rows)}"
        ix = sorted({i for s in y["shares"][:5] for i in s["entries"]})
        top = "；".join(
            f"{names.get(s['provider'], s['provider'])} {100 * s['share']:.1f}%"
            for s in y["shares"][:5]
        )
        table.add(
            Row(
                [
                    Cell(str(y["year"]), header=True),
                    money(y["contracted_fen"], "contracted_fen"),
                    Cell(str(y["providers"]), cls="num"),
                    Cell(
                        f"{100 * y['top5_share']:.1f}%",
                        key="top5_share",
                        value=y["top5_share"],
                        cls="num",
                    ),
                    Cell(f"{y['hhi']:.0f}", key="hhi", value=y["hhi"], cls="num"),
                    Cell(top),
                    entries_cell(ix),
                ],
                id=row_id,
            )
        )
        share_marks.append(
            Mark(
                100 * y["top5_share"],
                title_of(f"{y['year']} 前五份额 top-5 share", f"{100 * y['top5_share']:.1f}%", ix),
                f"#{row_id}",
            )
        )
        hhi_marks.append(
            Mark(y["hhi"], title_of(f"{y['year']} HHI", f"{y['hhi']:.0f}", ix), f"#{row_id}")
        )
    cats = [str(y["year"]) for y in years]
    svgs = [
        bar_chart(
            cats,
            [("前五份额 top-5 share %", share_marks)],
            refs=[RefLine(50, "50%")],
            title="前五份额 Top-5 share (%)",
            fmt=lambda v: f"{v:g}%",
            width=380,
            height=230,
        ),
        bar_chart(
            cats,
            [("HHI", hhi_marks)],
            refs=[RefLine(1500, "1500 中度 moderate", "#E69F00"), RefLine(2500, "2500 高度 high")],
            title="赫芬达尔指数 HHI",
            fmt=lambda v: f"{v:g}",
            width=380,
            height=230,
        ),
    ]
    return Chart(
        "concentration",
        "服务机构集中度 Provider concentration",
        "按合同授予年度：前五名服务机构的合同额份额，与赫芬达尔—赫希曼指数（HHI，份额百分数平方和，"
        "0–10000；1500 以上为中度集中，2500 以上为高度集中）。合同额含变更。 Per year of award: the share "
        "of the five largest providers in contract value (awards plus amendments) and the "
        "Herfindahl–Hirschman index (sum of squared percentage shares, 0–10,000; above 1,500 "
        "moderately, above 2,500 highly concentrated).",
        svgs,
        table,
        wide=True,  # the top-5 column needs the width
    )


_CREDIT_SERIES = (
    ("获得 awarded", "awarded"),
    ("兑换 redeemed", "redeemed"),
    ("过期 expired", "expired"),
)


def credit_chart(report: dict[str, Any]) -> Chart:
    """Credits awarded, redeemed and expired per community and month."""
    names = {c["party_id"]: c["name"] or c["party_id"] for c in report["communities"]}
    table = Table(
        "社区积分 Credits per community and month (分 points)",
        [
            "社区 Community",
            "月份 Month",
            "获得 Awarded",
            "兑换 Redeemed",
            "过期 Expired",
            "来源条目 Entries",
        ],
        name="credits",
    )
    svgs: list[str] = []
    for c in report.get("credit_months", []):
        cid, months = c["party_id"], c["months"]
        label = f"{names.get(cid, cid)}（{cid}）"
        by_month = {m["month"]: m for m in months}
        marks: dict[str, list[Mark]] = {k: [] for _, k in _CREDIT_SERIES}
        for month in fill_months(months):
            m = by_month.get(month)
            row_id = f"r-credits-{len(table.rows)}"
            if m is not None:
                # one list per figure (awards, redemptions, expiries are different entries):
                # no merge of the month's long lists
                refs_text = "；".join(
                    f"{name.split()[0]} {refs(m['entries'][k])}"
                    for name, k in _CREDIT_SERIES
                    if m["entries"][k]
                )
                table.add(
                    Row(
                        [
                            Cell(label, header=True),
                            Cell(month),
                            *(points(m[f"{k}_points"], f"{k}_points") for _, k in _CREDIT_SERIES),
                            Cell(refs_text or "—", cls="refs"),
                        ],
                        id=row_id,
                    )
                )
            for name, k in _CREDIT_SERIES:
                v = m[f"{k}_points"] if m else 0
                marks[k].append(
                    Mark(
                        v,
                        title_of(
                            f"{label} {month} {name}", f"{v} 分", m["entries"][k] if m else []
                        ),
                        f"#{row_id}" if m else None,
                    )
                )
        if len(svgs) < MAX_PANELS and months:
            svgs.append(
                bar_chart(
                    fill_months(months),
                    [(n, marks[k]) for n, k in _CREDIT_SERIES],
                    title=label,
                    fmt=lambda v: f"{v:g}",
                    width=460,
                    height=230,
                )
            )
    return Chart(
        "credits",
        "志愿服务积分 Volunteer credits",
        "每个社区每月获得、兑换与过期的积分（按积分获得所在社区计）；最多画 "
        f"{MAX_PANELS} 个社区。 Points awarded, redeemed and expired per community (where they "
        f"were earned) and month; {MAX_PANELS} communities drawn, the table lists all.",
        svgs,
        table,
    )
