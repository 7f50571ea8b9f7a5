"""Writing the export bundle (FORMAT.md §9): ``entries.jsonl``, ``checkpoint``, ``log.vkey``.

The bundle is consistent by construction: it holds exactly the entries the checkpoint
covers, read in index order from the database, so an export taken while the log grows is
still valid. Files are written under temporary names and renamed into place.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from ledger.cosigning import cosigned_note, newest_witnessed
from ledger.log import Ledger
from ledger.store.contract import LedgerReader
from ledger.store.engine import SQLITE_BUSY_TIMEOUT, sqlite_path
from ledger.store.sql import SqlReader, SqlStore
from verifier.core.bundle import BUNDLE_FILES, CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.checkpoint import parse_checkpoint_body
from verifier.core.compact_range import CompactRange
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.core.merkle import leaf_hash
from verifier.core.note import open_note
from verifier.reports.analysis import Analysis
from verifier.reports.ocds import PLACEHOLDER_PREFIX, check_prefix
from verifier.rules.log_state import LogState
from verifier.witness.policy import WitnessPolicy


def export_bundle(
    ledger: Ledger,
    directory: Path,
    *,
    force: bool = False,
    witnessed: WitnessPolicy | None = None,
) -> int:
    """Write the bundle into ``directory`` (created if missing) and return its entry count.
    Its checkpoint carries the cosignatures stored for its size (:mod:`ledger.cosigning`).

    Refuses a non-empty directory that does not already look like a bundle, unless
    ``force``. With ``witnessed`` the bundle ends at the newest checkpoint whose stored
    cosignatures satisfy that policy's quorum (:class:`InputError` if none does). Cost:
    O(n) sequential reads, O(1) memory per page of entries.
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
    if witnessed is not None:
        found = newest_witnessed(ledger, witnessed)
        if found is None:
            raise InputError(
                "no checkpoint is cosigned by the policy's quorum yet; 尚无达到法定数的见证检查点",
                field="witnessed",
            )
        note = found[1]
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
    # with the witnesses' cosignatures collected for it (ledger.cosigning), if any
    note = cosigned_note(ledger, size) or note
    _write_atomic(directory / CHECKPOINT_FILE, note.encode("utf-8"))
    _write_atomic(directory / LOG_VKEY_FILE, f"{ledger.log_vkey}\n".encode())
    return count


def export_ocds(ledger: Ledger, path: Path, prefix: str = PLACEHOLDER_PREFIX) -> int:
    """Write the log's contracts as an OCDS 1.1.5 release package to ``path`` (the same
    builder as ``gongxin-verify --ocds``: :mod:`verifier.reports.ocds`) and return the number
    of releases. Replays the entries its latest checkpoint covers under the verifier's rules
    (signatures were checked when they were appended) and checks they hash to its root.
    Raises :class:`InputError` for a bad prefix, an unwritable path, a log without contracts
    or entries that do not match the checkpoint. O(n) reads, memory O(contracts + payments).
    """
    check_prefix(prefix)
    note = ledger.latest_checkpoint()
    assert ledger.log_vkey is not None
    cp = parse_checkpoint_body(open_note(note, [ledger.log_vkey]).text)
    analysis = Analysis(ocds=True)
    state = LogState(rulebook=analysis.rulebook())
    tree = CompactRange()
    for i, line in enumerate(ledger.iter_lines(0, cp.size)):
        entry = parse_entry_line(line, i)
        leaf = leaf_hash(line)
        state.check_and_apply(entry, leaf, check_signatures=False)
        analysis.entry(entry)
        tree.append(leaf)
    if tree.size != cp.size or tree.root() != cp.root:
        raise InputError("the entries read do not hash to the checkpoint's root", field="database")
    assert analysis.ocds is not None
    package = analysis.ocds.build(prefix, cp.size)
    try:
        _write_atomic(Path(path), orjson.dumps(package, option=orjson.OPT_INDENT_2) + b"\n")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", field=str(path)) from None
    return len(package["releases"])


#: Entry lines per page of :func:`entry_pages` (≈ 0.5 MiB of demo lines per page).
PAGE_LINES = 1000
#: Lines per chunk :func:`entry_pages` yields (≈ 32 KiB: under glibc's mmap threshold, so
#: the buffers are reused from the allocator's free lists rather than fragmenting its arenas).
CHUNK_LINES = 64
#: Page cache of a bulk read's own SQLite connection, KiB (:func:`bulk_reading`).
BULK_CACHE_KIB = 2048


@functools.lru_cache(maxsize=8)
def _bulk_engine(url: URL) -> Engine:
    """An un-pooled, read-only SQLite engine with a small page cache: every connection is
    closed (and its cache freed) when the read ends."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _small_cache(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    return engine


@contextmanager
def bulk_reading(ledger: Ledger) -> Iterator[LedgerReader]:
    """A reader for a long sequential read (an export, a page of entry lines). On SQLite
    its own connection with a :data:`BULK_CACHE_KIB` cache, closed afterwards: through the
    pool, a scan of the log would leave up to 64 MiB of entry pages in the page cache of
    every pooled connection it used (``ledger.store.engine``), i.e. grow the server's memory
    with the size of the log. Elsewhere (PostgreSQL caches on its server) a pooled reader.
    Each SELECT is its own read transaction of committed rows. Cost: one SQLite open."""
    store = ledger.store
    if isinstance(store, SqlStore) and sqlite_path(str(store.engine.url)) not in (
        None,
        ":memory:",
    ):
        with _bulk_engine(store.engine.url).connect() as conn:
            yield SqlReader(conn)
    else:
        with store.reading() as reader:
            yield reader


def entry_pages(
    ledger: Ledger, end: int, lines: int = PAGE_LINES, *, start: int = 0
) -> Iterator[bytes]:
    """Entry lines ``[start, end)`` as in ``entries.jsonl`` (each line and its newline), in
    pages of up to ``lines`` lines. Each page is one short read (:func:`bulk_reading`; no
    connection or transaction is held between pages, so a slow consumer holds nothing in
    the database); entries below a committed checkpoint's size never change, so with
    ``end`` that size the pages are exactly the entries that checkpoint covers. Yields
    chunks of :data:`CHUNK_LINES` lines (a page is several chunks). Raises
    :class:`InputError` if the database holds fewer — the caller must then not present what
    it sent as complete. Cost: O(n) reads, O(lines) memory."""
    cursor = start
    while cursor < end:
        stop = min(end, cursor + lines)
        with bulk_reading(ledger) as reader:
            rows = reader.lines(cursor, stop)
        if len(rows) != stop - cursor:
            raise InputError(f"database holds {cursor + len(rows)} entries but {end} were expected")
        for k in range(0, len(rows), CHUNK_LINES):
            chunk = [line for _, line in rows[k : k + CHUNK_LINES]]
            chunk.append(b"")
            yield b"\n".join(chunk)
        cursor = stop


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
