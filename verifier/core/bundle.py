"""The export bundle's file names (FORMAT.md §9): spelled here once.

An export bundle is a directory (or a zip of one) holding ``entries.jsonl`` (every entry line
in index order, each followed by ``\\n``), ``checkpoint`` (the log-signed checkpoint covering
them) and ``log.vkey`` (a convenience copy of the log's verifier key, never trusted).
"""

from __future__ import annotations

__all__ = ["BUNDLE_FILES", "CHECKPOINT_FILE", "ENTRIES_FILE", "LOG_VKEY_FILE"]

ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint"
LOG_VKEY_FILE = "log.vkey"
BUNDLE_FILES = (ENTRIES_FILE, CHECKPOINT_FILE, LOG_VKEY_FILE)
"""Every file of a bundle, in the order they are written."""
