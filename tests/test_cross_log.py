"""Cross-log replay (FORMAT.md §3.2): one official's key is granted in two logs, A and B. A
statement it signed for A is logged by A, and refused by B everywhere — B's API, B's
``gongxin append`` and ``gongxin-verify`` on a bundle of B with the entry spliced in — while
the same statement signed for B is accepted. A format-1 database keeps appending format 1,
with one warning line when opened for appending.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.demo.cast import DEMO_ORIGIN
from ledger.log import FORMAT_1_APPEND_WARNING, Ledger
from ledger.records import entry_bytes, format_log_time
from ledger.signing.keyfile import read_private_key, write_private_key
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from tests import logfactory as lf
from verifier.cli.main import EXIT_INVALID, main
from verifier.cli.parallel import SignaturePool
from verifier.core import merkle
from verifier.core.entry import Submission

from .api_server import GONGXIN, DemoTemplate, live_server
from .domain_bodies import fund_body, policy_body
from .keyring import Signer, StepClock, genesis_body, grant_body, make_keys

ORIGIN_A = "gongxin.test/log-a"
JSON = {"Content-Type": "application/json"}


def _log_a(path: Path, finance: SignerKey, *, log_format: int = 2) -> Ledger:
    """Log A: its own log key and authorities, ``finance`` granted, a policy in force; its
    clock a minute behind the real one (statements are signed now)."""
    keys = make_keys(7, origin=ORIGIN_A)
    clock = StepClock(datetime.now(UTC) - timedelta(minutes=1), timedelta(seconds=1))
    ledger = Ledger.open(f"sqlite:///{path}", log_key=keys.log, clock=clock, pool=SignaturePool(1))
    sign = Signer(clock, prefix="log-a", origin=ORIGIN_A if log_format == 2 else None)
    genesis = genesis_body(keys, ORIGIN_A, log_format=log_format)
    ledger.initialize(sign(keys.authority, "log.genesis", genesis).canonical())
    grant = grant_body(finance, ["finance_officer"])
    ledger.append_batch(
        [
            sign(keys.authority, "key.grant", grant).canonical(),
            sign(keys.authority, "policy.set", policy_body()).canonical(),
        ]
    )
    return ledger


@pytest.fixture
def replayed(demo_log: DemoTemplate, tmp_path: Path) -> tuple[Submission, SignerKey]:
    """A statement by the demo log's (B's) finance officer, signed for log A and logged by A."""
    finance = demo_log.signer("finance_officer")
    sub = sign_statement("fund.appropriate", fund_body(4242), finance, origin=ORIGIN_A)
    with _log_a(tmp_path / "a.db", finance) as a:
        assert a.append(sub.canonical()).index == 3
    return sub, finance


def test_b_api_refuses_a_statement_signed_for_a(
    demo_log: DemoTemplate, replayed: tuple[Submission, SignerKey], tmp_path: Path
) -> None:
    sub, finance = replayed
    with live_server(demo_log, tmp_path / "live") as srv, srv.client() as http:
        r = http.post("/v1/statements", content=sub.canonical(), headers=JSON)
        assert r.status_code == 422, r.text  # docs/API.md §1: a rule → 422
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert (problem["code"], problem["field"]) == ("signature.invalid", "signatures[0].sig")
        assert DEMO_ORIGIN in problem["detail"]
        # Signed over the format-1 message instead: [signature.context].
        old = sign_statement("fund.appropriate", fund_body(4243), finance, origin=None)
        r = http.post("/v1/statements", content=old.canonical(), headers=JSON)
        assert r.status_code == 422 and r.json()["code"] == "signature.context", r.text
        assert DEMO_ORIGIN in r.json()["detail"]
        # The same content signed for B is logged: the key is granted in B.
        mine = sign_statement("fund.appropriate", fund_body(4242), finance, origin=DEMO_ORIGIN)
        r = http.post("/v1/statements", content=mine.canonical(), headers=JSON)
        assert r.status_code == 201, r.text


def test_b_cli_refuses_a_statement_signed_for_a(
    demo_log: DemoTemplate, replayed: tuple[Submission, SignerKey], tmp_path: Path
) -> None:
    sub, _ = replayed
    db = tmp_path / "b.db"
    shutil.copyfile(demo_log.db, db)
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(sub.to_json(), ensure_ascii=False), encoding="utf-8")
    args = [
        "append",
        str(signed),
        "--db",
        f"sqlite:///{db}",
        "--log-key-file",
        str(demo_log.log_key),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "[signature.invalid]" in result.output and DEMO_ORIGIN in result.output
    with Ledger.open(f"sqlite:///{db}", replay=False) as b:
        assert b.size == 2000


def test_a_bundle_of_b_with_the_entry_spliced_in_fails_naming_it(
    demo_log: DemoTemplate,
    replayed: tuple[Submission, SignerKey],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sub, _ = replayed
    with Ledger.open(demo_log.db_url, replay=False) as b:
        lines = list(b.iter_lines())
    last = json.loads(lines[-1])["log_time"]
    when = max(datetime.fromisoformat(last), datetime.fromisoformat(sub.statement.time))
    line = entry_bytes(
        len(lines),
        format_log_time(when + timedelta(seconds=1)),
        merkle.leaf_hash(lines[-1]).hex(),
        sub,
    )
    spliced = [*lines, line]
    log_key = read_private_key(demo_log.log_key)
    lf.write_bundle(tmp_path / "b", spliced, lf.sign_checkpoint_over(spliced, log_key))
    status = main([str(tmp_path / "b"), "--log-key", demo_log.log_vkey, "--workers", "1"])
    _, err = capsys.readouterr()
    assert status == EXIT_INVALID
    assert err.startswith(f"✗ 验证失败 INVALID at entry {len(lines)}: [signature.invalid]"), err


def test_a_format_1_database_keeps_format_1_and_warns_once(tmp_path: Path) -> None:
    """``gongxin append`` on a format-1 database: one warning line, the statement signed over
    format 1's message (the log's), and the log still verifies."""
    finance = make_keys(3)["finance"]
    db = tmp_path / "old.db"
    keys = make_keys(7, origin=ORIGIN_A)
    _log_a(db, finance, log_format=1).close()
    write_private_key(tmp_path / "log.key", keys.log, None)
    write_private_key(tmp_path / "finance.key", finance, None)
    template = tmp_path / "fund.json"
    template.write_text(json.dumps({"kind": "fund.appropriate", "body": fund_body(77)}))
    run = subprocess.run(
        [
            GONGXIN,
            "append",
            str(template),
            "--key",
            str(tmp_path / "finance.key"),
            "--db",
            f"sqlite:///{db}",
            "--log-key-file",
            str(tmp_path / "log.key"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == FORMAT_1_APPEND_WARNING + "\n"
    assert json.loads(run.stdout)["index"] == 3
    with Ledger.open(f"sqlite:///{db}", replay=True) as ledger:
        assert (ledger.state.format, ledger.state.message_origin, ledger.size) == (1, None, 4)
