"""Scrubbing erased residents' rows from the database (PIPL Art. 47; docs/RESIDENTS.md).

:meth:`ledger.residents.ResidentRegister.erase` deletes the row; this module makes sure the
deleted bytes do not stay behind. On SQLite every connection of the register runs with
``PRAGMA secure_delete=ON`` (deleted cells and freed pages are overwritten with zeros,
including copies moved by earlier page splits), and the delete is followed by
``PRAGMA wal_checkpoint(TRUNCATE)``, which copies the zeroed pages into the database file and
truncates the write-ahead log to zero bytes. On PostgreSQL the delete is
followed by ``VACUUM FULL resident_register`` — best effort until issue 5 tests it: the
server's WAL, WAL archives, replicas and the file system's freed blocks are not scrubbed.
On any database, backups and copies taken before the erasure are the operator's
responsibility.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from ledger.store.schema import resident_register
from verifier.core.errors import GongxinError


class ErasureIncomplete(GongxinError):
    """The row is deleted but old copies may remain in the SQLite write-ahead log, because
    another connection kept the log busy; :meth:`ledger.residents.ResidentRegister.purge`
    finishes the job."""


def secure_delete_on(dbapi_conn: Any, _record: Any) -> None:
    """Connect listener: ``PRAGMA secure_delete=ON`` on every SQLite connection of the register."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def require_zeroing(conn: Connection) -> None:
    """Refuse (:class:`GongxinError`) to erase on an SQLite connection without
    ``secure_delete``. Cost: one pragma read."""
    if conn.dialect.name == "sqlite":
        # Never delete without zeroing: a plain DELETE would leave the bytes behind.
        on = conn.exec_driver_sql("PRAGMA secure_delete").scalar()
        if on != 1:
            raise GongxinError("SQLite secure_delete is off; refusing to erase")


def purge(engine: Engine) -> None:
    """The scrub of :meth:`ledger.residents.ResidentRegister.purge` on ``engine``'s database."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            # Outside any transaction (the connection is in autocommit mode).
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        if row is not None and row[0] != 0:
            raise ErasureIncomplete(
                "the row is deleted, but the write-ahead log is busy and may still hold "
                "a copy; stop other gongxin processes and run `gongxin residents purge`"
            )
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(f"VACUUM FULL {resident_register.name}")
