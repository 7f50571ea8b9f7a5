"""Postings: what an accepted domain entry did, for reports and traces (FORMAT.md §10.6).

The rulebook returns one :class:`Posting` per movement it applied — an appropriation, a
contract award, a counted payment, credits earned in a community, credits expired — naming
the entry index and every object involved. Amounts are fen (分) for ``fund.*``,
``contract.*`` and ``payment.*`` events and points for ``credit.*`` events. A report sums
postings; a trace filters them. Nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every event a posting can carry, with what its amount means.
EVENTS: dict[str, str] = {
    "fund.appropriated": "fen appropriated into the fund (拨款)",
    "fund.donated": "fen donated into the fund (捐赠)",
    "contract.awarded": "fen committed from the fund to the contract (合同授予)",
    "contract.amended": "change of the contract total in fen, may be negative (合同变更)",
    "payment.proposed": "fen proposed, not yet counted (待审批)",
    "payment.counted": "fen paid to the provider (已支付)",
    "payment.rejected": "fen of a proposal that was rejected (驳回)",
    "payment.reversed": "fen of a counted payment returned (冲正)",
    "credit.awarded": "points earned in a community (获得积分)",
    "credit.corrected": "change of an award in points, may be negative (更正)",
    "credit.redeemed": "points spent (兑换)",
    "credit.transferred_out": "points given to a family member (转出)",
    "credit.transferred_in": "points received from a family member (转入)",
    "credit.expired": "points expired by policy (过期)",
}


@dataclass(frozen=True, slots=True)
class Posting:
    """One movement caused by the entry at ``index``. Unused references are ``None``."""

    index: int
    event: str
    amount: int
    fund: str | None = None
    contract: str | None = None
    payment: str | None = None
    provider: str | None = None
    community: str | None = None
    resident: str | None = None
    activity: str | None = None
