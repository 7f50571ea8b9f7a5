"""The independent model of FORMAT.md §10 for the rulebook state machine
(``tests/test_rules_stateful.py``): plain dicts and arithmetic, nothing imported from
:mod:`verifier.rules`, plus the policies the machine switches between and a comparable
view of the ledger's books (:func:`ledger_view`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from verifier.rules import DomainRules

from .rulebook_builder import (
    domain_view,
)
from .rulebook_ops import (
    PARTIES,
    POLICY,
    Op,
    activity_op,
    award_op,
    contract_op,
    fund_op,
    propose_op,
    resident,
)

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

#: FORMAT.md §10.4: awards are accepted from an activity's date to 60 days after it.
WINDOW = timedelta(days=60)


def month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


# -- the model -------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What the model knows about the entry being judged."""

    signer: str
    today: str
    month: str
    index: int


Reject = tuple[str, str]


@dataclass
class Model:
    """FORMAT.md §10, written again as simply as possible. ``step`` either returns the
    (rule, field) the entry must be rejected with, or applies it and returns ``None``."""

    version: int = 1
    policy: dict[str, Any] = field(default_factory=lambda: dict(POLICY))
    parties: dict[str, str] = field(default_factory=lambda: dict(PARTIES))
    funds: dict[str, dict[str, Any]] = field(default_factory=dict)
    donations: set[str] = field(default_factory=set)
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    amendments: set[str] = field(default_factory=set)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    daily: dict[tuple[str, str], int] = field(default_factory=dict)
    lots: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    expired_through: str = ""

    # -- derived values ----------------------------------------------------------------

    def rate(self, category: str) -> int | None:
        rates = {r["category"]: r["points_per_hour"] for r in self.policy["credit_rates"]}
        return rates.get(category)

    def price(self, item: str) -> int | None:
        return {c["item"]: c["points"] for c in self.policy["catalogue"]}.get(item)

    def balance(self, ref: str) -> int:
        return sum(self.lots.get(ref, {}).values())

    def unallocated(self, fid: str) -> int:
        f = self.funds[fid]
        return int(f["appropriated"] - f["contracted"])

    def remaining(self, cid: str, mid: str) -> int | None:
        c = self.contracts.get(cid)
        if c is None or mid not in c["ms"]:
            return None
        amount, committed, _ = c["ms"][mid]
        return int(amount - committed)

    def _spend(self, ref: str, points: int) -> list[tuple[tuple[str, str], int]]:
        """Take ``points`` from the oldest lots (month, then community)."""
        lots = self.lots.setdefault(ref, {})
        taken = []
        for k in sorted(lots):
            if points == 0:
                break
            t = min(lots[k], points)
            taken.append((k, t))
            lots[k] -= t
            points -= t
            if lots[k] == 0:
                del lots[k]
        return taken

    def _add(self, ref: str, k: tuple[str, str], points: int) -> None:
        lots = self.lots.setdefault(ref, {})
        lots[k] = lots.get(k, 0) + points
        if lots[k] == 0:
            del lots[k]

    # -- the rules -----------------------------------------------------------------------

    def step(self, op: Op, ctx: Ctx) -> Reject | None:
        handler = getattr(self, op.kind.replace(".", "_"))
        result: Reject | None = handler(op.body, ctx)
        return result

    def policy_set(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["version"] != self.version + 1:
            return "policy.version", "version"
        self.version, self.policy = b["version"], dict(b)
        return None

    def fund_appropriate(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["fund_id"] in self.funds:
            return "fund.duplicate", "fund_id"
        self.funds[b["fund_id"]] = {
            "source": b["source"],
            "appropriated": b["amount_fen"],
            "contracted": 0,
            "paid": 0,
        }
        return None

    def fund_donate(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["donation_id"] in self.donations:
            return "fund.donation_duplicate", "donation_id"
        if b["fund_id"] not in self.funds:
            return "fund.unknown", "fund_id"
        if self.funds[b["fund_id"]]["source"] == "财政":
            return "fund.source", "fund_id"
        self.donations.add(b["donation_id"])
        self.funds[b["fund_id"]]["appropriated"] += b["amount_fen"]
        return None

    def _party(self, pid: str, fld: str, community: bool) -> Reject | None:
        if pid not in self.parties:
            return "party.unknown", fld
        if (self.parties[pid] == "community") != community:
            return "party.type", fld
        return None

    def contract_award(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["contract_id"] in self.contracts:
            return "contract.duplicate", "contract_id"
        if b["fund_id"] not in self.funds:
            return "fund.unknown", "fund_id"
        if bad := self._party(b["provider"], "provider", community=False):
            return bad
        if sum(m["amount_fen"] for m in b["milestones"]) != b["total_fen"]:
            return "contract.milestones", "milestones"
        if b["total_fen"] > self.unallocated(b["fund_id"]):
            return "fund.insufficient", "total_fen"
        self.contracts[b["contract_id"]] = {
            "fund": b["fund_id"],
            "provider": b["provider"],
            "total": b["total_fen"],
            "ms": {m["milestone_id"]: [m["amount_fen"], 0, 0] for m in b["milestones"]},
        }
        self.funds[b["fund_id"]]["contracted"] += b["total_fen"]
        return None

    def contract_amend(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["amendment_id"] in self.amendments:
            return "contract.amendment_duplicate", "amendment_id"
        c = self.contracts.get(b["contract_id"])
        if c is None:
            return "contract.unknown", "contract_id"
        if sum(m["amount_fen"] for m in b["milestones"]) != b["total_fen"]:
            return "contract.milestones", "milestones"
        new = {m["milestone_id"]: m["amount_fen"] for m in b["milestones"]}
        for mid, (_, committed, _) in c["ms"].items():
            if committed > 0 and new.get(mid, -1) < committed:
                return "contract.below_committed", "milestones"
        delta = b["total_fen"] - c["total"]
        if delta > self.unallocated(c["fund"]):
            return "fund.insufficient", "total_fen"
        self.amendments.add(b["amendment_id"])
        old = c["ms"]
        c["ms"] = {
            mid: [amt, *(old[mid][1:] if mid in old else [0, 0])] for mid, amt in new.items()
        }
        c["total"] = b["total_fen"]
        self.funds[c["fund"]]["contracted"] += delta
        return None

    def payment_propose(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["payment_id"] in self.payments:
            return "payment.duplicate", "payment_id"
        c = self.contracts.get(b["contract_id"])
        if c is None:
            return "contract.unknown", "contract_id"
        if b["milestone_id"] not in c["ms"]:
            return "contract.milestone_unknown", "milestone_id"
        ms = c["ms"][b["milestone_id"]]
        if b["amount_fen"] > ms[0] - ms[1]:
            return "payment.exceeds_milestone", "amount_fen"
        for p in self.payments.values():
            if (
                p["contract"] == b["contract_id"]
                and p["invoice"] == b["invoice_no"]
                and p["state"] in ("pending", "counted")
            ):
                return "payment.invoice_reused", "invoice_no"
        pay = {
            "contract": b["contract_id"],
            "ms": b["milestone_id"],
            "amount": b["amount_fen"],
            "invoice": b["invoice_no"],
            "proposer": ctx.signer,
            "state": "pending",
        }
        self.payments[b["payment_id"]] = pay
        ms[1] += pay["amount"]
        if pay["amount"] < self.policy["dual_control_threshold_fen"]:
            self._count(pay)
        return None

    def _count(self, pay: dict[str, Any]) -> None:
        c = self.contracts[pay["contract"]]
        pay["state"] = "counted"
        c["ms"][pay["ms"]][2] += pay["amount"]
        self.funds[c["fund"]]["paid"] += pay["amount"]

    def _payment(self, b: dict[str, Any], state: str) -> Reject | dict[str, Any]:
        pay = self.payments.get(b["payment_id"])
        if pay is None:
            return "payment.unknown", "payment_id"
        if pay["state"] != state:
            return "payment.state", "payment_id"
        return pay

    def payment_approve(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        pay = self._payment(b, "pending")
        if isinstance(pay, tuple):
            return pay
        if pay["proposer"] == ctx.signer:
            return "payment.self_approval", "payment_id"
        self._count(pay)
        return None

    def payment_reject(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        pay = self._payment(b, "pending")
        if isinstance(pay, tuple):
            return pay
        pay["state"] = "rejected"
        self.contracts[pay["contract"]]["ms"][pay["ms"]][1] -= pay["amount"]
        return None

    def payment_reverse(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        pay = self._payment(b, "counted")
        if isinstance(pay, tuple):
            return pay
        pay["state"] = "reversed"
        c = self.contracts[pay["contract"]]
        c["ms"][pay["ms"]][1] -= pay["amount"]
        c["ms"][pay["ms"]][2] -= pay["amount"]
        self.funds[c["fund"]]["paid"] -= pay["amount"]
        return None

    def activity_register(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if bad := self._party(b["community"], "community", community=True):
            return bad
        if b["activity_id"] in self.activities:
            return "activity.duplicate", "activity_id"
        if self.rate(b["category"]) is None:
            return "activity.category", "category"
        self.activities[b["activity_id"]] = {
            "community": b["community"],
            "category": b["category"],
            "date": b["date"],
            "organiser": ctx.signer,
            "awards": {},
        }
        return None

    def _service(self, b: dict[str, Any], ctx: Ctx) -> Reject | dict[str, Any]:
        act = self.activities.get(b["activity_id"])
        if act is None:
            return "activity.unknown", "activity_id"
        if act["organiser"] != ctx.signer:
            return "credit.organiser", "activity_id"
        if ctx.today < act["date"]:
            return "credit.too_early", "activity_id"
        if date.fromisoformat(ctx.today) > date.fromisoformat(act["date"]) + WINDOW:
            return "credit.too_late", "activity_id"
        return act

    def _points(self, act: dict[str, Any], minutes: int) -> Reject | int:
        rate = self.rate(act["category"])
        if rate is None:
            return "credit.category", "activity_id"
        points = minutes * rate // 60
        if points > self.policy["activity_cap_points"]:
            return "credit.activity_cap", "minutes"
        return points

    def _can_add(self, ref: str, act: dict[str, Any], points: int) -> Reject | None:
        if self.daily.get((ref, act["date"]), 0) + points > self.policy["daily_cap_points"]:
            return "credit.daily_cap", "minutes"
        if self.balance(ref) + points > self.policy["balance_cap_points"]:
            return "credit.balance_cap", "resident_ref"
        if act["date"][:7] <= self.expired_through:
            return "credit.expired", "activity_id"
        return None

    def credit_award(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        act = self._service(b, ctx)
        if isinstance(act, tuple):
            return act
        ref = b["resident_ref"]
        if ref in act["awards"]:
            return "credit.duplicate", "resident_ref"
        points = self._points(act, b["minutes"])
        if isinstance(points, tuple):
            return points
        if points < 1:
            return "credit.points", "minutes"
        if bad := self._can_add(ref, act, points):
            return bad
        act["awards"][ref] = [ctx.index, b["minutes"], points]
        key = (ref, act["date"])
        self.daily[key] = self.daily.get(key, 0) + points
        self._add(ref, (act["date"][:7], act["community"]), points)
        return None

    def credit_correct(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        act = self._service(b, ctx)
        if isinstance(act, tuple):
            return act
        ref = b["resident_ref"]
        award = act["awards"].get(ref)
        if award is None or award[0] != b["award_index"]:
            return "credit.award_unknown", "award_index"
        points = self._points(act, b["minutes"])
        if isinstance(points, tuple):
            return points
        delta = points - award[2]
        lot = (act["date"][:7], act["community"])
        if delta > 0 and (bad := self._can_add(ref, act, delta)):
            return bad
        if delta < 0 and self.lots.get(ref, {}).get(lot, 0) < -delta:
            return "credit.insufficient", "minutes"
        award[1:] = [b["minutes"], points]
        key = (ref, act["date"])
        self.daily[key] = self.daily.get(key, 0) + delta
        self._add(ref, lot, delta)
        return None

    def credit_redeem(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        price = self.price(b["item"])
        if price is None:
            return "credit.catalogue", "item"
        if b["points"] != price:
            return "credit.price", "points"
        if b["points"] > self.balance(b["resident_ref"]):
            return "credit.insufficient", "resident_ref"
        self._spend(b["resident_ref"], b["points"])
        return None

    def credit_transfer(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        if b["relation"] not in self.policy["transfer_relations"]:
            return "credit.transfer_forbidden", "relation"
        src, dst = b["from_ref"], b["to_ref"]
        if src == dst:
            return "credit.transfer_self", "to_ref"
        if self.balance(dst) + b["points"] > self.policy["balance_cap_points"]:
            return "credit.balance_cap", "to_ref"
        if b["points"] > self.balance(src):
            return "credit.insufficient", "from_ref"
        for k, points in self._spend(src, b["points"]):
            self._add(dst, k, points)
        return None

    def credit_expire(self, b: dict[str, Any], ctx: Ctx) -> Reject | None:
        through = b["through_month"]
        if through <= self.expired_through:
            return "credit.expire_order", "through_month"
        if month_number(through) + self.policy["expiry_months"] > month_number(ctx.month):
            return "credit.expire_early", "through_month"
        for lots in self.lots.values():
            for k in [k for k in lots if k[0] <= through]:
                del lots[k]
        self.expired_through = through
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
