"""``ledger.client``: receipts are checked with nothing but the log key, API problems become
typed errors, and retries after lost connections never log a statement twice.

The server here is in-process: an ``httpx.MockTransport`` whose handler appends to a real
ledger (:func:`tests.ledger_fixtures.standard_ledger`) and answers with the API's own receipt
and problem encoders (``api.receipts``, ``api.problems``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from api.jsonbody import batch_items
from api.problems import from_error
from api.receipts import receipts_json
from ledger.client import (
    ApiError,
    GongxinClient,
    Receipt,
    ReceiptError,
    ServerUnavailable,
    parse_receipt,
    verify_receipt,
)
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from tests.ledger_fixtures import LedgerEnv, award_body, fund_body, key
from verifier.core import merkle
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Submission
from verifier.core.errors import GongxinError, InputError

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


@pytest.fixture
def client(env: LedgerEnv) -> Iterator[GongxinClient]:
    c = GongxinClient(
        "http://gongxin.test",
        env.keys.log.verifier(),
        transport=httpx.MockTransport(ledger_handler(env)),
    )
    yield c
    c.close()


def fund(env: LedgerEnv, n: int) -> Submission:
    return env.sign(env.keys["finance"], "fund.appropriate", fund_body(1000 + n))


# -- verify_receipt: a good receipt, and each tampered variant -----------------------------


@pytest.fixture
def good(env: LedgerEnv, client: GongxinClient) -> tuple[Receipt, Submission]:
    sub = fund(env, 1)
    return client.submit(sub), sub


def test_a_good_receipt_verifies(env: LedgerEnv, good: tuple[Receipt, Submission]) -> None:
    receipt, sub = good
    cp = verify_receipt(receipt, env.keys.log.verifier(), sub)
    assert cp.size == receipt.tree_size == env.ledger.size
    assert receipt.entry.encode() == next(env.ledger.iter_lines(receipt.index, receipt.index + 1))
    assert not receipt.duplicate
    # and by id alone, and after a JSON round trip
    verify_receipt(
        parse_receipt(receipt.to_json()), env.keys.log.verifier(), statement_id=sub.statement.id
    )


def _rehash(r: Receipt, entry: dict[str, Any]) -> Receipt:
    """``r`` with another entry line whose leaf hash is recomputed (so only deeper checks
    can notice)."""
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return replace(r, entry=line, leaf_hash=merkle.leaf_hash(line.encode()).hex())


def _entry(r: Receipt) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(r.entry)
    return data


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _forged_checkpoint(r: Receipt, signer: SignerKey) -> str:
    body = r.checkpoint[: r.checkpoint.index("\n\n") + 1]
    lines = body.split("\n")
    fake = Checkpoint(lines[0], int(lines[1]), bytes(32))
    return sign_checkpoint(fake, signer)


def tampered(env: LedgerEnv, r: Receipt, sub: Submission) -> dict[str, tuple[Receipt, str, str]]:
    """name -> (tampered receipt, expected rule, expected field)."""
    e = _entry(r)
    other_log_key = key("log", key_name=env.keys.log.name, seed=99)

    def entry_with(**changes: Any) -> Receipt:
        x = json.loads(r.entry)
        for dotted, value in changes.items():
            obj = x
            *parents, last = dotted.split("__")
            for p in parents:
                obj = obj[p]
            obj[last] = value
        return _rehash(r, x)

    sig = e["signatures"][0]["sig"]
    body = dict(e["statement"]["body"], amount_fen=e["statement"]["body"]["amount_fen"] + 1)
    path = list(r.inclusion_path)
    return {
        "checkpoint by another key": (
            replace(r, checkpoint=_forged_checkpoint(r, other_log_key)),
            "receipt.checkpoint",
            "checkpoint",
        ),
        "checkpoint root edited": (
            replace(
                r,
                checkpoint=r.checkpoint.replace(
                    r.checkpoint.split("\n")[2], base64.b64encode(bytes(32)).decode()
                ),
            ),
            "receipt.checkpoint",
            "checkpoint",
        ),
        "tree size": (replace(r, tree_size=r.tree_size + 1), "receipt.tree_size", "tree_size"),
        "leaf hash": (replace(r, leaf_hash="0" * 64), "receipt.leaf_hash", "leaf_hash"),
        "entry edited, leaf hash not": (
            replace(r, entry=r.entry.replace('"amount_fen":', '"amount_fen":1')),
            "receipt.leaf_hash",
            "leaf_hash",
        ),
        "entry not canonical": (
            replace(
                r, entry=r.entry + " ", leaf_hash=merkle.leaf_hash((r.entry + " ").encode()).hex()
            ),
            "receipt.entry",
            "entry",
        ),
        "index": (replace(r, index=r.index - 1), "receipt.index", "index"),
        "statement id of the receipt": (
            replace(r, statement_id="00000000-0000-4000-8000-000000000000"),
            "receipt.statement_id",
            "statement_id",
        ),
        "body": (entry_with(statement__body=body), "receipt.statement", "statement.body"),
        "time": (
            entry_with(statement__time="2020-01-01T00:00:00Z"),
            "receipt.statement",
            "statement.time",
        ),
        "signer": (
            entry_with(
                statement__signer="00000000", signatures=[{"key_id": "00000000", "sig": sig}]
            ),
            "receipt.statement",
            "statement.signer",
        ),
        "signature": (
            entry_with(signatures=[{"key_id": e["signatures"][0]["key_id"], "sig": _flip(sig)}]),
            "receipt.statement",
            "signatures",
        ),
        "path element": (
            replace(r, inclusion_path=(_flip(path[0]), *path[1:])),
            "receipt.inclusion",
            "inclusion_path",
        ),
        "path shortened": (
            replace(r, inclusion_path=tuple(path[:-1])),
            "receipt.inclusion",
            "inclusion_path",
        ),
        "path not base64": (
            replace(r, inclusion_path=("!!", *path[1:])),
            "receipt.shape",
            "inclusion_path[0]",
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "checkpoint by another key",
        "checkpoint root edited",
        "tree size",
        "leaf hash",
        "entry edited, leaf hash not",
        "entry not canonical",
        "index",
        "statement id of the receipt",
        "body",
        "time",
        "signer",
        "signature",
        "path element",
        "path shortened",
        "path not base64",
    ],
)
def test_each_tampered_receipt_is_rejected_naming_what_differed(
    env: LedgerEnv, good: tuple[Receipt, Submission], name: str
) -> None:
    receipt, sub = good
    assert len(receipt.inclusion_path) >= 2, "the fixture log must be big enough for a path"
    bad, rule, field = tampered(env, receipt, sub)[name]
    with pytest.raises(ReceiptError) as info:
        verify_receipt(bad, env.keys.log.verifier(), sub)
    assert (info.value.rule, info.value.field) == (rule, field)


def test_a_genuine_receipt_for_another_statement_is_rejected(
    env: LedgerEnv, client: GongxinClient, good: tuple[Receipt, Submission]
) -> None:
    receipt, _ = good
    other = fund(env, 2)
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, env.keys.log.verifier(), other)
    assert (info.value.rule, info.value.field) == ("receipt.statement", "statement.id")
    with pytest.raises(ReceiptError):
        verify_receipt(receipt, env.keys.log.verifier(), statement_id=other.statement.id)


def test_a_receipt_against_another_pinned_key_is_rejected(
    env: LedgerEnv, good: tuple[Receipt, Submission]
) -> None:
    receipt, sub = good
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, key("log", key_name=env.keys.log.name, seed=7).verifier(), sub)
    assert info.value.rule == "receipt.checkpoint"


@pytest.mark.parametrize(
    "obj",
    [[], {"index": 1}, {"index": "1", "statement_id": "x"}],
)
def test_malformed_receipts_are_shape_errors(obj: Any) -> None:
    with pytest.raises(ReceiptError) as info:
        parse_receipt(obj)
    assert info.value.rule == "receipt.shape"


# -- the client against a server -------------------------------------------------------------


def test_submit_batch_and_lookup(env: LedgerEnv, client: GongxinClient) -> None:
    subs = [fund(env, n) for n in range(3)]
    receipts = client.submit_batch(subs)
    assert [r.statement_id for r in receipts] == [s.statement.id for s in subs]
    assert len({r.checkpoint for r in receipts}) == 1
    assert [r.index for r in receipts] == list(range(receipts[0].index, receipts[0].index + 3))
    again = client.submit_batch(subs)
    assert all(r.duplicate for r in again) and [r.index for r in again] == [
        r.index for r in receipts
    ]
    found = client.receipt(subs[1].statement.id)
    assert found is not None and found.index == receipts[1].index
    assert client.receipt("00000000-0000-4000-8000-000000000000") is None
    assert client.checkpoint() == env.ledger.latest_checkpoint()
    with pytest.raises(InputError):
        client.submit_batch([])


def test_rule_violations_are_typed_api_errors(env: LedgerEnv, client: GongxinClient) -> None:
    sub = fund(env, 5)
    client.submit(sub)
    with pytest.raises(ApiError) as info:  # the same fund id again, under a new statement id
        client.submit(env.sign(env.keys["finance"], "fund.appropriate", fund_body(1005)))
    err = info.value
    assert (err.status, err.code, err.rejected) == (422, "fund.duplicate", True)
    assert err.field == "batch[0].statement.body.fund_id"
    with pytest.raises(ApiError) as info:  # a batch: the field names the position
        client.submit_batch(
            [fund(env, 6), env.sign(env.keys["approver"], "fund.appropriate", fund_body(1007))]
        )
    assert info.value.code == "role.forbidden" and (info.value.field or "").startswith("batch[1]")
    assert env.ledger.receipt_of(sub.statement.id) is not None


def test_a_lying_server_is_caught(env: LedgerEnv) -> None:
    """A server that answers with a receipt for an altered statement is refused."""
    honest = ledger_handler(env)

    def lying(request: httpx.Request) -> httpx.Response:
        response = honest(request)
        data = json.loads(response.content)
        if "entry" in data:
            data["statement_id"] = "00000000-0000-4000-8000-000000000000"
        return httpx.Response(response.status_code, json=data)

    with (
        GongxinClient(
            "http://x", env.keys.log.verifier(), transport=httpx.MockTransport(lying)
        ) as c,
        pytest.raises(ReceiptError),
    ):
        c.submit(fund(env, 8))


def test_trust_on_first_use_pins_the_served_key(env: LedgerEnv) -> None:
    with GongxinClient("http://x", None, transport=httpx.MockTransport(ledger_handler(env))) as c:
        assert not c.trusted_on_first_use
        c.submit(fund(env, 9))
        assert c.trusted_on_first_use and c.pinned_key() == env.keys.log.verifier()


def test_a_lost_reply_is_retried_and_logged_once(env: LedgerEnv) -> None:
    """The first POST reaches the ledger but its reply is lost (a read timeout): the client
    resends the same bytes and gets the original entry back as a duplicate."""
    honest = ledger_handler(env)
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        response = honest(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("reply lost", request=request)
        return response

    size = env.ledger.size
    with GongxinClient(
        "http://x", env.keys.log.verifier(), transport=httpx.MockTransport(flaky)
    ) as c:
        receipt = c.submit(fund(env, 10))
    assert len(calls) == 2 and receipt.duplicate and env.ledger.size == size + 1


def test_an_unreachable_server_is_a_connection_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        GongxinClient("http://x", None, retries=1, transport=httpx.MockTransport(down)) as c,
        pytest.raises(ServerUnavailable),
    ):
        c.log_key()


def test_non_problem_errors_still_become_api_errors() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with (
        GongxinClient("http://x", None, transport=httpx.MockTransport(broken)) as c,
        pytest.raises(ApiError) as info,
    ):
        c.log_key()
    assert (info.value.status, info.value.code, info.value.rejected) == (502, "http.502", False)


def test_award_receipts_verify_with_cosignatures(env: LedgerEnv, client: GongxinClient) -> None:
    """A co-signed statement's receipt verifies (the signature list is compared whole)."""
    k = env.keys
    sub = env.sign(k["organiser"], "credit.award", award_body(77), cosigners=[k["auditor"]])
    receipt = client.submit(sub)
    assert len(_entry(receipt)["signatures"]) == 2
    one_sig = replace(sub, signatures=sub.signatures[:1], encoded=None)
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, k.log.verifier(), one_sig)
    assert info.value.field == "signatures"
