"""Parties, funds and contracts: the money rules (FORMAT.md §10.2, §10.3).

Every amount is integer fen. The invariants the rules keep, at every index:

- per fund: ``0 ≤ paid ≤ contracted ≤ appropriated`` (an award never exceeds the fund's
  unallocated balance, ``appropriated − contracted``);
- per contract: its milestones sum to its total; per milestone
  ``0 ≤ paid ≤ committed ≤ amount``, where ``committed`` is counted plus pending payments;
- a payment of at least the policy's dual-control threshold counts only after a
  ``payment.approve`` signed by a key other than the proposer's; a reversal applies once, to a
  counted payment, and returns its amount.

This module holds the state and the party, fund and contract kinds; the records are
:mod:`verifier.rules.fund_records`'s, the payment kinds :mod:`verifier.rules.fund_payments`'s.

Pure: no I/O. Each handler checks everything first, then applies its effects through the
journal (when one is given), and returns the postings. Cost: O(1) per entry, except contract
awards and amendments, O(milestones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.core.entry import Entry
from verifier.rules._fail import rule_error
from verifier.rules.fund_payments import PaymentRules
from verifier.rules.fund_records import (
    COUNTED,
    PENDING,
    REJECTED,
    REVERSED,
    Contract,
    Fund,
    Milestone,
    Party,
    Payment,
)
from verifier.rules.journal import Journal, assign, put
from verifier.rules.postings import Posting

#: The records and payment states live in :mod:`verifier.rules.fund_records`; importers may
#: take them from here too.
__all__ = [
    "COUNTED",
    "PENDING",
    "REJECTED",
    "REVERSED",
    "Contract",
    "Fund",
    "FundBook",
    "Milestone",
    "Party",
    "Payment",
]


def _milestone_sum_check(body: dict[str, Any], entry: Entry) -> None:
    total = sum(m["amount_fen"] for m in body["milestones"])
    if total != body["total_fen"]:
        raise rule_error(
            "contract.milestones",
            f"milestones sum to {total} fen, total_fen is {body['total_fen']}; 里程碑金额之和须等于合同总额",
            entry,
            "milestones",
        )


@dataclass(slots=True)
class FundBook(PaymentRules):
    """Replayed state of every party, fund, contract and payment. The party, fund and contract
    kinds are here; the payment kinds are :class:`~verifier.rules.fund_payments.PaymentRules`'s."""

    parties: dict[str, Party] = field(default_factory=dict)
    usccs: dict[str, str] = field(default_factory=dict)
    funds: dict[str, Fund] = field(default_factory=dict)
    donations: dict[str, int] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    amendments: dict[str, int] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    #: (contract id, invoice number) → payment id, for pending and counted payments.
    open_invoices: dict[tuple[str, str], str] = field(default_factory=dict)

    # -- lookups that raise the rule ------------------------------------------------------

    def party(self, party_id: str, entry: Entry, fld: str, *, community: bool) -> Party:
        """The registered party ``party_id`` of the right type, or raise."""
        p = self.parties.get(party_id)
        if p is None:
            raise rule_error(
                "party.unknown", f"party {party_id} is not registered; 主体未登记", entry, fld
            )
        if (p.type == "community") != community:
            want = "a community" if community else "a provider (social_organisation or company)"
            raise rule_error(
                "party.type",
                f"party {party_id} is a {p.type}, must be {want}; 主体类型不符",
                entry,
                fld,
            )
        return p

    def fund(self, fund_id: str, entry: Entry) -> Fund:
        f = self.funds.get(fund_id)
        if f is None:
            raise rule_error(
                "fund.unknown", f"fund {fund_id} does not exist; 资金不存在", entry, "fund_id"
            )
        return f

    def contract(self, contract_id: str, entry: Entry) -> Contract:
        c = self.contracts.get(contract_id)
        if c is None:
            raise rule_error(
                "contract.unknown",
                f"contract {contract_id} does not exist; 合同不存在",
                entry,
                "contract_id",
            )
        return c

    def _require_new(
        self, table: dict[str, Any], key: str, rule: str, entry: Entry, fld: str
    ) -> None:
        if key in table:
            raise rule_error(rule, f"{fld} {key} is already used; 编号重复", entry, fld)

    # -- kinds ------------------------------------------------------------------------------

    def register_party(self, entry: Entry, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(self.parties, b["party_id"], "party.duplicate", entry, "party_id")
        if b["uscc"] in self.usccs:
            raise rule_error(
                "party.uscc_duplicate",
                f"统一社会信用代码 {b['uscc']} is already registered as party {self.usccs[b['uscc']]}",
                entry,
                "uscc",
            )
        put(
            j,
            self.parties,
            b["party_id"],
            Party(b["party_id"], b["type"], b["name"], b["uscc"], entry.index),
        )
        put(j, self.usccs, b["uscc"], b["party_id"])
        return []

    def appropriate(self, entry: Entry, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(self.funds, b["fund_id"], "fund.duplicate", entry, "fund_id")
        fund = Fund(
            b["fund_id"],
            b["source"],
            b["fiscal_year"],
            b["programme"],
            b["amount_fen"],
            0,
            0,
            entry.index,
        )
        put(j, self.funds, fund.fund_id, fund)
        return [Posting(entry.index, "fund.appropriated", b["amount_fen"], fund=fund.fund_id)]

    def donate(self, entry: Entry, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(
            self.donations, b["donation_id"], "fund.donation_duplicate", entry, "donation_id"
        )
        fund = self.fund(b["fund_id"], entry)
        if fund.source == "财政":
            raise rule_error(
                "fund.source",
                f"fund {fund.fund_id} is a 财政 budget line; donations go to 社区基金 or 捐赠 funds",
                entry,
                "fund_id",
            )
        put(j, self.donations, b["donation_id"], entry.index)
        assign(j, fund, "appropriated", fund.appropriated + b["amount_fen"])
        return [Posting(entry.index, "fund.donated", b["amount_fen"], fund=fund.fund_id)]

    def award(self, entry: Entry, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(
            self.contracts, b["contract_id"], "contract.duplicate", entry, "contract_id"
        )
        fund = self.fund(b["fund_id"], entry)
        self.party(b["provider"], entry, "provider", community=False)
        _milestone_sum_check(b, entry)
        if b["total_fen"] > fund.unallocated:
            raise rule_error(
                "fund.insufficient",
                f"total {b['total_fen']} fen exceeds fund {fund.fund_id}'s unallocated "
                f"{fund.unallocated} fen; 超出资金可分配余额",
                entry,
                "total_fen",
            )
        milestones = {m["milestone_id"]: Milestone(m["amount_fen"]) for m in b["milestones"]}
        contract = Contract(
            b["contract_id"],
            fund.fund_id,
            b["provider"],
            b["total_fen"],
            milestones,
            0,
            entry.index,
        )
        put(j, self.contracts, contract.contract_id, contract)
        assign(j, fund, "contracted", fund.contracted + contract.total)
        return [
            Posting(
                entry.index,
                "contract.awarded",
                contract.total,
                fund=fund.fund_id,
                contract=contract.contract_id,
                provider=contract.provider,
            )
        ]

    def amend(self, entry: Entry, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(
            self.amendments,
            b["amendment_id"],
            "contract.amendment_duplicate",
            entry,
            "amendment_id",
        )
        contract = self.contract(b["contract_id"], entry)
        fund = self.funds[contract.fund_id]
        _milestone_sum_check(b, entry)
        new = {m["milestone_id"]: Milestone(m["amount_fen"]) for m in b["milestones"]}
        for mid, old in contract.milestones.items():
            if old.committed == 0:
                continue
            kept = new.get(mid)
            if kept is None or kept.amount < old.committed:
                raise rule_error(
                    "contract.below_committed",
                    f"milestone {mid} has {old.committed} fen paid or pending; the amendment "
                    f"must keep it at no less; 变更不得低于已承诺金额",
                    entry,
                    "milestones",
                )
            kept.committed, kept.paid = old.committed, old.paid
        delta = b["total_fen"] - contract.total
        if delta > fund.unallocated:
            raise rule_error(
                "fund.insufficient",
                f"the increase of {delta} fen exceeds fund {fund.fund_id}'s unallocated "
                f"{fund.unallocated} fen; 超出资金可分配余额",
                entry,
                "total_fen",
            )
        put(j, self.amendments, b["amendment_id"], entry.index)
        assign(j, contract, "milestones", new)
        assign(j, contract, "total", b["total_fen"])
        assign(j, fund, "contracted", fund.contracted + delta)
        return [
            Posting(
                entry.index,
                "contract.amended",
                delta,
                fund=fund.fund_id,
                contract=contract.contract_id,
                provider=contract.provider,
            )
        ]
