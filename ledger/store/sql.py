"""The storage contract (:mod:`ledger.store.contract`) on SQLAlchemy: SQLite and PostgreSQL.

Connection settings, the write lock (``BEGIN IMMEDIATE`` / ``pg_advisory_xact_lock``, taken in
the engine's ``begin`` hook when a connection carries :data:`engine.WRITE_OPTION`) and the
durability settings live in :mod:`ledger.store.engine`; the tables in
:mod:`ledger.store.schema`. This module holds the queries, including the dialect-specific SQL
of the hot paths (sent straight to the driver: compiling SQLAlchemy expressions costs more
than the lookups themselves).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from ledger.store import engine as storage
from ledger.store import migrate, schema
from ledger.store.contract import (
    CosignatureRow,
    EntryRow,
    KeyConflict,
    LoggedStatement,
    NodeKey,
    NodeRow,
    PostingRow,
    SnapshotInfo,
)
from ledger.store.pg_nodes import pg_nodes
from verifier.core.errors import InputError, VerificationError

_e = storage.entries.c
_c = storage.checkpoints.c
#: Statement ids per ``IN (…)`` query of :meth:`SqlReader.logged_statements`.
_IDS_PER_READ = 500
#: Rows per multi-row INSERT of postings (11 parameters each: well under SQLite's 32,766
#: and PostgreSQL's 65,535 bound parameters).
_POSTINGS_PER_INSERT = 500
#: PostgreSQL: this many rows or more are sent with ``COPY … FROM STDIN`` (psycopg 3), fewer
#: with INSERT. COPY costs ~5× less per row than a multi-row INSERT or ``executemany``.
_COPY_MIN_ROWS = 16
#: Rows fetched at a time by :meth:`SqlReader.entries_since` (a replay's read of the log).
_ENTRIES_PER_FETCH = 2000


class SqlReader:
    """:class:`~ledger.store.contract.LedgerReader` over one SQLAlchemy connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def last_index(self) -> int | None:
        last = self.conn.execute(select(func.max(_e.idx))).scalar()
        return None if last is None else int(last)

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute(select(storage.meta.c.name, storage.meta.c.value)).all())

    def latest_checkpoint(self) -> str | None:
        return self.conn.execute(select(_c.note).order_by(_c.size.desc()).limit(1)).scalar()

    def checkpoint_at(self, size: int) -> str | None:
        return self.conn.execute(select(_c.note).where(_c.size == size)).scalar()

    def entries_since(self, start: int) -> Iterator[tuple[int, bytes]]:
        """Streamed in batches of :data:`_ENTRIES_PER_FETCH` rows (PostgreSQL: a server-side
        cursor in this read's transaction; psycopg would otherwise hold every row of a
        1M-entry replay in memory at once — 2 GB). O(n) rows, O(batch) memory."""
        query = select(_e.idx, _e.line).where(_e.idx >= start).order_by(_e.idx)
        rows = self.conn.execute(query.execution_options(yield_per=_ENTRIES_PER_FETCH))
        try:
            for idx, line in rows:
                yield int(idx), bytes(line)
        finally:
            rows.close()  # a caller that stops early frees the cursor before its next query

    def lines(self, start: int, end: int) -> list[tuple[int, bytes]]:
        rows = self.conn.execute(
            select(_e.idx, _e.line).where(_e.idx >= start, _e.idx < end).order_by(_e.idx)
        )
        return [(int(idx), bytes(line)) for idx, line in rows]

    def entry_count(self) -> int:
        count = self.conn.execute(select(func.count()).select_from(storage.entries))
        return int(count.scalar_one())

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """One SELECT for all the (level, index) nodes named; O(len(keys)) rows, one round
        trip. On PostgreSQL, outside a transaction (a proof's read), in autocommit: see
        :func:`ledger.store.pg_nodes.pg_nodes`. A missing node is a VerificationError."""
        if not keys:
            return {}
        unique = list(set(keys))
        if self.conn.dialect.name == "postgresql":
            rows = pg_nodes(self.conn, unique)
        else:
            # One indexed lookup per node: an OR of (level, idx) pairs, sent straight to the
            # driver (a row-value "(level, idx) IN (VALUES …)" makes SQLite scan the whole
            # table, and compiling a SQLAlchemy expression costs more than the lookups).
            mark = self._mark()
            where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(unique))
            sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}"
            params = tuple(v for key in unique for v in key)
            rows = self.conn.exec_driver_sql(sql, params).all()
        found = {(lvl, idx): bytes(h) for lvl, idx, h in rows}
        missing = [k for k in keys if k not in found]
        if missing:
            raise VerificationError(
                "storage.missing_node", f"Merkle nodes missing from the database: {missing[:3]}"
            )
        return found

    def logged_statements(self, ids: Sequence[str]) -> dict[str, LoggedStatement]:
        out: dict[str, LoggedStatement] = {}
        unique = list(dict.fromkeys(ids))
        for k in range(0, len(unique), _IDS_PER_READ):
            rows = self.conn.execute(
                select(_e.statement_id, _e.submission_sha256, _e.idx, _e.leaf_hash, _e.line).where(
                    _e.statement_id.in_(unique[k : k + _IDS_PER_READ])
                )
            )
            for sid, digest, idx, leaf, line in rows:
                out[sid] = LoggedStatement(bytes(digest), int(idx), bytes(leaf), bytes(line))
        return out

    def snapshots(self) -> list[SnapshotInfo]:
        s = schema.state_snapshots.c
        rows = self.conn.execute(
            select(s.size, s.root, s.version, s.digest, s.created_at).order_by(s.size.desc())
        )
        return [
            SnapshotInfo(int(n), bytes(root), int(v), bytes(d), str(at))
            for n, root, v, d, at in rows
        ]

    def snapshot_data(self, size: int) -> bytes | None:
        s = schema.state_snapshots.c
        data = self.conn.execute(select(s.data).where(s.size == size)).scalar()
        return None if data is None else bytes(data)

    def postings_through(self) -> int:
        through = self.conn.exec_driver_sql("SELECT through FROM postings_progress").scalar()
        return 0 if through is None else int(through)

    def _mark(self) -> str:
        return "?" if self.conn.dialect.paramstyle == "qmark" else "%s"


