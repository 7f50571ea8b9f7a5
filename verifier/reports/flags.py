"""Red flags: anomalies an evaluator should look at, computed from the verified entries only
(issue 16; the indicators are listed in :data:`verifier.reports.flag_facts.INDICATORS`).

A flag is not a rule violation — every entry of a verified log obeys the rules — but a
pattern the procurement and volunteer-service regulations warn about: a contract amended far
above its original value, purchases split below the open-tender threshold, repeated direct
awards, concentrated providers, late or premature payments, payments just below the
dual-control threshold, unusual credit awards. Each cites its entry indices, its threshold
and its basis; thresholds come from :mod:`verifier.reports.flag_config`.

:class:`FlagAnalyser` is fed, in index order, the postings of every accepted entry
(:meth:`FlagAnalyser.posting`) and then the entry itself (:meth:`FlagAnalyser.entry`, with its
``log_time``: "today" of the entry is its date, FORMAT.md §10). It keeps one small record per
contract, payment, activity and dual-control candidate, the current month's awards per
(organiser, resident) and each resident's awards of the last ``redeem_window_days``: memory
O(contracts + payments + activities + one month of awards). :meth:`FlagAnalyser.build`
returns the ``"red_flags"`` list; the contract and payment indicators are
:mod:`verifier.reports.flag_checks`. Cost: O(1) per entry (amortised), build
O(contracts log contracts + payments).
"""

from __future__ import annotations

from collections import deque
from datetime import date
from typing import Any

from verifier.core.entry import Entry
from verifier.reports.flag_checks import contract_flags, payment_flags
from verifier.reports.flag_config import Thresholds, default_thresholds
from verifier.reports.flag_facts import INDICATORS, ContractFact, PaymentFact, flag
from verifier.rules import Posting

__all__ = ["FlagAnalyser"]


