"""The funds side of the independent model of FORMAT.md §10.3 (:mod:`tests.rulebook_model`):
funds, donations, contracts, amendments and payments, as plain dicts and arithmetic."""

from __future__ import annotations

from typing import Any

from .rulebook_model_state import Ctx, ModelState, Reject


class FundsRules(ModelState):
    """The §10.3 rules: each method returns the (rule, field) the entry must be rejected
    with, or applies it and returns ``None``."""

    def unallocated(self, fid: str) -> int:
        f = self.funds[fid]
        return int(f["appropriated"] - f["contracted"])

    def remaining(self, cid: str, mid: str) -> int | None:
        c = self.contracts.get(cid)
        if c is None or mid not in c["ms"]:
            return None
        amount, committed, _ = c["ms"][mid]
        return int(amount - committed)

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
