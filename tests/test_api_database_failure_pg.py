"""PostgreSQL crashes under a running server: every write in flight gets 503 + Retry-After
(``server.database``), never 500 and never half a group; reads of the log say so too; once
PostgreSQL is back (crash recovery), the same writes commit — on a real server and a real
PostgreSQL cluster of its own (``pg_ctl stop -m immediate`` is the crash), so that the
session's shared cluster is never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .api_server import DemoTemplate, LiveServer, appropriations, demo_template, live_server
from .pg_server import PgServer, pg_server
from .test_api_database_failure import _batch, _concurrently


@pytest.fixture
def crashable(tmp_path: Path) -> Iterator[tuple[PgServer, DemoTemplate]]:
    with pg_server() as pg:
        url = pg.create_database("crashable")
        yield pg, demo_template(tmp_path / "demo", 600, url=url)


def _wait_writable(server: LiveServer, body: bytes, timeout: float = 60) -> httpx.Response:
    """Post ``body`` until the server answers other than 503 (PostgreSQL recovering)."""
    deadline = time.monotonic() + timeout
    with server.client() as http:
        while True:
            r = http.post(
                "/v1/statements/batch", content=body, headers={"content-type": "application/json"}
            )
            if r.status_code != 503 or time.monotonic() > deadline:
                return r
            time.sleep(0.5)


def test_postgres_crash_fails_writes_with_503_and_they_commit_after_recovery(
    crashable: tuple[PgServer, DemoTemplate], tmp_path: Path
) -> None:
    pg, template = crashable
    batches = [appropriations(template, f"F-DB-pg{n}", 3) for n in range(8)]
    with live_server(template, tmp_path / "server") as server:
        with server.client() as http:
            size_before = http.get("/healthz").json()["tree_size"]
        pg.crash()
        try:
            replies = _concurrently(server, [_batch(b) for b in batches])
            for r in replies:
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert int(r.headers["retry-after"]) > 0
                assert r.json()["code"] == "server.database"
            with server.client() as http:
                for path in ("/v1/log/entries?start=0&end=1", "/v1/log/proof/inclusion?index=1"):
                    r = http.get(path)
                    assert r.status_code == 503, (path, r.status_code, r.text)
                    assert r.headers["content-type"].startswith("application/problem+json")
        finally:
            pg.start()
        first = _wait_writable(server, _batch(batches[0]))
        assert first.status_code == 201, first.text
        rest = _concurrently(server, [_batch(b) for b in batches[1:]])
        assert [r.status_code for r in rest] == [201] * (len(batches) - 1), [r.text for r in rest]
        with server.client() as http:
            # Nothing of the failed attempts was written; each batch is in the log once.
            assert http.get("/healthz").json()["tree_size"] == size_before + 3 * len(batches)
        assert "Traceback" not in server.output()
