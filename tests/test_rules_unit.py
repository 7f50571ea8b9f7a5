"""Focused tests of every rule of the funds-and-credits rulebook (FORMAT.md §10).

For each rule id of §10: a case that triggers exactly that rule (rule, index and field
asserted, state unchanged) and the boundary case that passes. Then the effects (FIFO
spending, transfers keeping months, expiry, reversals, amendments, corrections), the order
in which rules are checked, and the ledger rejecting through the same path without writing.

Driven through the verifier's own :class:`verifier.state.LogState` on hand-built, really
signed lines (:class:`tests.rulebook_builder.LogBuilder`): no database, fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifier.core.errors import InvalidEntry
from verifier.rules import DomainRules, Posting
from verifier.rules.credits import balance_of
from verifier.rules.kinds import DOMAIN_KINDS

from .rulebook_builder import (
    LedgerDriver,
    LogBuilder,
    domain_view,
    invariant_problems,
)
from .rulebook_ops import (
    Op,
    activity_op,
    amend_op,
    approve_op,
    award_op,
    contract_op,
    correct_op,
    donate_op,
    expire_op,
    fund_op,
    party_op,
    policy_op,
    propose_op,
    redeem_op,
    reject_op,
    resident,
    reverse_op,
    transfer_op,
    uscc,
)

R0, R1, R2 = resident(0), resident(1), resident(2)
#: 助老 earns 10 points an hour: 6 minutes a point.
MIN_PER_POINT = 6


@pytest.fixture
def b() -> LogBuilder:
    """Genesis, grants, policy v1 (threshold 100,000 fen; caps 40/day, 30/activity, 100
    balance; expiry 2 months), parties Q1, Q2 (communities), P1 (company), P2 (社会组织);
    log time 2026-05-04 08:00 UTC."""
    return LogBuilder.standard()


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


def test_every_rule_of_section_10_is_covered_here() -> None:
    """The list of §10 rule ids this file exercises (kept in sync with FORMAT.md §10)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text("utf-8")
    section = text[text.index("## 10. Funds and credits") : text.index("### 10.5")]
    in_spec = set(re.findall(r"\[([a-z_]+\.[a-z_]+)\]", section)) - {"entry.body"}
    here = Path(__file__).read_text("utf-8")
    missing = {rule for rule in in_spec if f'"{rule}"' not in here}
    assert not missing, f"no test names these §10 rules: {sorted(missing)}"


# -- policy (§10, §10.1) ---------------------------------------------------------------------


def _one_op_per_kind() -> list[Op]:
    ops = [
        fund_op("F1", 1000),
        donate_op("D1", "F1", 10),
        contract_op("C1", "F1", "P1", [("m1", 10)]),
        amend_op("M1", "C1", [("m1", 10)]),
        propose_op("p1", "C1", "m1", 10),
        approve_op("p1"),
        reject_op("p1"),
        reverse_op("p1"),
        activity_op("A1", "Q1", "助老", "2026-05-04"),
        award_op(R0, "A1", 60),
        correct_op(20, R0, "A1", 30),
        redeem_op(R0, "鸡蛋", 5),
        transfer_op(R0, R1, 5),
        expire_op("2026-01"),
    ]
    assert {op.kind for op in ops} == DOMAIN_KINDS - {"policy.set", "party.register"}
    return ops


@pytest.mark.parametrize("op", _one_op_per_kind(), ids=lambda op: op.kind)
def test_policy_missing_before_the_first_policy(op: Op) -> None:
    b = LogBuilder.standard(policy=False)  # the parties were registered: allowed before
    assert rules(b).policy is None and len(rules(b).funds.parties) == 4
    fails(b, op, "policy.missing")
    b.submit(policy_op(1))
    if op.kind == "fund.appropriate":
        b.submit(op)
        assert fund(b, "F1") == (1000, 0, 0)


def test_policy_version_counts_up_from_1() -> None:
    b = LogBuilder.standard(policy=False)
    fails(b, policy_op(2), "policy.version", "version")
    b.submit(policy_op(1))
    fails(b, policy_op(1), "policy.version", "version")
    fails(b, policy_op(3), "policy.version", "version")
    b.submit(policy_op(2))
    policy = rules(b).policy
    assert policy is not None and policy.version == 2


def test_a_policy_replaces_the_previous_one_from_its_index_on(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 60_000))
    assert state_of(b, "p1") == "counted"
    b.submit(policy_op(2, dual_control_threshold_fen=50_000))
    b.submit(propose_op("p2", "C1", "m1", 60_000))
    assert state_of(b, "p2") == "pending"
    assert state_of(b, "p1") == "counted"  # judged by the policy then in force