class SqlWrite(SqlReader):
    """:class:`~ledger.store.contract.WriteTransaction`: a connection marked as a writer, so
    that its BEGIN takes the log's write lock (see :mod:`ledger.store.engine`)."""

    def __init__(self, engine: Engine) -> None:
        conn = engine.connect().execution_options(**{storage.WRITE_OPTION: True})
        try:
            self._tx = conn.begin()  # blocks until this process is the sequencer
        except BaseException:
            conn.close()
            raise
        super().__init__(conn)
        self._open = True

    def insert_meta(self, values: Mapping[str, str]) -> None:
        rows = [{"name": "schema_version", "value": schema.SCHEMA_VERSION}]
        rows += [{"name": k, "value": v} for k, v in values.items()]
        try:
            self.conn.execute(insert(storage.meta), rows)
        except IntegrityError as exc:
            raise KeyConflict(str(exc.orig)) from exc

    def insert_entries(self, rows: Sequence[EntryRow]) -> None:
        self._insert(storage.entries, rows)

    def insert_nodes(self, rows: Sequence[NodeRow]) -> None:
        self._insert(storage.merkle_nodes, rows)

    def insert_checkpoint(self, size: int, note: str) -> None:
        self._insert(storage.checkpoints, [(size, note)])

    def insert_postings(self, rows: Sequence[PostingRow], *, skip_stored: bool = False) -> None:
        """Multi-row INSERTs of up to 500 rows, straight to the driver (PostgreSQL: COPY,
        unless ``skip_stored``, which COPY cannot do)."""
        if not skip_stored and self._copy(schema.postings, rows):
            return
        one = "(" + ", ".join([self._mark()] * len(schema.postings.c)) + ")"
        tail = " ON CONFLICT DO NOTHING" if skip_stored else ""
        for k in range(0, len(rows), _POSTINGS_PER_INSERT):
            chunk = rows[k : k + _POSTINGS_PER_INSERT]
            sql = f"INSERT INTO postings VALUES {', '.join([one] * len(chunk))}{tail}"
            try:
                self.conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))
            except IntegrityError as exc:
                raise KeyConflict(f"postings: {exc.orig}") from exc

    def advance_postings(self, start: int, end: int) -> None:
        m = self._mark()
        done = self.conn.exec_driver_sql(
            f"UPDATE postings_progress SET through = {m} "
            f"WHERE id = 1 AND through >= {m} AND through < {m}",
            (end, start, end),
        )
        if done.rowcount == 0 and start == 0:  # the first mark of this database
            self.conn.exec_driver_sql(
                f"INSERT INTO postings_progress (id, through) VALUES (1, {m}) "
                "ON CONFLICT DO NOTHING",
                (end,),
            )

    def put_snapshot(self, info: SnapshotInfo, data: bytes, *, keep: int) -> None:
        table = schema.state_snapshots
        self.conn.execute(delete(table).where(table.c.size == info.size))
        self.conn.execute(
            insert(table),
            {
                "size": info.size,
                "root": info.root,
                "version": info.version,
                "digest": info.digest,
                "created_at": info.created_at,
                "data": data,
            },
        )
        sizes = select(table.c.size).order_by(table.c.size.desc()).limit(keep)
        self.conn.execute(delete(table).where(table.c.size.not_in(sizes)))

    def _insert(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        if self._copy(table, rows):
            return
        try:
            storage.insert_rows(self.conn, table, rows)
        except IntegrityError as exc:
            raise KeyConflict(f"{table.name}: {exc.orig}") from exc

    def _copy(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> bool:
        """On PostgreSQL, with :data:`_COPY_MIN_ROWS` rows or more: write ``rows`` (columns in
        table order) with ``COPY … FROM STDIN`` in this transaction and return True; else do
        nothing and return False. A duplicate key is :class:`KeyConflict`, as for INSERT
        (triggers and constraints apply to COPY alike). O(rows), one round trip."""
        if self.conn.dialect.name != "postgresql" or len(rows) < _COPY_MIN_ROWS:
            return False
        prep = self.conn.dialect.identifier_preparer
        columns = ", ".join(prep.format_column(c) for c in table.c)
        sql = f"COPY {prep.format_table(table)} ({columns}) FROM STDIN"
        raw = self.conn.connection.driver_connection
        assert raw is not None
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except self.conn.dialect.dbapi.IntegrityError as exc:  # type: ignore[union-attr]
            raise KeyConflict(f"{table.name}: {exc}") from exc
        return True

    def commit(self) -> None:
        try:
            self._tx.commit()
        finally:
            self._close()

    def rollback(self) -> None:
        if not self._open:
            return
        try:
            self._tx.rollback()
        finally:
            self._close()

    def _close(self) -> None:
        self._open = False
        self.conn.close()

    def __enter__(self) -> SqlWrite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()


class SqlStore:
    """:class:`~ledger.store.contract.LedgerStore` on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> SqlStore:
        """Open the database at ``url``; ``create`` makes a missing database and schema,
        otherwise a missing SQLite file or a database without the ledger's tables is an
        :class:`InputError`. Database errors (unreachable server) pass through."""
        engine = storage.open_engine(url, must_exist=not create)
        try:
            if create:
                migrate.create_schema(engine)
            elif not inspect(engine).has_table(storage.entries.name):
                raise InputError(
                    "not a Gongxin database (no entries table); check --db", field="database"
                )
            else:
                migrate.require_head(engine)  # an older schema: say "upgrade", not "no table"
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @contextmanager
    def reading(self) -> Iterator[SqlReader]:
        with self.engine.connect() as conn:
            yield SqlReader(conn)

    def begin_write(self) -> SqlWrite:
        return SqlWrite(self.engine)

    # -- witnesses' cosignatures (contract.CosignatureStore) ----------------------------

    def add_cosignature(self, row: CosignatureRow) -> bool:
        """One INSERT … ON CONFLICT DO NOTHING in its own transaction (on SQLite it waits
        for the write lock like any writer, for one row's time)."""
        m = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        with self.engine.begin() as conn:
            done = conn.exec_driver_sql(
                "INSERT INTO cosignatures (size, witness, line, received_at) "
                f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING",
                row,
            )
        return bool(done.rowcount)

    def cosignatures(self, size: int) -> list[CosignatureRow]:
        t = schema.cosignatures.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.size, t.witness, t.line, t.received_at)
                .where(t.size == size)
                .order_by(t.witness)
            )
            return [(int(n), str(w), str(line), str(at)) for n, w, line, at in rows]

    def cosigned_sizes(self, limit: int) -> list[int]:
        t = schema.cosignatures.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.size).distinct().order_by(t.size.desc()).limit(limit))
            return [int(n) for (n,) in rows]

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["SqlReader", "SqlStore", "SqlWrite"]
