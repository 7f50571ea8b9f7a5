"""The witness's durable state: the logs it witnesses (origin → log verifier key) and the
latest checkpoint it cosigned per origin, in one SQLite file.

Every write is one ``BEGIN IMMEDIATE`` transaction committed with ``synchronous=FULL`` (the
commit is fsync'd before it returns). :meth:`WitnessStore.advance` is a compare-and-set on
the stored size, so a checkpoint is never replaced by a smaller one (no roll-back) even if
two processes share the file. A connection per call keeps the store usable from any thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from verifier.core.errors import InputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    log_vkey TEXT NOT NULL,
    tiles_url TEXT,
    verify_rules INTEGER NOT NULL DEFAULT 0,
    authority_keys TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS checkpoints (
    origin TEXT PRIMARY KEY REFERENCES logs(origin),
    size INTEGER NOT NULL CHECK (size >= 0),
    note TEXT NOT NULL
);
"""


_ADDED_COLUMNS = {
    "tiles_url": "ALTER TABLE logs ADD COLUMN tiles_url TEXT",
    "verify_rules": "ALTER TABLE logs ADD COLUMN verify_rules INTEGER NOT NULL DEFAULT 0",
    "authority_keys": "ALTER TABLE logs ADD COLUMN authority_keys TEXT NOT NULL DEFAULT ''",
}
"""Columns added to ``logs`` after the first version (verifying witness): a file written
before them gets them on open, with the defaults of a plain (non-verifying) log."""


@dataclass(frozen=True)
class LogConfig:
    """How a log is witnessed: its key, where its tiles are (``None``: not given) and whether
    each checkpoint's new entries are replayed against the rulebook before cosigning (with
    these authority verifier keys, none: not checked)."""

    log_vkey: str
    tiles_url: str | None = None
    verify_rules: bool = False
    authority_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stored:
    """The latest cosigned checkpoint of a log: its size and the note as submitted."""

    size: int
    note: str


class WitnessStore:
    """The state file at ``path`` (created with its tables on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(logs)")}
            for column, statement in _ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def add_log(self, origin: str, log_vkey: str, config: LogConfig | None = None) -> None:
        """Trust ``log_vkey`` for ``origin`` (replacing an earlier key and mode; the stored
        checkpoint is kept); ``config`` gives the tiles URL and mode (default: plain)."""
        cfg = config or LogConfig(log_vkey)
        with self._tx() as db:
            db.execute(
                "INSERT INTO logs (origin, log_vkey, tiles_url, verify_rules, authority_keys)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET"
                " log_vkey = excluded.log_vkey, tiles_url = excluded.tiles_url,"
                " verify_rules = excluded.verify_rules,"
                " authority_keys = excluded.authority_keys",
                (
                    origin,
                    log_vkey,
                    cfg.tiles_url,
                    int(cfg.verify_rules),
                    "\n".join(cfg.authority_keys),
                ),
            )

    def log_config(self, origin: str) -> LogConfig | None:
        """How ``origin`` is witnessed, or ``None`` if unknown."""
        with self._tx() as db:
            row = db.execute(
                "SELECT log_vkey, tiles_url, verify_rules, authority_keys FROM logs"
                " WHERE origin = ?",
                (origin,),
            ).fetchone()
        if row is None:
            return None
        keys = tuple(k for k in str(row[3]).split("\n") if k)
        return LogConfig(str(row[0]), row[1], bool(row[2]), keys)

    def log_key(self, origin: str) -> str | None:
        """The trusted verifier key string of ``origin``, or ``None`` if unknown."""
        with self._tx() as db:
            row = db.execute("SELECT log_vkey FROM logs WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else str(row[0])

    def latest(self, origin: str) -> Stored | None:
        """The latest cosigned checkpoint of ``origin``, or ``None`` if none yet."""
        with self._tx() as db:
            row = db.execute(
                "SELECT size, note FROM checkpoints WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else Stored(int(row[0]), str(row[1]))

    def advance(self, origin: str, old: int, size: int, note: str) -> int | None:
        """Store ``note`` (of tree ``size``) as ``origin``'s latest iff the stored size is
        still ``old`` (0 when none) and ``size >= old``; return ``None`` on success, else the
        stored size (a conflict). Durable when it returns."""
        if size < old:
            raise InputError(f"refusing to roll back {origin} from {old} to {size}")
        with self._tx() as db:
            row = db.execute("SELECT size FROM checkpoints WHERE origin = ?", (origin,)).fetchone()
            current = 0 if row is None else int(row[0])
            if current != old:
                return current
            db.execute(
                "INSERT INTO checkpoints (origin, size, note) VALUES (?, ?, ?) "
                "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, note = excluded.note",
                (origin, size, note),
            )
        return None
