"""The volunteer side of the scenario: activities in every community, credit awards (within
the policy's caps), corrections, redemptions, family transfers and expiry, keeping each
resident's lots (month, community, points) as the rules do (FORMAT.md §10.4).

Residents appear only as pseudonyms (FORMAT.md §10.5): ``resident_ref`` of a made-up
register number under a per-community secret derived from the seed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from ledger.demo.books import _Activity, _month
from ledger.demo.cast import (
    ACTIVITY_TITLES,
    CATEGORY_WEIGHTS,
    COMMUNITIES,
    COMMUNITY_NAMES,
    CORRECT_REASONS,
    MINUTES,
    POOL_PER_SCALE,
)
from ledger.demo.planner import Planned, _Planner
from ledger.demo.residents import demo_register_no, demo_secret
from verifier.rules.pseudonym import resident_ref


class _Credits(_Planner):
    """Volunteer activities and residents' credit lots (a part of
    :class:`~ledger.demo.Scenario`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.secret = {c: demo_secret(self.seed, c) for c in COMMUNITIES}
        self.refs: dict[str, list[str]] = {c: [] for c in COMMUNITIES}
        self.lots: dict[str, list[list[Any]]] = {}
        self.balance: dict[str, int] = {}
        self.earners: dict[str, list[str]] = {c: [] for c in COMMUNITIES}
        self.used: dict[tuple[str, date], set[str]] = {}
        self.award_queue: dict[int, list[_Activity]] = {}
        self.correct_queue: dict[int, list[tuple[_Activity, int]]] = {}
        self.n_activities: dict[tuple[str, date], int] = {}
        self.expired_through = ""

    def _residents(self, community: str, pool: int) -> list[str]:
        """The pseudonyms of the community's residents 0 … ``pool``−1 (FORMAT.md §10.5): each
        has a made-up register number ("R" + 20 Crockford digits), keyed with the
        community's secret."""
        refs = self.refs[community]
        secret = self.secret[community]
        while len(refs) < pool:
            register_no = demo_register_no(self.seed, community, len(refs))
            refs.append(resident_ref(secret, register_no))
        return refs

    def _earn(self, ref: str, month: str, community: str, points: int) -> None:
        lots = self.lots.setdefault(ref, [])
        for lot in lots:
            if lot[0] == month and lot[1] == community:
                lot[2] += points
                break
        else:
            lots.append([month, community, points])
            lots.sort()
        self.balance[ref] = self.balance.get(ref, 0) + points

    def _spend(self, ref: str, points: int) -> list[tuple[str, str, int]]:
        """Take ``points`` FIFO from ``ref``'s lots, as the rules do."""
        lots = self.lots[ref]
        taken = []
        need = points
        while need:
            lot = lots[0]
            t = min(lot[2], need)
            taken.append((lot[0], lot[1], t))
            lot[2] -= t
            need -= t
            if not lot[2]:
                lots.pop(0)
        self.balance[ref] -= points
        return taken

    def _lot(self, ref: str, month: str, community: str) -> int:
        return next((p for m, c, p in self.lots.get(ref, ()) if (m, c) == (month, community)), 0)

    def _expire(self, through: str) -> None:
        self.expired_through = through
        for ref, lots in self.lots.items():
            if lots and lots[0][0] <= through:
                gone = sum(lot[2] for lot in lots if lot[0] <= through)
                lots[:] = [lot for lot in lots if lot[0] > through]
                self.balance[ref] -= gone

    def _credits(self, today: date) -> Iterator[Planned]:
        scale = self._scale()
        for act in self.award_queue.pop(self.day, []):
            yield from self._award_activity(act, scale)
        for act, k in self.correct_queue.pop(self.day, []):
            yield from self._correct(act, k)
        weekend = today.weekday() >= 5
        for c in COMMUNITIES:
            for _ in range(scale):
                if self.rng.random() < (0.7 if weekend else 0.5):
                    yield from self._register_activity(c, today)
        for c in COMMUNITIES:
            for _ in range(scale):
                for _ in range(self.rng.randint(0, 2)):
                    yield from self._redeem(c)
                if self.rng.random() < 0.04:
                    yield from self._transfer(c, scale)
        stale = today - timedelta(days=14)
        for key in [k for k in self.used if k[1] < stale]:
            del self.used[key]
        for key in [k for k in self.n_activities if k[1] < stale]:
            del self.n_activities[key]

    def _register_activity(self, community: str, today: date) -> Iterator[Planned]:
        rng = self.rng
        rates = [r["category"] for r in self.policy["credit_rates"]]
        category = rng.choices(rates, [CATEGORY_WEIGHTS[c] for c in rates])[0]
        when = today + timedelta(days=rng.choice((0, 0, 0, 1, 2, 3, 5, 7)))
        n = self.n_activities[(community, when)] = self.n_activities.get((community, when), 0) + 1
        activity_id = f"HD-{community}-{when:%Y%m%d}-{n:02d}"
        titles = ACTIVITY_TITLES[category]
        body = {
            "activity_id": activity_id,
            "community": community,
            "category": category,
            "date": when.isoformat(),
            "title": f"{COMMUNITY_NAMES[community]}{titles[rng.randrange(len(titles))]}",
        }
        p = self._p("activity.register", body, self.keys.organisers[community])
        lag = rng.choice((0, 0, 0, 1, 1, 2))
        award_day = self.day + (when - today).days + lag
        self.award_queue.setdefault(award_day, []).append(
            _Activity(activity_id, community, category, when)
        )
        yield p

    def _minutes(self, category: str) -> int:
        """Service minutes, no more than the activity cap allows (the organiser caps them)."""
        most: int = self.policy["activity_cap_points"] * 60 // self.rates[category]
        return min(self.rng.choice(MINUTES), most // 30 * 30)

    def _award_activity(self, act: _Activity, scale: int) -> Iterator[Planned]:
        rng = self.rng
        c = act.community
        used = self.used.setdefault((c, act.date), set())
        pool = POOL_PER_SCALE * scale
        residents = self._residents(c, pool)
        cap = self.policy["balance_cap_points"]
        rate = self.rates[act.category]
        month = _month(act.date)
        organiser = self.keys.organisers[c]
        for _ in range(rng.randint(5, 16)):
            for _ in range(8):
                ref = residents[int(pool * rng.random() ** 1.7)]
                if ref not in used:
                    break
            else:
                continue
            minutes = self._minutes(act.category)
            points = minutes * rate // 60
            if self.balance.get(ref, 0) + points > cap:
                continue
            used.add(ref)
            body = {"resident_ref": ref, "activity_id": act.activity_id, "minutes": minutes}
            p = self._p("credit.award", body, organiser)
            if ref not in self.balance:
                self.earners[c].append(ref)
            self._earn(ref, month, c, points)
            act.awards.append((p.log_index, ref, minutes, points))
            yield p
        if act.awards and rng.random() < 0.05:
            k = rng.randrange(len(act.awards))
            self.correct_queue.setdefault(self.day + rng.randint(1, 5), []).append((act, k))

    def _correct(self, act: _Activity, k: int) -> Iterator[Planned]:
        index, ref, minutes, points = act.awards[k]
        how = self.rng.choice(("less", "less", "more", "cancel"))
        if how == "less":
            new_minutes = max(0, minutes - 30)
        elif how == "more":
            new_minutes = minutes + 30
            if new_minutes * self.rates[act.category] // 60 > self.policy["activity_cap_points"]:
                new_minutes, how = max(0, minutes - 30), "less"
        else:
            new_minutes = 0
        new_points = new_minutes * self.rates[act.category] // 60
        if new_points > self.policy["activity_cap_points"] or new_minutes == minutes:
            return
        delta = new_points - points
        month = _month(act.date)
        if delta < 0 and self._lot(ref, month, act.community) < -delta:
            return  # already spent: a correction would fail credit.insufficient
        if delta > 0 and self.balance[ref] + delta > self.policy["balance_cap_points"]:
            return
        body = {
            "award_index": index,
            "resident_ref": ref,
            "activity_id": act.activity_id,
            "minutes": new_minutes,
            "reason": CORRECT_REASONS["cancel" if new_minutes == 0 else how],
        }
        p = self._p("credit.correct", body, self.keys.organisers[act.community])
        act.awards[k] = (index, ref, new_minutes, new_points)
        if delta > 0:
            self._earn(ref, month, act.community, delta)
        elif delta < 0:
            lots = self.lots[ref]
            for lot in lots:
                if lot[0] == month and lot[1] == act.community:
                    lot[2] += delta
            lots[:] = [lot for lot in lots if lot[2]]
            self.balance[ref] += delta
        yield p

    def _pick_earner(self, community: str, at_least: int) -> str | None:
        earners = self.earners[community]
        if not earners:
            return None
        # the richest of a few: residents near the cap are the keenest to spend
        ref = max(
            (earners[self.rng.randrange(len(earners))] for _ in range(3)),
            key=self.balance.__getitem__,
        )
        return ref if self.balance[ref] >= at_least else None

    def _redeem(self, community: str) -> Iterator[Planned]:
        catalogue = self.policy["catalogue"]
        ref = self._pick_earner(community, min(i["points"] for i in catalogue))
        if ref is None:
            return
        affordable = [i for i in catalogue if i["points"] <= self.balance[ref]]
        item = affordable[self.rng.randrange(len(affordable))]
        body = {"resident_ref": ref, "item": item["item"], "points": item["points"]}
        p = self._p("credit.redeem", body, self.keys.service_desk)
        self._spend(ref, item["points"])
        yield p

    def _transfer(self, community: str, scale: int) -> Iterator[Planned]:
        """A resident gives points to a family member (the relation is checked off-log)."""
        rng = self.rng
        points = rng.choice((20, 30, 50, 100))
        src = self._pick_earner(community, points)
        if src is None:
            return
        pool = POOL_PER_SCALE * scale
        dst = self._residents(community, pool)[rng.randrange(pool)]
        if dst == src or self.balance.get(dst, 0) + points > self.policy["balance_cap_points"]:
            return
        relations = self.policy["transfer_relations"]
        body = {
            "from_ref": src,
            "to_ref": dst,
            "points": points,
            "relation": relations[rng.randrange(len(relations))],
        }
        p = self._p("credit.transfer", body, self.keys.service_desk)
        if dst not in self.balance:
            self.earners[community].append(dst)
        for month, c, taken in self._spend(src, points):
            self._earn(dst, month, c, taken)
        yield p
