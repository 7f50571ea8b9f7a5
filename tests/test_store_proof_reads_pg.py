"""A proof's read of Merkle nodes on PostgreSQL runs as one autocommit statement
(``ledger/store/pg_nodes.py``): the proofs must be those of the same log on SQLite, the read
must send no BEGIN or ROLLBACK, and neither an error nor a proof may leave a pooled connection
in autocommit (a writer's transaction on it must stay atomic). Reads inside a transaction — a
writer's — still see that transaction's own nodes, and a rolled-back node is never served."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator

import pytest
from psycopg import pq
from sqlalchemy.exc import DBAPIError

from ledger.store.contract import LedgerStore
from ledger.store.sql import SqlStore
from verifier.core import merkle
from verifier.core.errors import VerificationError

from .domain_bodies import fund_body, policy_body
from .keyring import grant_body
from .ledger_env import LedgerEnv, new_ledger
from .pg_server import PgServer


def _fill(env: LedgerEnv) -> None:
    """Batches of 2, 2, 5, … statements: 62 entries over 7 checkpoints."""
    k = env.keys
    grant = grant_body(k["finance"], ["finance_officer"])
    env.ledger.append_batch(
        [
            env.sign(k.authority, "key.grant", grant).canonical(),
            env.sign(k.authority, "policy.set", policy_body()).canonical(),
        ]
    )
    n = 0
    for size in (2, 5, 8, 13, 1, 30):
        batch = [env.sign(k["finance"], "fund.appropriate", fund_body(n + i)) for i in range(size)]
        env.ledger.append_batch([s.canonical() for s in batch])
        n += size


@pytest.fixture(scope="module")
def logs(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LedgerEnv]]:
    """The same log on SQLite and on PostgreSQL, open."""
    tmp = tmp_path_factory.mktemp("proof-reads")
    envs = [new_ledger(tmp, name="lite.db"), new_ledger(tmp, url=pg.create_database("proofs"))]
    for env in envs:
        _fill(env)
    yield envs
    for env in envs:
        env.ledger.close()


def test_proofs_on_postgresql_are_sqlites_and_verify(logs: list[LedgerEnv]) -> None:
    lite, post = (env.ledger for env in logs)
    n = post.size
    assert n == lite.size == 62
    with _sql(post.store).engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT leaf_hash FROM entries ORDER BY idx")
        leaves = [bytes(h) for (h,) in rows]
    for size in range(1, n + 1):
        for index in {0, size // 2, size - 1}:
            proof = post.inclusion_proof(index, size)
            assert proof == lite.inclusion_proof(index, size)
            merkle.verify_inclusion(leaves[index], index, size, proof.path, proof.root)
        for size1 in {1, size // 3 or 1, size - 1 or 1, size}:
            cons = post.consistency_proof(size1, size)
            assert cons == lite.consistency_proof(size1, size)
            merkle.verify_consistency(size1, size, cons.path, cons.root1, cons.root2)
    paths = post.inclusion_proofs(list(range(n)), n)
    assert paths == lite.inclusion_proofs(list(range(n)), n)


def _sql(store: LedgerStore) -> SqlStore:
    assert isinstance(store, SqlStore)
    return store


def _traced(store: SqlStore, work: Callable[[], object]) -> list[str]:
    """The protocol messages the client sent (libpq trace) on the pooled connection while
    ``work`` ran; ``work`` must use one connection at a time (the pool hands back the same)."""
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
    assert raw is not None
    with tempfile.TemporaryFile("w+") as out:
        raw.pgconn.trace(out.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            work()
        finally:
            raw.pgconn.untrace()
        out.seek(0)
        return [line for line in out.read().splitlines() if line.startswith("F\t")]


def test_a_proof_is_one_statement_without_a_transaction(logs: list[LedgerEnv]) -> None:
    post = logs[1].ledger

    def proofs() -> None:
        for size in range(2, 22):
            post.inclusion_proof(size // 2, size)
            post.consistency_proof(size // 2, size)

    sent = _traced(_sql(post.store), proofs)
    assert sum("\tExecute\t" in line for line in sent) == 40
    assert not [line for line in sent if "BEGIN" in line or "ROLLBACK" in line]
    # psycopg prepares the statement once it has run 5 times on a connection (no ROLLBACK
    # discards it): at most 5 + 1 parses, then every proof binds the named statement.
    assert sum("\tParse\t" in line for line in sent) <= 6
    assert sum('\tBind\t "" "_pg3_' in line for line in sent) >= 35

    def two_reads() -> None:  # a reader that began with another statement: one transaction
        with post.store.reading() as reader:
            reader.last_index()
            reader.nodes([(0, 0), (1, 0)])

    sent = _traced(_sql(post.store), two_reads)
    assert sum('"BEGIN"' in line for line in sent) == 1
    assert sum('"ROLLBACK"' in line for line in sent) == 1


def test_a_failed_read_leaves_no_connection_in_autocommit(logs: list[LedgerEnv]) -> None:
    lite, post = (env.ledger for env in logs)
    store = _sql(post.store)
    before = _checkpoint_sizes(store)
    with pytest.raises(DBAPIError), store.reading() as reader:
        reader.nodes([(2**40, 0)])  # the server refuses it: integer out of range
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None and not raw.autocommit
    # A write transaction on the pooled connection is still one transaction: rolled back,
    # nothing of it stays.
    with store.begin_write() as txn:
        txn.insert_checkpoint(10**9, "never committed\n")
        txn.rollback()
    assert _checkpoint_sizes(store) == before
    assert post.inclusion_proof(3, 40) == lite.inclusion_proof(3, 40)


def _checkpoint_sizes(store: SqlStore) -> list[int]:
    with store.engine.connect() as conn:
        return [int(s) for (s,) in conn.exec_driver_sql("SELECT size FROM checkpoints")]


def test_writer_reads_its_own_nodes_and_readers_never_see_rolled_back_ones(
    logs: list[LedgerEnv],
) -> None:
    store = _sql(logs[1].ledger.store)
    node = (40, 7)  # no tree of this log has it
    with store.begin_write() as txn:
        txn.insert_nodes([(*node, b"\x01" * 32)])
        assert txn.nodes([node]) == {node: b"\x01" * 32}  # in the writer's transaction
        with store.reading() as reader, pytest.raises(VerificationError):
            reader.nodes([node, (0, 0)])  # uncommitted: not visible
        txn.rollback()
    for _ in range(7):  # past psycopg's prepare threshold: prepared statement, same answer
        with store.reading() as reader, pytest.raises(VerificationError):
            reader.nodes([node])


def test_sqlite_reads_are_unchanged(logs: list[LedgerEnv]) -> None:
    with _sql(logs[0].ledger.store).reading() as reader:
        assert reader.conn.dialect.name == "sqlite"
        nodes = reader.nodes([(0, 0), (1, 0), (0, 0)])
        assert set(nodes) == {(0, 0), (1, 0)}
        with pytest.raises(VerificationError):
            reader.nodes([(40, 7)])
