"""The export bundle's file names (FORMAT.md §9), spelled here once: ``entries.jsonl`` (each
entry line and ``\\n``), ``checkpoint`` (log-signed, covering them) and ``log.vkey`` (a
convenience copy of the log key, never trusted). A bundle is a directory or a zip of one."""

from __future__ import annotations

ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint"
LOG_VKEY_FILE = "log.vkey"
BUNDLE_FILES = (ENTRIES_FILE, CHECKPOINT_FILE, LOG_VKEY_FILE)
"""Every file of a bundle, in the order they are written."""
