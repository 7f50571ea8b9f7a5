"""Crash safety: ``gongxin serve`` is killed with SIGKILL 20 times while clients write, on
SQLite and on PostgreSQL. After every restart each statement that got a receipt is in the log
at the receipt's index with the receipt's leaf hash; statements whose request died with the
server are resubmitted (same bytes) and get a receipt — never a conflict; and at the end the
whole log passes ``gongxin-verify`` (nothing half-written: every entry, node and checkpoint
of a transaction is there, or none of it)."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from ledger.store import engine as storage
from verifier.core.keys import parse_verifier_key

from .api_server import DemoTemplate, demo_template, live_server
from .pg_server import PgServer
from .receipt_check import check_receipt, verify_export_zip

KILLS = 20
CLIENTS = 4
JSON = {"content-type": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoTemplate]:
    """A demo log served in place, so that it survives the kills."""
    if request.param == "sqlite":
        base: DemoTemplate = request.getfixturevalue("demo_log")
        db = tmp_path / "crash.db"
        shutil.copyfile(base.db, db)
        yield DemoTemplate(db, base.keys, f"sqlite:///{db}")
    else:
        pg: PgServer = request.getfixturevalue("pg")
        yield demo_template(tmp_path / "tpl", 600, url=pg.create_database("crash"))


def logged_entries(url: str, ids: list[str]) -> dict[str, tuple[int, str]]:
    """statement id → (index, leaf hash hex) as stored, for the given ids (direct reads)."""
    engine = create_engine(url)
    out: dict[str, tuple[int, str]] = {}
    e = storage.entries.c
    try:
        with engine.connect() as conn:
            for k in range(0, len(ids), 500):
                rows = conn.execute(
                    select(e.statement_id, e.idx, e.leaf_hash).where(
                        e.statement_id.in_(ids[k : k + 500])
                    )
                )
                out.update({sid: (int(i), bytes(h).hex()) for sid, i, h in rows})
    finally:
        engine.dispose()
    return out


class Writers:
    """Clients that sign and submit statements until stopped; they remember every receipt
    and every statement whose request got no answer."""

    def __init__(self, finance: SignerKey) -> None:
        self.finance = finance
        self.acked: dict[str, dict[str, object]] = {}
        self.unanswered: dict[str, bytes] = {}
        self.counter = 0
        self.stop = threading.Event()

    def _next(self) -> tuple[str, bytes]:
        self.counter += 1
        sub = sign_statement(
            "fund.appropriate",
            {
                "fund_id": f"F-K-{self.counter}",
                "fiscal_year": 2026,
                "programme": "断电测试",
                "source": "财政",
                "amount_fen": self.counter,
            },
            self.finance,
            origin=DEMO_ORIGIN,
        )
        return sub.statement.id, sub.canonical()

    async def _client(self, url: str, retry: list[tuple[str, bytes]]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            while not self.stop.is_set():
                if retry:
                    batch = [retry.pop()]
                else:
                    batch = [self._next() for _ in range(random.choice((1, 1, 5, 20)))]
                for sid, data in batch:
                    self.unanswered[sid] = data
                body = b"[" + b",".join(d for _, d in batch) + b"]"
                try:
                    r = await c.post("/v1/statements/batch", content=body, headers=JSON)
                except httpx.HTTPError:
                    return  # the server died under us: these stay unanswered
                assert r.status_code in (200, 201), r.text  # never 409: retries are identical
                for (sid, _), receipt in zip(batch, r.json()["receipts"], strict=True):
                    self.acked[sid] = receipt
                    self.unanswered.pop(sid, None)

    def run(self, url: str) -> threading.Thread:
        retry = list(self.unanswered.items())
        self.stop.clear()

        async def main() -> None:
            await asyncio.gather(*(self._client(url, retry) for _ in range(CLIENTS)))

        t = threading.Thread(target=asyncio.run, args=(main(),))
        t.start()
        return t


def test_sigkill_loses_no_acknowledged_entry(log: DemoTemplate, tmp_path: Path) -> None:
    log_key = parse_verifier_key(log.log_vkey)
    writers = Writers(log.signer("finance_officer"))
    for cycle in range(KILLS + 1):
        with live_server(log, tmp_path / f"run{cycle}") as srv:
            # Every acknowledged statement survived every earlier kill, unchanged.
            logged = logged_entries(log.db_url, list(writers.acked))
            for sid, receipt in writers.acked.items():
                assert logged.get(sid) == (receipt["index"], receipt["leaf_hash"]), (
                    f"cycle {cycle}: the receipt for {sid} was lost or changed"
                )
            if cycle == KILLS:
                break
            thread = writers.run(srv.url)
            time.sleep(random.uniform(0.2, 0.8))
            srv.process.send_signal(signal.SIGKILL)
            srv.process.wait()
            writers.stop.set()
            thread.join(30)
            assert not thread.is_alive()
    assert len(writers.acked) > KILLS  # the clients really wrote between the kills
    for sid, receipt in writers.acked.items():
        check_receipt(receipt, log_key, sid)
    with live_server(log, tmp_path / "final") as srv, srv.client() as http:
        # Resubmitting what never got an answer: each is logged exactly once.
        for data in writers.unanswered.values():
            r = http.post("/v1/statements", content=data, headers=JSON)
            assert r.status_code in (200, 201), r.text
        archive = http.get("/v1/log/export").content
    verify_export_zip(archive, log.log_vkey, tmp_path)