# -- parties (§10.2) -------------------------------------------------------------------------


def test_party_duplicate(b: LogBuilder) -> None:
    fails(b, party_op("P1", "company", 99), "party.duplicate", "party_id")
    # Both the id and the 统一社会信用代码 are taken: the id is checked first.
    fails(b, party_op("P1", "company", 2), "party.duplicate", "party_id")
    b.submit(party_op("P3", "company", 99))
    assert rules(b).funds.parties["P3"].uscc == uscc(99)


def test_party_uscc_duplicate(b: LogBuilder) -> None:
    fails(b, party_op("P3", "company", 2), "party.uscc_duplicate", "uscc")  # P1's code
    b.submit(party_op("P3", "company", 98))


def test_a_wrong_uscc_check_character_fails_the_body_check(b: LogBuilder) -> None:
    op = party_op("P3", "company", 97)
    good = op.body["uscc"]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    err = b.error(Op(op.signer, op.kind, {**op.body, "uscc": wrong}))
    assert (err.rule, err.field) == ("entry.body", "statement.body.uscc")


def test_party_register_may_be_signed_by_an_authority(b: LogBuilder) -> None:
    b.submit(party_op("P3", "company", 96, signer="authority"))
    err = b.error(party_op("P4", "company", 95, signer="organiser"))
    assert err.rule == "role.forbidden"


def test_party_unknown(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1_000_000))
    fails(b, contract_op("C1", "F1", "X9", [("m1", 10)]), "party.unknown", "provider")
    fails(b, activity_op("A1", "X9", "助老", b.today), "party.unknown", "community")


def test_party_type(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1_000_000))
    fails(b, contract_op("C1", "F1", "Q1", [("m1", 10)]), "party.type", "provider")
    fails(b, activity_op("A1", "P1", "助老", b.today), "party.type", "community")
    # Boundary: a 社会组织 and a company are providers; a 居委会 is a community.
    b.submit(contract_op("C1", "F1", "P2", [("m1", 10)]))
    b.submit(contract_op("C2", "F1", "P1", [("m1", 10)]))
    b.submit(activity_op("A1", "Q2", "助老", b.today))


# -- funds (§10.3) ---------------------------------------------------------------------------


def test_fund_duplicate(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1000))
    fails(b, fund_op("F1", 2000, "捐赠"), "fund.duplicate", "fund_id")
    b.submit(fund_op("F2", 2000))
    assert fund(b, "F1") == (1000, 0, 0)


def test_fund_donation_duplicate(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1000, "捐赠"))
    b.submit(donate_op("D1", "F1", 500))
    fails(b, donate_op("D1", "F1", 700), "fund.donation_duplicate", "donation_id")
    # The donation id is checked before the fund.
    fails(b, donate_op("D1", "F9", 700), "fund.donation_duplicate", "donation_id")
    b.submit(donate_op("D2", "F1", 700))
    assert fund(b, "F1") == (2200, 0, 0)


def test_fund_unknown(b: LogBuilder) -> None:
    fails(b, donate_op("D1", "F9", 10), "fund.unknown", "fund_id")
    fails(b, contract_op("C1", "F9", "P1", [("m1", 10)]), "fund.unknown", "fund_id")


def test_fund_source(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1000, "财政"))
    b.submit(fund_op("F2", 1000, "社区基金"))
    b.submit(fund_op("F3", 1000, "捐赠"))
    fails(b, donate_op("D1", "F1", 10), "fund.source", "fund_id")
    b.submit(donate_op("D1", "F2", 10))
    b.submit(donate_op("D2", "F3", 20))
    assert [fund(b, f)[0] for f in ("F1", "F2", "F3")] == [1000, 1010, 1020]


def test_fund_insufficient_for_an_award(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1_000_000, "社区基金"))
    b.submit(contract_op("C1", "F1", "P1", [("m1", 600_000)]))
    fails(b, contract_op("C2", "F1", "P1", [("m1", 400_001)]), "fund.insufficient", "total_fen")
    b.submit(contract_op("C2", "F1", "P1", [("m1", 400_000)]))  # exactly the unallocated
    assert fund(b, "F1") == (1_000_000, 1_000_000, 0)
    fails(b, contract_op("C3", "F1", "P1", [("m1", 1)]), "fund.insufficient", "total_fen")
    b.submit(donate_op("D1", "F1", 1))  # a donation makes room
    b.submit(contract_op("C3", "F1", "P1", [("m1", 1)]))


