"""``verifier.core.receipt``: the one definition of a receipt — its JSON (built and parsed
strictly) and its verification, on the committed vector (``tests/vectors/receipt/``).
Tampering receipts of a live ledger, with a submission to compare, is
``tests/test_client_receipts.py``."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from verifier.core.errors import InputError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.core.receipt import (
    Receipt,
    ReceiptError,
    decode_path,
    parse_receipt,
    verify_receipt,
)

VECTOR = Path(__file__).resolve().parent / "vectors" / "receipt"


def good() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTOR / "receipt.json").read_text("utf-8"))
    return data


def log_key() -> VerifierKey:
    return parse_verifier_key((VECTOR / "log.vkey").read_text("ascii").strip())


def test_receipt_json_is_the_parsed_receipt() -> None:
    """The JSON ``Receipt.to_json`` writes is what ``parse_receipt`` reads back, member for
    member and in the API's order."""
    obj = good()
    built = Receipt(**obj | {"inclusion_path": tuple(obj["inclusion_path"])}).to_json()
    assert built == obj and list(built) == list(obj)
    assert parse_receipt(built).to_json() == obj


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"index": -1}, "index"),
        ({"index": True}, "index"),
        ({"index": 1.0}, "index"),
        ({"tree_size": 0}, "tree_size"),
        ({"statement_id": None}, "statement_id"),
        ({"leaf_hash": "AB" * 32}, "leaf_hash"),
        ({"leaf_hash": "ab" * 31}, "leaf_hash"),
        ({"entry": {}}, "entry"),
        ({"checkpoint": 7}, "checkpoint"),
        ({"inclusion_path": "AAAA"}, "inclusion_path"),
        ({"inclusion_path": ["AAAA", 3]}, "inclusion_path[1]"),
        ({"inclusion_path": ["AAAA", "A A="]}, "inclusion_path[1]"),
        ({"duplicate": 0}, "duplicate"),
    ],
)
def test_malformed_receipts_name_the_member(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_receipt(good() | change)
    assert info.value.field == field


@pytest.mark.parametrize("missing", list(good()))
def test_a_missing_member_is_named(missing: str) -> None:
    obj = good()
    del obj[missing]
    with pytest.raises(InputError) as info:
        parse_receipt(obj)
    assert info.value.field == missing


def test_not_an_object() -> None:
    for obj in ([], None, "{}"):
        with pytest.raises(InputError):
            parse_receipt(obj)


def test_decode_path() -> None:
    assert decode_path([], "p") == []
    assert decode_path([base64.b64encode(b"x" * 32).decode()], "p") == [b"x" * 32]
    with pytest.raises(InputError) as info:
        decode_path(None, "proof.inclusion_path")
    assert info.value.field == "proof.inclusion_path"


def verify_fails(receipt: Receipt, **kwargs: Any) -> ReceiptError:
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, log_key(), **kwargs)
    return info.value


def test_verification_names_what_differed() -> None:
    r = parse_receipt(good())
    other_id = "00000000-0000-4000-8000-000000000000"
    assert verify_fails(r, statement_id=other_id).rule == "receipt.statement"
    assert verify_fails(replace(r, statement_id=other_id)).rule == "receipt.statement_id"
    assert verify_fails(replace(r, index=r.index + 1)).rule == "receipt.index"
    shifted = replace(r, inclusion_path=r.inclusion_path[1:])
    assert verify_fails(shifted).rule == "receipt.inclusion"
    not_b64 = verify_fails(replace(r, inclusion_path=("!!", *r.inclusion_path[1:])))
    assert (not_b64.rule, not_b64.field) == ("receipt.shape", "inclusion_path[0]")
    entry = r.entry.replace('"C1"', '"C9"')
    assert entry != r.entry
    assert verify_fails(replace(r, entry=entry)).rule == "receipt.leaf_hash"


def test_members_a_newer_server_adds_are_ignored() -> None:
    """Forward compatibility: unknown members do not make a receipt unreadable, and the parsed
    receipt is exactly the known members."""
    obj = good() | {"cosignatures": ["later"]}
    assert parse_receipt(obj).to_json() == good()
