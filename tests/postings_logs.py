"""Logs for the ``postings`` index tests (tests/test_postings_index.py): hypothesis
strategies of random groups of requests — funds, donations, contracts, amendments, payments,
activities, credit awards, corrections, redemptions, transfers, expiry runs and clock jumps,
many of them invalid — a fixed busy log with every kind, and :func:`play`, which appends
them to a :class:`~tests.rulebook_ledger.LedgerDriver`."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from ledger.records import InvalidEntry

from .rulebook_ledger import LedgerDriver
from .rulebook_ops import (
    Op,
    activity_op,
    add_months,
    amend_op,
    approve_op,
    award_op,
    contract_op,
    correct_op,
    donate_op,
    expire_op,
    fund_op,
    propose_op,
    redeem_op,
    reject_op,
    resident,
    reverse_op,
    transfer_op,
)

FUNDS = ("F1", "F2")
CONTRACTS = ("K1", "K2", "K3")
PAYMENTS = tuple(f"PAY{k}" for k in range(5))
RESIDENTS = tuple(resident(k) for k in range(4))
ACTIVITIES = ("A1", "A2", "A3")

#: An action: the driver → the statement to submit, or ``None`` (the clock moved).
Action = Callable[[LedgerDriver], Op | None]


def _const(op: Op) -> Action:
    return lambda d: op


def _advance(days: int) -> Action:
    def go(d: LedgerDriver) -> None:
        d.advance(days=days)

    return go


def _activity(aid: str, community: str, category: str) -> Action:
    return lambda d: activity_op(aid, community, category, d.today)


def _expire(back: int) -> Action:
    return lambda d: expire_op(add_months(d.month, -back))


def _correct(nth: int, ref: str, aid: str, minutes: int) -> Action:
    """A correction of the ``nth`` credit.award in the log so far (or of entry 0)."""

    def go(d: LedgerDriver) -> Op:
        awards = [i for i, line in enumerate(d.ledger.iter_lines()) if b'"credit.award"' in line]
        return correct_op(awards[nth % len(awards)] if awards else 0, ref, aid, minutes)

    return go


_amount = st.integers(1, 300_000)
_money = st.one_of(
    st.builds(
        fund_op,
        st.sampled_from(FUNDS),
        st.integers(100_000, 2_000_000),
        st.sampled_from(("财政", "社区基金")),
    ),
    st.builds(donate_op, st.sampled_from(("D1", "D2")), st.sampled_from(FUNDS), _amount),
    st.builds(
        lambda k, f, p, a, b: contract_op(k, f, p, [("M1", a), ("M2", b)]),
        st.sampled_from(CONTRACTS),
        st.sampled_from(FUNDS),
        st.sampled_from(("P1", "P2", "Q1")),
        _amount,
        _amount,
    ),
    st.builds(
        lambda m, k, a: amend_op(m, k, [("M1", a), ("M2", 50_000)]),
        st.sampled_from(("AM1", "AM2")),
        st.sampled_from(CONTRACTS),
        _amount,
    ),
    st.builds(
        lambda p, k, m, a, s: propose_op(p, k, m, a, signer=s),
        st.sampled_from(PAYMENTS),
        st.sampled_from(CONTRACTS),
        st.sampled_from(("M1", "M2")),
        st.integers(1, 200_000),
        st.sampled_from(("finance", "dual")),
    ),
    st.builds(approve_op, st.sampled_from(PAYMENTS), signer=st.sampled_from(("approver", "dual"))),
    st.builds(reject_op, st.sampled_from(PAYMENTS)),
    st.builds(reverse_op, st.sampled_from(PAYMENTS)),
).map(_const)
_credits = st.one_of(
    st.builds(
        _activity,
        st.sampled_from(ACTIVITIES),
        st.sampled_from(("Q1", "Q2")),
        st.sampled_from(("助老", "环保")),
    ),
    st.builds(
        lambda r, a, m: _const(award_op(r, a, m)),
        st.sampled_from(RESIDENTS),
        st.sampled_from(ACTIVITIES),
        st.integers(10, 120),
    ),
    st.builds(
        _correct,
        st.integers(0, 5),
        st.sampled_from(RESIDENTS),
        st.sampled_from(ACTIVITIES),
        st.integers(10, 90),
    ),
    st.builds(
        lambda r, item: _const(redeem_op(r, item[0], item[1])),
        st.sampled_from(RESIDENTS),
        st.sampled_from((("鸡蛋", 5), ("理发券", 20))),
    ),
    st.builds(
        lambda a, b, n: _const(transfer_op(a, b, n)),
        st.sampled_from(RESIDENTS),
        st.sampled_from(RESIDENTS),
        st.integers(1, 15),
    ),
    st.builds(_expire, st.integers(0, 3)),
    st.builds(_advance, st.sampled_from((0, 1, 20, 45))),
)
#: A request: one action, or two submitted as one batch (all or nothing); a group: up to
#: three requests appended in one transaction (group commit: a rejected one is undone alone).
_request = st.lists(st.one_of(_money, _credits), min_size=1, max_size=2)
GROUPS = st.lists(st.lists(_request, min_size=1, max_size=3), min_size=1, max_size=25)
Group = list[list[Action]]


def play(driver: LedgerDriver, groups: list[Group]) -> int:
    """Append each group of requests in one transaction; returns how many were rejected."""
    rejected = 0
    for group in groups:
        requests = []
        for actions in group:
            ops = [op for op in (a(driver) for a in actions) if op is not None]
            if ops:
                requests.append([driver.sign(op).canonical() for op in ops])
        if requests:
            outcomes = driver.ledger.append_requests(requests)
            rejected += sum(isinstance(o, InvalidEntry) for o in outcomes)
    return rejected


def prelude() -> list[Group]:
    """Funds, contracts and activities for the random requests to use (so that fewer are
    rejected)."""
    c = _const
    return [
        [
            [c(fund_op("F1", 2_000_000, "社区基金")), c(fund_op("F2", 1_000_000))],
            [c(contract_op("K1", "F1", "P1", [("M1", 400_000), ("M2", 300_000)]))],
            [c(contract_op("K2", "F2", "P2", [("M1", 200_000), ("M2", 200_000)]))],
            [_activity("A1", "Q1", "助老"), _activity("A2", "Q2", "环保")],
        ]
    ]


def busy_requests() -> list[Group]:
    """Every kind at least once; one group holds a rejected request between accepted ones."""
    r0, r1 = RESIDENTS[:2]
    c = _const
    requests: list[list[Action]] = [
        [c(fund_op("F1", 1_000_000, "社区基金"))],
        [c(donate_op("D1", "F1", 50_000))],
        [c(contract_op("K1", "F1", "P1", [("M1", 300_000), ("M2", 200_000)]))],
        [c(propose_op("PAY1", "K1", "M1", 50_000))],
        [c(propose_op("PAY2", "K1", "M1", 150_000))],
        [c(approve_op("PAY2"))],
    ]
    mixed: Group = [
        [c(propose_op("PAY3", "K1", "M2", 120_000)), c(reject_op("PAY3"))],
        [c(fund_op("F2", 10)), c(contract_op("K9", "F2", "P1", [("M1", 99)]))],  # rejected
        [c(reverse_op("PAY1"))],
    ]
    requests_after: list[list[Action]] = [
        [c(amend_op("AM1", "K1", [("M1", 300_000), ("M2", 250_000)]))],
        [_activity("A1", "Q1", "助老")],
        [c(award_op(r0, "A1", 60))],
        [c(award_op(r1, "A1", 120))],
        [_correct(0, r0, "A1", 90)],
        [c(redeem_op(r1, "鸡蛋", 5))],
        [c(redeem_op(r1, "鸡蛋", 500))],  # rejected
        [c(transfer_op(r1, r0, 3))],
        [_advance(95)],
        [_expire(2)],
    ]
    return [[r] for r in requests] + [mixed] + [[r] for r in requests_after]
