"""PostgreSQL's read of Merkle nodes (:meth:`ledger.store.sql.SqlReader.nodes`), the one query
of an inclusion or consistency proof.

Outside a transaction — a proof's read: ``with store.reading() as r: r.nodes(keys)`` — the
SELECT runs in autocommit: no ``BEGIN`` before it and no ``ROLLBACK`` after it, one round trip
instead of three. That reads exactly what the same SELECT reads as the first statement of a
``READ COMMITTED`` transaction (a snapshot taken at the statement's start): only committed
nodes, and the nodes of a tree the caller knows to be committed never change (every table is
append-only). Without a ``ROLLBACK``, psycopg also keeps the statement prepared on the
server once it has run 5 times on a connection (its ``prepare_threshold``): no parse or plan
per proof (a later ``ROLLBACK`` on the connection, a multi-statement reader's, makes psycopg
send ``DEALLOCATE ALL``: prepared again 5 proofs later). Inside a transaction (a writer, or a
reader that already ran a statement) the SELECT runs in that transaction, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection

from ledger.store import engine as storage
from ledger.store.contract import NodeKey

#: The nodes named by two arrays, joined against the primary key: a constant text (one
#: prepared statement per connection, where a VALUES list made one text per key count),
#: planned as one index probe per key — EXPLAIN ANALYZE at 100k and 1M entries: Nested Loop
#: over ``Function Scan on k`` and ``Index Scan using merkle_nodes_pkey``, the generic plan
#: of the prepared statement too (it estimates 10 keys; a custom plan counts the array).
NODES_SQL = (
    "SELECT n.level, n.idx, n.hash FROM unnest(%s::integer[], %s::bigint[]) AS k(level, idx) "
    "JOIN merkle_nodes n ON n.level = k.level AND n.idx = k.idx"
)


def pg_nodes(conn: Connection, keys: Sequence[NodeKey]) -> Sequence[Any]:
    """(level, idx, hash) rows of the stored nodes among ``keys`` (distinct), on the
    PostgreSQL connection ``conn``. In autocommit if ``conn`` has no transaction open and is
    not a writer's; the driver connection is switched back before this returns or raises
    (a connection that cannot be switched back is invalidated, never pooled again).
    Cost: one round trip, O(len(keys)) index probes."""
    params = ([k[0] for k in keys], [k[1] for k in keys])
    raw = conn.connection.driver_connection
    assert raw is not None
    if (
        conn.in_transaction()
        or conn.get_execution_options().get(storage.WRITE_OPTION)
        or raw.info.transaction_status != TransactionStatus.IDLE  # not expected: be safe
    ):
        return conn.exec_driver_sql(NODES_SQL, params).all()
    raw.autocommit = True
    try:
        rows = conn.exec_driver_sql(NODES_SQL, params).all()
        conn.rollback()  # ends SQLAlchemy's (autobegun) transaction: the driver sends nothing
    finally:
        try:
            raw.autocommit = False
        except Exception:  # a broken connection: discard it rather than pool it in autocommit
            conn.invalidate()
    return rows


__all__ = ["NODES_SQL", "pg_nodes"]
