"""The committed receipt vector (``tests/vectors/receipt/``), checked in Python.

The vector is a receipt the real ledger and API encoder made (``make.py`` rebuilds it byte
for byte, which the first test proves), the log's verifier key, and broken variants each
naming the rule it must fail with (``expected.json``). The same files are checked with the
residents' page's JavaScript in ``tests/test_receipt_browser.py``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import verifier
from api.models import ReceiptBody
from ledger import client
from verifier.core.errors import VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.core.receipt import FIELDS, Receipt, ReceiptError, parse_receipt, verify_receipt

VECTOR = Path(__file__).resolve().parent / "vectors" / "receipt"


def load(name: str) -> Any:
    return json.loads((VECTOR / name).read_text("utf-8"))


def log_key() -> VerifierKey:
    return parse_verifier_key((VECTOR / "log.vkey").read_text("ascii").strip())


def expected() -> dict[str, Any]:
    data: dict[str, Any] = load("expected.json")
    return data


def make_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("receipt_vector_make", VECTOR / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_rebuilds_the_vector_byte_for_byte() -> None:
    built: dict[str, bytes] = make_module().build()
    on_disk = {p.name for p in VECTOR.iterdir() if p.suffix == ".json" or p.name == "log.vkey"}
    assert set(built) == on_disk
    assert [n for n, data in built.items() if (VECTOR / n).read_bytes() != data] == []
    assert set(expected()) == {n for n in built if n.endswith(".json") and n != "expected.json"}


def test_the_good_receipt_verifies() -> None:
    obj = load("receipt.json")
    receipt = parse_receipt(obj)
    assert list(obj) == list(FIELDS)  # the API's member order
    assert receipt.to_json() == obj
    cp = verify_receipt(receipt, log_key(), statement_id=receipt.statement_id)
    assert cp.size == receipt.tree_size and len(receipt.inclusion_path) >= 2
    # the same function through the public surface and the officers' client
    assert verifier.verify_receipt(verifier.parse_receipt(obj), log_key()) == cp
    assert client.verify_receipt(client.parse_receipt(obj), log_key()) == cp


@pytest.mark.parametrize("name", sorted(n for n, want in expected().items() if want))
def test_each_broken_receipt_fails_with_its_rule(name: str) -> None:
    want = expected()[name]
    receipt = parse_receipt(load(name))  # well-formed: only verification can tell
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, log_key())
    assert (info.value.rule, info.value.field) == (want["rule"], want["field"])
    assert isinstance(info.value, VerificationError)


def test_the_broken_receipts_differ_from_the_good_one_in_one_member() -> None:
    good = load("receipt.json")
    for name, want in expected().items():
        if want:
            bad = load(name)
            assert [k for k in good if good[k] != bad[k]] == [want["field"]], name


def test_the_openapi_model_documents_the_same_members() -> None:
    """``api.models.ReceiptBody`` (the OpenAPI schema) has the core's members, in order, and
    accepts the vector; the JSON schema forbids other members. The one addition is the
    server's optional ``witnessed`` flag (docs/API.md "Witnessing"), never required."""
    assert [f for f in ReceiptBody.model_fields if f != "witnessed"] == list(FIELDS)
    assert "witnessed" not in ReceiptBody.model_json_schema().get("required", [])
    dumped = ReceiptBody.model_validate(load("receipt.json")).model_dump(exclude_none=True)
    assert dumped == load("receipt.json")
    assert ReceiptBody.model_json_schema()["additionalProperties"] is False


def test_receipt_is_the_same_class_everywhere() -> None:
    assert client.Receipt is Receipt is verifier.Receipt
    assert client.ReceiptError is ReceiptError
