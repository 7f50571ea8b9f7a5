"""The ledger's storage (ledger/store/, ledger/log.py): restarts, the append-only
database, the stored bytes, and read-only access alongside a writer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ledger import proofs
from ledger.log import Ledger
from ledger.records import InvalidEntry
from verifier.cli.parallel import SignaturePool
from verifier.core import merkle
from verifier.core.canonical import canonical_bytes
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError

from .domain_bodies import fund_body
from .hand_entries import replay
from .keyring import key
from .ledger_env import LedgerEnv, checkpoint_root, db_snapshot, new_ledger, state_view

# -- restart ----------------------------------------------------------------------------


def test_reopening_continues_the_same_tree(env: LedgerEnv) -> None:
    size = env.ledger.size
    root = env.ledger.tree.root()
    note = env.ledger.latest_checkpoint()
    view = state_view(env.ledger)
    env.ledger.close()

    with env.reopen() as ledger:
        assert ledger.size == size
        assert ledger.tree.root() == root == checkpoint_root(note, env.keys)[1]
        assert ledger.latest_checkpoint() == note
        assert ledger.origin == env.keys.log.name
        assert ledger.log_vkey == env.keys.log.verifier()
        reopened_view = state_view(ledger)
        # signature-free replay rebuilds the same registry and position
        for name in ("size", "prev", "log_time", "registry", "rules", "tree", "checkpoint"):
            assert reopened_view[name] == view[name], name
        r = ledger.append(
            env.sign(env.keys["finance"], "fund.appropriate", fund_body(77)).canonical()
        )
        assert r.index == size
        new_size, new_root = checkpoint_root(r.checkpoint, env.keys)
        p = ledger.inclusion_proof(size, new_size)
        merkle.verify_inclusion(r.leaf_hash, size, new_size, p.path, new_root)
        c = ledger.consistency_proof(size, new_size)
        merkle.verify_consistency(size, new_size, c.path, root, new_root)
        # the revoked key is still revoked after the restart
        with pytest.raises(InvalidEntry) as info:
            ledger.append(
                env.sign(env.keys["retired"], "fund.appropriate", fund_body(7)).canonical()
            )
        assert info.value.rule == "key.revoked"

    # read-only: proofs work, appending needs the log key
    with Ledger.open(env.url, pool=SignaturePool(1)) as ro:
        assert ro.size == size + 1
        ro.inclusion_proof(0)
        with pytest.raises(InputError):
            ro.append(env.sign(env.keys["finance"], "fund.appropriate", fund_body(78)).canonical())
    # another log key is refused
    with pytest.raises(InputError):
        Ledger.open(env.url, log_key=key("log", key_name=env.keys.log.name, seed=9))
    replay(list(Ledger.open(env.url, pool=SignaturePool(1)).iter_lines()))


def test_two_ledger_objects_on_one_database_stay_in_step(env: LedgerEnv) -> None:
    other = env.reopen()
    try:
        r1 = env.ledger.append(
            env.sign(env.keys["finance"], "fund.appropriate", fund_body(81)).canonical()
        )
        r2 = other.append(
            env.sign(env.keys["finance"], "fund.appropriate", fund_body(82)).canonical()
        )
        assert r2.index == r1.index + 1
        r3 = env.ledger.append(
            env.sign(env.keys["finance"], "fund.appropriate", fund_body(83)).canonical()
        )
        assert r3.index == r2.index + 1
        size, root = checkpoint_root(r3.checkpoint, env.keys)
        lines = list(env.ledger.iter_lines())
        assert proofs.root_of(merkle.leaf_hash(x) for x in lines) == root
        assert size == len(lines)
        replay(lines)
    finally:
        other.close()


def test_initialize_twice_and_wrong_genesis(tmp_path: Path) -> None:
    env = new_ledger(tmp_path)
    from .keyring import genesis_body, make_keys

    with pytest.raises(InputError):
        env.ledger.initialize(
            env.sign(env.keys.authority, "log.genesis", genesis_body(env.keys)).canonical()
        )
    env.ledger.close()
    # a genesis naming another log key than the ledger's
    other_keys = make_keys(seed=5)
    fresh = Ledger.open(
        f"sqlite:///{tmp_path / 'b.db'}",
        log_key=env.keys.log,
        clock=env.clock,
        pool=SignaturePool(1),
    )
    with pytest.raises(InvalidEntry) as info:
        fresh.initialize(
            env.sign(other_keys.authority, "log.genesis", genesis_body(other_keys)).canonical()
        )
    assert info.value.rule == "genesis.log_key"
    # genesis signed by a key that is not among its authorities
    body = genesis_body(env.keys)
    with pytest.raises(InvalidEntry) as info:
        fresh.initialize(env.sign(env.keys["finance"], "log.genesis", body).canonical())
    assert info.value.rule == "genesis.signer"
    assert fresh.size == 0 and fresh.database_size() == 0
    fresh.initialize(env.sign(env.keys.authority, "log.genesis", body).canonical())
    assert fresh.size == 1
    fresh.close()


# -- append-only storage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET kind = 'x' WHERE idx = 1",
        "UPDATE entries SET line = X'00'",
        "DELETE FROM entries WHERE idx = (SELECT MAX(idx) FROM entries)",
        "DELETE FROM entries",
        "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 0",
        "DELETE FROM merkle_nodes WHERE level = 1",
        "UPDATE checkpoints SET note = 'x'",
        "DELETE FROM checkpoints WHERE size = 1",
        "UPDATE meta SET value = 'evil' WHERE name = 'log_vkey'",
        "DELETE FROM meta",
        "INSERT INTO entries SELECT * FROM entries WHERE idx = 0 "
        "ON CONFLICT(idx) DO UPDATE SET line = X'00'",
    ],
)
def test_raw_update_and_delete_are_refused(env: LedgerEnv, sql: str) -> None:
    before = env.snapshot()
    env.ledger.close()
    conn = sqlite3.connect(env.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
        conn.rollback()
    finally:
        conn.close()
    assert db_snapshot(env.path) == before


def test_insert_or_replace_is_refused(env: LedgerEnv) -> None:
    env.ledger.close()
    conn = sqlite3.connect(env.path)
    try:
        row = conn.execute("SELECT * FROM entries WHERE idx = 1").fetchone()
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (1, row[1], row[2], row[3], b"tampered", row[5]),
            )
            conn.commit()
    finally:
        conn.close()


def test_the_stored_line_is_exactly_the_leaf_data(env: LedgerEnv) -> None:
    conn = sqlite3.connect(f"file:{env.path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT idx, line, leaf_hash, statement_id, kind FROM entries"
        ).fetchall()
        nodes = dict(
            ((lvl, i), h) for lvl, i, h in conn.execute("SELECT level, idx, hash FROM merkle_nodes")
        )
    finally:
        conn.close()
    for idx, line, leaf, sid, kind in rows:
        entry = parse_entry_line(line, idx)
        assert canonical_bytes(json.loads(line)) == line
        assert merkle.leaf_hash(line) == leaf == nodes[(0, idx)]
        assert (entry.statement.id, entry.statement.kind) == (sid, kind)
    # FORMAT.md §5.3: every complete aligned subtree is stored, and nothing else
    n = len(rows)
    expected = {(lvl, i) for lvl in range(n.bit_length()) for i in range(n >> lvl)}
    assert set(nodes) == expected


# -- reading ---------------------------------------------------------------------------------


def test_read_only_open_matches_the_replayed_ledger(env: LedgerEnv) -> None:
    """replay=False loads size, tree and checkpoint in O(log n) and agrees exactly."""
    with Ledger.open(f"sqlite:///{env.path}", create=False, replay=False) as ro:
        assert ro.size == env.ledger.size
        assert ro.tree.root() == env.ledger.tree.root()
        assert ro.latest_checkpoint() == env.ledger.latest_checkpoint()
        p = ro.inclusion_proof(1)
        assert p.root == env.ledger.tree.root()
        with pytest.raises(InputError):
            ro.append(env.sign(env.keys["finance"], "fund.appropriate", fund_body(700)).canonical())


def test_reads_do_not_wait_for_a_writer(env: LedgerEnv) -> None:
    """Proofs, checkpoints and exports begin deferred (WAL readers), so an open write
    transaction elsewhere never blocks them; only appends take the write lock."""
    import time

    writer = sqlite3.connect(env.path, timeout=0.1, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # hold the write lock
        started = time.perf_counter()
        proof = env.ledger.inclusion_proof(1)
        lines = list(env.ledger.iter_lines(0, 2))
        assert time.perf_counter() - started < 5  # a blocked read would wait 30 s and fail
        assert proof.tree_size == env.ledger.size and len(lines) == 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
