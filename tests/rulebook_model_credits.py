"""The credits side of the independent model of FORMAT.md §10.4 (:mod:`tests.rulebook_model`):
activities, awards and corrections, redemptions, transfers and expiry, as plain dicts and
arithmetic (lots keyed by month and community, spent oldest first)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .rulebook_model_state import Ctx, ModelState, Reject

#: FORMAT.md §10.4: awards are accepted from an activity's date to 60 days after it.
WINDOW = timedelta(days=60)


def month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


class CreditsRules(ModelState):
    """The §10.4 rules: each method returns the (rule, field) the entry must be rejected
    with, or applies it and returns ``None``."""

    def rate(self, category: str) -> int | None:
        rates = {r["category"]: r["points_per_hour"] for r in self.policy["credit_rates"]}
        return rates.get(category)

    def price(self, item: str) -> int | None:
        return {c["item"]: c["points"] for c in self.policy["catalogue"]}.get(item)

    def balance(self, ref: str) -> int:
        return sum(self.lots.get(ref, {}).values())

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
