"""An in-process Gongxin server for the ``ledger.client`` tests (tests/test_client_*.py): an
``httpx.MockTransport`` handler that appends to a real ledger
(:func:`tests.ledger_fixtures.standard_ledger`) and answers with the API's own receipt and
problem encoders (``api.receipts``, ``api.problems``), and a client pinned to its log key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from api.jsonbody import batch_items
from api.problems import from_error
from api.receipts import receipts_json
from ledger.client import GongxinClient
from tests.ledger_fixtures import LedgerEnv, fund_body
from verifier.core.entry import Submission
from verifier.core.errors import GongxinError

Handler = Callable[[httpx.Request], httpx.Response]


def ledger_handler(env: LedgerEnv) -> Handler:
    """The write and log routes of docs/API.md, served from ``env``'s ledger."""
    ledger = env.ledger

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        try:
            if request.method == "POST" and path == "/v1/statements":
                r = ledger.append(request.content)
                status = 200 if r.duplicate else 201
                return httpx.Response(status, json=receipts_json(ledger, [r])[0])
            if request.method == "POST" and path == "/v1/statements/batch":
                rs = ledger.append_batch(batch_items(request.content))
                status = 200 if all(r.duplicate for r in rs) else 201
                return httpx.Response(status, json={"receipts": receipts_json(ledger, rs)})
            if path.startswith("/v1/statements/"):
                found = ledger.receipt_of(path.rsplit("/", 1)[1])
                if found is None:
                    return problem(404, "not_found", "no such statement")
                return httpx.Response(200, json=receipts_json(ledger, [found])[0])
            if path == "/v1/log/key":
                return httpx.Response(200, text=str(env.keys.log.verifier()) + "\n")
            if path == "/v1/log/checkpoint":
                return httpx.Response(200, text=ledger.latest_checkpoint())
        except GongxinError as exc:
            p = from_error(exc)
            return problem(p.status, p.code, p.detail, p.field)
        return problem(404, "not_found", "no such route")

    return handle


def problem(status: int, code: str, detail: str, field: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": status, "code": code, "detail": detail, "title": "x"}
    if field:
        body["field"] = field
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/problem+json"},
    )


def mock_client(env: LedgerEnv) -> GongxinClient:
    """A client of :func:`ledger_handler` over ``env``, pinned to the log key; close it."""
    return GongxinClient(
        "http://gongxin.test",
        env.keys.log.verifier(),
        transport=httpx.MockTransport(ledger_handler(env)),
    )


def fund(env: LedgerEnv, n: int) -> Submission:
    return env.sign(env.keys["finance"], "fund.appropriate", fund_body(1000 + n))
