"""The log collects cosignatures (issue 15), end to end over real HTTP: a live ``gongxin serve
--witness-policy`` and two real ``gongxin witness serve`` processes, plus a misbehaving
witness server (500, garbage, a hang, an endless reply) that must hurt nothing.

One module, one server, steps in order: the quorum's cosignatures appear on ``/checkpoint``
and in receipts; a witness that already holds a checkpoint of the log (409 with its size) is
caught up from there; a stopped witness blocks no append and catches up when restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from ledger.demo.cast import DEMO_ORIGIN
from ledger.log import Ledger
from ledger.signing.statements import sign_statement
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.witness.cosignature import WitnessKey
from verifier.witness.policy import WitnessPolicy, check_cosigned, parse_policy

from .api_server import DemoTemplate, LiveServer, demo_template, live_server
from .domain_bodies import fund_body
from .witness_procs import WitnessDir, WitnessProcess, bad_witness, init_witness, running

JSON = {"content-type": "application/json"}
BOUND = 30.0
"""Seconds within which cosignatures must appear (back-off is capped at 30 s, jittered)."""


@dataclass
class Setup:
    template: DemoTemplate
    server: LiveServer
    http: httpx.Client
    w1_proc: WitnessProcess
    w2: WitnessDir
    policy: WitnessPolicy
    log_key: VerifierKey
    start_size: int


def _bad_key(name: str) -> WitnessKey:
    return WitnessKey.from_public_key(name, bytes(SigningKey.generate().verify_key))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("cosigning")
    template = demo_template(root / "tpl", 300)
    vkey = template.log_vkey
    w1 = init_witness(root / "w1", "witness.example/w1", DEMO_ORIGIN, vkey)
    w2 = init_witness(root / "w2", "witness.example/w2", DEMO_ORIGIN, vkey)
    with Ledger.open(template.db_url, create=False, replay=False) as ledger:
        start_size, start_note = ledger.published()
    with bad_witness() as bad, running(w1) as w1_proc, running(w2):
        # w2 already holds the log's checkpoint: the server's first request (old 0) gets
        # 409 with that size, which it must adopt.
        fed = httpx.post(
            w2.url + "/add-checkpoint", content=f"old 0\n\n{start_note}".encode(), timeout=10
        )
        assert fed.status_code == 200, fed.text
        text = "\n".join(
            [
                f"log {vkey}",
                f"witness 一号 {w1.key} {w1.url}",
                f"witness 二号 {w2.key} {w2.url}",
                f"witness 坏500 {_bad_key('bad.example/500')} {bad}/500",
                f"witness 乱码 {_bad_key('bad.example/garbage')} {bad}/garbage",
                f"witness 不答 {_bad_key('bad.example/hang')} {bad}/hang",
                f"witness 太长 {_bad_key('bad.example/huge')} {bad}/huge",
                "group 两家 all 一号 二号",
                "quorum 两家",
                "",
            ]
        )
        policy_file = root / "policy"
        policy_file.write_text(text, "utf-8")
        workdir = root / "server"
        with (
            live_server(
                template, workdir, "--witness-policy", str(policy_file), "--log-level", "info"
            ) as server,
            server.client() as http,
        ):
            yield Setup(
                template,
                server,
                http,
                w1_proc,
                w2,
                parse_policy(text),
                parse_verifier_key(vkey),
                start_size,
            )


def _append(s: Setup, n: int, headers: dict[str, str] | None = None) -> httpx.Response:
    finance = s.template.signer("finance_officer")
    sub = sign_statement("fund.appropriate", fund_body(n), finance, origin=DEMO_ORIGIN)
    r = s.http.post("/v1/statements", content=sub.canonical(), headers=JSON | (headers or {}))
    assert r.status_code == 201, r.text
    return r


def _witnessed_size(s: Setup) -> int:
    """The size of ``/checkpoint`` after checking its cosignatures satisfy the quorum (0 if
    they do not)."""
    note = s.http.get("/checkpoint").text
    try:
        opened, present = check_cosigned(note, s.log_key, s.policy)
    except Exception:
        return 0
    assert {w.name for w in present} == {"一号", "二号"}
    return opened.checkpoint.size


def _until_witnessed(s: Setup, size: int, bound: float = BOUND) -> float:
    t0 = time.monotonic()
    while _witnessed_size(s) < size:
        assert time.monotonic() - t0 < bound, f"not witnessed at {size} within {bound} s"
        time.sleep(0.2)
    return time.monotonic() - t0


def test_bad_policy_file_exits_2(setup: Setup, tmp_path: Path) -> None:
    import subprocess

    from .api_server import GONGXIN

    bad = tmp_path / "policy"
    bad.write_text("witness x nokey\nquorum x\n", "utf-8")
    done = subprocess.run(
        [GONGXIN, "serve", "--witness-policy", str(bad), "--db", setup.server.db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "line 1" in done.stderr


def test_quorum_cosignatures_reach_checkpoint_and_receipts(setup: Setup) -> None:
    s = setup
    r = _append(s, 9001)
    index = r.json()["index"]
    took = _until_witnessed(s, index + 1)
    note = s.http.get("/checkpoint").text
    opened, _ = check_cosigned(note, s.log_key, s.policy)
    assert opened.count() == 2
    # the tiles client's view: log-signed, and the same note with cosignatures at /v1
    latest = s.http.get("/v1/log/checkpoint")
    assert latest.headers["gongxin-witnessed"] in ("true", "false")
    assert open_checkpoint(latest.text, s.log_key).size >= opened.checkpoint.size
    # the receipt of the entry, looked up, carries the cosigned checkpoint
    sid = r.json()["statement_id"]
    receipt = s.http.get(f"/v1/statements/{sid}").json()
    assert receipt["witnessed"] is True
    check_cosigned(receipt["checkpoint"], s.log_key, s.policy)
    # the w2 witness was fed the old checkpoint first: its 409 was adopted
    assert opened.checkpoint.size > s.start_size
    print(f"witnessed in {took:.2f} s")


def test_write_may_wait_for_the_quorum(setup: Setup) -> None:
    s = setup
    r = _append(s, 9002, {"Prefer": "wait=20"})
    body = r.json()
    assert body["witnessed"] is True, body
    opened, _ = check_cosigned(body["checkpoint"], s.log_key, s.policy)
    assert opened.checkpoint.size > body["index"]
    assert r.headers.get("preference-applied") == "wait=20"


def test_stopped_witness_blocks_nothing_and_catches_up(setup: Setup) -> None:
    s = setup
    _until_witnessed(s, s.http.get("/healthz").json()["tree_size"])
    s.w1_proc.stop()
    times = []
    for n in range(5):
        t0 = time.monotonic()
        _append(s, 9100 + n)
        times.append(time.monotonic() - t0)
    assert max(times) < 2.0, times
    waited = time.monotonic()
    r = _append(s, 9200, {"Prefer": "wait=1"})
    assert time.monotonic() - waited < 5
    assert r.json()["witnessed"] is False
    size = r.json()["index"] + 1
    assert _witnessed_size(s) < size
    time.sleep(3)  # a few failed attempts: the collector backs off
    s.w1_proc.start()
    took = _until_witnessed(s, size)
    print(
        f"appends while a witness was down: {[round(t, 3) for t in times]} s; "
        f"caught up {took:.1f} s after its restart"
    )


def test_bad_witnesses_are_logged_once_each(setup: Setup) -> None:
    log = setup.server.output()
    failures = [line for line in log.splitlines() if '"witness.failure"' in line]
    for name in ("坏500", "乱码", "不答", "太长"):
        mine = [line for line in failures if f'"witness": "{name}"' in line]
        assert len(mine) == 1, (name, mine)  # once per change of its condition


def test_one_collector_among_workers(setup: Setup, tmp_path: Path) -> None:
    """``--workers 2``: both processes serve the witnessed checkpoint, one collects."""
    s = setup
    w = init_witness(tmp_path / "w3", "witness.example/w3", DEMO_ORIGIN, s.template.log_vkey)
    policy_text = f"witness 三号 {w.key} {w.url}\nquorum 三号\n"
    (tmp_path / "policy").write_text(policy_text, "utf-8")
    policy = parse_policy(policy_text)
    with (
        running(w),
        live_server(
            s.template,
            tmp_path / "server",
            "--witness-policy",
            str(tmp_path / "policy"),
            "--workers",
            "2",
            "--log-level",
            "info",
        ) as server,
        server.client() as http,
    ):
        finance = s.template.signer("finance_officer")
        sub = sign_statement("fund.appropriate", fund_body(9300), finance, origin=DEMO_ORIGIN)
        r = http.post(
            "/v1/statements", content=sub.canonical(), headers=JSON | {"Prefer": "wait=20"}
        )
        assert r.status_code == 201 and r.json()["witnessed"] is True, r.text
        for _ in range(10):  # whichever worker answers
            opened, _ = check_cosigned(http.get("/checkpoint").text, s.log_key, policy)
            assert opened.checkpoint.size > r.json()["index"]
        log = server.output()
    assert log.count('"witness.collect"') == 1, log


def test_collects_on_postgresql(demo_log_pg: DemoTemplate, tmp_path: Path) -> None:
    """The same on PostgreSQL (the collector's lease is a session advisory lock there)."""
    vkey = demo_log_pg.log_vkey
    w = init_witness(tmp_path / "w", "witness.example/pg", DEMO_ORIGIN, vkey)
    policy_text = f"witness 甲 {w.key} {w.url}\nquorum 甲\n"
    (tmp_path / "policy").write_text(policy_text, "utf-8")
    policy, log_key = parse_policy(policy_text), parse_verifier_key(vkey)
    with (
        running(w),
        live_server(
            demo_log_pg, tmp_path / "server", "--witness-policy", str(tmp_path / "policy")
        ) as server,
        server.client() as http,
    ):
        finance = demo_log_pg.signer("finance_officer")
        sub = sign_statement("fund.appropriate", fund_body(9400), finance, origin=DEMO_ORIGIN)
        r = http.post(
            "/v1/statements", content=sub.canonical(), headers=JSON | {"Prefer": "wait=20"}
        )
        assert r.status_code == 201 and r.json()["witnessed"] is True, r.text
        check_cosigned(r.json()["checkpoint"], log_key, policy)
        opened, _ = check_cosigned(http.get("/checkpoint").text, log_key, policy)
        assert opened.checkpoint.size > r.json()["index"]
