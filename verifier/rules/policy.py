"""The policy in force: currency, dual control, credit rates, caps, expiry, transfers
(FORMAT.md §10.1).

A ``policy.set`` entry, signed by an authority, replaces the whole policy from its index on;
its ``version`` is the previous version plus one (the first is 1). No domain entry other
than ``policy.set`` and ``party.register`` is valid before the first policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: FORMAT.md §10.4: awards and corrections are accepted from the activity's date until this
#: many days after it (volunteer records must be timely, 《志愿服务记录与证明出具办法》).
AWARD_WINDOW_DAYS = 60


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed ``policy.set`` body (already shape-checked by :mod:`verifier.rules.kinds`)."""

    version: int
    index: int
    dual_control_threshold_fen: int
    rates: dict[str, int]
    daily_cap_points: int
    activity_cap_points: int
    balance_cap_points: int
    expiry_months: int
    catalogue: dict[str, int]
    transfer_relations: frozenset[str]

    @classmethod
    def from_body(cls, body: dict[str, Any], index: int) -> Policy:
        """Build from a shape-checked body. O(categories + items)."""
        return cls(
            version=body["version"],
            index=index,
            dual_control_threshold_fen=body["dual_control_threshold_fen"],
            rates={r["category"]: r["points_per_hour"] for r in body["credit_rates"]},
            daily_cap_points=body["daily_cap_points"],
            activity_cap_points=body["activity_cap_points"],
            balance_cap_points=body["balance_cap_points"],
            expiry_months=body["expiry_months"],
            catalogue={c["item"]: c["points"] for c in body["catalogue"]},
            transfer_relations=frozenset(body["transfer_relations"]),
        )

    def points_for(self, category: str, minutes: int) -> int | None:
        """Points for ``minutes`` of service in ``category``: ⌊minutes × rate / 60⌋, or
        ``None`` when the policy has no rate for the category (FORMAT.md §10.4)."""
        rate = self.rates.get(category)
        return None if rate is None else minutes * rate // 60
