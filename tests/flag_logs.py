"""Hand-built logs for the red-flag tests (:mod:`tests.test_flags`): each plants one anomaly
in a log written by :class:`tests.rulebook_builder.LogBuilder` (real keys, every entry judged
by the verifier's own rules), and :func:`flags_of` replays the lines through
:class:`verifier.reports.analysis.Analysis` exactly as ``gongxin-verify --report`` does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.reports.analysis import Analysis
from verifier.reports.flag_config import load_thresholds
from verifier.rules.log_state import LogState

from .rulebook_builder import LogBuilder
from .rulebook_ops import Op, activity_op, amend_op, award_op, contract_op, fund_op, propose_op

#: Fund large enough for every test contract.
FUND = fund_op("F1", 10**11)


def flags_of(lines: Sequence[bytes], toml: str | None = None) -> list[dict[str, Any]]:
    """The ``red_flags`` of ``lines`` (thresholds: the defaults overridden by ``toml``)."""
    analysis = Analysis(load_thresholds(toml.encode() if toml is not None else None))
    state = LogState(rulebook=analysis.rulebook())
    for i, line in enumerate(lines):
        entry = parse_entry_line(line, i)
        state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
        analysis.entry(entry)
    flags: list[dict[str, Any]] = analysis.build()["red_flags"]
    return flags


def fired(flags: list[dict[str, Any]], indicator: str) -> list[dict[str, Any]]:
    return [f for f in flags if f["indicator"] == indicator and f["computable"]]


def with_body(op: Op, **members: Any) -> Op:
    """``op`` with members added or changed in its body."""
    return Op(op.signer, op.kind, {**op.body, **members}, op.cosigners)


def award(cid: str, provider: str, fen: int, method: str = "竞争性磋商", **extra: Any) -> Op:
    """A one-milestone contract of ``fen``, with optional members ``extra``."""
    return with_body(contract_op(cid, "F1", provider, [("M1", fen)]), method=method, **extra)


def started(**kw: Any) -> LogBuilder:
    """The standard setup (policy v1: dual control from 100,000 fen; parties P1, P2, Q1, Q2)
    and the fund F1."""
    b = LogBuilder.standard(**kw)
    b.submit(FUND)
    return b


def clean_log() -> LogBuilder:
    """Everything the flags look at, all within the thresholds: a tendered contract with its
    optional members, an amendment of 5 %, timely payments (one dual-controlled), timely
    awards and a small redemption."""
    b = started()
    full = {"signed": "2026-05-04", "bidders": 4}
    b.submit(
        award(
            "C1",
            "P1",
            1_000_000,
            "公开招标",
            tender_start="2026-04-01",
            tender_end="2026-04-25",
            **full,
        )
    )
    b.submit(award("C2", "P2", 900_000, **full))
    b.submit(amend_op("A1", "C1", [("M1", 1_000_000), ("M2", 50_000)]))
    b.at("2026-06-01")
    b.submit(with_body(propose_op("Z1", "C1", "M1", 40_000), milestone_met="2026-05-25"))
    b.submit(with_body(propose_op("Z2", "C2", "M1", 500_000), milestone_met="2026-05-30"))
    b.submit(Op("approver", "payment.approve", {"payment_id": "Z2"}))
    b.submit(activity_op("H1", "Q1", "助老", "2026-06-01"))
    b.submit(award_op("a" * 32, "H1", 120))
    b.at("2026-06-02")
    b.submit(Op("desk", "credit.redeem", {"resident_ref": "a" * 32, "item": "鸡蛋", "points": 5}))
    return b
