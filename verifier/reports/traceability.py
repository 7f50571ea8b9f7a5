"""Traceability: the funds and credits figures of a log, each with the entries behind it
(FORMAT.md §10.6), for ``gongxin-verify --report``.

:class:`ReportBuilder` is fed, in index order, the :class:`~verifier.rules.postings.Posting`
of every accepted domain entry (it is the rulebook's ``observer``) and, through
:meth:`ReportBuilder.entry`, every accepted entry (for names and titles: parties, fund
programmes, contract titles, activities). :meth:`ReportBuilder.build` returns the JSON-ready
report:

- per fund: appropriated, donated, contracted, paid (net of reversals), reversed, pending,
  unallocated (= appropriated + donated − contracted) and remaining (= appropriated + donated
  − paid), in fen, each summed figure with the entry indices it comes from;
- per contract: fund, provider, total, paid, unpaid, and its payments with their state;
- per provider (社会组织, company): name, 统一社会信用代码, contracts, contracted, paid, reversed;
- per community (社区): credits awarded, corrected, redeemed, transferred in and out, expired
  (points earned in the community, wherever they moved) and outstanding;
- totals;
- the time series of :mod:`verifier.reports.series` (``period``, ``fund_months``,
  ``credit_months``, ``schedule``, ``concentration``) for the charts of the HTML report.

The Markdown form is :mod:`verifier.reports.markdown`; traces of one fund, contract, payment
or resident are :mod:`verifier.reports.tracing`.

Pure: no I/O. Memory: one record per fund, contract, payment and party, plus 8 bytes per
(figure, entry) link — each entry is linked to at most three figures, plus one monthly
figure of the series, so under 40 MB of index lists for 1M entries; entries themselves are
never kept. Cost: O(1) per posting;
:meth:`ReportBuilder.build` is O(links + payments).
"""

from __future__ import annotations

from typing import Any

from verifier.core.entry import Entry
from verifier.reports.figures import (
    CREDIT_FIGURES,
    PAYMENT_STATES,
    Community,
    Contract,
    Fund,
    Party,
    Payment,
    Provider,
    link,
)
from verifier.reports.series import Series
from verifier.rules import DomainRules, Posting

__all__ = ["REPORT_FORMAT", "ReportBuilder"]

#: The ``format`` member of every report this module builds.
REPORT_FORMAT = "gongxin-traceability/1"

_FUND_TOTALS = (
    "appropriated_fen",
    "donated_fen",
    "contracted_fen",
    "paid_fen",
    "reversed_fen",
    "pending_fen",
    "unallocated_fen",
    "remaining_fen",
)
_CREDIT_TOTALS = (*(f"{name}_points" for name in CREDIT_FIGURES.values()), "outstanding_points")


