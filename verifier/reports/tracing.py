"""Traces: the postings and entries behind one fund, contract, payment or resident
(FORMAT.md §10.6), for ``gongxin trace``.

:class:`Tracer` is a rulebook observer that keeps only the postings of its target (and the
few earlier ones that give them context); :func:`trace` runs it over a posting stream.
:func:`describe` is a one-line, Chinese-first summary of an entry. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from verifier.core.entry import Entry
from verifier.reports.figures import CREDIT_SIGN
from verifier.rules import Posting

__all__ = ["TARGETS", "Tracer", "balance_change", "describe", "trace"]

#: What a trace can follow (each is a field of :class:`~verifier.rules.postings.Posting`).
TARGETS = ("fund", "contract", "payment", "resident")


def balance_change(posting: Posting) -> int:
    """How a ``credit.*`` posting changes its resident's balance, in points (signed)."""
    return CREDIT_SIGN[posting.event] * posting.amount


class Tracer:
    """Rulebook observer keeping the postings of one fund, contract, payment or resident.

    - fund: every posting of the fund (appropriation, donations, its contracts' awards and
      amendments, its payments);
    - contract: the contract's postings, plus its fund's appropriation;
    - payment: the payment's postings (proposal, approval, rejection, reversal), plus its
      contract's award and its fund's appropriation;
    - resident (``resident_ref``): every credit posting of the resident.

    Memory: the matched postings, plus one posting per fund and per contract until the
    target's first posting. O(1) per posting.
    """

    def __init__(self, target: str, ident: str) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}")
        self.target, self.ident = target, ident
        self.postings: list[Posting] = []
        self.found = False
        self._appropriations: dict[str, Posting] = {}
        self._awards: dict[str, Posting] = {}

    def __call__(self, p: Posting) -> None:
        if not self.found:  # context the target's trace may need
            if p.event == "fund.appropriated" and p.fund is not None:
                self._appropriations[p.fund] = p
            elif p.event == "contract.awarded" and p.contract is not None:
                self._awards[p.contract] = p
        if getattr(p, self.target) != self.ident:
            return
        if not self.found:
            self.found = True
            if self.target == "payment" and p.contract in self._awards:
                self.postings.append(self._awards[p.contract])
            if self.target in ("contract", "payment") and p.fund in self._appropriations:
                self.postings.append(self._appropriations[p.fund])
            self._appropriations.clear()
            self._awards.clear()
        self.postings.append(p)

    def result(self) -> list[Posting]:
        """The selected postings in index order (stable within an index)."""
        return sorted(self.postings, key=lambda p: p.index)

    def own(self) -> list[Posting]:
        """Only the target's own postings (no context: award, appropriation)."""
        return [p for p in self.postings if getattr(p, self.target) == self.ident]


def trace(postings: Iterable[Posting], target: str, ident: str) -> list[Posting]:
    """The postings, from an index-ordered stream, behind one ``target`` (``fund``,
    ``contract``, ``payment`` or ``resident``) with id ``ident``; see :class:`Tracer`."""
    tracer = Tracer(target, ident)
    for p in postings:
        tracer(p)
    return tracer.result()


# ------------------------------------------------------------------------------- describing


def describe(entry: Entry) -> str:
    """One line saying what ``entry`` records, Chinese first (no personal data: residents are
    pseudonyms). O(body)."""
    kind, b = entry.statement.kind, entry.statement.body
    if kind == "log.genesis":
        return f"创世 genesis of {b['origin']}"
    if kind == "key.grant":
        return f"授权 grant {'/'.join(b['roles'])} to {b['key'].split('+')[1]} ({b['title']})"
    if kind == "key.revoke":
        return f"撤销 revoke {b['key_id']}: {b['reason']}"
    if kind == "policy.set":
        return f"政策 policy v{b['version']}, dual control ≥ {b['dual_control_threshold_fen']} fen"
    if kind == "party.register":
        return f"登记 register {b['type']} {b['party_id']} {b['name']} ({b['uscc']})"
    if kind == "fund.appropriate":
        return f"拨款 appropriate {b['fund_id']}: {b['source']} {b['fiscal_year']} {b['programme']}"
    if kind == "fund.donate":
        return f"捐赠 donation {b['donation_id']} to {b['fund_id']} from {b['donor']}"
    if kind == "contract.award":
        return (
            f"合同授予 award {b['contract_id']} from {b['fund_id']} to {b['provider']} "
            f"({b['method']}): {b['title']}"
        )
    if kind == "contract.amend":
        return f"合同变更 amend {b['contract_id']} ({b['amendment_id']}): {b['reason']}"
    if kind == "payment.propose":
        return (
            f"付款申请 propose {b['payment_id']} on {b['contract_id']}/{b['milestone_id']}, "
            f"invoice {b['invoice_no']}"
        )
    if kind == "payment.approve":
        return f"审批通过 approve {b['payment_id']}"
    if kind == "payment.reject":
        return f"驳回 reject {b['payment_id']}: {b['reason']}"
    if kind == "payment.reverse":
        return f"冲正 reverse {b['payment_id']}: {b['reason']}"
    if kind == "activity.register":
        return (
            f"活动登记 activity {b['activity_id']} in {b['community']} on {b['date']} "
            f"({b['category']}): {b['title']}"
        )
    if kind == "credit.award":
        return f"服务记录 service {b['minutes']} min, activity {b['activity_id']}"
    if kind == "credit.correct":
        return (
            f"更正 correct award #{b['award_index']} to {b['minutes']} min, activity "
            f"{b['activity_id']}: {b['reason']}"
        )
    if kind == "credit.redeem":
        return f"兑换 redeem {b['item']}"
    if kind == "credit.transfer":
        return f"转赠 transfer {b['from_ref'][:8]}… → {b['to_ref'][:8]}… ({b['relation']})"
    if kind == "credit.expire":
        return f"过期处理 expire points earned through {b['through_month']}"
    return kind
