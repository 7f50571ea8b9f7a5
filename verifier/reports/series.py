"""Time series of a verified log for the charts of the HTML report
(:mod:`verifier.reports.html`): what happened in which month, on which date, in which year.

:class:`Series` is fed by :class:`~verifier.reports.traceability.ReportBuilder`: every
posting (:meth:`Series.posting`, buffered: postings arrive before their entry) and then every
accepted entry (:meth:`Series.entry`, which dates the buffered postings with the entry's
``log_time``, UTC, and notes milestones and the milestone a payment is for). Its
:meth:`Series.to_json` adds members to the report, never changing the existing ones:

- ``period``: the ``log_time`` of the first and last entry and the months in between;
- ``fund_months``: per fund and month, the net amount paid (counted less reversed) in fen,
  with its entries — summed over the months it equals the fund's ``paid_fen``;
- ``credit_months``: per community and month, the points of every credit figure (as the
  community figures of the report), with their entries — the months sum to the community's;
- ``schedule``: per contract, its award date, its milestones as they stand (after the last
  amendment: amount and due date) and its payments (milestone, amount, state, the dates it
  was proposed, counted, rejected or reversed);
- ``concentration``: per year of award, the contract value (award plus amendments) per
  provider, the top-5 share and the Herfindahl–Hirschman index (HHI, 0 … 10,000).

Pure: no I/O. Memory: one record per (fund, month), (community, month), contract, milestone
and payment, plus 8 bytes per (figure, entry) link. Cost: O(1) per posting and entry;
:meth:`Series.to_json` O(links + contracts · log contracts).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from verifier.core.entry import Entry
from verifier.reports.figures import CREDIT_FIGURES, indices, link
from verifier.rules import Posting

__all__ = ["Series", "hhi"]

#: Payment events and the date field of the schedule each one sets.
_PAYMENT_DATES = {
    "payment.proposed": "proposed_on",
    "payment.counted": "counted_on",
    "payment.rejected": "rejected_on",
    "payment.reversed": "reversed_on",
}


@dataclass(slots=True)
class _PaidMonth:
    paid: int = 0
    links: array[int] = field(default_factory=indices)


@dataclass(slots=True)
class _CreditMonth:
    points: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(CREDIT_FIGURES.values(), 0)
    )
    links: dict[str, array[int]] = field(
        default_factory=lambda: {name: indices() for name in CREDIT_FIGURES.values()}
    )


@dataclass(slots=True)
class _Schedule:
    awarded_on: str | None = None
    year: int | None = None
    milestones: list[dict[str, Any]] = field(default_factory=list)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)


def hhi(values: list[int]) -> float:
    """Herfindahl–Hirschman index of ``values`` (market shares in percent, squared and
    summed): 10,000 for one provider, 0 for none. O(n)."""
    total = sum(values)
    if total <= 0:
        return 0.0
    return sum((100.0 * v / total) ** 2 for v in values)


class Series:
    """Monthly, dated and yearly figures of a log (see the module docstring)."""

    def __init__(self) -> None:
        self.first_time: str | None = None
        self.last_time: str | None = None
        self._buffer: list[Posting] = []
        self.funds: dict[str, dict[str, _PaidMonth]] = {}
        self.communities: dict[str, dict[str, _CreditMonth]] = {}
        self.contracts: dict[str, _Schedule] = {}

    def posting(self, p: Posting) -> None:
        """Keep a posting until its entry dates it. O(1)."""
        self._buffer.append(p)

    def _schedule(self, contract_id: str) -> _Schedule:
        s = self.contracts.get(contract_id)
        if s is None:
            s = self.contracts[contract_id] = _Schedule()
        return s

    def entry(self, entry: Entry) -> None:
        """Date the buffered postings with ``entry``'s ``log_time``; note milestones and
        payments' milestones. O(postings of the entry + milestones of a contract entry)."""
        t = entry.log_time
        if self.first_time is None:
            self.first_time = t
        self.last_time = t
        kind, body, i = entry.statement.kind, entry.statement.body, entry.index
        if kind in ("contract.award", "contract.amend"):
            s = self._schedule(body["contract_id"])
            if kind == "contract.award":
                s.awarded_on, s.year = t[:10], int(t[:4])
            s.milestones = [
                {
                    "milestone_id": m["milestone_id"],
                    "amount_fen": m["amount_fen"],
                    "due": m["due"],
                    "set_at": i,
                }
                for m in body["milestones"]
            ]
        elif kind == "payment.propose":
            s = self._schedule(body["contract_id"])
            s.payments[body["payment_id"]] = {
                "payment_id": body["payment_id"],
                "milestone_id": body["milestone_id"],
                "amount_fen": body["amount_fen"],
                "state": "pending",
                "entries": [],
                **dict.fromkeys(_PAYMENT_DATES.values()),
            }
        if self._buffer:
            for p in self._buffer:
                self._dated(p, t)
            self._buffer.clear()

    def _dated(self, p: Posting, t: str) -> None:
        month = t[:7]
        figure = CREDIT_FIGURES.get(p.event)
        if figure is not None:
            assert p.community is not None
            months = self.communities.get(p.community)
            if months is None:
                months = self.communities[p.community] = {}
            cm = months.get(month)
            if cm is None:
                cm = months[month] = _CreditMonth()
            cm.points[figure] += p.amount
            link(cm.links[figure], p.index)
            return
        if p.event in ("payment.counted", "payment.reversed"):
            assert p.fund is not None
            by_month = self.funds.setdefault(p.fund, {})
            pm = by_month.get(month)
            if pm is None:
                pm = by_month[month] = _PaidMonth()
            pm.paid += p.amount if p.event == "payment.counted" else -p.amount
            link(pm.links, p.index)
        if p.event in _PAYMENT_DATES and p.contract is not None and p.payment is not None:
            pay = self._schedule(p.contract).payments.get(p.payment)
            if pay is not None:
                pay[_PAYMENT_DATES[p.event]] = t[:10]
                pay["state"] = p.event.removeprefix("payment.").replace("proposed", "pending")
                if not pay["entries"] or pay["entries"][-1] != p.index:
                    pay["entries"].append(p.index)

    # -- the report members -----------------------------------------------------------

    def _months(self) -> list[str]:
        if self.first_time is None or self.last_time is None:
            return []
        y, m = int(self.first_time[:4]), int(self.first_time[5:7])
        end = self.last_time[:7]
        out = []
        while True:
            out.append(f"{y:04d}-{m:02d}")
            if out[-1] >= end:
                return out
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)

    def _concentration(self, contracts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        years: dict[int, dict[str, list[Any]]] = {}
        for c in contracts:
            s = self.contracts.get(c["contract_id"])
            if s is None or s.year is None or c["provider"] is None:
                continue
            row = years.setdefault(s.year, {}).setdefault(c["provider"], [0, []])
            row[0] += c["total_fen"]
            row[1].extend(c["entries"]["awarded"] + c["entries"]["amended"])
        out = []
        for year in sorted(years):
            ranked = sorted(years[year].items(), key=lambda kv: (-kv[1][0], kv[0]))
            total = sum(v for _, (v, _) in ranked)
            top = ranked[:5]
            out.append(
                {
                    "year": year,
                    "contracted_fen": total,
                    "providers": len(ranked),
                    "top5_share": round(sum(v for _, (v, _) in top) / total, 6) if total else 0.0,
                    "hhi": round(hhi([v for _, (v, _) in ranked]), 2),
                    "shares": [
                        {
                            "provider": pid,
                            "contracted_fen": v,
                            "share": round(v / total, 6) if total else 0.0,
                            "entries": sorted(ix),
                        }
                        for pid, (v, ix) in ranked
                    ],
                }
            )
        return out

    def to_json(self, contracts: list[dict[str, Any]]) -> dict[str, Any]:
        """The new report members; ``contracts`` is the report's ``contracts`` list (for the
        contract values per provider and year). O(links + contracts · log contracts)."""
        return {
            "period": {
                "first_log_time": self.first_time,
                "last_log_time": self.last_time,
                "months": self._months(),
            },
            "fund_months": [
                {
                    "fund_id": fid,
                    "months": [
                        {"month": m, "paid_fen": pm.paid, "entries": pm.links.tolist()}
                        for m, pm in sorted(months.items())
                    ],
                }
                for fid, months in self.funds.items()
            ],
            "credit_months": [
                {
                    "party_id": cid,
                    "months": [
                        {
                            "month": m,
                            **{f"{k}_points": v for k, v in cm.points.items()},
                            "entries": {k: v.tolist() for k, v in cm.links.items()},
                        }
                        for m, cm in sorted(months.items())
                    ],
                }
                for cid, months in self.communities.items()
            ],
            "schedule": [
                {
                    "contract_id": cid,
                    "awarded_on": s.awarded_on,
                    "milestones": s.milestones,
                    "payments": list(s.payments.values()),
                }
                for cid, s in self.contracts.items()
            ],
            "concentration": self._concentration(contracts),
        }
