"""The fund-flow chart of the HTML report: source → fund → contract → provider, in yuan,
from the report's ``funds`` and ``contracts`` (a Sankey diagram, :mod:`verifier.reports.sankey`).

Flows: a source (``财政``, ``社区基金``, ``捐赠`` — the fund's ``source``) gives a fund its
appropriation; ``捐赠 donations`` give it its donations; a fund gives each contract its total
(award plus amendments) and keeps the rest as ``未分配 unallocated``; a contract goes to its
provider. The diagram shows the :data:`TOP` largest funds, contracts and providers and sums
the others into one node per column; the data table lists every flow, unsummed. Pure.
Cost: O(funds + contracts · log contracts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.reports.markdown import yuan
from verifier.reports.sankey import Flow, Node, sankey
from verifier.reports.svg import Mark
from verifier.reports.view import Cell, Chart, Row, Table, entries_cell, merged, money, title_of

__all__ = ["TOP", "flow_chart"]

#: The diagram shows at most this many funds, contracts and providers (the rest summed).
TOP = 12
_DONATIONS = "捐赠款 donations"
_UNALLOCATED = "未分配 unallocated"


class _Flows:
    """Flows keyed by (displayed source, displayed target), summed, with their entries and
    the table row the first part of each links to."""

    def __init__(self) -> None:
        self.value: dict[tuple[str, str], int] = {}
        self.ix: dict[tuple[str, str], list[list[int]]] = {}
        self.href: dict[tuple[str, str], str] = {}
        self.table = Table(
            "资金流向明细 Fund flows (every flow; 元 yuan)",
            ["阶段 Stage", "从 From", "到 To", "金额 Amount", "来源条目 Entries"],
            name="flow",
        )

    def add(
        self, key: tuple[str, str], names: tuple[str, str], stage: str, fen: int, ix: list[int]
    ) -> None:
        row_id = f"r-flow-{len(self.table.rows)}"
        self.table.add(
            Row(
                [
                    Cell(stage, header=True),
                    Cell(names[0]),
                    Cell(names[1]),
                    money(fen, stage_key(stage)),
                    entries_cell(ix),
                ],
                id=row_id,
            )
        )
        self.value[key] = self.value.get(key, 0) + fen
        self.ix.setdefault(key, []).append(ix)
        self.href.setdefault(key, f"#{row_id}")

    def flows(self) -> list[Flow]:
        out = []
        for key, fen in self.value.items():
            ix = merged(self.ix[key])
            title = title_of(f"{key[0]} → {key[1]}", f"{yuan(fen)} 元", ix)
            out.append(Flow(key[0], key[1], Mark(fen, title, self.href[key])))
        return out


_STAGE_KEYS = {
    "拨款 appropriation": "appropriated_fen",
    "捐赠 donation": "donated_fen",
    "合同 contract": "contracted_fen",
    "未分配 unallocated": "unallocated_fen",
    "服务机构 provider": "provider_fen",
}


def stage_key(stage: str) -> str:
    """The ``data-key`` of a flow table's amount cell for ``stage``."""
    return _STAGE_KEYS[stage]


def _top(items: dict[str, int], other: str) -> dict[str, str]:
    """Each key → itself if among the :data:`TOP` largest, else the ``other`` node."""
    ranked = sorted(items, key=lambda k: (-items[k], k))
    shown = set(ranked[:TOP]) if len(ranked) <= TOP else set(ranked[: TOP - 1])
    n = len(ranked) - len(shown)
    label = f"{other}（{n}）"
    return {k: (k if k in shown else label) for k in ranked}


def _names(report: dict[str, Any]) -> dict[str, str]:
    return {p["party_id"]: p["name"] or p["party_id"] for p in report["providers"]}


