"""Focused tests of the funds rules of the rulebook (FORMAT.md §10.3): funds, donations,
contracts and amendments, payments (dual control, rejection, reversal) and the order in which
these rules are checked. Each case triggers exactly one rule (rule, index and field asserted,
state unchanged) or is the boundary case that passes.

Driven through the verifier's own :class:`verifier.rules.log_state.LogState` on hand-built,
really signed lines (:class:`tests.rulebook_builder.LogBuilder`): no database, fast.
"""

from __future__ import annotations

import pytest

from .rulebook_builder import LogBuilder, invariant_problems
from .rulebook_ops import (
    Op,
    amend_op,
    approve_op,
    contract_op,
    donate_op,
    fund_op,
    propose_op,
    reject_op,
    reverse_op,
)
from .rules_cases import fails, fund, milestone, rules, state_of, with_contract


@pytest.fixture
def b() -> LogBuilder:
    """Genesis, grants, policy v1 (threshold 100,000 fen; caps 40/day, 30/activity, 100
    balance; expiry 2 months), parties Q1, Q2 (communities), P1 (company), P2 (社会组织);
    log time 2026-05-04 08:00 UTC."""
    return LogBuilder.standard()


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