def test_fund_insufficient_for_an_amendment(b: LogBuilder) -> None:
    with_contract(b)  # 500,000 of 1,000,000 contracted
    grow = [("m1", 300_000), ("m2", 700_000)]
    fails(b, amend_op("M1", "C1", [*grow[:1], ("m2", 700_001)]), "fund.insufficient", "total_fen")
    b.submit(amend_op("M1", "C1", grow))  # an increase of exactly the unallocated 500,000
    assert fund(b, "F1") == (1_000_000, 1_000_000, 0)
    # A decrease needs no room.
    b.submit(amend_op("M2", "C1", [("m1", 100)]))
    assert fund(b, "F1") == (1_000_000, 100, 0)


def test_contract_duplicate(b: LogBuilder) -> None:
    with_contract(b)
    fails(b, contract_op("C1", "F1", "P2", [("m1", 1)]), "contract.duplicate", "contract_id")


def test_contract_milestones_must_sum_to_the_total(b: LogBuilder) -> None:
    b.submit(fund_op("F1", 1_000_000))
    ms = [("m1", 300), ("m2", 200)]
    fails(b, contract_op("C1", "F1", "P1", ms, total=501), "contract.milestones", "milestones")
    fails(b, contract_op("C1", "F1", "P1", ms, total=499), "contract.milestones", "milestones")
    b.submit(contract_op("C1", "F1", "P1", ms, total=500))
    fails(b, amend_op("M1", "C1", ms, total=600), "contract.milestones", "milestones")
    b.submit(amend_op("M1", "C1", [*ms, ("m3", 100)], total=600))


def test_contract_amendment_duplicate(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(amend_op("M1", "C1", [("m1", 300_000), ("m2", 100_000)]))
    op = amend_op("M1", "C1", [("m1", 300_000)])
    fails(b, op, "contract.amendment_duplicate", "amendment_id")
    fails(b, amend_op("M1", "C9", [("m1", 1)]), "contract.amendment_duplicate", "amendment_id")


def test_contract_unknown(b: LogBuilder) -> None:
    with_contract(b)
    fails(b, amend_op("M1", "C9", [("m1", 1)]), "contract.unknown", "contract_id")
    fails(b, propose_op("p1", "C9", "m1", 1), "contract.unknown", "contract_id")


def test_contract_below_committed(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 60_000))  # counted
    b.submit(propose_op("p2", "C1", "m1", 150_000))  # pending
    assert milestone(b, "C1", "m1") == (300_000, 210_000, 60_000)
    # m1 below what is committed (paid + pending), or dropped: refused.
    low = [("m1", 209_999), ("m2", 200_000)]
    fails(b, amend_op("M1", "C1", low), "contract.below_committed", "milestones")
    fails(b, amend_op("M1", "C1", [("m2", 200_000)]), "contract.below_committed", "milestones")
    fails(b, amend_op("M1", "C1", [("m9", 500_000)]), "contract.below_committed", "milestones")
    # Boundary: exactly the committed amount; m2 (nothing committed) may be dropped.
    b.submit(amend_op("M1", "C1", [("m1", 210_000)]))
    assert milestone(b, "C1", "m1") == (210_000, 210_000, 60_000)
    # A rejected payment no longer holds its milestone.
    b.submit(reject_op("p2"))
    b.submit(amend_op("M2", "C1", [("m1", 60_000), ("m3", 1)]))


def test_contract_milestone_unknown(b: LogBuilder) -> None:
    with_contract(b)
    fails(b, propose_op("p1", "C1", "m3", 1), "contract.milestone_unknown", "milestone_id")
    b.submit(amend_op("M1", "C1", [("m1", 300_000), ("m3", 200_000)]))
    fails(b, propose_op("p1", "C1", "m2", 1), "contract.milestone_unknown", "milestone_id")
    b.submit(propose_op("p1", "C1", "m3", 1))


def test_payment_duplicate(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 1, "INV-1"))
    fails(b, propose_op("p1", "C1", "m2", 1, "INV-2"), "payment.duplicate", "payment_id")


