"""``GET /v1/log/export`` streamed straight from storage (docs/API.md §3): no temporary copy.

The zip is written as it is sent: entry lines are read from the database in pages
(:func:`ledger.export.entry_pages`, one short read each), deflated and handed to the response,
then ``checkpoint`` and ``log.vkey``, then the central directory. :mod:`zipfile` itself writes
the archive to an unseekable sink (:class:`_Sink`), so the members carry data descriptors
(flag bit 3) and ``entries.jsonl`` a zip64 local header (its size is not known in advance and
may pass 4 GiB); ``gongxin-verify`` (:mod:`verifier.cli.zipped`: stored or deflate, ≤ 8
members) and :mod:`zipfile` read that in place. Cost per download: O(n) reads and deflate,
O(page) memory, no disk.

A download that fails half-way (the database goes away, the client's connection drops) ends
without the central directory and without the final chunk of the chunked transfer encoding,
so it can never pass for a complete zip.

Concurrent downloads are capped per server process (:class:`ExportSlots`, ``gongxin serve
--export-streams``): the excess is answered at once with ``503`` ``export.busy`` and
``Retry-After`` rather than queued, so an export storm costs at most that many streams'
CPU, memory and database reads per process. The zips are made in the slots' own
low-priority threads (:mod:`api.cpu_priority`) with fast deflate (level 3: 8 % larger than
level 6 on entry lines, twice as fast), so a storm of downloads slows down under load
instead of slowing writes down (bench/hostile.py).
"""

from __future__ import annotations

import asyncio
import stat
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Any

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.cpu_priority import low_priority_pool
from api.problems import Problem
from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE

__all__ = [
    "BUSY_RETRY_AFTER",
    "FOLDER",
    "ExportResponse",
    "ExportSlots",
    "busy",
    "export_slots",
    "rate_limited",
    "zip_stream",
]

#: Seconds a client told ``export.busy`` is asked to wait (``Retry-After``).
BUSY_RETRY_AFTER = 5
#: The folder the bundle files sit in inside the zip (as ``gongxin export`` names it).
FOLDER = "gongxin-export"
_FILE_MODE = (stat.S_IFREG | 0o644) << 16
_CREATE_LOCK = threading.Lock()


class ExportSlots:
    """At most ``limit`` export streams at a time in this process. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()
        #: Where the streams' zips are made: ``limit`` low-priority threads.
        self.pool = low_priority_pool(limit, "export")

    def try_acquire(self) -> Callable[[], None] | None:
        """A slot's release function (idempotent), or ``None`` when all are taken."""
        with self._lock:
            if self.active >= self.limit:
                return None
            self.active += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self.active -= 1

        return release


def export_slots(app: FastAPI, limit: int) -> ExportSlots:
    """This app's (this process's) :class:`ExportSlots`, made on first use."""
    slots: ExportSlots | None = getattr(app.state, "export_slots", None)
    if slots is None:
        with _CREATE_LOCK:
            slots = getattr(app.state, "export_slots", None)
            if slots is None:
                slots = app.state.export_slots = ExportSlots(limit)
    return slots


def busy(limit: int) -> Problem:
    """The reply when every export slot is taken: 503 with ``Retry-After``."""
    return Problem(
        503,
        "export.busy",
        f"导出下载已达上限（每进程 {limit} 个），请稍后重试 all {limit} export downloads of "
        f"this server process are in use; retry after {BUSY_RETRY_AFTER} s",
        headers={"Retry-After": str(BUSY_RETRY_AFTER)},
    )


def rate_limited(wait: float, per_minute: int) -> Problem:
    """The reply to an address over its ``--exports-per-minute``: 429 with ``Retry-After``."""
    seconds = max(1, int(wait + 0.999))
    return Problem(
        429,
        "export.rate_limited",
        f"本地址导出下载过于频繁（每分钟 {per_minute} 次），请 {seconds} 秒后再试 this address "
        f"has had its {per_minute} export downloads a minute; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


class _Sink:
    """A write-only, unseekable file for :class:`zipfile.ZipFile`: it keeps what was written
    until :meth:`take` hands it on (so the zip is never held whole)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _info(name: str, when: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{FOLDER}/{name}", date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _FILE_MODE
    return info


def zip_stream(
    pages: Iterable[bytes], checkpoint: bytes, log_vkey: bytes, *, level: int = 3
) -> Iterator[bytes]:
    """The export zip as it is written: ``entries.jsonl`` (the concatenated ``pages``),
    ``checkpoint``, ``log.vkey`` (deflate, in :data:`FOLDER`), then the central directory.
    If ``pages`` raises, so does this generator, before the central directory is yielded.
    Cost: deflate of the pages; memory: one page and its compressed bytes."""
    sink = _Sink()
    when = time.gmtime()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open(_info(ENTRIES_FILE, when), "w", force_zip64=True) as member:
            for page in pages:
                member.write(page)
                chunk = sink.take()
                if chunk:
                    yield chunk
        zf.writestr(_info(CHECKPOINT_FILE, when), checkpoint)
        zf.writestr(_info(LOG_VKEY_FILE, when), log_vkey)
    yield sink.take()


async def _pulled_in(pool: Executor, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks``, each one made by a thread of ``pool`` (the event loop never runs them)."""
    loop = asyncio.get_running_loop()
    end = object()
    while True:
        chunk = await loop.run_in_executor(pool, next, chunks, end)
        if chunk is end:
            return
        assert isinstance(chunk, bytes)
        yield chunk


class ExportResponse(StreamingResponse):
    """A streamed export that gives its slot back however it ends: sent, failed, or the
    client gone (the stream is cancelled and its generator closed). With ``pool``, the
    chunks are made in its threads (:attr:`ExportSlots.pool`)."""

    def __init__(
        self,
        content: Iterator[bytes],
        release: Callable[[], None],
        pool: Executor | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(content if pool is None else _pulled_in(pool, content), **kwargs)
        self._source, self._release = content, release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self._source, "close", None)
            try:
                if close is not None:
                    close()
            except ValueError:
                pass  # still running a page in a worker thread; collected when it returns
            finally:
                self._release()

    def __del__(self) -> None:
        """A safety net: a response dropped without being sent gives its slot back too."""
        self._release()
