"""The scenario's own bookkeeping: a small mirror of the rules' state (FORMAT.md §10) — fund
lines and what they have contracted, contracts with their milestones and commitments,
payments awaiting a decision or a reversal, volunteer activities with their awards — and
the contracts planned for a year. The scenario proposes only what this mirror says the rules
accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.demo.cast import ANNUAL_CONTRACTS


@dataclass
class _Fund:
    fund_id: str
    source: str
    appropriated: int
    contracted: int = 0

    @property
    def unallocated(self) -> int:
        return self.appropriated - self.contracted


@dataclass
class _Milestone:
    milestone_id: str
    amount: int
    due: date
    deliverable: str
    committed: int = 0
    pending: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "milestone_id": self.milestone_id,
            "amount_fen": self.amount,
            "due": self.due.isoformat(),
            "deliverable": self.deliverable,
        }


@dataclass
class _Contract:
    contract_id: str
    fund: _Fund
    milestones: list[_Milestone]
    evidence: list[str]
    #: The total at award (amendments are judged against it, 《政府采购法》第四十九条).
    original: int = 0
    title: str = ""

    @property
    def total(self) -> int:
        return sum(m.amount for m in self.milestones)


@dataclass
class _Payment:
    payment_id: str
    contract: _Contract
    milestone: _Milestone
    amount: int
    day: int


@dataclass
class _Activity:
    activity_id: str
    community: str
    category: str
    date: date
    #: (award index, resident, minutes, points)
    awards: list[tuple[int, str, int, int]] = field(default_factory=list)


@dataclass
class _ContractPlan:
    """A contract to award: who, from which fund line, what, and its milestone schedule."""

    provider: str
    fund_key: str
    title: str
    method: str
    total_yuan: int
    milestones: list[tuple[int, date, str]]  # (percent, due, deliverable)


def annual_contracts(year: int) -> list[_ContractPlan]:
    """The contracts of :data:`ANNUAL_CONTRACTS` for ``year``."""
    return [
        _ContractPlan(
            provider,
            line,
            f"{year}年度{title}",
            method,
            yuan,
            [(pct, date.fromisoformat(f"{year}-{due}"), what) for pct, due, what in steps],
        )
        for provider, line, title, method, yuan, steps in ANNUAL_CONTRACTS
    ]


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _month_number(d: date) -> int:
    return d.year * 12 + d.month - 1
