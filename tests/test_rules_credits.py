"""Focused tests of the volunteer-credit rules of the rulebook (FORMAT.md §10.4): activities,
awards, caps, expiry, redemption and transfers, the order in which these rules are checked,
and their effects (FIFO spending, transfers keeping months, expiry, corrections, invariants).

Driven through the verifier's own :class:`verifier.rules.log_state.LogState` on hand-built,
really signed lines (:class:`tests.rulebook_builder.LogBuilder`): no database, fast.
"""

from __future__ import annotations

import pytest

from verifier.rules import DomainRules, Posting

from .rulebook_builder import LogBuilder, invariant_problems
from .rulebook_ops import (
    Op,
    activity_op,
    amend_op,
    approve_op,
    award_op,
    correct_op,
    expire_op,
    policy_op,
    propose_op,
    redeem_op,
    reverse_op,
    transfer_op,
)
from .rules_cases import R0, R1, R2, balance, earn, fails, fund, lots, rules, with_contract


@pytest.fixture
def b() -> LogBuilder:
    """Genesis, grants, policy v1 (threshold 100,000 fen; caps 40/day, 30/activity, 100
    balance; expiry 2 months), parties Q1, Q2 (communities), P1 (company), P2 (社会组织);
    log time 2026-05-04 08:00 UTC."""
    return LogBuilder.standard()


# -- activities and credits (§10.4) ----------------------------------------------------------


def test_activity_duplicate(b: LogBuilder) -> None:
    b.submit(activity_op("A1", "Q1", "助老", b.today))
    fails(b, activity_op("A1", "Q2", "环保", b.today), "activity.duplicate", "activity_id")
    # The community is checked before the id.
    fails(b, activity_op("A1", "P1", "助老", b.today), "party.type", "community")


def test_activity_category(b: LogBuilder) -> None:
    fails(b, activity_op("A1", "Q1", "文化", b.today), "activity.category", "category")
    b.submit(activity_op("A1", "Q1", "环保", b.today))
    b.submit(policy_op(2, credit_rates=[{"category": "文化", "points_per_hour": 5}]))
    b.submit(activity_op("A2", "Q1", "文化", b.today))
    fails(b, activity_op("A3", "Q1", "助老", b.today), "activity.category", "category")


def test_activity_unknown(b: LogBuilder) -> None:
    fails(b, award_op(R0, "A9", 60), "activity.unknown", "activity_id")
    _, idx = earn(b, R0, 5)
    fails(b, correct_op(idx, R0, "A9", 60), "activity.unknown", "activity_id")


def test_credit_organiser(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 5)
    fails(b, award_op(R1, aid, 60, signer="organiser2"), "credit.organiser", "activity_id")
    fails(b, correct_op(idx, R0, aid, 60, signer="organiser2"), "credit.organiser", "activity_id")
    b.submit(award_op(R1, aid, 60))
    earn(b, R2, 5, organiser="organiser2")  # each organiser records their own activities


def test_credit_too_early(b: LogBuilder) -> None:
    b.submit(activity_op("A1", "Q1", "助老", "2026-05-05"))
    fails(b, award_op(R0, "A1", 60), "credit.too_early", "activity_id")
    b.at("2026-05-05")  # on the day of the service
    b.submit(award_op(R0, "A1", 60))


def test_credit_too_late(b: LogBuilder) -> None:
    b.submit(activity_op("A1", "Q1", "助老", "2026-05-04"))
    idx = b.submit(award_op(R0, "A1", 60))
    b.at("2026-07-03")  # the activity's date + 60 days: the last day
    b.submit(award_op(R1, "A1", 60))
    b.submit(correct_op(idx, R0, "A1", 30))
    b.at("2026-07-04")
    fails(b, award_op(R2, "A1", 60), "credit.too_late", "activity_id", same_state=False)
    fails(b, correct_op(idx, R0, "A1", 60), "credit.too_late", "activity_id", same_state=False)
    # The activity's award records are forgotten: it is closed.
    assert rules(b).credits.activities["A1"].awards is None
    assert lots(b, R0) == (("2026-05", "Q1", 5),)


