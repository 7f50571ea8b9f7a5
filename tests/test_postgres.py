"""The ledger on a real PostgreSQL server (``tests.pg_server``), through the same SQLAlchemy
code as SQLite: the same log byte for byte, append-only inside the database, rejected batches
leave no trace, and writers in separate connections serialise on the advisory-lock sequencer.
(The HTTP end-to-end tests run on PostgreSQL too: ``tests/test_api_e2e.py``.)"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.records import InvalidEntry
from ledger.store.engine import APPEND_ONLY_TABLES
from verifier.cli.parallel import SignaturePool

from .domain_bodies import fund_body
from .ledger_env import new_ledger, standard_ledger
from .pg_server import PgServer

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))


LEDGER_TABLES = {
    "meta": "name",
    "entries": "idx",
    "merkle_nodes": "level, idx",
    "checkpoints": "size",
}


def rows(url: str, keys: dict[str, str] = LEDGER_TABLES) -> dict[str, list[tuple[object, ...]]]:
    """Every row of each table in ``keys`` (table → ORDER BY columns), in key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                    for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY {k}"))
                ]
                for t, k in keys.items()
            }
    finally:
        engine.dispose()


def test_same_log_byte_for_byte_on_both_databases(pg: PgServer, tmp_path: Path) -> None:
    lite = standard_ledger(tmp_path)
    post = standard_ledger(tmp_path, url=pg.create_database("same_log"))
    assert list(post.ledger.iter_lines()) == list(lite.ledger.iter_lines())
    assert post.ledger.latest_checkpoint() == lite.ledger.latest_checkpoint()
    assert rows(post.url) == rows(lite.url)
    export_bundle(post.ledger, tmp_path / "export")
    done = subprocess.run(
        [VERIFY, str(tmp_path / "export"), "--log-key", str(post.keys.log.verifier())],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    post.ledger.close()
    lite.ledger.close()
    reopened = Ledger.open(post.url, create=False)
    assert reopened.size == 25 and reopened.latest_checkpoint() == lite.ledger.latest_checkpoint()
    reopened.close()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}", "TRUNCATE {t}"],
)
def test_ledger_tables_refuse_changes_inside_postgresql(
    pg: PgServer, tmp_path: Path, table: str, statement: str
) -> None:
    env = new_ledger(
        tmp_path, url=pg.create_database(f"ro_{table}_{statement[:6].strip()}".lower())
    )
    column = {"meta": "value", "entries": "kind", "merkle_nodes": "hash", "checkpoints": "note"}
    before = rows(env.url)
    with pytest.raises(DBAPIError, match="append-only"), env.ledger.engine.begin() as conn:
        conn.execute(text(statement.format(t=table, c=column[table])))
    assert rows(env.url) == before
    env.ledger.close()


def test_rejected_batch_leaves_postgresql_unchanged(pg: PgServer, tmp_path: Path) -> None:
    env = standard_ledger(tmp_path, url=pg.create_database("rejected"))
    before = rows(env.url)
    good = env.sign(env.keys["finance"], "fund.appropriate", fund_body(900)).canonical()
    bad = env.sign(env.keys["approver"], "fund.appropriate", fund_body(901)).canonical()
    with pytest.raises(InvalidEntry) as failure:
        env.ledger.append_batch([good, bad])
    assert failure.value.rule == "role.forbidden" and failure.value.field.startswith("batch[1]")
    assert rows(env.url) == before
    env.ledger.append_batch([good])  # and the ledger goes on from where it was
    assert env.ledger.size == 26
    env.ledger.close()


def test_writers_on_separate_connections_serialise(pg: PgServer, tmp_path: Path) -> None:
    """Two ledgers (as two server processes would have) append to one database at once: the
    advisory lock makes them take turns, each catches up with the other's entries inside its
    transaction, and the log stays one contiguous, verifiable sequence."""
    env = standard_ledger(tmp_path, url=pg.create_database("two_writers"))
    other = env.reopen(pool=SignaturePool(1))
    writers = [env.ledger, other]
    receipts: list[list[object]] = [[], []]
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for b in range(15):
                batch = [
                    env.sign(
                        env.keys["finance"],
                        "fund.appropriate",
                        fund_body(10_000 + w * 1000 + b * 10 + k),
                    ).canonical()
                    for k in range(4)
                ]
                receipts[w] += writers[w].append_batch(batch)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    indices = sorted(r.index for rs in receipts for r in rs)  # type: ignore[attr-defined]
    assert indices == list(range(25, 25 + 120))
    final = Ledger.open(env.url, create=False)
    assert final.size == 145
    export_bundle(final, tmp_path / "export")
    done = subprocess.run(
        [VERIFY, str(tmp_path / "export"), "--log-key", str(env.keys.log.verifier())],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for ledger in (*writers, final):
        ledger.close()
