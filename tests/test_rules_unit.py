"""Focused tests of every rule of the funds-and-credits rulebook (FORMAT.md §10).

For each rule id of §10: a case that triggers exactly that rule (rule, index and field
asserted, state unchanged) and the boundary case that passes. This file holds the coverage
check over all three files, the policy (§10.1) and party (§10.2) rules, and the ledger
rejecting through the same path without writing; the funds rules (§10.3) are in
:mod:`tests.test_rules_funds`, the credit rules and their effects (§10.4) in
:mod:`tests.test_rules_credits`.

Driven through the verifier's own :class:`verifier.rules.log_state.LogState` on hand-built,
really signed lines (:class:`tests.rulebook_builder.LogBuilder`): no database, fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.records import InvalidEntry
from verifier.rules.kinds import DOMAIN_KINDS

from .rulebook_builder import LogBuilder, domain_view
from .rulebook_ledger import LedgerDriver
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
    reverse_op,
    transfer_op,
    uscc,
)
from .rules_cases import R0, R1, fails, fund, rules, state_of, with_contract


@pytest.fixture
def b() -> LogBuilder:
    """Genesis, grants, policy v1 (threshold 100,000 fen; caps 40/day, 30/activity, 100
    balance; expiry 2 months), parties Q1, Q2 (communities), P1 (company), P2 (社会组织);
    log time 2026-05-04 08:00 UTC."""
    return LogBuilder.standard()


#: The files that test the §10 rules (this one, the funds rules, the credit rules).
RULE_TEST_FILES = ("test_rules_unit.py", "test_rules_funds.py", "test_rules_credits.py")


def test_every_rule_of_section_10_is_covered_here() -> None:
    """The list of §10 rule ids these files exercise (kept in sync with FORMAT.md §10)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text("utf-8")
    section = text[text.index("## 10. Funds and credits") : text.index("### 10.5")]
    in_spec = set(re.findall(r"\[([a-z_]+\.[a-z_]+)\]", section)) - {"entry.body"}
    here = "".join((Path(__file__).parent / f).read_text("utf-8") for f in RULE_TEST_FILES)
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
