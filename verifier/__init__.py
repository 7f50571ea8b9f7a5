"""Gongxin verifier: the standalone audit tool and the pure rules it shares with the ledger.

Pure Python over ``pynacl`` and ``orjson`` only: it never imports ``ledger``, ``api``,
SQLAlchemy, FastAPI or uvicorn (import-linter contracts in ``pyproject.toml``;
``tests/test_standalone_verifier.py`` installs it alone into a fresh virtual environment), so
that a third-party evaluator runs it with nothing but the published public keys. The ledger
imports the same rules to decide what it accepts: validity is defined once, here.

Layers, each importing only those below it (docs/ARCHITECTURE.md):

- :mod:`verifier.core`     format and math an auditor reads: canonical JSON, keys, entries,
  Merkle proofs, signed notes, checkpoints, receipts, the bundle's file names (FORMAT.md §1–§6)
- :mod:`verifier.rules`    validity rules: key registry (§7), log replay (§8), entry kinds and
  the funds-and-credits rulebook (§10)
- :mod:`verifier.audit`    judging a whole export bundle, steps 1–5 (§9)
- :mod:`verifier.reports`  traceability figures, tracing and Markdown, from verified entries
- :mod:`verifier.cli`      ``gongxin-verify``: arguments, files and zips, the worker pool

The public surface — what a third party calls — is re-exported here (imported on first use,
so that importing one core module stays cheap):

- :func:`verify_bundle`: a whole export bundle; :func:`verify_receipt`: one receipt;
- :func:`open_checkpoint`, :func:`verify_inclusion`, :func:`verify_consistency`,
  :func:`leaf_hash`, :func:`parse_entry_line`, :func:`parse_verifier_key`;
- the failures: :class:`InputError` (unusable input, exit 2) and :class:`VerificationError`
  (the log is not valid, exit 1; it names the entry index, rule and what differed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers
    from verifier.cli.bundle import verify_bundle
    from verifier.core.checkpoint import Checkpoint, open_checkpoint
    from verifier.core.entry import Entry, parse_entry_line
    from verifier.core.errors import GongxinError, InputError, VerificationError
    from verifier.core.keys import VerifierKey, parse_verifier_key
    from verifier.core.merkle import leaf_hash, verify_consistency, verify_inclusion
    from verifier.core.receipt import Receipt, parse_receipt, verify_receipt

_PUBLIC = {
    "verify_bundle": "verifier.cli.bundle",
    "Checkpoint": "verifier.core.checkpoint",
    "open_checkpoint": "verifier.core.checkpoint",
    "Entry": "verifier.core.entry",
    "parse_entry_line": "verifier.core.entry",
    "GongxinError": "verifier.core.errors",
    "InputError": "verifier.core.errors",
    "VerificationError": "verifier.core.errors",
    "VerifierKey": "verifier.core.keys",
    "parse_verifier_key": "verifier.core.keys",
    "leaf_hash": "verifier.core.merkle",
    "verify_consistency": "verifier.core.merkle",
    "verify_inclusion": "verifier.core.merkle",
    "Receipt": "verifier.core.receipt",
    "parse_receipt": "verifier.core.receipt",
    "verify_receipt": "verifier.core.receipt",
}

__all__ = [
    "Checkpoint",
    "Entry",
    "GongxinError",
    "InputError",
    "Receipt",
    "VerificationError",
    "VerifierKey",
    "leaf_hash",
    "open_checkpoint",
    "parse_entry_line",
    "parse_receipt",
    "parse_verifier_key",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "verify_receipt",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'verifier' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
