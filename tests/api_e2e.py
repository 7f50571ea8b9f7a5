"""What the end-to-end API tests share (tests/test_api_e2e*.py): ``gongxin serve`` on a copy
of the demo log, in SQLite or in a real PostgreSQL server, an HTTP client of it, and signing
and posting statements with the demo's keys."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core.keys import VerifierKey, parse_verifier_key

from .api_server import DemoTemplate, live_server

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))
JSON = {"content-type": "application/json"}


def demo_log_on(request: pytest.FixtureRequest) -> DemoTemplate:
    """The demo log on the database ``request.param`` names (``sqlite`` or ``postgresql``),
    for a session fixture parametrized over both."""
    fixture = "demo_log" if request.param == "sqlite" else "demo_log_pg"
    template: DemoTemplate = request.getfixturevalue(fixture)
    return template


@contextmanager
def e2e_client(
    template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A client of a server on a copy of ``template`` (1,000 look-ups a minute allowed), open
    while the block runs. Cost: one server start, seconds."""
    workdir = tmp_path_factory.mktemp("server")
    with live_server(template, workdir, "--lookups-per-minute", "1000") as s, s.client() as c:
        yield c


def key(template: DemoTemplate, name: str) -> SignerKey:
    """An active demo key: ``finance-1`` / ``finance-2`` (two different finance officers) or
    ``approver``."""
    if name.startswith("finance-"):
        return template.signer("finance_officer", int(name[-1]) - 1)
    return template.signer(name)


def log_key(template: DemoTemplate) -> VerifierKey:
    return parse_verifier_key(template.log_vkey)


def signed(kind: str, body: dict[str, Any], signer: SignerKey) -> tuple[str, bytes]:
    sub = sign_statement(kind, body, signer, origin=DEMO_ORIGIN)
    return sub.statement.id, sub.canonical()


def post(http: httpx.Client, data: bytes) -> httpx.Response:
    return http.post("/v1/statements", content=data, headers=JSON)


def digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
