"""PostgreSQL writes batches of 16+ rows with ``COPY … FROM STDIN`` (ledger/store/sql.py
``SqlWrite._copy``): the rows must be exactly those SQLite gets by INSERT, and a duplicate key
must still be a :class:`KeyConflict` (the append's fast mode relies on it) that leaves the
database unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store.contract import KeyConflict
from ledger.store.sql import SqlStore

from .domain_bodies import fund_body, policy_body
from .keyring import grant_body
from .ledger_env import LedgerEnv, new_ledger
from .pg_server import PgServer
from .test_postgres import rows as table_rows

#: Every table an append writes, with its key.
TABLES = {
    "entries": "idx",
    "merkle_nodes": "level, idx",
    "checkpoints": "size",
    "postings": "entry_idx, position",
}


def _fill(env: LedgerEnv) -> None:
    """A batch of 2 + a batch of 40 statements (COPY on PostgreSQL), with postings."""
    k = env.keys
    env.ledger.append_batch(
        [
            env.sign(
                k.authority, "key.grant", grant_body(k["finance"], ["finance_officer"])
            ).canonical(),
            env.sign(k.authority, "policy.set", policy_body()).canonical(),
        ]
    )
    batch = [env.sign(k["finance"], "fund.appropriate", fund_body(n)) for n in range(1, 41)]
    env.ledger.append_batch([s.canonical() for s in batch])


def test_copy_writes_the_rows_insert_writes(pg: PgServer, tmp_path: Path) -> None:
    lite = new_ledger(tmp_path, name="lite.db")
    post = new_ledger(tmp_path, url=pg.create_database("copy_rows"))
    for env in (lite, post):
        _fill(env)
        env.ledger.close()
    on_pg = table_rows(post.url, TABLES)
    assert len(on_pg["entries"]) == 43 and len(on_pg["postings"]) >= 40
    assert on_pg == table_rows(lite.url, TABLES)


def test_copy_duplicate_key_is_a_key_conflict(pg: PgServer, tmp_path: Path) -> None:
    env = new_ledger(tmp_path, url=pg.create_database("copy_conflict"))
    _fill(env)
    env.ledger.close()
    before = table_rows(env.url, TABLES)
    store = SqlStore.open(env.url)
    try:
        for table in TABLES:
            stored = [r for r in before[table] if table != "checkpoints"]
            if len(stored) < 16:
                continue
            txn = store.begin_write()
            with pytest.raises(KeyConflict):
                if table == "entries":
                    txn.insert_entries(stored[:20])  # type: ignore[arg-type]
                elif table == "merkle_nodes":
                    txn.insert_nodes(stored[:20])  # type: ignore[arg-type]
                else:
                    txn.insert_postings(stored[:20])  # type: ignore[arg-type]
            txn.rollback()
    finally:
        store.close()
    assert table_rows(env.url, TABLES) == before