def test_credit_duplicate(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 5)
    fails(b, award_op(R0, aid, 30), "credit.duplicate", "resident_ref")
    b.submit(award_op(R1, aid, 30))
    b.submit(correct_op(idx, R0, aid, 0))  # even a cancelled award is corrected, not redone
    fails(b, award_op(R0, aid, 30), "credit.duplicate", "resident_ref")


def test_credit_category(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 5)
    b.submit(policy_op(2, credit_rates=[{"category": "环保", "points_per_hour": 20}]))
    fails(b, award_op(R1, aid, 60), "credit.category", "activity_id")
    fails(b, correct_op(idx, R0, aid, 60), "credit.category", "activity_id")
    b.submit(policy_op(3))
    b.submit(award_op(R1, aid, 60))


def test_credit_activity_cap(b: LogBuilder) -> None:
    b.submit(activity_op("A1", "Q1", "助老", b.today))
    b.submit(activity_op("A2", "Q1", "环保", b.today))
    fails(b, award_op(R0, "A1", 186), "credit.activity_cap", "minutes")  # 31 points
    idx = b.submit(award_op(R0, "A1", 185))  # 30 points: exactly the cap
    fails(b, award_op(R1, "A2", 93), "credit.activity_cap", "minutes")  # 环保: 31 points
    b.submit(award_op(R1, "A2", 90))
    fails(b, correct_op(idx, R0, "A1", 186), "credit.activity_cap", "minutes")
    assert lots(b, R0) == (("2026-05", "Q1", 30),)


def test_credit_points(b: LogBuilder) -> None:
    b.submit(activity_op("A1", "Q1", "助老", b.today))
    b.submit(activity_op("A2", "Q1", "环保", b.today))
    fails(b, award_op(R0, "A1", 5), "credit.points", "minutes")  # ⌊5 × 10 / 60⌋ = 0
    b.submit(award_op(R0, "A1", 6))
    fails(b, award_op(R0, "A2", 2), "credit.points", "minutes")  # ⌊2 × 20 / 60⌋ = 0
    b.submit(award_op(R0, "A2", 3))
    assert lots(b, R0) == (("2026-05", "Q1", 2),)


def test_credit_daily_cap(b: LogBuilder) -> None:
    day = b.today
    for aid in ("A1", "A2", "A3"):
        b.submit(activity_op(aid, "Q1", "助老", day))
    b.submit(activity_op("A4", "Q1", "助老", "2026-05-03"))
    b.submit(award_op(R0, "A1", 180))  # 30
    idx = b.submit(award_op(R0, "A2", 60))  # 10: exactly the daily cap of 40
    fails(b, award_op(R0, "A3", 6), "credit.daily_cap", "minutes")
    fails(b, correct_op(idx, R0, "A2", 66), "credit.daily_cap", "minutes")
    b.submit(award_op(R1, "A3", 180))  # another resident
    b.submit(award_op(R0, "A4", 180))  # another date
    b.submit(correct_op(idx, R0, "A2", 54))  # 9: room for one point
    b.submit(award_op(R0, "A3", 6))
    assert rules(b).credits.daily_points(R0, day) == 40


def test_credit_balance_cap(b: LogBuilder) -> None:
    for day, pts in (("2026-04-20", 30), ("2026-04-21", 30), ("2026-04-22", 30)):
        earn(b, R0, pts, day)
    aid, idx = earn(b, R0, 9, "2026-04-23")
    earn(b, R1, 10)
    b.submit(correct_op(idx, R0, aid, 60))  # 10: the balance is exactly the cap of 100
    assert balance(b, R0) == 100
    b.submit(activity_op("A-cap", "Q1", "助老", b.today))
    fails(b, award_op(R0, "A-cap", 6), "credit.balance_cap", "resident_ref")
    fails(b, correct_op(idx, R0, aid, 66), "credit.balance_cap", "resident_ref")
    fails(b, transfer_op(R1, R0, 1), "credit.balance_cap", "to_ref")
    b.submit(redeem_op(R0, "鸡蛋", 5))
    b.submit(transfer_op(R1, R0, 5))  # back to exactly the cap
    assert (balance(b, R0), balance(b, R1)) == (100, 5)
    fails(b, transfer_op(R1, R0, 1), "credit.balance_cap", "to_ref")