def test_payment_exceeds_milestone(b: LogBuilder) -> None:
    with_contract(b)
    fails(b, propose_op("p1", "C1", "m1", 300_001), "payment.exceeds_milestone", "amount_fen")
    b.submit(propose_op("p1", "C1", "m2", 150_000))  # pending: committed, not paid
    fails(b, propose_op("p2", "C1", "m2", 50_001), "payment.exceeds_milestone", "amount_fen")
    b.submit(propose_op("p2", "C1", "m2", 50_000))  # exactly what remains
    assert milestone(b, "C1", "m2") == (200_000, 200_000, 50_000)
    fails(b, propose_op("p3", "C1", "m2", 1), "payment.exceeds_milestone", "amount_fen")
    b.submit(reject_op("p1"))  # a rejection frees its amount
    b.submit(propose_op("p3", "C1", "m2", 150_000))
    b.submit(propose_op("p4", "C1", "m1", 300_000))  # the whole milestone at once


def test_payment_invoice_reused(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(fund_op("F2", 1_000))
    b.submit(contract_op("C2", "F2", "P2", [("m1", 1_000)]))
    b.submit(propose_op("p1", "C1", "m1", 10, "INV-7"))  # counted
    b.submit(propose_op("p2", "C1", "m1", 100_000, "INV-8"))  # pending
    fails(b, propose_op("p3", "C1", "m2", 10, "INV-7"), "payment.invoice_reused", "invoice_no")
    fails(b, propose_op("p3", "C1", "m2", 10, "INV-8"), "payment.invoice_reused", "invoice_no")
    b.submit(propose_op("p3", "C2", "m1", 10, "INV-7"))  # another contract's invoice numbers
    b.submit(reverse_op("p1"))  # a reversed payment frees its invoice
    b.submit(reject_op("p2"))  # so does a rejected one
    b.submit(propose_op("p4", "C1", "m1", 10, "INV-7"))
    b.submit(propose_op("p5", "C1", "m1", 10, "INV-8"))


def test_payment_unknown(b: LogBuilder) -> None:
    with_contract(b)
    fails(b, approve_op("p9"), "payment.unknown", "payment_id")
    fails(b, reject_op("p9"), "payment.unknown", "payment_id")
    fails(b, reverse_op("p9"), "payment.unknown", "payment_id")


def test_payment_state(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 99_999))  # counted at once
    b.submit(propose_op("p2", "C1", "m1", 100_000))  # pending
    fails(b, approve_op("p1"), "payment.state", "payment_id")
    fails(b, reject_op("p1"), "payment.state", "payment_id")
    fails(b, reverse_op("p2"), "payment.state", "payment_id")  # not counted yet
    b.submit(reverse_op("p1"))
    fails(b, reverse_op("p1"), "payment.state", "payment_id")  # a reversal applies once
    b.submit(reject_op("p2"))
    fails(b, approve_op("p2"), "payment.state", "payment_id")
    fails(b, reject_op("p2"), "payment.state", "payment_id")
    fails(b, reverse_op("p2"), "payment.state", "payment_id")
    assert (state_of(b, "p1"), state_of(b, "p2")) == ("reversed", "rejected")


def test_payment_self_approval(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 150_000, signer="dual"))
    fails(b, approve_op("p1", signer="dual"), "payment.self_approval", "payment_id")
    b.submit(approve_op("p1", signer="approver"))
    # Dual control compares keys, not roles: the dual-role key approves others' payments.
    b.submit(propose_op("p2", "C1", "m2", 150_000, signer="finance"))
    b.submit(approve_op("p2", signer="dual"))
    assert (state_of(b, "p1"), state_of(b, "p2")) == ("counted", "counted")


def test_dual_control_threshold_boundary(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 99_999))  # threshold − 1: counted at once
    assert state_of(b, "p1") == "counted"
    assert milestone(b, "C1", "m1") == (300_000, 99_999, 99_999)
    assert fund(b, "F1") == (1_000_000, 500_000, 99_999)
    b.submit(propose_op("p2", "C1", "m1", 100_000))  # exactly the threshold: pending
    assert state_of(b, "p2") == "pending"
    assert milestone(b, "C1", "m1") == (300_000, 199_999, 99_999)
    assert fund(b, "F1") == (1_000_000, 500_000, 99_999)
    assert rules(b).funds.contracts["C1"].paid == 99_999
    b.submit(approve_op("p2"))
    assert state_of(b, "p2") == "counted"
    assert milestone(b, "C1", "m1") == (300_000, 199_999, 199_999)
    assert fund(b, "F1") == (1_000_000, 500_000, 199_999)
    assert rules(b).funds.contracts["C1"].paid == 199_999


