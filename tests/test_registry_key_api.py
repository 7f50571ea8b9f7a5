"""The stricter key registry (FORMAT.md §7.2) over real HTTP: ``gongxin serve`` on a copy of
the demo log (SQLite) answers a ``key.grant`` that breaks ``key.weak``, ``key.log_key``,
``key.reused`` or ``key.duplicate_public`` with a problem+json naming the rule and the
field, and writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core.keys import VerifierKey, compute_key_id, parse_verifier_key

from .api_server import DemoTemplate, LiveServer, live_server
from .ed25519_model import SMALL_ORDER


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path_factory.mktemp("registry-api")) as s:
        yield s


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def named(name: str, public_key: bytes) -> str:
    return str(VerifierKey(name, compute_key_id(name, public_key), public_key))


def origin(t: DemoTemplate) -> str:
    """The demo log's origin: its log key's name (FORMAT.md §7.2 rule 1)."""
    return parse_verifier_key(t.log_vkey).name


def post(http: httpx.Client, data: bytes) -> httpx.Response:
    return http.post("/v1/statements", content=data, headers={"content-type": "application/json"})


def revoked_public_key(t: DemoTemplate, http: httpx.Client) -> bytes:
    """The public key of a clerk granted and then revoked through the API."""
    clerk = SignerKey.from_seed("test-clerk", hashlib.sha256(b"registry-api clerk").digest())
    grant = {"key": str(clerk.verifier()), "roles": ["auditor"], "title": "临时岗位"}
    revoke = {"key_id": clerk.key_id_hex, "reason": "调岗"}
    for kind, body in (("key.grant", grant), ("key.revoke", revoke)):
        sub = sign_statement(kind, body, t.signer("authority"), origin=origin(t))
        r = post(http, sub.canonical())
        assert r.status_code == 201, r.text
    return clerk.verifier().public_key


BAD_KEYS: dict[str, Callable[[DemoTemplate, httpx.Client], str]] = {
    "key.weak": lambda t, http: named("test-weak", SMALL_ORDER[1]),
    "key.log_key": lambda t, http: named("log-alias", parse_verifier_key(t.log_vkey).public_key),
    "key.reused": lambda t, http: named("rehired", revoked_public_key(t, http)),
    "key.duplicate_public": lambda t, http: named(
        "finance-twin", t.signer("finance_officer").verifier().public_key
    ),
}


@pytest.mark.parametrize("rule", list(BAD_KEYS))
def test_a_bad_grant_is_a_problem_and_nothing_is_written(
    http: httpx.Client, demo_log: DemoTemplate, rule: str
) -> None:
    key_text = BAD_KEYS[rule](demo_log, http)
    body = {"key": key_text, "roles": ["approver"], "title": "测试岗位"}
    sub = sign_statement("key.grant", body, demo_log.signer("authority"), origin=origin(demo_log))
    before = http.get("/v1/log/checkpoint").text
    r = post(http, sub.canonical())
    assert r.status_code == 422, r.text  # a rule of FORMAT.md (api/problems.py)
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == rule
    assert problem["type"] == f"urn:gongxin:problem:{rule}"
    assert problem["field"] == "statement.body.key"
    assert problem["key_id"] == key_text.split("+")[1]
    assert http.get("/v1/log/checkpoint").text == before
    assert http.get(f"/v1/statements/{sub.statement.id}").status_code == 404
