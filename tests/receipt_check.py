"""Checking an API receipt with nothing but the log's public key (docs/API.md §2), with the
one definition of a receipt (:mod:`verifier.core.receipt`), and checking a downloaded export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from verifier.core.keys import VerifierKey
from verifier.core.receipt import parse_receipt, verify_receipt


def check_receipt(receipt: dict[str, Any], log_key: VerifierKey, statement_id: str) -> None:
    """Raise unless the receipt JSON has the API's shape and proves the statement
    ``statement_id`` is in the log (:func:`verifier.core.receipt.verify_receipt`)."""
    verify_receipt(parse_receipt(receipt), log_key, statement_id=statement_id)


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
