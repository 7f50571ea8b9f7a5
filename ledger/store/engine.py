"""Connections (SQLAlchemy 2 Core engines), the append-only triggers and bulk inserts.
The tables are defined in :mod:`ledger.store.schema`; creating them at the newest migration is
:func:`ledger.store.migrate.create_schema`.

SQLite is opened in WAL mode with ``synchronous=FULL`` (a commit is durable when it returns)
and every write transaction starts with ``BEGIN IMMEDIATE``, which takes the write lock at
once: the append transaction is the log's single sequencer. A writer that finds the lock taken
(another server worker is appending) polls for it every 0.1–1 ms (:func:`_begin_immediate`).
Reads begin deferred.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ledger.store.schema import (  # re-exported: storage users name tables through here
    APPEND_ONLY_TABLES,
    UNIQUE_KEYS,
    checkpoints,
    entries,
    merkle_nodes,
    meta,
    metadata,
)
from verifier.core.errors import InputError

__all__ = [
    "PG_SEQUENCER_LOCK",
    "WRITE_OPTION",
    "checkpoints",
    "entries",
    "insert_rows",
    "install_append_only_triggers",
    "merkle_nodes",
    "meta",
    "metadata",
    "open_engine",
    "sqlite_path",
]

#: Execution option marking a connection whose transactions write (``BEGIN IMMEDIATE``).
WRITE_OPTION = "gongxin_write"

#: Seconds a SQLite statement waits for a lock before failing with "database is locked".
SQLITE_BUSY_TIMEOUT = 30.0
#: Pauses between tries for the SQLite write lock (seconds): doubling from the first, at most
#: the second (see :func:`_begin_immediate`).
_LOCK_POLL_FIRST, _LOCK_POLL_MAX = 0.0001, 0.001
_SQLITE_BUSY = 5  # SQLite's primary result code for "locked by another connection"


def _key_match(cols: tuple[str, ...]) -> str:
    return "(" + " AND ".join(f"{c} = NEW.{c}" for c in cols) + ")"


def open_engine(url: str, *, must_exist: bool = False) -> Engine:
    """Create an engine for ``url`` with Gongxin's connection settings.

    SQLite: WAL, ``synchronous=FULL``, 64 MiB page cache, recursive triggers on, ``BEGIN
    IMMEDIATE`` per transaction. With ``must_exist`` a missing SQLite file is an
    :class:`InputError` instead of being created. A URL SQLAlchemy cannot use is an
    :class:`InputError` too.
    """
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not Path(path).is_file():
            raise InputError(
                "no database here; run `gongxin init` or `gongxin demo` first, or pass --db",
                field=path,
            )
        if path != ":memory:" and not Path(path).resolve().parent.is_dir():
            raise InputError("the database's directory does not exist", field=path)
    try:
        return _create(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise InputError(
            f"cannot use database URL {url!r} ({exc}); give --db or GONGXIN_DATABASE_URL "
            "as e.g. sqlite:///gongxin.db",
            field="database",
        ) from None


def sqlite_path(url: str) -> str | None:
    """The file path of a ``sqlite:///PATH`` URL, ``":memory:"``, or ``None`` for others."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    return path.split("?", 1)[0] or ":memory:"


#: The advisory lock every PostgreSQL append transaction takes first: the log's single
#: sequencer across processes (``pg_advisory_xact_lock``, released at COMMIT or ROLLBACK).
PG_SEQUENCER_LOCK = 0x676F6E67  # "gong"


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        _configure_sqlite(engine)
    elif url.startswith("postgresql"):
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
        # No pre-ping (it doubles the round trips of every short read, e.g. a proof): a
        # connection broken by a database restart fails one request and is discarded.
        engine = create_engine(url, pool_recycle=3600)
        _configure_postgresql(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers serialise on one advisory lock (the sequencer across server processes);
        # readers run at READ COMMITTED and never wait for appends.
        if conn.get_execution_options().get(WRITE_OPTION, False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_SEQUENCER_LOCK})")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # 64 MiB page cache: the statement-id index takes random inserts (UUIDs); with the
        # default 2 MiB cache its pages fall out at ~10^5 entries and appends slow down.
        cur.execute("PRAGMA cache_size=-65536")
        # With recursive triggers on, rows deleted by INSERT OR REPLACE fire the DELETE
        # triggers too, so REPLACE cannot rewrite history either.
        cur.execute("PRAGMA recursive_triggers=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock at once (the append transaction is the sequencer);
        # readers use a deferred BEGIN, so proofs and exports never wait for appends (WAL).
        if conn.get_execution_options().get(WRITE_OPTION, False):
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(conn: Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for the write lock by polling every 0.1–1 ms for up to
    :data:`SQLITE_BUSY_TIMEOUT` seconds, then failing as SQLite's own busy time-out does
    (``OperationalError`` "database is locked"); any other error fails at once.

    Why not SQLite's busy handler: it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then
    100 ms between tries, so a writer that meets another process's transaction of a few ms
    waits up to the next step of that ladder, and while two server workers keep writing one
    of them can lose every try and wait seconds (``bench/worker_contention.py``, 2 workers on
    one core: worst write 0.55–1.4 s, 42–57 ms with polling; docs/PERFORMANCE.md). Polling
    finds the lock within ~1 ms of its release. Cost: a failed ``BEGIN`` is ~2 µs of SQLite (tried
    on the driver's connection, not through SQLAlchemy); nothing when the lock is free.
    """
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
        pause = _LOCK_POLL_FIRST
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
                    break  # not "busy": let SQLAlchemy raise it below
            time.sleep(pause)
            pause = min(2 * pause, _LOCK_POLL_MAX)
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # raises SQLAlchemy's error (or wins late)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")


def install_append_only_triggers(conn: Connection) -> None:
    """Make every ledger table reject UPDATE and DELETE inside the database itself (run
    inside the caller's transaction)."""
    for table in APPEND_ONLY_TABLES:
        if conn.dialect.name == "sqlite":
            for op in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
                    f"BEFORE {op} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'gongxin: {table} is append-only'); END"
                )
            # INSERT OR REPLACE deletes the conflicting row without firing DELETE
            # triggers (unless a connection enables recursive_triggers), so refuse any
            # insert that collides with an existing key, on every connection.
            clash = " OR ".join(f"{_key_match(cols)}" for cols in UNIQUE_KEYS[table])
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace "
                f"BEFORE INSERT ON {table} WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
                f"BEGIN SELECT RAISE(ABORT, 'gongxin: {table} is append-only'); END"
            )
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION gongxin_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                "'gongxin: %% is append-only', TG_TABLE_NAME; END $$"
            )
            conn.exec_driver_sql(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION gongxin_append_only()"
            )


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Bulk INSERT through the DB-API driver directly: the hot path skips SQLAlchemy's
    per-row parameter processing (~35 µs per entry). Columns in table order."""
    if not rows:
        return
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(table.c))
    conn.exec_driver_sql(f"INSERT INTO {table.name} VALUES ({marks})", list(rows))
