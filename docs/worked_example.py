"""Regenerates the worked example of docs/FORMAT.md §11 (run: python docs/worked_example.py).

``tests/test_format_example.py`` checks that every block in FORMAT.md §11 equals what this
script computes, so the spec's bytes can never drift from the code's.
"""

from __future__ import annotations

import base64
import hashlib

from ledger import proofs
from ledger.records import entry_bytes
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from ledger.signing.statements import sign_statement
from verifier.core import merkle
from verifier.core.canonical import canonical_bytes
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import ZERO_HASH_HEX

AUTHORITY = SignerKey.from_seed("example-authority", bytes(range(32)))
LOG = SignerKey.from_seed("gongxin.example/demo", bytes(range(32, 64)))
FINANCE = SignerKey.from_seed("example-finance", bytes(range(64, 96)))


def example() -> dict[str, str]:
    """Every value shown in FORMAT.md §11, by block name."""
    genesis = sign_statement(
        "log.genesis",
        {
            "authorities": [str(AUTHORITY.verifier())],
            "format": 2,
            "log_key": str(LOG.verifier()),
            "origin": LOG.name,
        },
        AUTHORITY,
        origin=LOG.name,
        statement_id="00000000-0000-4000-8000-000000000000",
        time="2026-11-22T08:00:00Z",
    )
    line0 = entry_bytes(0, "2026-11-22T08:00:01.000000Z", ZERO_HASH_HEX, genesis)
    leaf0 = merkle.leaf_hash(line0)
    grant = sign_statement(
        "key.grant",
        {"key": str(FINANCE.verifier()), "roles": ["finance_officer"], "title": "街道财务科 会计"},
        AUTHORITY,
        origin=LOG.name,
        statement_id="00000000-0000-4000-8000-000000000001",
        time="2026-11-22T08:05:00Z",
    )
    line1 = entry_bytes(1, "2026-11-22T08:05:02.500000Z", leaf0.hex(), grant)
    leaf1 = merkle.leaf_hash(line1)
    root = proofs.root_of([leaf0, leaf1])
    note = sign_checkpoint(Checkpoint(LOG.name, 2, root), LOG)
    return {
        "keys": "\n".join(str(k.verifier()) for k in (AUTHORITY, LOG, FINANCE)),
        "statement": canonical_bytes(genesis.statement.raw).decode(),
        "message": genesis.statement.message(LOG.name).decode(),
        "message-sha256": hashlib.sha256(genesis.statement.message(LOG.name)).hexdigest(),
        "signature": base64.b64encode(genesis.signatures[0].sig).decode(),
        "entry0": line0.decode(),
        "leaf0": leaf0.hex(),
        "entry1": line1.decode(),
        "leaf1": leaf1.hex(),
        "root": root.hex(),
        "checkpoint": note.rstrip("\n"),
    }


if __name__ == "__main__":
    for name, value in example().items():
        print(f"```text {name}\n{value}\n```\n")
