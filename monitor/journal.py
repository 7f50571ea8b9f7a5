"""The monitor's memory of every checkpoint it accepted: an append-only JSON-lines file.

Each line is ``{"time": <POSIX seconds>, "size": n, "root": "<base64>", "note": "<signed
note verbatim>"}``, appended and fsync'd after the checkpoint was verified and the copy
advanced. The notes are what a fork evidence file needs as checkpoint 1 when a later view
contradicts one of them; nothing in the file is trusted without re-opening it with the key.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError

JOURNAL_FILE = "checkpoints.jsonl"


class Journal:
    """The journal in ``directory`` (created on first append). Not thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_FILE
        self._last: tuple[object, ...] | None = None

    def records(self) -> list[dict[str, object]]:
        """Every record, oldest first (a torn last line, from a crash mid-append, is
        skipped). :class:`InputError` if the file cannot be read. Cost: O(file size)."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {self.path}: {exc}") from None
        out = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def append(self, checkpoint: Checkpoint, note: str) -> None:
        """Record an accepted checkpoint (unless it repeats the last record's size and root):
        one line, appended and fsync'd. :class:`InputError` if it cannot be written. Cost:
        the first call reads the file; later ones append only."""
        if self._last is None:
            records = self.records()
            self._last = (records[-1].get("size"), records[-1].get("root")) if records else ()
        root64 = base64.b64encode(checkpoint.root).decode("ascii")
        if self._last == (checkpoint.size, root64):
            return
        line = json.dumps(
            {"time": int(time.time()), "size": checkpoint.size, "root": root64, "note": note},
            ensure_ascii=False,
        )
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise InputError(f"cannot append to {self.path}: {exc.strerror}") from None
        self._last = (checkpoint.size, root64)
