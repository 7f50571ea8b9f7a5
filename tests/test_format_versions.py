"""Format 2 binds every signature to its log (FORMAT.md §3.2); format-1 logs still verify.

The log's format is fixed by its genesis: ``"format": 2`` (every signature over the message
naming the origin, genesis's own included), no ``format`` (a format-1 log, format 1's message
only), anything else ``[entry.body]``. In a format-2 log a signature over format 1's message
is ``[signature.context]``. ``tests/bundles/v1-good/`` is a format-1 bundle frozen from the
code before format 2: it must keep verifying, with exactly one warning line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.log import Ledger
from ledger.records import InvalidEntry
from ledger.signing.keys import SignerKey
from tests import logfactory as lf
from tests.bundles import generate
from verifier.cli import chunks
from verifier.cli.main import EXIT_INVALID, EXIT_VALID, FORMAT_1_WARNING, main
from verifier.cli.parallel import SignaturePool
from verifier.core.entry import STATEMENT_CONTEXT_V1, Signature, Submission
from verifier.core.keys import parse_verifier_key
from verifier.rules.log_state import LogState

from .domain_bodies import fund_body, policy_body
from .hand_entries import EntryBuilder, replay
from .keyring import ORIGIN, Keys, genesis_body, grant_body, make_keys
from .registry_cases import rejects

V1 = generate.HERE / "v1-good"
BROKEN = generate.HERE / "broken"


def _verify(
    capsys: pytest.CaptureFixture[str], directory: Path, keys: Path, *extra: str
) -> tuple[int, str, str]:
    argv = [str(directory), "--log-key", str(keys / "log.vkey")]
    for key in sorted(keys.glob("authority-*.vkey")):
        argv += ["--authority-key", str(key)]
    status = main([*argv, *extra])
    out, err = capsys.readouterr()
    return status, out, err


# -- the message ---------------------------------------------------------------------------


def test_the_message_names_the_origin_and_format_1_names_none() -> None:
    b = EntryBuilder()
    st = b.sign(make_keys().authority, "log.genesis", genesis_body(make_keys())).statement
    assert st.message(ORIGIN) == b"gongxin/statement/v2\n" + ORIGIN.encode() + b"\n" + (
        st.canonical()
    )
    assert st.message(None) == STATEMENT_CONTEXT_V1 + st.canonical()


# -- genesis fixes the format ---------------------------------------------------------------


@pytest.mark.parametrize("value", [3, 1, 0, "2", True, None, [2]])
def test_genesis_format_other_than_2_is_entry_body(value: Any) -> None:
    keys, b = make_keys(), EntryBuilder()
    body = {**genesis_body(keys), "format": value}
    err = rejects(LogState(), b, b.sign(keys.authority, "log.genesis", body), "entry.body")
    assert err.field == "statement.body.format"


def test_the_ledger_refuses_a_format_3_genesis(tmp_path: Path) -> None:
    keys, b = make_keys(), EntryBuilder()
    genesis = b.sign(keys.authority, "log.genesis", {**genesis_body(keys), "format": 3})
    with Ledger.open(
        f"sqlite:///{tmp_path / 'g.db'}", log_key=keys.log, pool=SignaturePool(1)
    ) as ledger:
        with pytest.raises(InvalidEntry) as info:
            ledger.initialize(genesis.canonical())
        assert info.value.rule == "entry.body"
        assert ledger.size == 0


def _started(keys: Keys, log_format: int) -> tuple[LogState, EntryBuilder]:
    """A log of ``log_format`` with finance granted and a policy in force."""
    b = EntryBuilder()
    b.sign.origin = ORIGIN if log_format == 2 else None
    state = LogState()
    b.apply(state, b.sign(keys.authority, "log.genesis", genesis_body(keys, log_format=log_format)))
    b.apply(
        state, b.sign(keys.authority, "key.grant", grant_body(keys["finance"], ["finance_officer"]))
    )
    b.apply(state, b.sign(keys.authority, "policy.set", policy_body()))
    return state, b


def test_a_format_2_log_signs_under_its_origin() -> None:
    state, _ = _started(make_keys(), 2)
    assert (state.format, state.message_origin) == (2, ORIGIN)


def test_a_format_1_log_is_verified_under_format_1_only() -> None:
    keys = make_keys()
    state, b = _started(keys, 1)
    assert (state.format, state.message_origin) == (1, None)
    b.apply(state, b.sign(keys["finance"], "fund.appropriate", fund_body(1)))
    # A format-2 signature is never reinterpreted: in a format-1 log it is just invalid.
    b.sign.origin = ORIGIN
    rejects(
        state, b, b.sign(keys["finance"], "fund.appropriate", fund_body(2)), "signature.invalid"
    )


def test_format_1_signature_in_a_format_2_log_is_signature_context() -> None:
    keys = make_keys()
    state, b = _started(keys, 2)
    b.sign.origin = None
    sub = b.sign(keys["finance"], "fund.appropriate", fund_body(1))
    err = rejects(state, b, sub, "signature.context")
    assert ORIGIN in err.detail and err.field == "signatures[0].sig"
    assert err.key_id == keys["finance"].key_id_hex


def test_a_co_signature_over_format_1_is_signature_context_too() -> None:
    keys = make_keys()
    state, b = _started(keys, 2)
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(keys["auditor"], ["auditor"])))
    good = b.sign(keys["finance"], "fund.appropriate", fund_body(1))
    old = Signature(keys["auditor"].key_id_hex, keys["auditor"].sign(good.statement.message(None)))
    mixed = Submission(good.statement, (good.signatures[0], old))
    err = rejects(state, b, mixed, "signature.context")
    assert err.field == "signatures[1].sig"


def test_statement_for_another_log_is_signature_invalid_naming_the_origin() -> None:
    keys = make_keys()
    state, b = _started(keys, 2)
    b.sign.origin = "gongxin.test/another-log"
    err = rejects(
        state, b, b.sign(keys["finance"], "fund.appropriate", fund_body(1)), "signature.invalid"
    )
    assert ORIGIN in err.detail and "since format 2" in err.detail


def test_genesis_signed_over_format_1_in_a_format_2_genesis() -> None:
    keys, b = make_keys(), EntryBuilder()
    b.sign.origin = None
    err = rejects(
        LogState(),
        b,
        b.sign(keys.authority, "log.genesis", genesis_body(keys)),
        "signature.context",
    )
    assert err.index == 0


def test_genesis_signed_for_another_origin_is_invalid() -> None:
    keys, b = make_keys(), EntryBuilder()
    b.sign.origin = "gongxin.test/another-log"
    rejects(
        LogState(),
        b,
        b.sign(keys.authority, "log.genesis", genesis_body(keys)),
        "signature.invalid",
    )


# -- the frozen format-1 bundle --------------------------------------------------------------


def _parse_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", 0)


MODES: list[tuple[str, Callable[[pytest.MonkeyPatch], None] | None, str]] = [
    ("inline", None, "1"),
    ("main-parses", None, "2"),
    ("workers-parse", _parse_in_workers, "2"),
]


@pytest.mark.parametrize(("mode", "setup", "workers"), MODES, ids=[m[0] for m in MODES])
def test_v1_bundle_verifies_with_exactly_one_warning(
    mode: str,
    setup: Callable[[pytest.MonkeyPatch], None] | None,
    workers: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if setup is not None:
        setup(monkeypatch)
    status, out, err = _verify(capsys, V1, V1 / "keys", "--workers", workers)
    assert status == EXIT_VALID, err
    assert err == FORMAT_1_WARNING + "\n"
    assert out.startswith("✓ 验证通过 valid: 25 entries"), out


def test_v1_bundle_json_reports_format_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _verify(capsys, V1, V1 / "keys", "--json", "-")
    assert status == EXIT_VALID
    assert json.loads(out)["format"] == 1
    assert err.count(FORMAT_1_WARNING) == 1 and err.startswith(FORMAT_1_WARNING + "\n")


def test_v2_bundle_json_reports_format_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _verify(
        capsys, generate.HERE / "good", generate.HERE / "keys", "--json", "-"
    )
    assert status == EXIT_VALID
    assert json.loads(out)["format"] == 2
    assert "warning" not in err


def test_v1_bundle_is_unchanged_and_differs_from_the_v2_one() -> None:
    genesis = json.loads((V1 / "entries.jsonl").read_bytes().split(b"\n", 1)[0])
    assert "format" not in genesis["statement"]["body"]
    good = json.loads((generate.HERE / "good" / "entries.jsonl").read_bytes().split(b"\n", 1)[0])
    assert good["statement"]["body"]["format"] == 2


def _v1_lines() -> tuple[list[bytes], SignerKey]:
    lines = (V1 / "entries.jsonl").read_bytes().splitlines()
    log_key = lf.make_key(0, "log", key_name=lf.ORIGIN)
    assert str(log_key.verifier()) == (V1 / "keys" / "log.vkey").read_text().strip()
    return lines, log_key


def test_a_format_1_log_takes_format_1_statements_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, log_key = _v1_lines()
    finance = lf.make_key(0, "finance")
    v1 = lf.forge_line(lines, finance, "fund.appropriate", fund_body(900))  # the log's: v1
    ok = [*lines, v1]
    lf.write_bundle(tmp_path / "ok", ok, lf.sign_checkpoint_over(ok, log_key))
    status, _, err = _verify(capsys, tmp_path / "ok", V1 / "keys")
    assert status == EXIT_VALID and err == FORMAT_1_WARNING + "\n"
    v2 = lf.forge_line(lines, finance, "fund.appropriate", fund_body(900), origin=lf.ORIGIN)
    bad = [*lines, v2]
    lf.write_bundle(tmp_path / "bad", bad, lf.sign_checkpoint_over(bad, log_key))
    status, _, err = _verify(capsys, tmp_path / "bad", V1 / "keys")
    assert status == EXIT_INVALID
    assert err.startswith(f"✗ 验证失败 INVALID at entry {len(lines)}: [signature.invalid]"), err


@pytest.mark.parametrize(("mode", "setup", "workers"), MODES, ids=[m[0] for m in MODES])
@pytest.mark.parametrize(
    ("variant", "rule"),
    [("format-1-signature", "signature.context"), ("signed-for-another-log", "signature.invalid")],
)
def test_workers_never_accept_a_signature_the_replay_would_refuse(
    variant: str,
    rule: str,
    mode: str,
    setup: Callable[[pytest.MonkeyPatch], None] | None,
    workers: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers pre-verify over the replay's message (origin from the genesis line), so a
    format-1 or other-log signature is refused in every mode, naming the entry."""
    if setup is not None:
        setup(monkeypatch)
    status, out, err = _verify(
        capsys, BROKEN / variant, generate.HERE / "keys", "--workers", workers
    )
    assert status == EXIT_INVALID and out == ""
    assert err.startswith(f"✗ 验证失败 INVALID at entry 25: [{rule}]"), err


def test_replay_of_the_v1_bundle_matches_its_key(tmp_path: Path) -> None:
    lines, _ = _v1_lines()
    state = replay(lines)
    assert (state.format, state.message_origin, state.size) == (1, None, 25)
    assert parse_verifier_key((V1 / "keys" / "log.vkey").read_text().strip()).name == lf.ORIGIN
