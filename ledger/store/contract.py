"""The storage contract the ledger is written against (what :class:`ledger.log.Ledger` needs
from a database, and nothing more). The SQLAlchemy implementation is
:class:`ledger.store.sql.SqlStore`; tests wrap it to inject failures.

Guarantees every implementation must give
-----------------------------------------

Single sequencer.
    At most one :class:`WriteTransaction` is open at a time across every process using the
    database: :meth:`LedgerStore.begin_write` blocks until it holds the log's write lock
    (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``) and the lock is held
    until :meth:`WriteTransaction.commit` or :meth:`WriteTransaction.rollback`. Reads inside
    the write transaction therefore see every entry ever committed, and nobody appends
    behind the writer's back: the index it assigns next is free.

Atomicity.
    Everything inserted through one write transaction (entries, Merkle nodes, the checkpoint,
    meta) becomes visible together at commit, or never. Any exception raised by an insert or
    by :meth:`WriteTransaction.commit` means nothing of the transaction was written; the
    caller then calls :meth:`WriteTransaction.rollback` (leaving the ``with`` block does it).

Durability.
    When :meth:`WriteTransaction.commit` returns, the transaction survives a crash or power
    loss of this machine (SQLite: WAL with ``synchronous=FULL``; PostgreSQL: the server's
    ``synchronous_commit``, on by default). Receipts are handed out only after that.

What readers see.
    A :meth:`LedgerStore.reading` view never sees uncommitted rows and never waits for a
    writer (SQLite WAL readers; PostgreSQL ``READ COMMITTED``). A SQLite view is one snapshot;
    on PostgreSQL each statement may see a newer commit, so readers ask only for rows up to a
    size they already know is committed (a published checkpoint) — those never change, as
    every table is append-only.

Errors.
    An insert that collides with a stored key (a statement id, node or checkpoint already
    there) raises :class:`KeyConflict`; anything else the database raises passes through
    unchanged (the caller treats it as "the whole transaction failed").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

#: One ``entries`` row, columns in table order: (index, statement id, SHA-256 of the
#: submission, kind, canonical entry line, leaf hash).
EntryRow = tuple[int, str, bytes, str, bytes, bytes]
#: One ``merkle_nodes`` row: (level, index, hash) — what ``CompactRange.append`` reports.
NodeRow = tuple[int, int, bytes]
#: A Merkle node key: (level, index).
NodeKey = tuple[int, int]
#: One ``postings`` row (FORMAT.md §10.6), columns in table order: (entry index, position
#: within the entry, event, amount, fund, contract, payment, provider, community, resident,
#: activity); unused references are ``None``.
_Ref = str | None
PostingRow = tuple[int, int, str, int, _Ref, _Ref, _Ref, _Ref, _Ref, _Ref, _Ref]
#: One ``cosignatures`` row: (checkpoint size, witness verifier key string, its note
#: signature line with final newline, RFC 3339 UTC time received).
CosignatureRow = tuple[int, str, str, str]


@dataclass(frozen=True, slots=True)
class LoggedStatement:
    """What idempotency needs of a statement already in the log (FORMAT.md §8 step 4)."""

    digest: bytes  #: SHA-256 of the submission as first accepted
    index: int
    leaf_hash: bytes
    line: bytes


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """One ``state_snapshots`` row without its data (FORMAT.md §12.2): the rule state after
    ``size`` entries, whose tree root was ``root``, encoded in ``version``, with the
    SHA-256 ``digest`` of the encoding; ``created_at`` is an RFC 3339 UTC time."""

    size: int
    root: bytes
    version: int
    digest: bytes
    created_at: str


class KeyConflict(Exception):
    """An insert collided with a stored key; nothing of the transaction was written."""


class LedgerReader(Protocol):
    """Reads of committed rows (inside a write transaction: also the rows it inserted)."""

    def last_index(self) -> int | None:
        """The highest entry index stored, or ``None`` for an empty log. O(1)."""
        ...

    def meta(self) -> dict[str, str]:
        """The ``meta`` table (origin, log_vkey, schema_version). O(1)."""
        ...

    def latest_checkpoint(self) -> str | None:
        """The note of the largest checkpoint stored, or ``None``. O(1)."""
        ...

    def checkpoint_at(self, size: int) -> str | None:
        """The note of the checkpoint for exactly ``size`` entries, if one was issued."""
        ...

    def entries_since(self, start: int) -> Iterator[tuple[int, bytes]]:
        """(index, line) of every entry at ``start`` or later, in index order (catch-up).
        Streams; O(rows)."""
        ...

    def lines(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """(index, line) for indices in ``[start, end)``, in order. O(end - start)."""
        ...

    def entry_count(self) -> int:
        """How many entries are stored (a COUNT: O(n) on some databases)."""
        ...

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """The Merkle nodes named, in one read. Raises ``VerificationError``
        (``storage.missing_node``) if any is absent. O(len(keys)) indexed lookups."""
        ...

    def logged_statements(self, ids: Sequence[str]) -> dict[str, LoggedStatement]:
        """The stored statements among ``ids`` (absent ids are left out). O(len(ids))."""
        ...

    def snapshots(self) -> list[SnapshotInfo]:
        """The stored rule-state snapshots without their data, largest size first. O(rows)
        (a ledger keeps two)."""
        ...

    def snapshot_data(self, size: int) -> bytes | None:
        """The encoded state of the snapshot at ``size``, or ``None``. O(its length)."""
        ...

    def postings_through(self) -> int:
        """How far the ``postings`` index is complete: every entry below this index has its
        postings stored (0 if none is known to). O(1)."""
        ...


class WriteTransaction(LedgerReader, Protocol):
    """The open write transaction: the single sequencer (see the module docstring).

    Use as a context manager; leaving the block without :meth:`commit` rolls back.
    """

    def insert_meta(self, values: Mapping[str, str]) -> None:
        """Store the log's metadata (origin, log_vkey) once, with the genesis entry; the
        store adds its own schema version."""
        ...

    def insert_entries(self, rows: Sequence[EntryRow]) -> None:
        """Insert entry rows (contiguous indices after the last one). Raises
        :class:`KeyConflict` if an index or statement id is already stored."""
        ...

    def insert_nodes(self, rows: Sequence[NodeRow]) -> None:
        """Insert completed Merkle nodes. Raises :class:`KeyConflict` on a stored key."""
        ...

    def insert_checkpoint(self, size: int, note: str) -> None:
        """Insert the signed checkpoint for ``size`` entries. :class:`KeyConflict` if one
        for this size exists."""
        ...

    def insert_postings(self, rows: Sequence[PostingRow], *, skip_stored: bool = False) -> None:
        """Insert postings (multi-row inserts). :class:`KeyConflict` on a stored (entry,
        position), unless ``skip_stored`` (the back-fill), which leaves those rows as they are."""
        ...

    def advance_postings(self, start: int, end: int) -> None:
        """If the postings were complete below ``start`` (:meth:`postings_through` ≥
        ``start``), they now are below ``end``; otherwise nothing changes. O(1)."""
        ...

    def put_snapshot(self, info: SnapshotInfo, data: bytes, *, keep: int) -> None:
        """Store a rule-state snapshot (replacing one of the same size), then delete all but
        the ``keep`` largest. ``state_snapshots`` is a cache, not append-only."""
        ...

    def commit(self) -> None:
        """Make everything inserted visible and durable, and release the write lock. If it
        raises, nothing was written."""
        ...

    def rollback(self) -> None:
        """Discard everything inserted and release the write lock. Idempotent; a no-op
        after :meth:`commit`."""
        ...

    def __enter__(self) -> WriteTransaction: ...

    def __exit__(self, *exc: object) -> None: ...


class LedgerStore(Protocol):
    """A database holding one log."""

    def reading(self) -> AbstractContextManager[LedgerReader]:
        """A read-only view of committed rows; never waits for the writer."""
        ...

    def begin_write(self) -> WriteTransaction:
        """Take the log's write lock (blocking) and open the write transaction."""
        ...

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        ...


class CosignatureStore(Protocol):
    """Witnesses' cosignatures of the log's checkpoints (:mod:`ledger.cosigning`). Not part
    of the log, so apart from :class:`LedgerStore` (a store may lack it); each call is its
    own short transaction and never takes the log's write lock. Rows are only added."""

    def add_cosignature(self, row: CosignatureRow) -> bool:
        """Store ``row`` unless one for its (size, witness) is stored; whether it was
        added. The caller verified it. One INSERT."""
        ...

    def cosignatures(self, size: int) -> list[CosignatureRow]:
        """The stored cosignatures of the checkpoint of ``size``, by witness key. O(rows)."""
        ...

    def cosigned_sizes(self, limit: int) -> list[int]:
        """The ``limit`` largest checkpoint sizes with any stored cosignature, largest
        first. One index range scan (O(limit × witnesses))."""
        ...


__all__ = [
    "CosignatureRow",
    "CosignatureStore",
    "EntryRow",
    "KeyConflict",
    "LedgerReader",
    "LedgerStore",
    "LoggedStatement",
    "NodeKey",
    "NodeRow",
    "PostingRow",
    "SnapshotInfo",
    "WriteTransaction",
]
