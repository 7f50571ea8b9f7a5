"""Schema migrations with Alembic (``gongxin db upgrade``); the revisions are in
``ledger/store/migrations/versions``.

- ``0001`` — the schema before migrations existed: the ledger tables with their append-only
  triggers, and the resident register. A database created before Alembic (it has the tables
  but no ``alembic_version``) is recognised as ``0001``.
- ``0002`` — an index on ``entries.kind``.
- ``0004`` — the ``postings`` index and ``postings_progress`` (filled afterwards by
  :func:`ledger.postings.backfill`, not by the migration).
- ``0005`` — ``cosignatures``: witnesses' cosignatures the server collected
  (:mod:`ledger.cosigning`).

A new database is created at the newest revision directly (:func:`create_schema`
builds the tables and stamps :data:`HEAD`; ``tests/test_migrations.py`` proves that equals
running every migration). Opening a database at an older revision is refused until it is
upgraded. Migrations never rewrite ledger rows: the tables are append-only.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from ledger.store import schema
from ledger.store.engine import install_append_only_triggers, open_engine
from verifier.core.errors import InputError

#: The newest revision.
HEAD = "0005"
#: The revision of a database created before migrations existed.
BASELINE = "0001"
_SCRIPTS = Path(__file__).resolve().parent / "migrations"


def current_revision(engine: Engine) -> str | None:
    """The database's revision; :data:`BASELINE` for a pre-migration database with the
    tables; ``None`` for an empty one."""
    names = set(inspect(engine).get_table_names())
    if "alembic_version" in names:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)
    return BASELINE if "entries" in names else None


def stamp_head(conn: Connection) -> None:
    """Record :data:`HEAD` in a database whose tables were just created at HEAD."""
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    conn.exec_driver_sql(f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}')")


def require_head(engine: Engine) -> None:
    """:class:`InputError` unless the database is at :data:`HEAD`."""
    found = current_revision(engine)
    if found != HEAD:
        raise InputError(
            f"the database schema is at revision {found}, this version needs {HEAD}; back it "
            "up (`gongxin backup`), then run `gongxin db upgrade`",
            field="database",
        )


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the database at ``url`` to :data:`HEAD`; returns (from, to). Idempotent.
    A pre-migration database is stamped :data:`BASELINE` first."""
    from alembic import command
    from alembic.config import Config

    engine = open_engine(url, must_exist=True)
    try:
        before = current_revision(engine)
        cfg = Config()
        cfg.set_main_option("script_location", str(_SCRIPTS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            if before == BASELINE and "alembic_version" not in inspect(conn).get_table_names():
                command.stamp(cfg, BASELINE)
            command.upgrade(cfg, "head")
        return before, HEAD
    finally:
        engine.dispose()


def create_schema(engine: Engine) -> None:
    """Create the schema in an empty database, at the newest migration; on a database that
    has it, check that it is at the newest migration (no DDL: the server may run as a role
    that only reads and inserts). Raises :class:`InputError` for an older schema: run
    ``gongxin db upgrade`` (:func:`upgrade`)."""
    if not inspect(engine).has_table(schema.entries.name):
        schema.metadata.create_all(engine)
        schema.register_metadata.create_all(engine)
        with engine.begin() as conn:
            install_append_only_triggers(conn)
            stamp_head(conn)
        return
    require_head(engine)