def test_credit_expired(b: LogBuilder) -> None:
    b.at("2026-05-31")
    aid, idx = earn(b, R0, 10)  # earned in 2026-05
    b.submit(activity_op("A-late", "Q1", "助老", "2026-05-31"))
    b.submit(activity_op("A-june", "Q1", "助老", "2026-06-01"))
    b.at("2026-07-01")
    b.submit(expire_op("2026-05"))  # 2026-05 + 2 months ≤ 2026-07
    assert lots(b, R0) == ()
    # Still inside the award window (until 2026-07-30), but 2026-05 has expired.
    fails(b, award_op(R1, "A-late", 60), "credit.expired", "activity_id")
    fails(b, correct_op(idx, R0, aid, 120), "credit.expired", "activity_id")
    fails(b, correct_op(idx, R0, aid, 30), "credit.insufficient", "minutes")
    b.submit(correct_op(idx, R0, aid, 60))  # unchanged: nothing to check
    b.submit(award_op(R1, "A-june", 60))
    assert lots(b, R1) == (("2026-06", "Q1", 10),)


def test_credit_award_unknown(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 5)
    _, other = earn(b, R1, 5)
    fails(b, correct_op(other, R0, aid, 60), "credit.award_unknown", "award_index")
    fails(b, correct_op(idx, R1, aid, 60), "credit.award_unknown", "award_index")
    fails(b, correct_op(idx + 1000, R0, aid, 60), "credit.award_unknown", "award_index")
    b.submit(correct_op(idx, R0, aid, 60))


def test_credit_insufficient(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 30)
    fails(b, redeem_op(R1, "鸡蛋", 5), "credit.insufficient", "resident_ref")
    b.submit(redeem_op(R0, "理发券", 20))
    fails(b, transfer_op(R0, R1, 11), "credit.insufficient", "from_ref")
    # Only 10 of the 30 points are left: the award cannot be cut by 20.
    fails(b, correct_op(idx, R0, aid, 60), "credit.insufficient", "minutes")
    b.submit(correct_op(idx, R0, aid, 120))  # by 10: exactly what is left
    assert balance(b, R0) == 0
    fails(b, redeem_op(R0, "鸡蛋", 5), "credit.insufficient", "resident_ref")
    earn(b, R0, 5)
    b.submit(redeem_op(R0, "鸡蛋", 5))  # exactly the balance
    assert lots(b, R0) == ()


def test_credit_catalogue_and_price(b: LogBuilder) -> None:
    earn(b, R0, 30)
    fails(b, redeem_op(R0, "现金", 5), "credit.catalogue", "item")
    fails(b, redeem_op(R0, "理发券", 19), "credit.price", "points")
    fails(b, redeem_op(R0, "理发券", 21), "credit.price", "points")
    # The price is checked before the balance.
    fails(b, redeem_op(R1, "理发券", 21), "credit.price", "points")
    b.submit(redeem_op(R0, "理发券", 20))
    b.submit(policy_op(2, catalogue=[{"item": "理发券", "points": 10}]))
    fails(b, redeem_op(R0, "鸡蛋", 5), "credit.catalogue", "item")
    fails(b, redeem_op(R0, "理发券", 20), "credit.price", "points")
    b.submit(redeem_op(R0, "理发券", 10))


def test_credit_transfer_forbidden(b: LogBuilder) -> None:
    earn(b, R0, 30)
    fails(b, transfer_op(R0, R1, 5, "父母"), "credit.transfer_forbidden", "relation")
    b.submit(transfer_op(R0, R1, 5, "子女"))
    b.submit(policy_op(2, transfer_relations=[]))  # empty: no transfers at all
    fails(b, transfer_op(R0, R1, 5, "配偶"), "credit.transfer_forbidden", "relation")


def test_credit_transfer_self(b: LogBuilder) -> None:
    earn(b, R0, 30)
    fails(b, transfer_op(R0, R0, 5), "credit.transfer_self", "to_ref")
    fails(b, transfer_op(R1, R1, 5), "credit.transfer_self", "to_ref")  # before the balance


