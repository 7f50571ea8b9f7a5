"""Volunteer activities and resident credits (志愿服务积分): the credit rules (FORMAT.md §10.4).

Residents appear only as ``resident_ref`` pseudonyms. A resident's credits are held in *lots*
``(month earned, community, points)``, oldest first (:mod:`verifier.rules.credit_lots`);
redemptions and transfers spend the oldest lots first (FIFO), transfers keep the month a
point was earned (so a transfer never extends its life), and ``credit.expire`` removes every
lot earned in or before a month once the policy's expiry period has passed. This module holds
the state and the awarding kinds (``activity.register``, ``credit.award``,
``credit.correct``); the spending kinds are :mod:`verifier.rules.credit_spending`'s.

Invariants at every index: every lot is positive; a balance never exceeds the policy's
balance cap when points are added; per resident and activity there is at most one award, of
at most the activity cap; per resident and activity date the awards sum to at most the daily
cap.

Memory. Per-activity award records and daily totals are needed only while awards and
corrections may still arrive (:data:`~verifier.rules.policy.AWARD_WINDOW_DAYS` after the
activity date). After that the activity is *closed*: its award records and daily totals are
dropped. Which entries are valid never depends on when that happens, because the date rule
rejects a late award or correction before the records are consulted.

Pure: no I/O. Cost: O(1) per award; O(lots of the resident) per redemption, transfer or
correction; O(residents) per expiry run.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from sys import intern

from verifier.core.entry import Entry
from verifier.rules._fail import rule_error
from verifier.rules.credit_lots import Lot, _add_lot, balance_of
from verifier.rules.credit_spending import CreditSpending
from verifier.rules.journal import Journal, assign, drop, put
from verifier.rules.policy import AWARD_WINDOW_DAYS, Policy
from verifier.rules.postings import Posting

#: ``Lot`` and ``balance_of`` live in :mod:`verifier.rules.credit_lots`; importers may take
#: them from here too.
__all__ = ["Activity", "Award", "CreditBook", "Lot", "balance_of"]


@dataclass(frozen=True, slots=True)
class Award:
    """The award of one resident for one activity, as corrected so far."""

    index: int
    minutes: int
    points: int

    def pack(self) -> int:
        """One int (index ‖ 12 bits of minutes ‖ 20 bits of points): about a third of the
        memory of the tuple, for the hundreds of thousands of awards an open window holds."""
        return self.index << 32 | self.minutes << 20 | self.points

    @classmethod
    def unpack(cls, packed: int) -> Award:
        return cls(packed >> 32, packed >> 20 & 0xFFF, packed & 0xFFFFF)


@dataclass(slots=True)
class Activity:
    """A registered volunteer activity. ``awards`` is ``None`` once the activity is closed."""

    activity_id: str
    community: str
    category: str
    date: str
    last_day: str
    organiser: str
    index: int
    #: resident → :meth:`Award.pack`; ``None`` once closed.
    awards: dict[str, int] | None = field(default_factory=dict)


@dataclass(slots=True)
class CreditBook(CreditSpending):
    """Replayed state of activities and resident credits. Awarding is here; redeeming,
    transferring and expiring are :class:`~verifier.rules.credit_spending.CreditSpending`'s."""

    activities: dict[str, Activity] = field(default_factory=dict)
    lots: dict[str, tuple[Lot, ...]] = field(default_factory=dict)
    #: activity date → resident → points awarded for that day, while the date is open.
    daily: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The last month a ``credit.expire`` run covered ("" before the first run).
    expired_through: str = ""
    #: (last day, activity id) of activities not yet closed.
    _open: list[tuple[str, str]] = field(default_factory=list)

    def balance(self, resident: str) -> int:
        """The resident's current points. O(lots)."""
        return balance_of(self.lots.get(resident, ()))

    def award_of(self, activity_id: str, resident: str) -> Award | None:
        """The resident's award for an open activity (``None`` if none or closed). O(1)."""
        act = self.activities.get(activity_id)
        packed = None if act is None or act.awards is None else act.awards.get(resident)
        return None if packed is None else Award.unpack(packed)

    def daily_points(self, resident: str, day: str) -> int:
        """Points awarded to the resident for activities dated ``day`` (while open). O(1)."""
        return self.daily.get(day, {}).get(resident, 0)

    def _add_daily(self, j: Journal | None, day: str, resident: str, points: int) -> None:
        per_day = self.daily.get(day)
        if per_day is None:
            per_day = {}
            put(j, self.daily, day, per_day)
        put(j, per_day, resident, per_day.get(resident, 0) + points)

    # -- checks shared by several kinds ---------------------------------------------------

    def _activity_for_service(self, entry: Entry, *, correcting: bool) -> Activity:
        """The activity an award or correction refers to, if its signer and date allow it."""
        b = entry.statement.body
        act = self.activities.get(b["activity_id"])
        if act is None:
            raise rule_error(
                "activity.unknown",
                f"activity {b['activity_id']} is not registered; 活动未登记",
                entry,
                "activity_id",
            )
        if entry.statement.signer != act.organiser:
            raise rule_error(
                "credit.organiser",
                f"activity {act.activity_id} was registered by key {act.organiser}; only its "
                f"organiser records its service; 须由活动组织者记录",
                entry,
                "activity_id",
            )
        today = entry.log_time[:10]
        if today < act.date:
            raise rule_error(
                "credit.too_early",
                f"activity {act.activity_id} takes place on {act.date}; 活动尚未开展",
                entry,
                "activity_id",
            )
        if today > act.last_day:
            what = "corrected" if correcting else "awarded"
            raise rule_error(
                "credit.too_late",
                f"activity {act.activity_id} of {act.date} can be {what} until "
                f"{act.last_day or 'no day: its window would end after 9999-12-31'}; 已超过记录期限",
                entry,
                "activity_id",
            )
        return act

    def _check_add(
        self, entry: Entry, policy: Policy, resident: str, act: Activity, day_points: int, add: int
    ) -> None:
        """Rules for adding ``add`` points to ``resident`` for ``act``."""
        if day_points + add > policy.daily_cap_points:
            raise rule_error(
                "credit.daily_cap",
                f"{day_points} + {add} points on {act.date} exceed the daily cap of "
                f"{policy.daily_cap_points}; 超出每日积分上限",
                entry,
                "minutes",
            )
        bal = self.balance(resident)
        if bal + add > policy.balance_cap_points:
            raise rule_error(
                "credit.balance_cap",
                f"balance {bal} + {add} points exceed the cap of {policy.balance_cap_points}; 超出积分存储上限",
                entry,
                "resident_ref",
            )
        if act.date[:7] <= self.expired_through:
            raise rule_error(
                "credit.expired",
                f"points earned in {act.date[:7]} have already expired (through {self.expired_through}); 积分已过期",
                entry,
                "activity_id",
            )

    def _points(self, entry: Entry, policy: Policy, act: Activity, minutes: int) -> int:
        points = policy.points_for(act.category, minutes)
        if points is None:
            raise rule_error(
                "credit.category",
                f"the policy has no credit rate for {act.category!r}; 政策未规定该类别积分标准",
                entry,
                "activity_id",
            )
        if points > policy.activity_cap_points:
            raise rule_error(
                "credit.activity_cap",
                f"{points} points exceed the per-activity cap of {policy.activity_cap_points}; 超出单次活动积分上限",
                entry,
                "minutes",
            )
        return points

    def _close_finished(self, today: str, j: Journal | None) -> None:
        """Close every activity whose last day is before ``today`` (drops its records)."""
        heap = self._open
        while heap and heap[0][0] < today:
            item = heapq.heappop(heap)
            if j is not None:
                j.call_on_rollback(partial(heapq.heappush, heap, item))
            act = self.activities[item[1]]
            drop(j, self.daily, act.date)  # every activity of that date closes now
            assign(j, act, "awards", None)

    # -- kinds ------------------------------------------------------------------------------

    def register(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        """``activity.register``; the caller has checked that the community is registered."""
        b = entry.statement.body
        if b["activity_id"] in self.activities:
            raise rule_error(
                "activity.duplicate",
                f"activity_id {b['activity_id']} is already used; 编号重复",
                entry,
                "activity_id",
            )
        if b["category"] not in policy.rates:
            raise rule_error(
                "activity.category",
                f"category {b['category']!r} has no credit rate in policy v{policy.version}; 类别不在政策内",
                entry,
                "category",
            )
        try:
            last = (date.fromisoformat(b["date"]) + timedelta(days=AWARD_WINDOW_DAYS)).isoformat()
        except OverflowError:  # FORMAT.md §10.4: a window ending after 9999-12-31 admits no
            last = ""  # award or correction ([credit.too_late]), and closes at once
        # Interned: thousands of activities share a few communities, categories and days.
        act = Activity(
            b["activity_id"],
            intern(b["community"]),
            intern(b["category"]),
            intern(b["date"]),
            intern(last),
            intern(entry.statement.signer),
            entry.index,
        )
        put(j, self.activities, act.activity_id, act)
        heapq.heappush(self._open, (last, act.activity_id))
        if j is not None:
            j.call_on_rollback(lambda: self._unopen((last, act.activity_id)))
        return []

    def _unopen(self, item: tuple[str, str]) -> None:
        """Undo the heap push of a rolled-back registration. O(open activities)."""
        self._open.remove(item)
        heapq.heapify(self._open)

    def award(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._close_finished(entry.log_time[:10], j)
        act = self._activity_for_service(entry, correcting=False)
        resident = intern(b["resident_ref"])  # one str per resident across all maps
        assert act.awards is not None  # open: the date rule passed
        if resident in act.awards:
            raise rule_error(
                "credit.duplicate",
                f"resident already has an award for activity {act.activity_id} (entry "
                f"{Award.unpack(act.awards[resident]).index}); correct it instead; 同一活动不得重复记录",
                entry,
                "resident_ref",
            )
        points = self._points(entry, policy, act, b["minutes"])
        if points < 1:
            raise rule_error(
                "credit.points",
                f"{b['minutes']} minutes earn no points; 服务时长不足以获得积分",
                entry,
                "minutes",
            )
        self._check_add(entry, policy, resident, act, self.daily_points(resident, act.date), points)
        put(j, act.awards, resident, Award(entry.index, b["minutes"], points).pack())
        self._add_daily(j, act.date, resident, points)
        put(
            j,
            self.lots,
            resident,
            _add_lot(self.lots.get(resident, ()), act.date[:7], act.community, points),
        )
        return [
            Posting(
                entry.index,
                "credit.awarded",
                points,
                community=act.community,
                resident=resident,
                activity=act.activity_id,
            )
        ]

    def correct(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._close_finished(entry.log_time[:10], j)
        act = self._activity_for_service(entry, correcting=True)
        resident = intern(b["resident_ref"])
        assert act.awards is not None
        packed = act.awards.get(resident)
        award = None if packed is None else Award.unpack(packed)
        if award is None or award.index != b["award_index"]:
            raise rule_error(
                "credit.award_unknown",
                f"entry {b['award_index']} is not this resident's award for activity {act.activity_id}; 原记录不存在",
                entry,
                "award_index",
            )
        points = self._points(entry, policy, act, b["minutes"])
        delta = points - award.points
        month = act.date[:7]
        if delta > 0:
            self._check_add(
                entry, policy, resident, act, self.daily_points(resident, act.date), delta
            )
        elif delta < 0:
            held = next(
                (p for m, c, p in self.lots.get(resident, ()) if (m, c) == (month, act.community)),
                0,
            )
            if held < -delta:
                raise rule_error(
                    "credit.insufficient",
                    f"the correction removes {-delta} points but only {held} earned in {month} remain "
                    f"(spent, transferred or expired); 积分已使用,无法冲减",
                    entry,
                    "minutes",
                )
        put(j, act.awards, resident, Award(award.index, b["minutes"], points).pack())
        self._add_daily(j, act.date, resident, delta)
        put(
            j,
            self.lots,
            resident,
            _add_lot(self.lots.get(resident, ()), month, act.community, delta),
        )
        return [
            Posting(
                entry.index,
                "credit.corrected",
                delta,
                community=act.community,
                resident=resident,
                activity=act.activity_id,
            )
        ]
