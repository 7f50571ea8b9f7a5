"""A real SQL store (:class:`ledger.store.sql.SqlStore` on SQLite) wrapped so that its write
transactions fail on purpose at a chosen step, and counted.

No mock: every call reaches the real database, except the one chosen to fail, which raises
*instead of* running (for ``commit``: the transaction is then rolled back, as after a failed
COMMIT). Used by tests/test_append_failures.py and tests/test_ledger_append_requests.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger.log import Ledger
from ledger.store.contract import (
    EntryRow,
    LedgerReader,
    LoggedStatement,
    NodeKey,
    NodeRow,
    PostingRow,
    SnapshotInfo,
    WriteTransaction,
)
from ledger.store.sql import SqlStore
from verifier.cli.parallel import SignaturePool

#: The write-transaction steps that can be made to fail, in the order the append runs them.
STEPS = (
    "begin",
    "entries_since",
    "logged_statements",
    "insert_meta",
    "insert_entries",
    "insert_nodes",
    "insert_checkpoint",
    "insert_postings",
    "commit",
)


class InjectedFailure(Exception):
    """The failure a :class:`FailingStore` raises at its chosen step."""


class FailingStore:
    """A :class:`~ledger.store.contract.LedgerStore` over a real :class:`SqlStore`.

    ``fail_at`` (one of :data:`STEPS`) makes the next write transaction raise ``error`` (an
    :class:`InjectedFailure` by default) at that step, once; ``begun`` counts write
    transactions opened, ``committed`` those committed and ``checkpoints`` the checkpoints
    inserted by committed ones.
    """

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.engine: Engine = inner.engine
        self.fail_at: str | None = None
        self.error: Exception = InjectedFailure("injected")
        self.begun = 0
        self.committed = 0
        self.checkpoints = 0

    def trip(self, step: str) -> None:
        """Raise at ``step`` if it is the chosen one (and forget the choice)."""
        if self.fail_at == step:
            self.fail_at = None
            raise self.error

    def reading(self) -> AbstractContextManager[LedgerReader]:
        return self.inner.reading()

    def begin_write(self) -> WriteTransaction:
        self.trip("begin")
        self.begun += 1
        return FailingWrite(self, self.inner.begin_write())

    def close(self) -> None:
        self.inner.close()


class FailingWrite:
    """A real write transaction, tripping its store's chosen step."""

    def __init__(self, store: FailingStore, inner: WriteTransaction) -> None:
        self.store = store
        self.inner = inner
        self.checkpoints = 0

    # reads
    def last_index(self) -> int | None:
        return self.inner.last_index()

    def meta(self) -> dict[str, str]:
        return self.inner.meta()

    def latest_checkpoint(self) -> str | None:
        return self.inner.latest_checkpoint()

    def checkpoint_at(self, size: int) -> str | None:
        return self.inner.checkpoint_at(size)

    def entries_since(self, start: int) -> Iterator[tuple[int, bytes]]:
        self.store.trip("entries_since")
        return self.inner.entries_since(start)

    def lines(self, start: int, end: int) -> list[tuple[int, bytes]]:
        return self.inner.lines(start, end)

    def entry_count(self) -> int:
        return self.inner.entry_count()

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return self.inner.nodes(keys)

    def logged_statements(self, ids: Sequence[str]) -> dict[str, LoggedStatement]:
        self.store.trip("logged_statements")
        return self.inner.logged_statements(ids)

    def postings_through(self) -> int:
        return self.inner.postings_through()

    # writes
    def insert_meta(self, values: Mapping[str, str]) -> None:
        self.store.trip("insert_meta")
        self.inner.insert_meta(values)

    def insert_entries(self, rows: Sequence[EntryRow]) -> None:
        self.store.trip("insert_entries")
        self.inner.insert_entries(rows)

    def insert_nodes(self, rows: Sequence[NodeRow]) -> None:
        self.store.trip("insert_nodes")
        self.inner.insert_nodes(rows)

    def insert_checkpoint(self, size: int, note: str) -> None:
        self.store.trip("insert_checkpoint")
        self.inner.insert_checkpoint(size, note)
        self.checkpoints += 1

    def insert_postings(self, rows: Sequence[PostingRow], *, skip_stored: bool = False) -> None:
        self.store.trip("insert_postings")
        self.inner.insert_postings(rows, skip_stored=skip_stored)

    def advance_postings(self, start: int, end: int) -> None:
        self.inner.advance_postings(start, end)

    def snapshots(self) -> list[SnapshotInfo]:
        return self.inner.snapshots()

    def snapshot_data(self, size: int) -> bytes | None:
        return self.inner.snapshot_data(size)

    def put_snapshot(self, info: SnapshotInfo, data: bytes, *, keep: int) -> None:
        self.inner.put_snapshot(info, data, keep=keep)

    def commit(self) -> None:
        self.store.trip("commit")
        self.inner.commit()
        self.store.committed += 1
        self.store.checkpoints += self.checkpoints

    def rollback(self) -> None:
        self.inner.rollback()

    def __enter__(self) -> FailingWrite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()


def open_failing(path: Path, **kwargs: Any) -> tuple[Ledger, FailingStore]:
    """A ledger over a :class:`FailingStore` on the SQLite file at ``path`` (which may be
    empty: the schema is created). ``kwargs`` go to :meth:`Ledger.from_store`."""
    store = FailingStore(SqlStore.open(f"sqlite:///{path}"))
    kwargs.setdefault("pool", SignaturePool(1))
    return Ledger.from_store(store, **kwargs), store
