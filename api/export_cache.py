"""One export zip built per minute, not one per download (issue 13: an export storm).

``GET /v1/log/export`` streams the zip while it is made (:mod:`api.export_stream`); the
first such stream also writes what it sends into this cache, and for the next
``max_age`` seconds every download is that file, sent as it lies on disk — no database
reads, no deflate. A storm of downloads then costs one build a minute and the file copies,
instead of one build each. The bundle served is complete and verifiable at its own size
(its file name says which); it is at most ``max_age`` seconds behind the log.

Files, in one directory shared by the server's worker processes (mode 0700):
``export-<size>.zip`` (complete; the newest is served) and ``export-<size>.zip.part`` (being
written by one stream, claimed with ``O_EXCL``; a part older than :data:`STALE_PART` is a
crashed writer's and is removed). A finished part is renamed into place atomically and the
older complete files are removed, so the cache holds one export (plus the one being
written). A cache that cannot be written (full disk, no permission) is simply not used: the
stream goes on, the part is removed, nothing fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DEFAULT_MAX_AGE = 60.0
"""Seconds a built export is served before a download builds the next one."""
STALE_PART = 600.0
"""A part file older than this belongs to a writer that died."""
_COMPLETE = re.compile(r"export-(0|[1-9][0-9]*)\.zip")


def default_directory(database_url: str) -> Path:
    """``$TMPDIR/gongxin-export-<8 hex of the database URL's SHA-256>``: one per log."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"gongxin-export-{digest}"


@dataclass(frozen=True)
class Cached:
    """A complete cached export: its path and the log size it holds."""

    path: Path
    size: int


class ExportCache:
    """The cache in ``directory`` (created on first use, mode 0700). Safe across threads
    and processes: files are only created with ``O_EXCL`` and published by ``rename``."""

    def __init__(self, directory: Path, max_age: float = DEFAULT_MAX_AGE) -> None:
        self.directory = directory
        self.max_age = max_age

    def fresh(self, now: float | None = None) -> Cached | None:
        """The newest complete export if it was built within ``max_age`` seconds, else
        ``None``. Cost: one directory listing."""
        now = time.time() if now is None else now
        best: Cached | None = None
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.directory):
                match = _COMPLETE.fullmatch(entry.name)
                if match is None or now - entry.stat().st_mtime > self.max_age:
                    continue
                size = int(match.group(1))
                if best is None or size > best.size:
                    best = Cached(Path(entry.path), size)
        return best

    def writer(self, size: int) -> PartWriter | None:
        """Claim the part file of ``size``; ``None`` if another stream is writing one (or
        the directory cannot be written)."""
        try:
            self.directory.mkdir(mode=0o700, exist_ok=True)
            part = self.directory / f"export-{size}.zip.part"
            with contextlib.suppress(OSError):
                if time.time() - part.stat().st_mtime > STALE_PART:
                    part.unlink()
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return None
        return PartWriter(self, size, part, fd)


class PartWriter:
    """What one stream writes into the cache. Every method swallows ``OSError``: the cache
    is given up, the download is not."""

    def __init__(self, cache: ExportCache, size: int, part: Path, fd: int) -> None:
        self.cache, self.size, self.part = cache, size, part
        self._fd: int | None = fd

    def write(self, chunk: bytes) -> None:
        if self._fd is None:
            return
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self.abandon()

    def finish(self) -> None:
        """Publish the part as ``export-<size>.zip`` and remove older complete exports."""
        if self._fd is None:
            return
        try:
            os.close(self._fd)
            self._fd = None
            final = self.cache.directory / f"export-{self.size}.zip"
            os.replace(self.part, final)
            for entry in os.scandir(self.cache.directory):
                match = _COMPLETE.fullmatch(entry.name)
                if match is not None and int(match.group(1)) < self.size:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        except OSError:
            self.abandon()

    def abandon(self) -> None:
        """Drop the part (a failed stream, a full disk)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            self.part.unlink()


def tee_into(chunks: Iterator[bytes], writer: PartWriter | None) -> Iterator[bytes]:
    """``chunks``, each also written to ``writer``: published when the last one has been
    taken, dropped if the stream ends any other way (an error, the client gone)."""
    if writer is None:
        yield from chunks
        return
    complete = False
    try:
        for chunk in chunks:
            writer.write(chunk)
            yield chunk
        complete = True
    finally:
        if complete:
            writer.finish()
        else:
            writer.abandon()


def file_chunks(fh: BinaryIO, size: int = 256 * 1024) -> Iterator[bytes]:
    """An open file's bytes in chunks, closing it however the stream ends (the file may be
    unlinked meanwhile by a newer export: an open file stays readable)."""
    try:
        while chunk := fh.read(size):
            yield chunk
    finally:
        fh.close()