class FlagAnalyser:
    """Collects the facts of the red flags while a log is replayed (see the module
    docstring). ``thresholds`` default to the shipped ``flags.toml``."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.t = thresholds if thresholds is not None else default_thresholds()
        self.contracts: dict[str, ContractFact] = {}
        self.payments: dict[str, PaymentFact] = {}
        self.threshold_fen = 0  # the dual-control threshold of the policy in force
        self._postings: list[Posting] = []
        self._days: dict[str, date] = {}
        # credits: activity → (date, register index); late awards per activity
        self.activities: dict[str, tuple[date, int]] = {}
        self.late: dict[str, tuple[int, list[int]]] = {}
        # GX11: the current month's awards per (organiser key, resident)
        self.month = ""
        self.month_awards: dict[tuple[str, str], list[int]] = {}
        # GX13: per resident, the recent awards (day, organiser, points, index)
        self.recent: dict[str, deque[tuple[date, str, int, int]]] = {}
        self.credit_flags: list[dict[str, Any]] = []

    # -- feeding ------------------------------------------------------------------------------

    def posting(self, p: Posting) -> None:
        """A posting of the entry about to be shown to :meth:`entry`. O(1)."""
        self._postings.append(p)

    def _day(self, log_time: str) -> date:
        text = log_time[:10]
        d = self._days.get(text)
        if d is None:
            if len(self._days) > 4096:
                self._days.clear()
            d = self._days[text] = date.fromisoformat(text)
        return d

    def entry(self, entry: Entry) -> None:
        """Note what the flags need from an accepted entry (after its postings). O(1)
        amortised."""
        postings, self._postings = self._postings, []
        kind, b = entry.statement.kind, entry.statement.body
        day = self._day(entry.log_time)
        if kind == "policy.set":
            self.threshold_fen = b["dual_control_threshold_fen"]
        elif kind == "contract.award":
            self._award(entry, day)
        elif kind == "contract.amend":
            c = self.contracts[b["contract_id"]]
            c.total = b["total_fen"]
            c.peak = max(c.peak, c.total)
            c.amend_indices.append(entry.index)
        elif kind == "payment.propose":
            met = b.get("milestone_met")
            self.payments[b["payment_id"]] = PaymentFact(
                b["payment_id"],
                b["contract_id"],
                entry.index,
                day,
                b["amount_fen"],
                entry.statement.signer,
                self.threshold_fen,
                date.fromisoformat(met) if met else None,
            )
        elif kind == "activity.register":
            self.activities[b["activity_id"]] = (date.fromisoformat(b["date"]), entry.index)
        elif kind == "credit.redeem":
            self._redeem(entry, day)
        for p in postings:
            if p.event == "payment.counted" and p.payment is not None:
                pay = self.payments[p.payment]
                pay.counted_index, pay.counted_day = entry.index, day
            elif p.event == "credit.awarded" and kind == "credit.award":
                self._credit_award(entry, day, p.amount)

    def _award(self, entry: Entry, day: date) -> None:
        b = entry.statement.body
        signed, start, end = b.get("signed"), b.get("tender_start"), b.get("tender_end")
        self.contracts[b["contract_id"]] = ContractFact(
            b["contract_id"],
            entry.index,
            day,
            b["provider"],
            b["method"],
            b["total_fen"],
            b["total_fen"],
            b["total_fen"],
            signed=date.fromisoformat(signed) if signed else None,
            bidders=b.get("bidders"),
            tender=(date.fromisoformat(start), date.fromisoformat(end)) if start and end else None,
        )

    # -- credits (streamed: only recent awards are kept) ---------------------------------

    def _credit_award(self, entry: Entry, day: date, points: int) -> None:
        b, i = entry.statement.body, entry.index
        organiser, resident = entry.statement.signer, b["resident_ref"]
        month = entry.log_time[:7]
        if month != self.month:
            self._close_month()
            self.month = month
        self.month_awards.setdefault((organiser, resident), []).append(i)
        held = self.activities.get(b["activity_id"])
        if held is not None:
            delay = (day - held[0]).days
            if delay > self.t["credits"]["max_award_delay_days"]:
                worst, indices = self.late.get(b["activity_id"], (0, [held[1]]))
                indices.append(i)
                self.late[b["activity_id"]] = (max(worst, delay), indices)
        recent = self.recent.setdefault(resident, deque())
        self._prune(recent, day)
        recent.append((day, organiser, points, i))

    def _prune(self, recent: deque[tuple[date, str, int, int]], day: date) -> None:
        window = self.t["credits"]["redeem_window_days"]
        while recent and (day - recent[0][0]).days > window:
            recent.popleft()

    def _redeem(self, entry: Entry, day: date) -> None:
        resident = entry.statement.body["resident_ref"]
        recent = self.recent.get(resident)
        if not recent:
            return
        self._prune(recent, day)
        by_organiser: dict[str, tuple[int, list[int]]] = {}
        for _, organiser, points, i in recent:
            total, indices = by_organiser.get(organiser, (0, []))
            indices.append(i)
            by_organiser[organiser] = (total + points, indices)
        large = self.t["credits"]["large_award_points"]
        flagged = set()
        for organiser, (total, indices) in sorted(by_organiser.items()):
            if total >= large:
                flagged.add(organiser)
                self.credit_flags.append(
                    flag("GX13", total, large, [*indices, entry.index], [resident, organiser])
                )
        if flagged:  # the same awards do not flag the next redemption again
            recent = self.recent[resident] = deque(a for a in recent if a[1] not in flagged)
        if not recent:
            del self.recent[resident]

    def _close_month(self) -> None:
        """GX11 for the month that ends: (organiser, resident) pairs above the count."""
        limit = self.t["credits"]["max_awards_per_month"]
        for (organiser, resident), indices in self.month_awards.items():
            if len(indices) > limit:
                self.credit_flags.append(
                    flag("GX11", len(indices), limit, indices, [organiser, resident, self.month])
                )
        self.month_awards = {}

    # -- the flags ---------------------------------------------------------------------------

    def build(self) -> list[dict[str, Any]]:
        """Every red flag, in indicator order then by first entry index; indicators whose
        optional data the log lacks appear once with ``"computable": false``. Can be called
        once, after the last entry."""
        self._close_month()
        delay = self.t["credits"]["max_award_delay_days"]
        late = [
            flag("GX12", worst, delay, indices, [activity])
            for activity, (worst, indices) in self.late.items()
        ]
        flags = [
            *contract_flags(self.contracts, self.t),
            *payment_flags(self.payments, self.contracts, self.t),
            *self.credit_flags,
            *late,
        ]
        order = {code: n for n, code in enumerate(INDICATORS)}
        flags.sort(key=lambda f: (order[f["indicator"]], f["indices"][:1], f["ids"]))
        return flags
