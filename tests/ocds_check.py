"""Checking an OCDS export offline: the release-package schema of OCDS 1.1.5 from
``tests/ocds-1.1.5`` (a copy of ``../shared/ocds-1.1.5`` with its LICENSE, kept in the
repository so that a clean clone tests alone, like ``tests/vectors``) (JSON Schema Draft 4, its ``$ref`` URLs resolved by a local
``referencing`` registry — no network), the closed and open codelists used, and the money: every
counted payment of the log is exactly one transaction, in yuan converted exactly from fen."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

OCDS = Path(__file__).resolve().parent / "ocds-1.1.5"

#: Where each codelist applies: a JSON path pattern ("*" for every list item) → codelist.
CODELISTS = {
    ("releases", "*", "tag", "*"): "releaseTag.csv",
    ("releases", "*", "initiationType"): "initiationType.csv",
    ("releases", "*", "parties", "*", "roles", "*"): "partyRole.csv",
    ("releases", "*", "tender", "status"): "tenderStatus.csv",
    ("releases", "*", "tender", "procurementMethod"): "method.csv",
    ("releases", "*", "awards", "*", "status"): "awardStatus.csv",
    ("releases", "*", "contracts", "*", "status"): "contractStatus.csv",
    ("releases", "*", "contracts", "*", "milestones", "*", "status"): "milestoneStatus.csv",
    ("releases", "*", "contracts", "*", "milestones", "*", "type"): "milestoneType.csv",
}


@cache
def validator() -> Draft4Validator:
    """The release-package validator, every schema loaded from the local copy."""
    resources = []
    for name in ("release-package-schema.json", "release-schema.json"):
        doc = json.loads((OCDS / name).read_text(encoding="utf-8"))
        resources.append((doc["id"], Resource(doc, specification=DRAFT4)))
    registry: Registry[Any] = Registry().with_resources(resources)
    package = json.loads((OCDS / "release-package-schema.json").read_text(encoding="utf-8"))
    return Draft4Validator(package, registry=registry)


def codes(name: str) -> set[str]:
    with (OCDS / "codelists" / name).open(encoding="utf-8") as fh:
        return {row["Code"] for row in csv.DictReader(fh)}


def _walk(doc: Any, pattern: tuple[str, ...]) -> Iterator[Any]:
    if not pattern:
        yield doc
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        for item in doc if isinstance(doc, list) else ():
            yield from _walk(item, rest)
    elif isinstance(doc, dict) and head in doc:
        yield from _walk(doc[head], rest)


def assert_valid_ocds(package: dict[str, Any]) -> None:
    """Schema-valid with codelist values respected, currency CNY everywhere."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(package)]
    assert not errors, errors[:5]
    for pattern, codelist in CODELISTS.items():
        allowed = codes(codelist)
        seen = list(_walk(package, pattern))
        assert set(seen) <= allowed, (pattern, set(seen) - allowed)
    assert set(_walk(package, ("releases", "*", "contracts", "*", "value", "currency"))) == {"CNY"}
    ocids = [r["ocid"] for r in package["releases"]]
    assert len(set(ocids)) == len(ocids)


def fen(amount: float | int) -> int:
    """A yuan amount back to fen, exactly (fails on any float error)."""
    value = Decimal(str(amount)) * 100
    assert value == value.to_integral_value(), amount
    return int(value)


def transactions(package: dict[str, Any]) -> dict[str, tuple[str, int, list[int]]]:
    """payment id → (contract id, fen, entry indices) over every transaction."""
    out: dict[str, tuple[str, int, list[int]]] = {}
    for release in package["releases"]:
        for contract in release["contracts"]:
            for t in contract["implementation"]["transactions"]:
                assert t["id"] not in out
                assert t["value"]["currency"] == "CNY"
                assert t["payer"]["id"] == release["buyer"]["id"]
                assert t["payee"]["id"] == release["awards"][0]["suppliers"][0]["id"]
                out[t["id"]] = (contract["id"], fen(t["value"]["amount"]), t["gongxinEntries"])
    return out


def counted_payments(lines: list[bytes]) -> dict[str, int]:
    """payment id → fen of every payment counted at the end of the log, from the raw lines
    alone (FORMAT.md §10.3, without the verifier): proposals below the policy's threshold
    count at once, others on approval; reversals undo."""
    threshold, proposed, counted = 0, {}, {}
    for line in lines:
        st = json.loads(line)["statement"]
        kind, b = st["kind"], st["body"]
        if kind == "policy.set":
            threshold = b["dual_control_threshold_fen"]
        elif kind == "payment.propose":
            proposed[b["payment_id"]] = b["amount_fen"]
            if b["amount_fen"] < threshold:
                counted[b["payment_id"]] = b["amount_fen"]
        elif kind == "payment.approve":
            counted[b["payment_id"]] = proposed[b["payment_id"]]
        elif kind == "payment.reverse":
            del counted[b["payment_id"]]
    return counted
