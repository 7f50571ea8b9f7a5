"""A failure of the database itself fails the whole group commit with 503 + Retry-After
(``server.database``), never half a group and never 500; once the database recovers,
writes succeed again — on a real server.

The failure is real: the server process's file-size limit is lowered to 0 from outside
(``prlimit``, as a full disk would do), so SQLite's next write to its WAL fails with an I/O
error inside the append transaction; raising the limit again is the disk freed.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .api_server import DemoTemplate, LiveServer, appropriations, live_server

JSON = {"content-type": "application/json"}


@pytest.fixture
def server(demo_log: DemoTemplate, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path) as s:
        yield s


def _batch(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


def _fail_writes(pid: int, failing: bool) -> None:
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0 if failing else hard, hard))


def _concurrently(server: LiveServer, bodies: list[bytes]) -> list[httpx.Response]:
    replies: list[httpx.Response | None] = [None] * len(bodies)
    gate = threading.Barrier(len(bodies))

    def post(n: int) -> None:
        with server.client() as http:
            gate.wait()
            replies[n] = http.post("/v1/statements/batch", content=bodies[n], headers=JSON)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in replies)
    return [r for r in replies if r is not None]


def test_a_failed_database_fails_the_group_with_503_and_recovers(
    server: LiveServer, demo_log: DemoTemplate
) -> None:
    batches = [appropriations(demo_log, f"F-DB-{n}", 3) for n in range(12)]
    with server.client() as http:
        size_before = http.get("/healthz").json()["tree_size"]
        checkpoint_before = http.get("/v1/log/checkpoint").text
    _fail_writes(server.process.pid, True)
    try:
        replies = _concurrently(server, [_batch(b) for b in batches])
    finally:
        _fail_writes(server.process.pid, False)
    for r in replies:
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["code"] == "server.database"
        assert r.headers["x-content-type-options"] == "nosniff"
    with server.client() as http:
        # Nothing of any request was written: no half group, no half batch.
        assert http.get("/healthz").json()["tree_size"] == size_before
        assert http.get("/v1/log/checkpoint").text == checkpoint_before
        # The database is back: the same batches now commit, whole.
        time.sleep(0.2)
    again = _concurrently(server, [_batch(b) for b in batches])
    assert [r.status_code for r in again] == [201] * len(batches), [r.text for r in again]
    with server.client() as http:
        assert http.get("/healthz").json()["tree_size"] == size_before + 3 * len(batches)


def test_a_rule_failure_still_fails_alone(server: LiveServer, demo_log: DemoTemplate) -> None:
    """The other half of the rule: a request that breaks a rule is refused alone (422),
    the rest of its group commits."""
    good = [appropriations(demo_log, f"F-DB-ok{n}", 2) for n in range(6)]
    # Two statements appropriating the same fund id in one batch: [fund.duplicate].
    bad = appropriations(demo_log, "F-DB-dup", 1) + appropriations(demo_log, "F-DB-dup", 1)
    bodies = [_batch(b) for b in good] + [_batch(bad)]
    replies = _concurrently(server, bodies)
    assert [r.status_code for r in replies[:-1]] == [201] * len(good)
    assert replies[-1].status_code == 422, replies[-1].text
    assert replies[-1].json()["code"] == "fund.duplicate"
