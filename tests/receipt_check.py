"""Checking an API receipt with nothing but the log's public key (docs/API.md §2), written
from the spec with the verifier's primitives — the tests' independent check."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.entry import parse_entry_line
from verifier.core.keys import VerifierKey


def check_receipt(receipt: dict[str, Any], log_key: VerifierKey, statement_id: str) -> None:
    """Raise unless the receipt proves the statement ``statement_id`` is in the log."""
    cp = open_checkpoint(receipt["checkpoint"], log_key)
    assert cp.size == receipt["tree_size"]
    line = receipt["entry"].encode("utf-8")
    leaf = merkle.leaf_hash(line)
    assert leaf.hex() == receipt["leaf_hash"]
    entry = parse_entry_line(line, receipt["index"])
    assert entry.statement.id == statement_id
    path = [base64.b64decode(h) for h in receipt["inclusion_path"]]
    merkle.verify_inclusion(leaf, receipt["index"], cp.size, path, cp.root)


def verify_export_zip(archive: bytes, log_vkey: str, workdir: Path) -> None:
    """Run ``gongxin-verify`` on a downloaded export zip (``GET /v1/log/export``) with the
    pinned log key; raise unless it exits 0 (valid)."""
    path = workdir / "export.zip"
    path.write_bytes(archive)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("gongxin-verify")), str(path), "--log-key", log_vkey],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
