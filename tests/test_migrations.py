"""Migrations (``gongxin db upgrade``) and database roles (``gongxin db setup-roles``).

An old database — made before migrations existed: the baseline tables, no
``alembic_version``, no index on ``entries.kind`` — is refused until upgraded, then upgrades
in place with every ledger row untouched and still verifies. A database created new equals
one built by running every migration. On PostgreSQL the server's role can read and insert the
ledger tables but not change them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.store import engine as storage
from ledger.store import migrate
from verifier.core.errors import InputError

from .api_server import GONGXIN
from .domain_bodies import fund_body
from .ledger_env import standard_ledger
from .pg_server import PgServer

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))


#: Tables that migrations after the baseline create (0003 onwards).
POST_BASELINE_TABLES = ("state_snapshots", "postings", "postings_progress", "cosignatures")


def make_old(url: str) -> None:
    """Turn a database made by this version into one made before migrations existed."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_entries_kind"))
        for table in POST_BASELINE_TABLES:
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()


def schema(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out: dict[str, object] = {}
        for table in sorted(insp.get_table_names()):
            out[table] = (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
                sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table)),
                sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
                insp.get_pk_constraint(table)["constrained_columns"],
            )
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                triggers = conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
                )
            else:
                triggers = conn.execute(
                    text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
                )
            out["triggers"] = [r[0] for r in triggers]
        return out
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url_factory(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    counter = iter(range(100))

    def make() -> str:
        n = next(counter)
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'db{n}.sqlite'}"
        pg: PgServer = request.getfixturevalue("pg")
        return pg.create_database(f"mig_{tmp_path.name[-20:].lower()}_{n}".replace("-", "_"))

    return make


def test_old_database_is_refused_then_upgraded_in_place(url_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = url_factory()
    env = standard_ledger(tmp_path, url=url)
    lines = list(env.ledger.iter_lines())
    env.ledger.close()
    make_old(url)
    assert migrate.current_revision(storage.open_engine(url)) == migrate.BASELINE
    with pytest.raises(InputError, match="gongxin db upgrade"):
        Ledger.open(url)
    for replay in (True, False):  # opening an existing database says the same, not "no table"
        with pytest.raises(InputError, match="gongxin db upgrade"):
            Ledger.open(url, create=False, replay=replay)
    done = subprocess.run([GONGXIN, "db", "upgrade", "--db", url], capture_output=True, text=True)
    assert done.returncode == 0 and f"from revision 0001 to {migrate.HEAD}" in done.stdout, (
        done.stderr
    )
    again = subprocess.run([GONGXIN, "db", "upgrade", "--db", url], capture_output=True, text=True)
    assert f"already at revision {migrate.HEAD}" in again.stdout
    with Ledger.open(url, log_key=env.keys.log, clock=env.clock) as ledger:
        assert list(ledger.iter_lines()) == lines
        export_bundle(ledger, tmp_path / "export")
        ledger.append(env.sign(env.keys["finance"], "fund.appropriate", fund_body(77)).canonical())
    done = subprocess.run(
        [VERIFY, str(tmp_path / "export"), "--log-key", str(env.keys.log.verifier())],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
    assert schema(url) == schema(_fresh(url_factory()))


def _fresh(url: str) -> str:
    migrate.create_schema(storage.open_engine(url))
    return url


def test_new_database_equals_running_every_migration(url_factory) -> None:  # type: ignore[no-untyped-def]
    created = _fresh(url_factory())
    migrated = url_factory()
    if migrated.startswith("sqlite"):
        Path(migrated.removeprefix("sqlite:///")).touch()
    before, after = migrate.upgrade(migrated)
    assert (before, after) == (None, migrate.HEAD)
    assert schema(migrated) == schema(created)


def test_server_role_may_read_and_insert_only(pg: PgServer, tmp_path: Path) -> None:
    url = pg.create_database("roles")
    env = standard_ledger(tmp_path, url=url)
    env.ledger.close()
    done = subprocess.run(
        [GONGXIN, "db", "setup-roles", "--db", url, "--apply"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    app_url = url.replace("postgres@", "gongxin_app@")
    with Ledger.open(app_url, log_key=env.keys.log, clock=env.clock) as ledger:
        ledger.append(env.sign(env.keys["finance"], "fund.appropriate", fund_body(78)).canonical())
        with pytest.raises(DBAPIError, match="permission denied"), ledger.engine.begin() as conn:
            conn.execute(text("UPDATE entries SET kind = kind"))
        with pytest.raises(DBAPIError, match="permission denied"), ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM checkpoints"))
    printed = subprocess.run(
        [GONGXIN, "db", "setup-roles", "--db", url], capture_output=True, text=True
    ).stdout
    assert "GRANT SELECT, INSERT ON meta, entries, merkle_nodes, checkpoints" in printed