class ReportBuilder:
    """Sums postings into the traceability report.

    Call the builder with every posting (it is a rulebook observer: use :meth:`rulebook`)
    and :meth:`entry` with every accepted entry, both in index order; then :meth:`build`,
    which also cross-checks the sums against the final state of the rulebook
    :meth:`rulebook` returned."""

    def __init__(self) -> None:
        self.funds: dict[str, Fund] = {}
        self.contracts: dict[str, Contract] = {}
        self.payments: dict[str, Payment] = {}
        self.parties: dict[str, Party] = {}
        self.providers: dict[str, Provider] = {}
        self.communities: dict[str, Community] = {}
        self.series = Series()
        self._rules: DomainRules | None = None

    def rulebook(self) -> DomainRules:
        """A fresh :class:`DomainRules` whose observer is this builder."""
        self._rules = DomainRules(observer=self)
        return self._rules

    # -- records (created on first sight) ---------------------------------------------

    def _fund(self, fund_id: str) -> Fund:
        f = self.funds.get(fund_id)
        if f is None:
            f = self.funds[fund_id] = Fund(fund_id)
        return f

    def _contract(self, contract_id: str) -> Contract:
        c = self.contracts.get(contract_id)
        if c is None:
            c = self.contracts[contract_id] = Contract(contract_id)
        return c

    def _party(self, party_id: str) -> Party:
        p = self.parties.get(party_id)
        if p is None:
            p = self.parties[party_id] = Party(party_id)
        return p

    def _provider(self, party_id: str) -> Provider:
        p = self.providers.get(party_id)
        if p is None:
            p = self.providers[party_id] = Provider(self._party(party_id))
        return p

    def _community(self, party_id: str) -> Community:
        c = self.communities.get(party_id)
        if c is None:
            c = self.communities[party_id] = Community(self._party(party_id))
        return c

    # -- feeding --------------------------------------------------------------------------

    def entry(self, entry: Entry) -> None:
        """Note names and titles from an accepted entry (called after its postings). O(1)."""
        self.series.entry(entry)
        kind, b, i = entry.statement.kind, entry.statement.body, entry.index
        if kind == "party.register":
            p = self._party(b["party_id"])
            p.type, p.name, p.uscc, p.index = b["type"], b["name"], b["uscc"], i
            if p.type == "community":
                self._community(p.party_id)
            else:
                self._provider(p.party_id)
        elif kind == "fund.appropriate":
            f = self._fund(b["fund_id"])
            f.index, f.source = i, b["source"]
            f.fiscal_year, f.programme = b["fiscal_year"], b["programme"]
        elif kind == "contract.award":
            c = self._contract(b["contract_id"])
            c.title, c.method = b["title"], b["method"]
        elif kind == "activity.register":
            link(self._community(b["community"]).i_activities, i)

    def __call__(self, p: Posting) -> None:
        """The rulebook observer: add one posting. O(1)."""
        ev, i, a = p.event, p.index, p.amount
        self.series.posting(p)
        if ev.startswith("credit."):
            assert p.community is not None
            com = self._community(p.community)
            figure = CREDIT_FIGURES[ev]
            com.points[figure] += a
            link(com.links[figure], i)
            return
        assert p.fund is not None
        fund = self._fund(p.fund)
        if ev == "fund.appropriated":
            fund.appropriated += a
            link(fund.i_appropriated, i)
        elif ev == "fund.donated":
            fund.donated += a
            link(fund.i_donated, i)
        elif ev in ("contract.awarded", "contract.amended"):
            assert p.contract is not None and p.provider is not None
            con, prov = self._contract(p.contract), self._provider(p.provider)
            if ev == "contract.awarded":
                con.fund_id, con.provider = p.fund, p.provider
                prov.contracts.append(con.contract_id)
                link(con.i_awarded, i)
            else:
                link(con.i_amended, i)
            con.total += a
            fund.contracted += a
            prov.contracted += a
            link(fund.i_contracted, i)
            link(prov.i_contracted, i)
        else:
            self._payment(p, fund)

    def _payment(self, p: Posting, fund: Fund) -> None:
        assert p.contract is not None and p.provider is not None and p.payment is not None
        ev, i, a = p.event, p.index, p.amount
        con, prov = self._contract(p.contract), self._provider(p.provider)
        pay = self.payments.get(p.payment)
        if pay is None:
            pay = self.payments[p.payment] = Payment(p.payment, p.contract, a)
            con.payments.append(pay)
            fund.payments.append(pay)
        pay.indices.append(i)
        if ev == "payment.proposed":
            pay.state = "pending"
        elif ev == "payment.counted":
            pay.state = "counted"
            fund.paid += a
            con.paid += a
            prov.paid += a
            link(fund.i_paid, i)
            link(prov.i_paid, i)
        elif ev == "payment.rejected":
            pay.state = "rejected"
        elif ev == "payment.reversed":
            pay.state = "reversed"
            for rec in (fund, con, prov):
                rec.paid -= a
                rec.reversed += a
            for arr in (fund.i_paid, fund.i_reversed, prov.i_paid, prov.i_reversed):
                link(arr, i)
        else:  # a posting event this report does not know: refuse rather than misreport
            raise ValueError(f"unknown posting event {ev!r}")

    # -- the report ---------------------------------------------------------------------------

    def build(self, verification: dict[str, Any] | None = None) -> dict[str, Any]:
        """The report as a JSON-ready dict (money in integer fen, credits in points).

        ``verification`` (what the verifier established: origin, size, root …) is copied
        into it. Raises :class:`RuntimeError` if the sums disagree with the rulebook's final
        state (a bug, never a property of the log). O(links + payments)."""
        if self._rules is not None:
            self.cross_check(self._rules)
        funds = [f.to_json() for f in self.funds.values()]
        communities = [c.to_json() for c in self.communities.values()]
        states = dict.fromkeys(PAYMENT_STATES, 0)
        for pay in self.payments.values():
            states[pay.state] += 1
        contracts = [c.to_json() for c in self.contracts.values()]
        return {
            "format": REPORT_FORMAT,
            "verification": verification or {},
            "totals": {
                "funds": len(funds),
                "contracts": len(self.contracts),
                "providers": len(self.providers),
                "communities": len(communities),
                "payments": states,
                **{name: sum(f[name] for f in funds) for name in _FUND_TOTALS},
                **{name: sum(c[name] for c in communities) for name in _CREDIT_TOTALS},
            },
            "funds": funds,
            "contracts": contracts,
            "providers": [p.to_json() for p in self.providers.values()],
            "communities": communities,
            **self.series.to_json(contracts),
        }

    def cross_check(self, rules: DomainRules) -> None:
        """Require the sums to equal the rulebook's final state: each fund's appropriated
        (with donations), contracted and paid; each contract's total and paid; each
        payment's state; each community's outstanding points (the residents' lots). Raises
        :class:`RuntimeError` on a difference: a bug in the postings or here.
        O(funds + contracts + payments + residents' lots)."""
        problems: list[str] = []
        fb = rules.funds
        for fid, f in fb.funds.items():
            mine = self.funds.get(fid) or Fund(fid)
            got = (mine.appropriated + mine.donated, mine.contracted, mine.paid)
            if got != (f.appropriated, f.contracted, f.paid):
                problems.append(f"fund {fid}: {got} vs {(f.appropriated, f.contracted, f.paid)}")
        for cid, c in fb.contracts.items():
            mc = self.contracts.get(cid) or Contract(cid)
            if (mc.total, mc.paid) != (c.total, c.paid):
                problems.append(f"contract {cid}: {(mc.total, mc.paid)} vs {(c.total, c.paid)}")
        for pid, p in fb.payments.items():
            mp = self.payments.get(pid)
            if mp is None or mp.state != p.state:
                problems.append(f"payment {pid}: {mp.state if mp else None} vs {p.state}")
        held: dict[str, int] = {}
        for lots in rules.credits.lots.values():
            for _, community, points in lots:
                held[community] = held.get(community, 0) + points
        mine_held = {cid: c.outstanding for cid, c in self.communities.items()}
        for cid in sorted(set(held) | set(mine_held)):
            if held.get(cid, 0) != mine_held.get(cid, 0):
                problems.append(
                    f"community {cid}: outstanding {mine_held.get(cid, 0)} vs {held.get(cid, 0)}"
                )
        if len(fb.funds) != len(self.funds) or len(fb.payments) != len(self.payments):
            problems.append("the number of funds or payments differs")
        if problems:
            raise RuntimeError(
                "the traceability sums disagree with the replayed state (a bug, please "
                "report it): " + "; ".join(problems[:5])
            )
