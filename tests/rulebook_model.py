"""The independent model of FORMAT.md §10 for the rulebook state machine
(``tests/test_rules_stateful.py``): plain dicts and arithmetic, nothing imported from
:mod:`verifier.rules`, plus the policies the machine switches between and a comparable
view of the ledger's books (:func:`ledger_view`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.rules import DomainRules

from .rulebook_builder import domain_view
from .rulebook_model_credits import CreditsRules
from .rulebook_model_funds import FundsRules
from .rulebook_model_state import Ctx, Reject
from .rulebook_ops import Op, activity_op, award_op, contract_op, fund_op, propose_op, resident

# -- the policies the machine switches between -----------------------------------------------

POLICY_B: dict[str, Any] = {
    "dual_control_threshold_fen": 50_000,
    "credit_rates": [
        {"category": "助老", "points_per_hour": 15},
        {"category": "文化", "points_per_hour": 30},
    ],
    "expiry_months": 3,
    "catalogue": [{"item": "理发券", "points": 25}, {"item": "鸡蛋", "points": 5}],
    "transfer_relations": ["配偶"],
}
VARIANTS: dict[str, dict[str, Any]] = {"A": {}, "B": POLICY_B}

FUNDS = ["F1", "F2", "F3", "F4"]
DONATIONS = ["D1", "D2", "D3", "D4"]
CONTRACTS = ["C1", "C2", "C3", "C4"]
AMENDMENTS = ["M1", "M2", "M3", "M4"]
MILESTONES = ["m1", "m2", "m3"]
PAYMENTS = [f"p{n}" for n in range(1, 9)]
INVOICES = ["INV-1", "INV-2", "INV-3"]
ACTIVITIES = [f"A{n}" for n in range(1, 7)]
RESIDENTS = [resident(n) for n in range(3)]
CATEGORIES = ["助老", "环保", "文化"]
ITEMS = ["理发券", "鸡蛋", "大米"]
RELATIONS = ["配偶", "子女", "父母"]

#: Every run starts from a few funds, a contract with a pending and a counted payment, two
#: activities and two residents with points (all judged by the model and the ledger too).
SEED: list[Op] = [
    fund_op("F1", 1_000_000),
    fund_op("F2", 300_000, "社区基金"),
    contract_op("C1", "F1", "P1", [("m1", 300_000), ("m2", 200_000)]),
    propose_op("p1", "C1", "m1", 150_000),  # pending
    propose_op("p2", "C1", "m2", 20_000, "INV-2"),  # counted
    activity_op("A1", "Q1", "助老", "2026-05-04"),
    activity_op("A2", "Q2", "环保", "2026-04-24", signer="organiser2"),
    award_op(RESIDENTS[0], "A1", 120),
    award_op(RESIDENTS[1], "A2", 60, signer="organiser2"),
]


# -- the model -------------------------------------------------------------------------------


@dataclass
class Model(FundsRules, CreditsRules):
    """FORMAT.md §10, written again as simply as possible. ``step`` either returns the
    (rule, field) the entry must be rejected with, or applies it and returns ``None``. The
    rules of each side are in :mod:`tests.rulebook_model_funds` and
    :mod:`tests.rulebook_model_credits`, the books in :mod:`tests.rulebook_model_state`."""

    def step(self, op: Op, ctx: Ctx) -> Reject | None:
        handler = getattr(self, op.kind.replace(".", "_"))
        result: Reject | None = handler(op.body, ctx)
        return result

    def policy_set(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["version"] != self.version + 1:
            return "policy.version", "version"
        self.version, self.policy = b["version"], dict(b)
        return None

    # -- comparison ------------------------------------------------------------------------

    def view(self, key_ids: dict[str, str]) -> dict[str, Any]:
        """The model's books in the shape of :func:`ledger_view`."""
        return {
            "version": self.version,
            "funds": {
                k: (f["source"], f["appropriated"], f["contracted"], f["paid"])
                for k, f in self.funds.items()
            },
            "donations": set(self.donations),
            "contracts": {
                k: (
                    c["fund"],
                    c["provider"],
                    c["total"],
                    sum(ms[2] for ms in c["ms"].values()),
                    {mid: tuple(ms) for mid, ms in c["ms"].items()},
                )
                for k, c in self.contracts.items()
            },
            "amendments": set(self.amendments),
            "payments": {
                k: (
                    p["contract"],
                    p["ms"],
                    p["amount"],
                    p["invoice"],
                    key_ids[p["proposer"]],
                    p["state"],
                )
                for k, p in self.payments.items()
            },
            "activities": {
                k: (a["community"], a["category"], a["date"], key_ids[a["organiser"]])
                for k, a in self.activities.items()
            },
            "lots": {
                ref: tuple((m, c, p) for (m, c), p in sorted(lots.items()))
                for ref, lots in self.lots.items()
                if lots
            },
            "expired_through": self.expired_through,
        }


def ledger_view(rules: DomainRules) -> dict[str, Any]:
    """The replayed books in the shape of :meth:`Model.view`."""
    v = domain_view(rules, exact=False)
    keep = (
        "funds",
        "donations",
        "contracts",
        "amendments",
        "payments",
        "activities",
        "lots",
        "expired_through",
    )
    out = {k: v[k] for k in keep}
    out["version"] = rules.policy.version if rules.policy else 0
    return out