def test_credit_expire_order(b: LogBuilder) -> None:
    b.at("2026-08-01")
    b.submit(expire_op("2026-05"))
    fails(b, expire_op("2026-05"), "credit.expire_order", "through_month")
    fails(b, expire_op("2026-04"), "credit.expire_order", "through_month")
    b.submit(expire_op("2026-06"))
    assert rules(b).credits.expired_through == "2026-06"


def test_credit_expire_early(b: LogBuilder) -> None:
    b.at("2026-07-31")
    fails(b, expire_op("2026-06"), "credit.expire_early", "through_month")  # valid through 07
    b.submit(expire_op("2026-05"))  # valid through 2026-06: expires in 2026-07
    b.at("2026-08-01")
    b.submit(expire_op("2026-06"))


@pytest.mark.parametrize(
    ("op", "rule", "fld"),
    [
        # credit.award: activity, organiser, dates, duplicate, rate, caps, points, expiry.
        (award_op(R1, "A9", 999, signer="organiser2"), "activity.unknown", "activity_id"),
        (award_op(R1, "A-next", 999, signer="organiser2"), "credit.organiser", "activity_id"),
        (award_op(R1, "A-next", 999), "credit.too_early", "activity_id"),
        (award_op(R0, "A-now", 999), "credit.duplicate", "resident_ref"),
        (award_op(R1, "A-now", 999), "credit.activity_cap", "minutes"),
        (award_op(R0, "A-now3", 5), "credit.points", "minutes"),
        (award_op(R0, "A-now3", 6), "credit.daily_cap", "minutes"),
        # credit.correct: … then the award itself, before the new points.
        (correct_op(3, R0, "A-now", 999), "credit.award_unknown", "award_index"),
        # credit.redeem: catalogue, price, balance.
        (redeem_op(R1, "现金", 999), "credit.catalogue", "item"),
        (redeem_op(R1, "鸡蛋", 999), "credit.price", "points"),
        # credit.transfer: relation, self, receiver's cap, sender's balance.
        (transfer_op(R1, R1, 999, "父母"), "credit.transfer_forbidden", "relation"),
        (transfer_op(R1, R1, 999), "credit.transfer_self", "to_ref"),
        (transfer_op(R1, R0, 61), "credit.balance_cap", "to_ref"),
        (transfer_op(R1, R0, 60), "credit.insufficient", "from_ref"),
        # credit.expire: order, then age (nothing expired yet: any month is in order).
        (expire_op("2026-05"), "credit.expire_early", "through_month"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_credit_rules_are_checked_in_the_order_listed(
    b: LogBuilder, op: Op, rule: str, fld: str
) -> None:
    b.submit(activity_op("A-now", "Q1", "助老", b.today))
    b.submit(activity_op("A-now2", "Q1", "助老", b.today))
    b.submit(activity_op("A-now3", "Q1", "助老", b.today))
    b.submit(activity_op("A-next", "Q1", "助老", "2026-05-05"))
    b.submit(award_op(R0, "A-now", 180))  # 30 points
    b.submit(award_op(R0, "A-now2", 60))  # 10: R0 is at the daily cap of 40
    fails(b, op, rule, fld)


@pytest.mark.parametrize(
    ("op", "fld"),
    [
        (expire_op("２０２６-05"), "through_month"),  # full-width digits
        (expire_op("٢٠٢٦-05"), "through_month"),  # Arabic-Indic digits
        (activity_op("A1", "Q1", "助老", "２０２６-05-04"), "date"),
    ],
    ids=["fullwidth-month", "arabic-indic-month", "fullwidth-date"],
)
def test_months_and_dates_are_ascii(b: LogBuilder, op: Op, fld: str) -> None:
    """A month of non-ASCII digits would sort after every real month: one credit.expire of
    it would expire every lot and fail every later award [credit.expired]."""
    err = b.error(op)
    assert (err.rule, err.field) == ("entry.body", f"statement.body.{fld}")


# -- effects (§10.4) -------------------------------------------------------------------------


def test_spending_takes_the_oldest_lots_first() -> None:
    seen: list[Posting] = []
    b = LogBuilder.standard(rulebook=DomainRules(observer=seen.append))
    b.at("2026-06-30")
    earn(b, R0, 10, "2026-05-10", "Q2")
    earn(b, R0, 10, "2026-05-10", "Q1")
    earn(b, R0, 20, "2026-06-05", "Q1")
    assert lots(b, R0) == (("2026-05", "Q1", 10), ("2026-05", "Q2", 10), ("2026-06", "Q1", 20))
    b.submit(redeem_op(R0, "鸡蛋", 5))
    assert lots(b, R0) == (("2026-05", "Q1", 5), ("2026-05", "Q2", 10), ("2026-06", "Q1", 20))
    seen.clear()
    i = b.submit(redeem_op(R0, "理发券", 20))
    assert lots(b, R0) == (("2026-06", "Q1", 15),)
    assert [(p.index, p.event, p.amount, p.community) for p in seen] == [
        (i, "credit.redeemed", 5, "Q1"),
        (i, "credit.redeemed", 10, "Q2"),
        (i, "credit.redeemed", 5, "Q1"),
    ]


def test_a_transfer_keeps_the_months_it_was_earned_in(b: LogBuilder) -> None:
    b.at("2026-06-20")
    earn(b, R0, 10, "2026-05-10", "Q1")
    earn(b, R0, 20, "2026-06-05", "Q2")
    earn(b, R1, 5, "2026-06-05", "Q1")
    b.submit(transfer_op(R0, R1, 15))
    assert lots(b, R0) == (("2026-06", "Q2", 15),)
    assert lots(b, R1) == (("2026-05", "Q1", 10), ("2026-06", "Q1", 5), ("2026-06", "Q2", 5))
    b.at("2026-07-01")
    b.submit(expire_op("2026-05"))  # the transferred May points expire with May
    assert lots(b, R1) == (("2026-06", "Q1", 5), ("2026-06", "Q2", 5))
    assert lots(b, R0) == (("2026-06", "Q2", 15),)


def test_expiry_removes_exactly_the_lots_through_the_month(b: LogBuilder) -> None:
    earn(b, R0, 10, "2026-04-10")
    earn(b, R0, 10, "2026-05-04", "Q2")
    earn(b, R1, 7, "2026-05-04")
    earn(b, R2, 3, "2026-04-30")
    b.at("2026-06-05")
    earn(b, R0, 10, "2026-06-05")
    earn(b, R2, 4, "2026-06-05", "Q2")
    b.at("2026-07-01")
    i = b.submit(expire_op("2026-05"))
    assert rules(b).credits.expired_through == "2026-05"
    assert lots(b, R0) == (("2026-06", "Q1", 10),)
    assert lots(b, R1) == ()
    assert lots(b, R2) == (("2026-06", "Q2", 4),)
    assert b.entry(i).statement.kind == "credit.expire"


def test_corrections_change_the_lot_and_the_daily_points(b: LogBuilder) -> None:
    aid, idx = earn(b, R0, 10)
    b.submit(correct_op(idx, R0, aid, 120))
    assert lots(b, R0) == (("2026-05", "Q1", 20),)
    assert rules(b).credits.daily_points(R0, b.today) == 20
    award = rules(b).credits.award_of(aid, R0)
    assert award is not None
    assert (award.index, award.minutes, award.points) == (idx, 120, 20)
    b.submit(correct_op(idx, R0, aid, 0))  # cancels
    assert lots(b, R0) == () and rules(b).credits.daily_points(R0, b.today) == 0
    b.submit(correct_op(idx, R0, aid, 30))  # and back
    assert lots(b, R0) == (("2026-05", "Q1", 5),)
    # The original award entry is untouched (a correction compensates).
    assert b.entry(idx).statement.body["minutes"] == 60


def test_invariants_hold_after_a_mixed_sequence(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 99_999))
    b.submit(propose_op("p2", "C1", "m2", 150_000))
    b.submit(approve_op("p2"))
    b.submit(reverse_op("p1"))
    b.submit(amend_op("M1", "C1", [("m1", 1), ("m2", 150_000)]))
    earn(b, R0, 30)
    b.submit(transfer_op(R0, R1, 12))
    assert not invariant_problems(rules(b))
    assert fund(b, "F1") == (1_000_000, 150_001, 150_000)
