"""The records of the money rules: parties, funds, contracts, milestones, payments and the
payment states (FORMAT.md §10.2, §10.3).

Plain mutable records (slotted dataclasses) that :class:`verifier.rules.funds.FundBook` keeps
and changes, through the journal, as it replays entries; the snapshot codec
(:mod:`verifier.rules.snapshot_domain`) writes and reads them. No rules and no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Party:
    """A registered provider (社会组织, company) or community (社区居委会)."""

    party_id: str
    type: str
    name: str
    uscc: str
    index: int


@dataclass(slots=True)
class Fund:
    """A budget line or community fund. ``unallocated = appropriated − contracted``."""

    fund_id: str
    source: str
    fiscal_year: int
    programme: str
    appropriated: int
    contracted: int
    paid: int
    index: int

    @property
    def unallocated(self) -> int:
        return self.appropriated - self.contracted


@dataclass(slots=True)
class Milestone:
    """One milestone of a contract; ``committed`` = counted + pending payments against it."""

    amount: int
    committed: int = 0
    paid: int = 0


@dataclass(slots=True)
class Contract:
    """A purchase-of-service contract (政府购买服务合同) awarded from one fund to a provider."""

    contract_id: str
    fund_id: str
    provider: str
    total: int
    milestones: dict[str, Milestone]
    paid: int
    index: int


#: Payment states (FORMAT.md §10.3).
PENDING, COUNTED, REJECTED, REVERSED = "pending", "counted", "rejected", "reversed"


@dataclass(slots=True)
class Payment:
    """A payment proposal and where it stands."""

    payment_id: str
    contract_id: str
    milestone_id: str
    amount: int
    invoice_no: str
    proposer: str
    state: str
    index: int
