"""Operations: ``/metrics`` (Prometheus text) counts appends, groups, rejections by rule and
look-ups; the server logs one JSON object per line; SIGTERM stops it gracefully — queued
writes are committed and answered, the process exits 0."""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement

from .api_server import DemoTemplate, LiveServer, live_server

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("ops")
    with live_server(demo_log, workdir, "--log-level", "info", "--metrics") as s:
        yield s


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in metrics")


def appropriation(t: DemoTemplate, fund_id: str, amount: int = 10) -> bytes:
    return sign_statement(
        "fund.appropriate",
        {
            "fund_id": fund_id,
            "fiscal_year": 2026,
            "programme": "运维",
            "source": "财政",
            "amount_fen": amount,
        },
        t.signer("finance_officer"),
        origin=DEMO_ORIGIN,
    ).canonical()


def test_metrics_count_what_happened(server: LiveServer, demo_log: DemoTemplate) -> None:
    with server.client() as http:
        before = http.get("/metrics")
        assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
        b = before.text
        body = b"[" + b",".join(appropriation(demo_log, f"F-M-{k}") for k in range(3)) + b"]"
        assert http.post("/v1/statements/batch", content=body, headers=JSON).status_code == 201
        dup = appropriation(demo_log, "F-M-0")  # same fund id, new statement: a rule
        assert http.post("/v1/statements", content=dup, headers=JSON).status_code == 422
        http.post("/v1/residents/lookup", json={"code": "0000000000000"})
        after = http.get("/metrics").text
        size = http.get("/healthz").json()["tree_size"]
    assert (
        metric(after, "gongxin_entries_appended_total")
        == metric(b, "gongxin_entries_appended_total") + 3
    )
    assert metric(after, "gongxin_rejections_total", rule="fund.duplicate") >= 1
    assert metric(after, "gongxin_resident_lookups_total", outcome="not_found") >= 1
    assert (
        metric(after, "gongxin_group_entries_count") >= metric(b, "gongxin_group_entries_count") + 1
    )
    assert metric(after, "gongxin_write_seconds_bucket", le="+Inf") >= 1
    assert metric(after, "gongxin_tree_size") == size
    for line in after.splitlines():  # every sample line is well-formed
        assert line.startswith("#") or re.fullmatch(r"[a-z_]+(\{[^}]*\})? [0-9.e+-]+", line), line


def test_logs_are_json_lines(server: LiveServer, demo_log: DemoTemplate) -> None:
    with server.client() as http:
        http.post("/v1/statements", content=appropriation(demo_log, "F-L-1"), headers=JSON)
    records = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    appends = [r for r in records if r.get("event") == "append"]
    assert appends and {"ts", "level", "logger", "msg", "new", "first_index", "ms"} <= set(
        appends[-1]
    )
    assert all(line.startswith("{") for line in server.output().splitlines()[1:] if line)


def test_sigterm_commits_queued_writes_and_exits_cleanly(
    demo_log: DemoTemplate, tmp_path: Path
) -> None:
    acked: list[int] = []
    with live_server(demo_log, tmp_path) as srv:

        def write(c: int) -> None:
            with srv.client() as http:
                for k in range(200):
                    try:
                        r = http.post(
                            "/v1/statements",
                            headers=JSON,
                            content=appropriation(demo_log, f"F-T-{c}-{k}"),
                        )
                    except Exception:
                        return
                    if r.status_code != 201:
                        return
                    acked.append(r.json()["index"])

        threads = [threading.Thread(target=write, args=(c,)) for c in range(4)]
        for t in threads:
            t.start()
        while len(acked) < 20:
            pass
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=60) == 0
        for t in threads:
            t.join(30)
        db_url = srv.db_url
    from ledger.log import Ledger

    with Ledger.open(db_url, create=False) as ledger:
        assert all(i < ledger.size for i in acked)
        assert ledger.size == int(ledger.latest_checkpoint().split("\n")[1])