def flow_chart(report: dict[str, Any]) -> Chart:
    """The fund-flow section of the report."""
    funds: Sequence[dict[str, Any]] = report["funds"]
    contracts: Sequence[dict[str, Any]] = report["contracts"]
    names = _names(report)
    fshow = _top(
        {f["fund_id"]: f["appropriated_fen"] + f["donated_fen"] for f in funds},
        "其他资金 other funds",
    )
    cshow = _top({c["contract_id"]: c["total_fen"] for c in contracts}, "其他合同 other contracts")
    pv: dict[str, int] = {}
    for c in contracts:
        pv[c["provider"] or "?"] = pv.get(c["provider"] or "?", 0) + c["total_fen"]
    pshow = _top(pv, "其他机构 other providers")
    fl = _Flows()
    for f in funds:
        fid, src = f["fund_id"], f"{f['source'] or '?'}"
        e = f["entries"]
        if f["appropriated_fen"]:
            fl.add(
                (f"s:{src}", f"f:{fshow[fid]}"),
                (src, fid),
                "拨款 appropriation",
                f["appropriated_fen"],
                e["appropriated"],
            )
        if f["donated_fen"]:
            fl.add(
                (f"s:{_DONATIONS}", f"f:{fshow[fid]}"),
                (_DONATIONS, fid),
                "捐赠 donation",
                f["donated_fen"],
                e["donated"],
            )
    for c in contracts:
        cid, fid = c["contract_id"], c["fund_id"] or "?"
        ix = merged([c["entries"]["awarded"], c["entries"]["amended"]])
        fl.add(
            (f"f:{fshow.get(fid, fid)}", f"c:{cshow[cid]}"),
            (fid, cid),
            "合同 contract",
            c["total_fen"],
            ix,
        )
    for f in funds:
        if f["unallocated_fen"] > 0:
            fl.add(
                (f"f:{fshow[f['fund_id']]}", f"c:{_UNALLOCATED}"),
                (f["fund_id"], _UNALLOCATED),
                "未分配 unallocated",
                f["unallocated_fen"],
                [],
            )
    for c in contracts:
        pid = c["provider"] or "?"
        ix = merged([c["entries"]["awarded"], c["entries"]["amended"]])
        fl.add(
            (f"c:{cshow[c['contract_id']]}", f"p:{pshow[pid]}"),
            (c["contract_id"], f"{names.get(pid, pid)}（{pid}）"),
            "服务机构 provider",
            c["total_fen"],
            ix,
        )
    flows = fl.flows()
    columns = _columns(flows, names)
    svg = sankey(
        columns,
        flows,
        title="资金流向 Fund flow: source → fund → contract → provider",
        headings=["来源 Source", "资金 Fund", "合同 Contract", "服务机构 Provider"],
    )
    return Chart(
        "flow",
        "资金流向 Fund flow",
        "来源 → 资金 → 合同 → 服务机构，金额为元；宽度与金额成正比。每条流向链接到下表中的明细行及其来源条目。"
        " Source → fund → contract → provider, in yuan; widths are proportional to amounts. "
        f"The {TOP} largest funds, contracts and providers are drawn, the rest summed; the "
        "table lists every flow.",
        [svg],
        fl.table,
        wide=True,
    )


def _columns(flows: list[Flow], names: dict[str, str]) -> list[list[Node]]:
    """The four columns of nodes, in order of first appearance, each node with its total."""
    order: dict[str, int] = {}
    href: dict[str, str | None] = {}
    ins: dict[str, int] = {}
    outs: dict[str, int] = {}
    for f in flows:
        for key in (f.source, f.target):
            order.setdefault(key, len(order))
            href.setdefault(key, f.mark.href)
        ins[f.target] = ins.get(f.target, 0) + int(f.mark.value)
        outs[f.source] = outs.get(f.source, 0) + int(f.mark.value)
    cols: list[list[Node]] = [[], [], [], []]
    for key in sorted(order, key=order.__getitem__):
        col = "sfcp".index(key[0])
        label = key[2:]
        if col == 3:
            label = names.get(label, label)
        fen = max(ins.get(key, 0), outs.get(key, 0))
        cols[col].append(Node(key, label, Mark(fen, f"{label}: {yuan(fen)} 元", href[key])))
    return cols
