"""Receipts as the API returns them (docs/API.md §2): the entry line, its leaf hash, the
signed checkpoint and the inclusion proof against it — all a client needs to check, with
only the log's public key, that its statement is in the log. The JSON itself is defined
once, by :class:`verifier.core.receipt.Receipt`; this module adapts the ledger's records to
it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ledger.log import Ledger
from ledger.records import Receipt
from verifier.core.receipt import Receipt as ReceiptJson


def receipts_json(ledger: Ledger, receipts: Sequence[Receipt]) -> list[dict[str, Any]]:
    """The API form of ``receipts``, with their inclusion paths read in one batch per
    checkpoint size. Preconditions: each receipt carries its entry line (``line``), as the
    ledger's append and look-up return them. Cost: O(k log n) for k receipts."""
    paths: dict[tuple[int, int], list[bytes]] = {}
    by_size: dict[int, list[int]] = {}
    for r in receipts:
        by_size.setdefault(r.tree_size, []).append(r.index)
    for size, indices in by_size.items():
        unique = list(dict.fromkeys(indices))
        for index, path in zip(unique, ledger.inclusion_proofs(unique, size), strict=True):
            paths[index, size] = path
    return [
        ReceiptJson(
            index=r.index,
            statement_id=r.statement_id,
            leaf_hash=r.leaf_hash.hex(),
            entry=r.line.decode("utf-8"),
            tree_size=r.tree_size,
            checkpoint=r.checkpoint,
            inclusion_path=tuple(base64.b64encode(h).decode() for h in paths[r.index, r.tree_size]),
            duplicate=r.duplicate,
        ).to_json()
        for r in receipts
    ]


def witnessed_json(
    ledger: Ledger, receipts: Sequence[Receipt], witnessed: tuple[int, str] | None
) -> list[dict[str, Any]]:
    """With a witness policy (docs/API.md "Witnessing"): each receipt whose entry the newest
    witnessed checkpoint ``witnessed`` (size, cosigned note) covers is given against that
    checkpoint, cosignatures included; every receipt gets ``"witnessed": true|false``
    (clients that do not know the member ignore it). Cost: as :func:`receipts_json`."""
    if witnessed is not None:
        size, note = witnessed
        receipts = [
            replace(r, tree_size=size, checkpoint=note) if r.index < size else r for r in receipts
        ]
    out = receipts_json(ledger, receipts)
    for item, r in zip(out, receipts, strict=True):
        item["witnessed"] = witnessed is not None and r.checkpoint == witnessed[1]
    return out
