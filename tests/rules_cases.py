"""Helpers of the rulebook unit tests (:mod:`tests.test_rules_unit`,
:mod:`tests.test_rules_funds`, :mod:`tests.test_rules_credits`): the assertion that an op fails
exactly one rule without changing the state, read-outs of the funds and credits state, and
shortcuts that set up a contract or earn a resident points."""

from __future__ import annotations

from verifier.rules import DomainRules
from verifier.rules.credits import balance_of

from .rulebook_builder import LogBuilder, domain_view
from .rulebook_ops import Op, activity_op, award_op, contract_op, fund_op, resident

R0, R1, R2 = resident(0), resident(1), resident(2)
#: 助老 earns 10 points an hour: 6 minutes a point.
MIN_PER_POINT = 6


def fails(
    b: LogBuilder, op: Op, rule: str, fld: str | None = None, *, same_state: bool = True
) -> None:
    """``op`` as the next entry fails ``rule`` naming that index, its signer and
    ``statement.body.<fld>``; nothing is recorded (with ``same_state``: the replayed state
    is exactly as before — award and correction checks may close finished activities first,
    which changes no verdict)."""
    before = domain_view(b.rules)
    size = b.size
    err = b.error(op)
    assert err.rule == rule, err
    assert err.index == size, err
    assert err.field == (f"statement.body.{fld}" if fld else "statement.body"), err
    assert err.key_id == b.keys[op.signer].key_id_hex
    assert f"entry {size}: [{rule}]" in err.one_line()
    if same_state:
        assert domain_view(b.rules) == before
    assert b.size == size


def rules(b: LogBuilder) -> DomainRules:
    assert isinstance(b.rules, DomainRules)
    return b.rules


def fund(b: LogBuilder, fid: str) -> tuple[int, int, int]:
    f = rules(b).funds.funds[fid]
    return f.appropriated, f.contracted, f.paid


def milestone(b: LogBuilder, cid: str, mid: str) -> tuple[int, int, int]:
    m = rules(b).funds.contracts[cid].milestones[mid]
    return m.amount, m.committed, m.paid


def state_of(b: LogBuilder, pid: str) -> str:
    return rules(b).funds.payments[pid].state


def lots(b: LogBuilder, ref: str) -> tuple[tuple[str, str, int], ...]:
    return rules(b).credits.lots.get(ref, ())


def balance(b: LogBuilder, ref: str) -> int:
    return balance_of(lots(b, ref))


def with_contract(b: LogBuilder, amount: int = 1_000_000) -> None:
    """Fund F1 (财政, ``amount``) and contract C1 for P1: m1 300,000 + m2 200,000 fen."""
    b.submit(fund_op("F1", amount))
    b.submit(contract_op("C1", "F1", "P1", [("m1", 300_000), ("m2", 200_000)]))


def earn(
    b: LogBuilder,
    ref: str,
    points: int,
    day: str | None = None,
    community: str = "Q1",
    *,
    organiser: str = "organiser",
) -> tuple[str, int]:
    """Register a fresh 助老 activity on ``day`` (default today) and award ``ref`` exactly
    ``points``; returns (activity id, award index)."""
    aid = f"A-{b.size}"
    b.submit(activity_op(aid, community, "助老", day or b.today, signer=organiser))
    return aid, b.submit(award_op(ref, aid, points * MIN_PER_POINT, signer=organiser))
