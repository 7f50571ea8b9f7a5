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


@dataclass(frozen=True, slots=True)
class LoggedStatement:
    """What idempotency needs of a statement already in the log (FORMAT.md §8 step 4)."""

    digest: bytes  #: SHA-256 of the submission as first accepted
    index: int
    leaf_hash: bytes
    line: bytes


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


__all__ = [
    "EntryRow",
    "KeyConflict",
    "LedgerReader",
    "LedgerStore",
    "LoggedStatement",
    "NodeKey",
    "NodeRow",
    "WriteTransaction",
]
