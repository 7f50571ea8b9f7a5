"""``gongxin db``: schema migrations and the database roles of a production server."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from verifier.core.errors import GongxinError

db_app = typer.Typer(help="数据库 — schema migrations and roles.", no_args_is_help=True)

#: Ledger tables: the application may read and insert, never change or delete.
LEDGER_TABLES = ("meta", "entries", "merkle_nodes", "checkpoints")
#: The off-ledger resident register: erasure (PIPL Art. 47) needs DELETE.
REGISTER_TABLES = ("community_secrets", "resident_register")
#: The postings index (derived, not the log): read and insert; its progress mark also UPDATE.
INDEX_TABLES = ("postings", "postings_progress")
#: Rule-state snapshots (a cache, FORMAT.md §12.2): the server replaces the older ones.
CACHE_TABLES = ("state_snapshots",)
#: Witnesses' cosignatures the server collects (verifiable by anyone): read and insert.
WITNESS_TABLES = ("cosignatures",)


def roles_sql(role: str, database: str) -> str:
    """SQL giving PostgreSQL role ``role`` exactly what the server needs: SELECT and INSERT
    on the ledger tables (UPDATE, DELETE and TRUNCATE revoked — the triggers refuse them
    too), read-write on the resident register, read on the migration version."""
    ledger = ", ".join(LEDGER_TABLES)
    register = ", ".join(REGISTER_TABLES)
    return "\n".join(
        [
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN "
            "NULL; END $$;",
            f'GRANT CONNECT ON DATABASE "{database}" TO {role};',
            f"GRANT USAGE ON SCHEMA public TO {role};",
            f"REVOKE ALL ON {ledger}, {register}, alembic_version FROM {role};",
            f"REVOKE ALL ON {', '.join(INDEX_TABLES)} FROM {role};",
            f"GRANT SELECT, INSERT ON {INDEX_TABLES[0]} TO {role};",
            f"GRANT SELECT, INSERT, UPDATE ON {INDEX_TABLES[1]} TO {role};",
            f"REVOKE ALL ON {', '.join(CACHE_TABLES)} FROM {role};",
            f"GRANT SELECT, INSERT, DELETE ON {', '.join(CACHE_TABLES)} TO {role};",
            f"GRANT SELECT, INSERT ON {ledger} TO {role};",
            f"REVOKE ALL ON {', '.join(WITNESS_TABLES)} FROM {role};",
            f"GRANT SELECT, INSERT ON {', '.join(WITNESS_TABLES)} TO {role};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {register} TO {role};",
            f"GRANT SELECT ON alembic_version TO {role};",
            "-- Set a password out of band: ALTER ROLE "
            f"{role} PASSWORD '…'; and connect the server as {role}.",
        ]
    )


@db_app.command("upgrade")
def upgrade(db: DbOption = DEFAULT_DB) -> None:
    """升级数据库结构 — migrate the database to this version's schema (take a `gongxin
    backup` first). Idempotent; never rewrites ledger rows."""
    from ledger.store.migrate import upgrade as run

    try:
        before, after = run(db)
    except GongxinError as exc:
        typer.echo(f"✗ 升级失败 upgrade failed: {exc}", err=True)
        raise typer.Exit(2) from None
    if before == after:
        typer.echo(f"✓ 已是最新 already at revision {after}")
    else:
        typer.echo(f"✓ 已升级 upgraded from revision {before} to {after}")
    _fill_postings(db)


def _fill_postings(db: str) -> None:
    """Fill the postings index of a database upgraded to migration 0004 (one replay, in
    batches, resumable; nothing to do when it is complete)."""
    from ledger.postings import backfill
    from ledger.store.sql import SqlStore

    store = SqlStore.open(db, create=False)
    try:
        done = backfill(store, progress=_report_progress)
    finally:
        store.close()
    if done:
        typer.echo(f"✓ 已建立索引 indexed the postings of {done:,} entries")


def _report_progress(n: int, total: int) -> None:
    from ledger.postings import BATCH

    if n == total or n % 100_000 < BATCH:
        typer.echo(f"  索引 indexing postings: {n:,} / {total:,}")


@db_app.command("check-state")
def check_state(db: DbOption = DEFAULT_DB) -> None:
    """核对状态快照 — replay the log from entry 0 and compare with the latest rule-state
    snapshot (FORMAT.md §12.2). Exit 0 equal, 1 different, 2 no snapshot."""
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.snapshots import check_latest
    from ledger.store.sql import SqlStore

    try:
        store = SqlStore.open(db, create=False)
    except GongxinError as exc:
        typer.echo(f"✗ {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        code, line = check_latest(store)
    except SQLAlchemyError as exc:  # e.g. a schema older than migration 0003
        reason = getattr(exc, "orig", exc)
        code, line = 2, f"✗ 无法读取 cannot read the database: {reason}; try `gongxin db upgrade`"
    finally:
        store.close()
    typer.echo(line, err=code != 0)
    raise typer.Exit(code)


@db_app.command("revision")
def revision(db: DbOption = DEFAULT_DB) -> None:
    """数据库结构版本 — print the database's schema revision and this version's."""
    from ledger.store import engine as storage
    from ledger.store.migrate import HEAD, current_revision

    try:
        engine = storage.open_engine(db, must_exist=True)
    except GongxinError as exc:
        typer.echo(f"✗ {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        typer.echo(f"database {current_revision(engine)}, this version {HEAD}")
    finally:
        engine.dispose()


@db_app.command("setup-roles")
def setup_roles(
    role: Annotated[str, typer.Option("--role", help="应用角色 the server's role")] = "gongxin_app",
    apply: Annotated[
        bool, typer.Option("--apply", help="立即执行（需管理员连接）run it now, as an admin")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """数据库角色 — print (or --apply) the PostgreSQL SQL that lets the server's role only
    read and insert on the ledger tables."""
    from sqlalchemy.engine import make_url

    from ledger.store import engine as storage

    url = make_url(db)
    if not url.drivername.startswith("postgresql"):
        typer.echo("✗ roles are for PostgreSQL; SQLite has no users", err=True)
        raise typer.Exit(2)
    if not role.isidentifier():
        typer.echo("✗ --role must be a plain identifier", err=True)
        raise typer.Exit(2)
    sql = roles_sql(role, url.database or "")
    if not apply:
        typer.echo(sql)
        return
    engine = storage.open_engine(db, must_exist=True)
    try:
        with engine.begin() as conn:
            for statement in sql.split("\n"):
                if not statement.startswith("--"):
                    conn.exec_driver_sql(statement.replace("%", "%%"))
    finally:
        engine.dispose()
    typer.echo(f"✓ 已设置角色 role {role} may only read and insert the ledger tables")
