"""``ledger.client.verify_receipt``: a receipt is checked with nothing but the log key —
a good one verifies (also co-signed), and each tampered variant, a receipt for another
statement or against another pinned key, and a malformed one are rejected naming what
differed. The server is in-process (tests/client_mock_server.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ledger.client import GongxinClient, Receipt, ReceiptError, parse_receipt, verify_receipt
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from tests.client_mock_server import fund, mock_client
from tests.ledger_fixtures import LedgerEnv, award_body, key
from verifier.core import merkle
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Submission


@pytest.fixture
def client(env: LedgerEnv) -> Iterator[GongxinClient]:
    with mock_client(env) as c:
        yield c


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