def test_a_rejection_releases_the_commitment(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 250_000))
    b.submit(reject_op("p1"))
    assert state_of(b, "p1") == "rejected"
    assert milestone(b, "C1", "m1") == (300_000, 0, 0)
    assert fund(b, "F1") == (1_000_000, 500_000, 0)


def test_a_reversal_returns_the_amount(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 40_000))
    b.submit(propose_op("p2", "C1", "m1", 200_000))
    b.submit(approve_op("p2"))
    assert milestone(b, "C1", "m1") == (300_000, 240_000, 240_000)
    assert fund(b, "F1") == (1_000_000, 500_000, 240_000)
    b.submit(reverse_op("p2"))
    assert state_of(b, "p2") == "reversed"
    assert milestone(b, "C1", "m1") == (300_000, 40_000, 40_000)
    assert rules(b).funds.contracts["C1"].paid == 40_000
    assert fund(b, "F1") == (1_000_000, 500_000, 40_000)  # contracted stays
    # The returned amount can be paid again, up to the milestone.
    fails(b, propose_op("p3", "C1", "m1", 260_001), "payment.exceeds_milestone", "amount_fen")
    b.submit(propose_op("p3", "C1", "m1", 260_000))


def test_an_amendment_keeps_committed_and_paid(b: LogBuilder) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 60_000))  # counted
    b.submit(propose_op("p2", "C1", "m1", 150_000))  # pending
    b.submit(amend_op("M1", "C1", [("m1", 210_000), ("m3", 390_000)]))
    c = rules(b).funds.contracts["C1"]
    assert c.total == 600_000 and set(c.milestones) == {"m1", "m3"}
    assert milestone(b, "C1", "m1") == (210_000, 210_000, 60_000)
    assert milestone(b, "C1", "m3") == (390_000, 0, 0)
    assert fund(b, "F1") == (1_000_000, 600_000, 60_000)
    b.submit(approve_op("p2"))  # the pending payment still counts against m1
    assert milestone(b, "C1", "m1") == (210_000, 210_000, 210_000)
    assert fund(b, "F1") == (1_000_000, 600_000, 210_000)
    assert c.paid == 210_000
    assert not invariant_problems(rules(b))


@pytest.mark.parametrize(
    ("ops", "rule", "fld"),
    [
        # contract.award: duplicate, fund, provider, milestones, money — in this order.
        (
            [contract_op("C1", "F9", "X9", [("m1", 1)], total=2)],
            "contract.duplicate",
            "contract_id",
        ),
        ([contract_op("C2", "F9", "X9", [("m1", 1)], total=2)], "fund.unknown", "fund_id"),
        ([contract_op("C2", "F1", "X9", [("m1", 1)], total=2)], "party.unknown", "provider"),
        (
            [contract_op("C2", "F1", "P1", [("m1", 10**7)], total=2 * 10**7)],
            "contract.milestones",
            "milestones",
        ),
        # payment.propose: duplicate, contract, milestone, amount, invoice.
        ([propose_op("p1", "C9", "m9", 10**9, "INV-p1")], "payment.duplicate", "payment_id"),
        ([propose_op("p2", "C9", "m9", 10**9, "INV-p1")], "contract.unknown", "contract_id"),
        (
            [propose_op("p2", "C1", "m9", 10**9, "INV-p1")],
            "contract.milestone_unknown",
            "milestone_id",
        ),
        (
            [propose_op("p2", "C1", "m1", 10**9, "INV-p1")],
            "payment.exceeds_milestone",
            "amount_fen",
        ),
        # contract.amend: duplicate, contract, milestones, committed, money.
        (
            [amend_op("M1", "C9", [("m9", 1)], total=5)],
            "contract.amendment_duplicate",
            "amendment_id",
        ),
        ([amend_op("M2", "C9", [("m9", 1)], total=5)], "contract.unknown", "contract_id"),
        ([amend_op("M2", "C1", [("m9", 10**8)], total=5)], "contract.milestones", "milestones"),
        ([amend_op("M2", "C1", [("m9", 10**8)])], "contract.below_committed", "milestones"),
        # payment.approve: exists, pending, another key.
        ([approve_op("p9", signer="finance2")], "role.forbidden", None),
        ([approve_op("p1", signer="dual")], "payment.state", "payment_id"),
    ],
)
def test_fund_rules_are_checked_in_the_order_listed(
    b: LogBuilder, ops: list[Op], rule: str, fld: str | None
) -> None:
    with_contract(b)
    b.submit(propose_op("p1", "C1", "m1", 10, "INV-p1", signer="dual"))
    b.submit(amend_op("M1", "C1", [("m1", 300_000), ("m2", 200_000)]))
    if rule == "role.forbidden":
        err = b.error(ops[0])
        assert (err.rule, err.index) == (rule, b.size)
        return
    fails(b, ops[0], rule, fld)


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


