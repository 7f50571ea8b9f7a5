"""Logs written around the rules fail ``gongxin-verify`` at the right index and rule.

Each log is correctly signed and chained, under a checkpoint signed by the log key: it is
what a *modified server* would publish. Domain cases are written by a real
:class:`ledger.log.Ledger` whose rulebook lets one rule through (``lenient``) or ignores dual
control (``NoDualControl``), then exported with ``gongxin export``'s own code; registry
cases (a revoked key, a key lacking the role, an unknown key) are lines built by hand, since
the registry is checked before any rulebook.

For every case the real command ``gongxin-verify DIR --log-key K`` exits 1 with one line
naming the offending index, ``[rule]`` and the signer's key, and the same log cut just
before that entry verifies (exit 0): the failure is caused by that entry and no other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verifier.rules import DomainRules

from .rulebook_builder import LogBuilder, NoDualControl, lenient, replay_lines
from .rulebook_ledger import LedgerDriver, run_verify
from .rulebook_ops import (
    Op,
    RuleKeys,
    activity_op,
    amend_op,
    approve_op,
    award_op,
    contract_op,
    expire_op,
    fund_op,
    propose_op,
    redeem_op,
    resident,
    reverse_op,
    revoke_op,
    rule_keys,
    transfer_op,
)

R0, R1 = resident(0), resident(1)

#: A fund of 1,000,000 fen with contract C1 (m1 300,000 + m2 200,000 fen) for provider P1.
FUNDED = [
    fund_op("F1", 1_000_000),
    contract_op("C1", "F1", "P1", [("m1", 300_000), ("m2", 200_000)]),
]
#: Resident R0 earns 10 points for activity A1 (today, community Q1).
EARNED = [activity_op("A1", "Q1", "助老", "2026-05-04"), award_op(R0, "A1", 60)]
#: Entries after the offending one, accepted by the modified server (the verifier must still
#: name the first offending index, not the last).
AFTER = [fund_op("F-after", 1_000), activity_op("A-after", "Q2", "环保", "2026-05-04")]

#: An item of a case's history: an operation, or a day to move the log's clock to.
Step = Op | str


@dataclass(frozen=True)
class Built:
    keys: RuleKeys
    full: Path
    prefix: Path
    bad_index: int
    bad_signer: str
    lines: list[bytes]


def by_modified_server(
    tmp: Path,
    rulebook: Callable[[], Any],
    before: Sequence[Step],
    bad: Op,
    after: Sequence[Op] = AFTER,
) -> Built:
    """Write the log with a real ledger running ``rulebook``, then export it."""
    d = LedgerDriver.standard(tmp, rulebook=rulebook)
    try:
        for step in before:
            if isinstance(step, str):
                d.at(step)
            else:
                d.submit(step)
        bad_index = d.submit(bad)  # the modified server accepts it …
        for op in after:
            d.submit(op)
        full = d.export(tmp / "full")
        prefix = d.export_prefix(tmp / "prefix", bad_index)
        lines = d.lines()
    finally:
        d.close()
    return Built(d.keys, full, prefix, bad_index, bad.signer, lines)


def by_hand(tmp: Path, before: Sequence[Step], bad: Op, after: Sequence[Op] = AFTER) -> Built:
    """Judge ``before`` with the verifier's rules, then append ``bad`` and ``after`` unjudged,
    and sign a checkpoint over all of it with the log key."""
    b = LogBuilder.standard()
    for step in before:
        if isinstance(step, str):
            b.at(step)
        else:
            b.submit(step)
    bad_index = b.forge(bad)
    for op in after:
        b.forge(op)
    full = b.write_bundle(tmp / "full")
    prefix = b.write_bundle(tmp / "prefix", bad_index)
    return Built(b.keys, full, prefix, bad_index, bad.signer, list(b.lines))


Case = Callable[[Path], Built]


def _cases() -> list[tuple[str, str, Case]]:
    return [
        (
            "award overspends the fund",
            "fund.insufficient",
            lambda t: by_modified_server(
                t,
                lenient("fund.insufficient"),
                FUNDED,
                contract_op("C2", "F1", "P2", [("m1", 500_001)]),
            ),
        ),
        (
            "amendment overspends the fund",
            "fund.insufficient",
            lambda t: by_modified_server(
                t,
                lenient("fund.insufficient"),
                FUNDED,
                amend_op("M1", "C1", [("m1", 300_000), ("m2", 700_001)]),
            ),
        ),
        (
            "payment beyond the milestone",
            "payment.exceeds_milestone",
            lambda t: by_modified_server(
                t,
                lenient("payment.exceeds_milestone"),
                [*FUNDED, propose_op("p1", "C1", "m2", 99_999)],
                propose_op("p2", "C1", "m2", 100_002),
            ),
        ),
        (
            "redeem beyond the balance",
            "credit.insufficient",
            lambda t: by_modified_server(
                t, lenient("credit.insufficient"), EARNED, redeem_op(R0, "理发券", 20)
            ),
        ),
        (
            "transfer beyond the balance",
            "credit.insufficient",
            lambda t: by_modified_server(
                t, lenient("credit.insufficient"), EARNED, transfer_op(R0, R1, 11)
            ),
        ),
        (
            # The modified server counts a payment at the dual-control threshold at once,
            # without approval; the log shows it when it reverses that payment: to the
            # rules the payment is still pending, and only a counted payment is reversed.
            "payment above the threshold counted without approval",
            "payment.state",
            lambda t: by_modified_server(
                t,
                NoDualControl,
                [*FUNDED, propose_op("p1", "C1", "m1", 250_000)],
                reverse_op("p1"),
            ),
        ),
        (
            "proposer approves its own payment",
            "payment.self_approval",
            lambda t: by_modified_server(
                t,
                lenient("payment.self_approval"),
                [*FUNDED, propose_op("p1", "C1", "m1", 250_000, signer="dual")],
                approve_op("p1", signer="dual"),
            ),
        ),
        (
            "a payment reversed twice",
            "payment.state",
            lambda t: by_modified_server(
                t,
                lenient("payment.state"),
                [*FUNDED, propose_op("p1", "C1", "m1", 50_000), reverse_op("p1")],
                reverse_op("p1"),
            ),
        ),
        (
            "credits awarded by another organiser",
            "credit.organiser",
            lambda t: by_modified_server(
                t,
                lenient("credit.organiser"),
                EARNED,
                award_op(R1, "A1", 60, signer="organiser2"),
            ),
        ),
        (
            "credits awarded over the daily cap",
            "credit.daily_cap",
            lambda t: by_modified_server(
                t,
                lenient("credit.daily_cap"),
                [
                    *EARNED,
                    activity_op("A2", "Q1", "助老", "2026-05-04"),
                    activity_op("A3", "Q1", "助老", "2026-05-04"),
                    award_op(R0, "A2", 180),
                ],
                award_op(R0, "A3", 6),
            ),
        ),
        (
            "credits expired too early",
            "credit.expire_early",
            lambda t: by_modified_server(
                t,
                lenient("credit.expire_early"),
                [*EARNED, "2026-06-30"],
                expire_op("2026-05"),
            ),
        ),
        (
            "a revoked key signs",
            "key.revoked",
            lambda t: by_hand(
                t,
                [*FUNDED, revoke_op(rule_keys(), "finance2")],
                fund_op("F2", 10, signer="finance2"),
            ),
        ),
        (
            "a finance officer approves a payment (lacks approver)",
            "role.forbidden",
            lambda t: by_hand(
                t,
                [*FUNDED, propose_op("p1", "C1", "m1", 250_000)],
                approve_op("p1", signer="finance2"),
            ),
        ),
        (
            "the service desk awards credits (lacks organiser)",
            "role.forbidden",
            lambda t: by_hand(t, EARNED, award_op(R1, "A1", 60, signer="desk")),
        ),
        (
            "a key never granted signs",
            "key.unknown",
            lambda t: by_hand(t, FUNDED, fund_op("F2", 10, signer="stranger")),
        ),
    ]


CASES = _cases()


@pytest.mark.parametrize(("rule", "build"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_log_written_around_the_rules_fails_verification(
    tmp_path: Path, rule: str, build: Case
) -> None:
    built = build(tmp_path)
    assert built.bad_index < len(built.lines) - 1  # entries follow the offending one

    bad = run_verify(built.full, built.keys)
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    out = bad.stderr.strip().splitlines()
    assert len(out) == 1, bad.stderr
    assert f"entry {built.bad_index}: [{rule}]" in out[0], out[0]
    assert f"key {built.keys[built.bad_signer].key_id_hex}" in out[0], out[0]

    good = run_verify(built.prefix, built.keys)
    assert good.returncode == 0, (good.stdout, good.stderr)
    assert f"{built.bad_index} entries" in good.stdout


def test_the_modified_server_counted_what_the_verifier_keeps_pending(tmp_path: Path) -> None:
    """The dual-control case in detail: the server's books say paid, the replay does not."""
    built = by_modified_server(
        tmp_path,
        NoDualControl,
        [*FUNDED, propose_op("p1", "C1", "m1", 250_000)],
        reverse_op("p1"),
    )
    replayed = DomainRules()
    replay_lines(built.lines[: built.bad_index], replayed)
    assert replayed.funds.payments["p1"].state == "pending"
    assert replayed.funds.funds["F1"].paid == 0
    server = NoDualControl()
    replay_lines(built.lines[: built.bad_index], server)
    assert server.funds.payments["p1"].state == "counted"
    assert server.funds.funds["F1"].paid == 250_000
