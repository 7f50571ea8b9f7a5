"""``gongxin trace fund|contract|payment|resident ID`` (FORMAT.md §10.6).

Runs on the small street-office log of :mod:`tests.report_log`. The expected entry indices
are derived from the raw lines here (which entries name the object), not from the rulebook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from tests.report_log import SmallLog, _ref, build_small_log
from verifier.core.merkle import leaf_hash


@pytest.fixture(scope="module")
def small(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SmallLog, list[dict[str, Any]]]]:
    log = build_small_log(tmp_path_factory.mktemp("trace"))
    entries = [json.loads(line) for line in log.ledger.iter_lines()]
    yield log, entries
    log.ledger.close()


def _run(log: SmallLog, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["trace", *args, "--db", log.url])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"gongxin trace {' '.join(args)} crashed") from result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def _trace(log: SmallLog, target: str, ident: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run(log, target, ident, "--json"))
    return data


def _where(entries: list[dict[str, Any]], kind: str | None = None, **body: str) -> set[int]:
    """Indices of the entries (of ``kind``) whose body has all of ``body``'s values."""
    return {
        e["index"]
        for e in entries
        if (kind is None or e["statement"]["kind"] == kind)
        and all(e["statement"]["body"].get(k) == v for k, v in body.items())
    }


def test_fund_trace_lists_its_contracts_and_payments(
    small: tuple[SmallLog, list[dict[str, Any]]],
) -> None:
    log, entries = small
    contracts = {
        e["statement"]["body"]["contract_id"]
        for e in entries
        if e["statement"]["kind"] == "contract.award" and e["statement"]["body"]["fund_id"] == "F-2"
    }
    payments = {
        e["statement"]["body"]["payment_id"]
        for e in entries
        if e["statement"]["kind"] == "payment.propose"
        and e["statement"]["body"]["contract_id"] in contracts
    }
    want = _where(entries, fund_id="F-2")
    for cid in contracts:
        want |= _where(entries, contract_id=cid)
    for pid in payments:
        want |= _where(entries, payment_id=pid)
    got = _trace(log, "fund", "F-2")
    assert [e["index"] for e in got["entries"]] == sorted(want)
    assert contracts == {"K-2"} and payments == {"PAY-4", "PAY-5"}
    s = got["summary"]
    assert (s["appropriated_fen"], s["donated_fen"], s["contracted_fen"]) == (
        1_000_000,
        200_000,
        900_000,
    )
    assert (s["paid_fen"], s["reversed_fen"], s["pending_fen"]) == (0, 90_000, 300_000)
    first = got["entries"][0]
    line = next(log.ledger.iter_lines(first["index"], first["index"] + 1))
    assert first["leaf_hash"] == leaf_hash(line).hex()
    assert first["signer_title"] == "街道财务科 会计"


def test_payment_trace_has_proposal_decision_award_and_appropriation(
    small: tuple[SmallLog, list[dict[str, Any]]],
) -> None:
    log, entries = small
    for pid, decision_kind in (
        ("PAY-2", "payment.approve"),
        ("PAY-3", "payment.reject"),
        ("PAY-4", "payment.reverse"),
    ):
        (proposal,) = _where(entries, "payment.propose", payment_id=pid)
        contract = entries[proposal]["statement"]["body"]["contract_id"]
        (award,) = _where(entries, "contract.award", contract_id=contract)
        fund = entries[award]["statement"]["body"]["fund_id"]
        (appropriation,) = _where(entries, "fund.appropriate", fund_id=fund)
        (decision,) = _where(entries, decision_kind, payment_id=pid)
        got = _trace(log, "payment", pid)
        assert [e["index"] for e in got["entries"]] == sorted(
            {appropriation, award, proposal, decision}
        ), pid
        assert [e["kind"] for e in got["entries"]][-1] == decision_kind
    # Below the threshold: the proposal alone counts it.
    got = _trace(log, "payment", "PAY-1")
    assert [e["kind"] for e in got["entries"]] == [
        "fund.appropriate",
        "contract.award",
        "payment.propose",
    ]
    assert got["summary"]["state"] == "counted"
    assert _trace(log, "payment", "PAY-4")["summary"]["state"] == "reversed"


def test_contract_trace(small: tuple[SmallLog, list[dict[str, Any]]]) -> None:
    log, entries = small
    got = _trace(log, "contract", "K-2")
    payments = {
        e["statement"]["body"]["payment_id"]
        for e in entries
        if e["statement"]["body"].get("contract_id") == "K-2"
        and e["statement"]["kind"] == "payment.propose"
    }
    want = _where(entries, contract_id="K-2") | _where(entries, "fund.appropriate", fund_id="F-2")
    for pid in payments:
        want |= _where(entries, payment_id=pid)
    assert [e["index"] for e in got["entries"]] == sorted(want)
    assert got["summary"]["total_fen"] == 900_000
    assert got["summary"]["payments"] == {"PAY-4": "reversed", "PAY-5": "pending"}


def test_resident_trace_and_balance(small: tuple[SmallLog, list[dict[str, Any]]]) -> None:
    log, entries = small
    (expiry,) = _where(entries, "credit.expire")
    for name, expect_balance in (("r1", 0), ("r2", 4), ("r3", 0)):
        ref = _ref(name)
        named = {
            e["index"]
            for e in entries
            if ref
            in (
                e["statement"]["body"].get("resident_ref"),
                e["statement"]["body"].get("from_ref"),
                e["statement"]["body"].get("to_ref"),
            )
        }
        got = _trace(log, "resident", ref)
        # Every resident here still held May points at the expiry run.
        assert [e["index"] for e in got["entries"]] == sorted(named | {expiry}), name
        assert got["summary"]["balance_points"] == expect_balance, name
        assert got["entries"][-1]["balance_after_points"] == expect_balance
    text = _run(log, "resident", _ref("r2"))
    assert "余额 balance: 4 分 points" in text
    assert "获得 awarded +7 分 points (C-qiuyue)" in text


def test_text_output_lines(small: tuple[SmallLog, list[dict[str, Any]]]) -> None:
    log, _ = small
    text = _run(log, "payment", "PAY-2")
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith("#")]
    assert len(rows) == 4
    assert "审批通过 approve PAY-2" in rows[-1] and "街道办事处 分管副主任" in rows[-1]
    assert "已支付 paid 5000.00 元" in rows[-1]
    assert lines[-1].startswith("状态 state: counted")


def test_unknown_id_exits_2(small: tuple[SmallLog, list[dict[str, Any]]], tmp_path: Path) -> None:
    log, _ = small
    err = _run(log, "fund", "F-404", code=2)
    assert "未找到资金 F-404" in err and "no fund 'F-404'" in err
    assert "no payment" in _run(log, "payment", "PAY-404", code=2)
    assert "no resident" in _run(log, "resident", "0" * 32, code=2)
    assert "resident_ref" in _run(log, "resident", "not-a-ref", code=2)
    assert _run(log, "contract", "K-404", code=2)
    result = CliRunner().invoke(app, ["trace", "person", "x", "--db", log.url])
    assert result.exit_code == 2
    missing = CliRunner().invoke(
        app, ["trace", "fund", "F-1", "--db", f"sqlite:///{tmp_path}/no.db"]
    )
    assert missing.exit_code == 2
