"""Concurrent writers: 16 clients × 500 statements against ``gongxin serve --workers 2`` on
SQLite and on PostgreSQL. The two server processes serialise their appends on the database
(SQLite's write lock, PostgreSQL's advisory lock), each group-committing what its clients
sent together. Afterwards: indices contiguous from the first new one, every client holds a
valid receipt for each of its statements, every checkpoint handed out is consistent with the
final tree, and ``gongxin-verify`` passes on the export."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import parse_verifier_key

from .api_server import DemoTemplate, LiveServer, demo_template, live_server
from .pg_server import PgServer
from .receipt_check import check_receipt, verify_export_zip

CLIENTS = 16
PER_CLIENT = 500


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("concurrency")
    if request.param == "sqlite":
        template = request.getfixturevalue("demo_log")
    else:
        pg: PgServer = request.getfixturevalue("pg")
        template = demo_template(workdir / "tpl", 600, url=pg.create_database("concurrency"))
    with live_server(template, workdir / "srv", "--workers", "2") as s:
        yield s


async def _client(url: str, items: list[tuple[str, bytes]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        for sid, data in items:
            r = await c.post(
                "/v1/statements", content=data, headers={"content-type": "application/json"}
            )
            assert r.status_code == 201, r.text
            out.append((sid, r.json()))
    return out


async def _all(url: str, work: list[list[tuple[str, bytes]]]) -> list[list[tuple[str, Any]]]:
    return await asyncio.gather(*(_client(url, w) for w in work))


def test_sixteen_clients_two_workers(server: LiveServer, tmp_path: Path) -> None:
    template: DemoTemplate = server.template
    finance = template.signer("finance_officer")
    log_key = parse_verifier_key(template.log_vkey)
    with server.client() as http:
        start = http.get("/healthz").json()["tree_size"]
    work = [
        [
            (sub.statement.id, sub.canonical())
            for sub in (
                sign_statement(
                    "fund.appropriate",
                    {
                        "fund_id": f"F-C{c}-{k}",
                        "fiscal_year": 2026,
                        "programme": "并发测试",
                        "source": "财政",
                        "amount_fen": 100 + k,
                    },
                    finance,
                    origin=DEMO_ORIGIN,
                )
                for k in range(PER_CLIENT)
            )
        ]
        for c in range(CLIENTS)
    ]
    results = asyncio.run(_all(server.url, work))
    receipts = [r for per_client in results for r in per_client]
    assert len(receipts) == CLIENTS * PER_CLIENT
    for sid, receipt in receipts:
        check_receipt(receipt, log_key, sid)
    indices = sorted(r["index"] for _, r in receipts)
    assert indices == list(range(start, start + CLIENTS * PER_CLIENT))
    with server.client() as http:
        final = open_checkpoint(http.get("/v1/log/checkpoint").text, log_key)
        assert final.size == start + CLIENTS * PER_CLIENT
        # Every checkpoint handed out is a prefix of the final tree (one tree, no fork).
        seen = {}
        for _, r in receipts:
            cp = open_checkpoint(r["checkpoint"], log_key)
            seen[cp.size] = cp.root
        assert len(seen) > 1
        for size, root in sorted(seen.items()):
            if size == final.size:
                assert root == final.root
                continue
            proof = http.get(
                "/v1/log/proof/consistency", params={"size1": size, "size2": final.size}
            ).json()
            merkle.verify_consistency(
                size,
                final.size,
                [base64.b64decode(h) for h in proof["consistency_path"]],
                root,
                final.root,
            )
        archive = http.get("/v1/log/export").content
    verify_export_zip(archive, template.log_vkey, tmp_path)
