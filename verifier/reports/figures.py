"""The records a traceability report sums into (:mod:`verifier.reports.traceability`), and their
JSON form.

Every figure is an integer (fen for money, points for credits) with the ascending list of
entry indices it comes from. Index lists are ``array("q")`` (8 bytes per index, no Python
int objects) and never repeat an index: postings arrive in index order, so a repeat can only
be the last element (:func:`link`). Pure: no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Credit events (FORMAT.md §10.6) and the community figure each one adds to.
CREDIT_FIGURES = {
    "credit.awarded": "awarded",
    "credit.corrected": "corrected",
    "credit.redeemed": "redeemed",
    "credit.transferred_in": "transferred_in",
    "credit.transferred_out": "transferred_out",
    "credit.expired": "expired",
}
#: How each credit event changes a balance (``credit.corrected`` amounts carry their sign).
CREDIT_SIGN = {
    "credit.awarded": 1,
    "credit.corrected": 1,
    "credit.redeemed": -1,
    "credit.transferred_in": 1,
    "credit.transferred_out": -1,
    "credit.expired": -1,
}

#: Payment states (FORMAT.md §10.3), in report order.
PAYMENT_STATES = ("pending", "counted", "rejected", "reversed")


def indices() -> array[int]:
    """A new, empty index list."""
    return array("q")


def link(arr: array[int], index: int) -> None:
    """Append ``index`` unless it is already the last one. O(1)."""
    if not arr or arr[-1] != index:
        arr.append(index)


def merge(lists: Iterable[Iterable[int]]) -> list[int]:
    """The sorted union of index lists."""
    out: set[int] = set()
    for ix in lists:
        out.update(ix)
    return sorted(out)


@dataclass(slots=True)
class Payment:
    """A payment and where it stands; ``indices``: its proposal, approval, rejection,
    reversal entries (the first is the proposal)."""

    payment_id: str
    contract_id: str | None
    amount: int
    state: str = "pending"
    indices: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id,
            "amount_fen": self.amount,
            "state": self.state,
            "entries": list(self.indices),
        }


def pending(payments: Iterable[Payment]) -> tuple[int, list[int]]:
    """Amount and proposal indices of the payments still pending."""
    pend = [p for p in payments if p.state == "pending"]
    return sum(p.amount for p in pend), [p.indices[0] for p in pend]


@dataclass(slots=True)
class Fund:
    """A fund's figures. ``paid`` is net of reversals; ``reversed`` is what was returned."""

    fund_id: str
    index: int | None = None
    source: str | None = None
    fiscal_year: int | None = None
    programme: str | None = None
    appropriated: int = 0
    donated: int = 0
    contracted: int = 0
    paid: int = 0
    reversed: int = 0
    i_appropriated: array[int] = field(default_factory=indices)
    i_donated: array[int] = field(default_factory=indices)
    i_contracted: array[int] = field(default_factory=indices)
    i_paid: array[int] = field(default_factory=indices)
    i_reversed: array[int] = field(default_factory=indices)
    payments: list[Payment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        pending_fen, pending_at = pending(self.payments)
        budget = self.appropriated + self.donated
        return {
            "fund_id": self.fund_id,
            "source": self.source,
            "fiscal_year": self.fiscal_year,
            "programme": self.programme,
            "appropriated_fen": self.appropriated,
            "donated_fen": self.donated,
            "contracted_fen": self.contracted,
            "paid_fen": self.paid,
            "reversed_fen": self.reversed,
            "pending_fen": pending_fen,
            "unallocated_fen": budget - self.contracted,
            "remaining_fen": budget - self.paid,
            "entries": {
                "appropriated": self.i_appropriated.tolist(),
                "donated": self.i_donated.tolist(),
                "contracted": self.i_contracted.tolist(),
                "paid": self.i_paid.tolist(),
                "reversed": self.i_reversed.tolist(),
                "pending": pending_at,
            },
        }


@dataclass(slots=True)
class Contract:
    """A contract's figures; ``total`` is the award plus amendments."""

    contract_id: str
    fund_id: str | None = None
    provider: str | None = None
    title: str | None = None
    method: str | None = None
    total: int = 0
    paid: int = 0
    reversed: int = 0
    i_awarded: array[int] = field(default_factory=indices)
    i_amended: array[int] = field(default_factory=indices)
    payments: list[Payment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        pending_fen, _ = pending(self.payments)
        return {
            "contract_id": self.contract_id,
            "fund_id": self.fund_id,
            "provider": self.provider,
            "title": self.title,
            "method": self.method,
            "total_fen": self.total,
            "paid_fen": self.paid,
            "reversed_fen": self.reversed,
            "pending_fen": pending_fen,
            "unpaid_fen": self.total - self.paid,
            "entries": {
                "awarded": self.i_awarded.tolist(),
                "amended": self.i_amended.tolist(),
                "payments": merge(p.indices for p in self.payments),
            },
            "payments": [p.to_json() for p in self.payments],
        }


@dataclass(slots=True)
class Party:
    """A registered party (``None`` fields: seen in postings only, never registered)."""

    party_id: str
    type: str | None = None
    name: str | None = None
    uscc: str | None = None
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "party_id": self.party_id,
            "type": self.type,
            "name": self.name,
            "uscc": self.uscc,
            "registered_at": self.index,
        }


@dataclass(slots=True)
class Provider:
    """A provider's (社会组织, company) figures over all its contracts."""

    party: Party
    contracts: list[str] = field(default_factory=list)
    contracted: int = 0
    paid: int = 0
    reversed: int = 0
    i_contracted: array[int] = field(default_factory=indices)
    i_paid: array[int] = field(default_factory=indices)
    i_reversed: array[int] = field(default_factory=indices)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.party.to_json(),
            "contracts": list(self.contracts),
            "contracted_fen": self.contracted,
            "paid_fen": self.paid,
            "reversed_fen": self.reversed,
            "entries": {
                "contracted": self.i_contracted.tolist(),
                "paid": self.i_paid.tolist(),
                "reversed": self.i_reversed.tolist(),
            },
        }


def _zero_points() -> dict[str, int]:
    return dict.fromkeys(CREDIT_FIGURES.values(), 0)


def _no_links() -> dict[str, array[int]]:
    return {name: indices() for name in CREDIT_FIGURES.values()}


@dataclass(slots=True)
class Community:
    """A community's (社区) credit figures: points by where they were earned."""

    party: Party
    points: dict[str, int] = field(default_factory=_zero_points)
    links: dict[str, array[int]] = field(default_factory=_no_links)
    i_activities: array[int] = field(default_factory=indices)

    @property
    def outstanding(self) -> int:
        """Points earned here still held by residents."""
        return sum(CREDIT_SIGN[ev] * self.points[name] for ev, name in CREDIT_FIGURES.items())

    def to_json(self) -> dict[str, Any]:
        return {
            **self.party.to_json(),
            "activities": len(self.i_activities),
            **{f"{name}_points": v for name, v in self.points.items()},
            "outstanding_points": self.outstanding,
            "entries": {
                "activities": self.i_activities.tolist(),
                **{name: arr.tolist() for name, arr in self.links.items()},
            },
        }