# -- the ledger rejects through the same path ------------------------------------------------


def _ledger_cases() -> list[tuple[Op, str, str | None, Op]]:
    """(offending op, rule, field, a corrected op that is accepted)."""
    return [
        (fund_op("F1", 5), "fund.duplicate", "fund_id", fund_op("F2", 5)),
        (
            contract_op("C2", "F1", "P1", [("m1", 500_001)]),
            "fund.insufficient",
            "total_fen",
            contract_op("C2", "F1", "P1", [("m1", 500_000)]),
        ),
        (
            propose_op("p2", "C1", "m2", 200_001),
            "payment.exceeds_milestone",
            "amount_fen",
            propose_op("p2", "C1", "m2", 200_000),
        ),
        (
            approve_op("p1", signer="dual"),
            "payment.self_approval",
            "payment_id",
            approve_op("p1", signer="approver"),
        ),
        (redeem_op(R1, "鸡蛋", 5), "credit.insufficient", "resident_ref", redeem_op(R0, "鸡蛋", 5)),
        (
            award_op(R1, "A1", 60, signer="organiser2"),
            "credit.organiser",
            "activity_id",
            award_op(R1, "A1", 60),
        ),
        (policy_op(3), "policy.version", "version", policy_op(2)),
        (expire_op("2026-04"), "credit.expire_early", "through_month", expire_op("2026-03")),
    ]


@pytest.mark.parametrize(
    ("bad", "rule", "fld", "good"), _ledger_cases(), ids=[c[1] for c in _ledger_cases()]
)
def test_the_ledger_rejects_with_the_same_rule_and_writes_nothing(
    tmp_path: Path, bad: Op, rule: str, fld: str | None, good: Op
) -> None:
    setup = [
        fund_op("F1", 1_000_000),
        contract_op("C1", "F1", "P1", [("m1", 300_000), ("m2", 200_000)]),
        propose_op("p1", "C1", "m1", 150_000, signer="dual"),
        activity_op("A1", "Q1", "助老", "2026-05-04"),
        award_op(R0, "A1", 60),
    ]
    d = LedgerDriver.standard(tmp_path)
    try:
        d.submit_batch(setup)
        size, view = d.size, domain_view(d.rules)
        position = d.ledger.state.snapshot_position()
        err = d.error(bad)  # asserts the database is byte-for-byte unchanged
        assert err.rule == rule
        assert err.index is None  # nothing was given an index
        assert err.field == (f"batch[0].statement.body.{fld}" if fld else "batch[0].statement.body")
        assert err.key_id == d.keys[bad.signer].key_id_hex
        assert d.size == size and domain_view(d.rules) == view
        assert d.ledger.state.snapshot_position() == position
        assert d.submit(good) == size  # the log goes on at the same index
        # The verifier's own state judges the same entry the same way.
        b = LogBuilder.standard()
        b.submit_all(setup)
        verr = b.error(bad)
        assert (verr.rule, verr.field) == (
            rule,
            f"statement.body.{fld}" if fld else "statement.body",
        )
        assert b.submit(good) == size
    finally:
        d.close()


def test_a_batch_with_one_offending_entry_writes_nothing(tmp_path: Path) -> None:
    d = LedgerDriver.standard(tmp_path)
    try:
        before, size, view = d.snapshot(), d.size, domain_view(d.rules)
        ops = [
            fund_op("F1", 1_000),
            contract_op("C1", "F1", "P1", [("m1", 1_000)]),
            propose_op("p1", "C1", "m1", 1_001),
        ]
        with pytest.raises(InvalidEntry) as info:
            d.submit_batch(ops)
        assert info.value.rule == "payment.exceeds_milestone"
        assert info.value.field == "batch[2].statement.body.amount_fen"
        assert d.snapshot() == before and d.size == size and domain_view(d.rules) == view
        # Entries of one batch see each other's effects.
        ops[2] = propose_op("p1", "C1", "m1", 1_000)
        assert d.submit_batch(ops) == [size, size + 1, size + 2]
        assert d.rules.funds.funds["F1"].paid == 1_000
    finally:
        d.close()
