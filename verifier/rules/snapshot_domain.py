"""The rulebook's part of a rule-state snapshot: policy, funds, credits (FORMAT.md §12.1).

``*_to_json`` turn replayed state into JSON values (records as arrays, in the field order
FORMAT.md §12.1 lists); ``*_from_json`` check such values (:mod:`.snapshot_check`) and
rebuild the state, including what is derived and not stored: the parties by uscc, the
open invoices, the heap of open activities and the daily totals. Strings the rulebook interns
(resident pseudonyms, activity fields) are interned again, so a decoded state takes the
memory of a replayed one. Where a replay's dictionary order is seen (the API lists parties,
funds, contracts and payments; ``credit.expire`` posts residents in lots order; amendments
check milestones in order) it is restored; elsewhere (activities, awards) only look-ups
happen. Pure; cost O(size of the state).
"""

from __future__ import annotations

from operator import itemgetter
from typing import TypeVar

from verifier.rules.funds import (
    COUNTED,
    PENDING,
    REJECTED,
    REVERSED,
    Contract,
    Fund,
    FundBook,
    Milestone,
    Party,
    Payment,
)
from verifier.rules.policy import Policy
from verifier.rules.snapshot_check import (
    Json,
    SnapshotError,
    array,
    int_map,
    integer,
    obj,
    str_list,
    text,
)

Record = TypeVar("Record", Party, Fund, Contract, Payment)
PAYMENT_STATES = frozenset({PENDING, COUNTED, REJECTED, REVERSED})
POLICY_FIELDS = frozenset(
    {
        "version",
        "index",
        "dual_control_threshold_fen",
        "rates",
        "daily_cap_points",
        "activity_cap_points",
        "balance_cap_points",
        "expiry_months",
        "catalogue",
        "transfer_relations",
    }
)
FUND_BOOK_FIELDS = frozenset(
    {"parties", "funds", "donations", "contracts", "amendments", "payments"}
)
_INT_FIELDS = sorted(POLICY_FIELDS - {"rates", "catalogue", "transfer_relations"})

# -- policy ----------------------------------------------------------------------------------


def policy_to_json(p: Policy | None) -> Json:
    if p is None:
        return None
    out: dict[str, Json] = {name: getattr(p, name) for name in _INT_FIELDS}
    out["rates"] = p.rates
    out["catalogue"] = p.catalogue
    out["transfer_relations"] = sorted(p.transfer_relations)
    return out


def policy_from_json(value: Json) -> Policy | None:
    if value is None:
        return None
    d = obj(value, "policy", POLICY_FIELDS)
    n = {name: integer(d[name], f"policy.{name}") for name in _INT_FIELDS}
    relations = str_list(d["transfer_relations"], "policy.transfer_relations")
    return Policy(
        version=n["version"],
        index=n["index"],
        dual_control_threshold_fen=n["dual_control_threshold_fen"],
        rates=int_map(d["rates"], "policy.rates"),
        daily_cap_points=n["daily_cap_points"],
        activity_cap_points=n["activity_cap_points"],
        balance_cap_points=n["balance_cap_points"],
        expiry_months=n["expiry_months"],
        catalogue=int_map(d["catalogue"], "policy.catalogue"),
        transfer_relations=frozenset(relations),
    )


# -- funds -----------------------------------------------------------------------------------


def funds_to_json(b: FundBook) -> Json:
    return {
        "parties": {k: [p.type, p.name, p.uscc, p.index] for k, p in b.parties.items()},
        "funds": {
            k: [f.source, f.fiscal_year, f.programme, f.appropriated, f.contracted, f.paid, f.index]
            for k, f in b.funds.items()
        },
        "donations": b.donations,
        "contracts": {
            k: [
                c.fund_id,
                c.provider,
                c.total,
                c.paid,
                c.index,
                # an array, in the award's or amendment's order (amend checks in that order)
                [[mid, m.amount, m.committed, m.paid] for mid, m in c.milestones.items()],
            ]
            for k, c in b.contracts.items()
        },
        "amendments": b.amendments,
        "payments": {
            k: [p.contract_id, p.milestone_id, p.amount, p.invoice_no, p.proposer, p.state, p.index]
            for k, p in b.payments.items()
        },
    }


