"""Spending resident credits: ``credit.redeem``, ``credit.transfer`` and ``credit.expire``
(FORMAT.md §10.4).

Redemptions and transfers spend the oldest lots first (FIFO); a transfer keeps the month a
point was earned, so it never extends the point's life; ``credit.expire`` removes every lot
earned in or before a month once the policy's expiry period has passed.

:class:`CreditSpending` is a mixin of :class:`verifier.rules.credits.CreditBook`, which holds
the state (``lots``, ``expired_through``) and awards the points these rules spend. Pure: no
I/O. Cost: O(lots of the resident) per redemption or transfer; O(residents) per expiry run.
"""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING

from verifier.core.entry import Entry
from verifier.rules._fail import rule_error
from verifier.rules.credit_lots import Lot, _add_lot, _month_number, _take_oldest, balance_of
from verifier.rules.journal import Journal, assign, put
from verifier.rules.policy import Policy
from verifier.rules.postings import Posting


class CreditSpending:
    """The spending kinds of :class:`~verifier.rules.credits.CreditBook` (no state of its own)."""

    __slots__ = ()

    # State and queries of the CreditBook this is mixed into.
    lots: dict[str, tuple[Lot, ...]]
    expired_through: str

    if TYPE_CHECKING:

        def balance(self, resident: str) -> int: ...

    def redeem(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        price = policy.catalogue.get(b["item"])
        if price is None:
            raise rule_error(
                "credit.catalogue",
                f"{b['item']!r} is not in the policy's catalogue; 兑换项目不在目录内",
                entry,
                "item",
            )
        if b["points"] != price:
            raise rule_error(
                "credit.price",
                f"{b['item']} costs {price} points, not {b['points']}; 兑换积分与目录不符",
                entry,
                "points",
            )
        resident = b["resident_ref"]
        taken = self._spend(entry, resident, b["points"], j)
        return [
            Posting(entry.index, "credit.redeemed", p, community=c, resident=resident)
            for _, c, p in taken
        ]

    def transfer(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        if b["relation"] not in policy.transfer_relations:
            raise rule_error(
                "credit.transfer_forbidden",
                f"policy v{policy.version} does not allow transfers to {b['relation']}; 政策不允许此转赠",
                entry,
                "relation",
            )
        src, dst = b["from_ref"], intern(b["to_ref"])
        if src == dst:
            raise rule_error(
                "credit.transfer_self",
                "from_ref and to_ref are the same resident; 不得转给本人",
                entry,
                "to_ref",
            )
        dst_balance = self.balance(dst)
        if dst_balance + b["points"] > policy.balance_cap_points:
            raise rule_error(
                "credit.balance_cap",
                f"the receiver's balance {dst_balance} + {b['points']} points exceed the cap of "
                f"{policy.balance_cap_points}; 超出积分存储上限",
                entry,
                "to_ref",
            )
        taken = self._spend(entry, src, b["points"], j, fld="from_ref")
        lots = self.lots.get(dst, ())
        for m, c, p in taken:
            lots = _add_lot(lots, m, c, p)
        put(j, self.lots, dst, lots)
        out = [
            Posting(entry.index, "credit.transferred_out", p, community=c, resident=src)
            for _, c, p in taken
        ]
        out += [
            Posting(entry.index, "credit.transferred_in", p, community=c, resident=dst)
            for _, c, p in taken
        ]
        return out

    def expire(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        through = entry.statement.body["through_month"]
        if through <= self.expired_through:
            raise rule_error(
                "credit.expire_order",
                f"points were already expired through {self.expired_through}; 过期处理须按月份递增",
                entry,
                "through_month",
            )
        now = entry.log_time[:7]
        if _month_number(through) + policy.expiry_months > _month_number(now):
            raise rule_error(
                "credit.expire_early",
                f"points earned in {through} are valid for {policy.expiry_months} months, past {now}; 积分尚未到期",
                entry,
                "through_month",
            )
        out: list[Posting] = []
        for resident, lots in list(self.lots.items()):
            if not lots or lots[0][0] > through:
                continue
            keep = tuple(lot for lot in lots if lot[0] > through)
            out += [
                Posting(entry.index, "credit.expired", p, community=c, resident=resident)
                for m, c, p in lots
                if m <= through
            ]
            put(j, self.lots, resident, keep)
        assign(j, self, "expired_through", through)
        return out

    def _spend(
        self, entry: Entry, resident: str, points: int, j: Journal | None, fld: str = "resident_ref"
    ) -> list[Lot]:
        lots = self.lots.get(resident, ())
        bal = balance_of(lots)
        if points > bal:
            raise rule_error(
                "credit.insufficient",
                f"{points} points asked, balance is {bal}; 积分余额不足",
                entry,
                fld,
            )
        rest, taken = _take_oldest(lots, points)
        put(j, self.lots, resident, rest)
        return taken
