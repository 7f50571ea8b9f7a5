"""Writing the export bundle (FORMAT.md §9): ``entries.jsonl``, ``checkpoint``, ``log.vkey``.

The bundle is consistent by construction: it holds exactly the entries the checkpoint
covers, read in index order from the database, so an export taken while the log grows is
still valid. Files are written under temporary names and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.log import Ledger
from verifier.core.bundle import BUNDLE_FILES, CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.checkpoint import parse_checkpoint_body
from verifier.core.errors import InputError
from verifier.core.note import open_note


def export_bundle(ledger: Ledger, directory: Path, *, force: bool = False) -> int:
    """Write the bundle into ``directory`` (created if missing) and return its entry count.

    Refuses a non-empty directory that does not already look like a bundle, unless
    ``force``. Cost: O(n) sequential reads, O(1) memory per page of entries.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError("exists and is not a directory", field=str(directory))
    if directory.is_dir() and not force:
        unexpected = {p.name for p in directory.iterdir()} - set(BUNDLE_FILES)
        if unexpected:
            raise InputError(
                "directory holds other files; choose an empty directory or pass --force",
                field=str(directory),
            )
    directory.mkdir(parents=True, exist_ok=True)
    note = ledger.latest_checkpoint()
    assert ledger.log_vkey is not None
    text = open_note(note, [ledger.log_vkey]).text
    size = parse_checkpoint_body(text).size
    tmp = directory / f".{ENTRIES_FILE}.tmp"
    with tmp.open("wb") as fh:
        count = 0
        for line in ledger.iter_lines(0, size):
            fh.write(line)
            fh.write(b"\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    if count != size:
        tmp.unlink()
        raise InputError(f"database holds {count} entries but its checkpoint covers {size}")
    os.replace(tmp, directory / ENTRIES_FILE)
    _write_atomic(directory / CHECKPOINT_FILE, note.encode("utf-8"))
    _write_atomic(directory / LOG_VKEY_FILE, f"{ledger.log_vkey}\n".encode())
    return count


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