def funds_from_json(value: Json, b: FundBook) -> None:
    """Fill the empty book ``b`` (a fresh :class:`DomainRules`'s) from ``value``."""
    d = obj(value, "funds", FUND_BOOK_FIELDS)
    b.donations = int_map(d["donations"], "funds.donations")
    b.amendments = int_map(d["amendments"], "funds.amendments")
    for k, v in obj(d["parties"], "funds.parties").items():
        what = f"funds.parties[{k}]"
        kind, name, uscc, index = array(v, what, 4)
        party = Party(k, text(kind, what), text(name, what), text(uscc, what), integer(index, what))
        if party.uscc in b.usccs:
            raise SnapshotError(f"{what}: uscc is already another party's")
        b.parties[k] = party
        b.usccs[party.uscc] = k
    for k, v in obj(d["funds"], "funds.funds").items():
        what = f"funds.funds[{k}]"
        src, year, prog, *amounts = array(v, what, 7)
        appropriated, contracted, paid, index = (integer(x, what) for x in amounts)
        b.funds[k] = Fund(
            k, text(src, what), integer(year, what), text(prog, what),
            appropriated, contracted, paid, index,
        )  # fmt: skip
    for k, v in obj(d["contracts"], "funds.contracts").items():
        b.contracts[k] = _contract(k, v, b)
    for k, v in obj(d["payments"], "funds.payments").items():
        pay = _payment(k, v, b)
        b.payments[k] = pay
        if pay.state in (PENDING, COUNTED):
            invoice = (pay.contract_id, pay.invoice_no)
            if invoice in b.open_invoices:
                raise SnapshotError(f"funds.payments[{k}]: its invoice is open on another payment")
            b.open_invoices[invoice] = k
    # Back in log order (each object is created by one entry, at its index), as a replay
    # leaves them: the API lists funds, contracts, payments and parties in this order.
    b.parties, b.funds = _log_order(b.parties), _log_order(b.funds)
    b.contracts, b.payments = _log_order(b.contracts), _log_order(b.payments)
    b.donations = dict(sorted(b.donations.items(), key=itemgetter(1)))
    b.amendments = dict(sorted(b.amendments.items(), key=itemgetter(1)))


def _log_order(records: dict[str, Record]) -> dict[str, Record]:
    """``records`` ordered by the index of the entry that created each. O(n log n)."""
    return dict(sorted(records.items(), key=lambda item: item[1].index))


def _contract(k: str, v: Json, b: FundBook) -> Contract:
    what = f"funds.contracts[{k}]"
    fund_id, provider, total, paid, index, ms = array(v, what, 6)
    if text(fund_id, what) not in b.funds or text(provider, what) not in b.parties:
        raise SnapshotError(f"{what}: its fund or provider is missing")
    milestones: dict[str, Milestone] = {}
    for m in array(ms, what):
        mid, amount, committed, m_paid = array(m, f"{what} milestone", 4)
        milestones[text(mid, what)] = Milestone(
            integer(amount, what), integer(committed, what), integer(m_paid, what)
        )
    if len(milestones) != len(ms):
        raise SnapshotError(f"{what}: milestone ids must be distinct")
    return Contract(
        k, fund_id, provider, integer(total, what), milestones, integer(paid, what),
        integer(index, what),
    )  # fmt: skip


def _payment(k: str, v: Json, b: FundBook) -> Payment:
    what = f"funds.payments[{k}]"
    contract_id, milestone_id, amount, invoice, proposer, state, index = array(v, what, 7)
    contract = b.contracts.get(text(contract_id, what))
    if text(state, what) not in PAYMENT_STATES:
        raise SnapshotError(f"{what}: state must be one of {', '.join(sorted(PAYMENT_STATES))}")
    # an amendment may drop the milestone of a rejected or reversed payment, never an open one
    open_ = state in (PENDING, COUNTED)
    if contract is None or (open_ and text(milestone_id, what) not in contract.milestones):
        raise SnapshotError(f"{what}: its contract or milestone is missing")
    return Payment(
        k, contract_id, milestone_id, integer(amount, what), text(invoice, what),
        text(proposer, what), state, integer(index, what),
    )  # fmt: skip


__all__ = [
    "funds_from_json",
    "funds_to_json",
    "policy_from_json",
    "policy_to_json",
]
