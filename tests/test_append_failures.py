"""An append that fails at any step of its write transaction leaves no trace (ledger/append.py,
ledger/store/contract.py): the in-memory state (size, previous hash, registry, rulebook, replay
window), the tree, the stored rows and the latest checkpoint are exactly as before; the next
append succeeds; and an export still passes ``gongxin-verify``'s bundle check.

The failures are injected by :class:`tests.failing_store.FailingStore`: a real SQLite store
whose chosen step raises instead of running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.export import export_bundle
from ledger.store.contract import KeyConflict
from verifier.cli.bundle import verify_bundle

from .failing_store import STEPS, FailingStore, InjectedFailure, open_failing
from .ledger_fixtures import (
    LedgerEnv,
    Signer,
    StepClock,
    award_body,
    db_snapshot,
    fund_body,
    genesis_body,
    grant_body,
    key,
    make_keys,
    state_view,
)

#: Every step an append to an initialised log goes through (meta is written only at genesis).
APPEND_STEPS = [s for s in STEPS if s != "insert_meta"]


@pytest.fixture
def failing(env: LedgerEnv) -> tuple[LedgerEnv, FailingStore]:
    """The standard ledger (25 entries), reopened over a :class:`FailingStore`."""
    env.ledger.close()
    env.ledger, store = open_failing(env.path, log_key=env.keys.log, clock=env.clock)
    return env, store


def batch_touching_everything(env: LedgerEnv) -> list[bytes]:
    """A key grant (registry), an appropriation (funds) and a credit award (credits)."""
    k = env.keys
    return [
        env.sign(k.authority, "key.grant", grant_body(key("newcomer"), ["approver"])).canonical(),
        env.sign(k["finance"], "fund.appropriate", fund_body(700)).canonical(),
        env.sign(k["organiser"], "credit.award", award_body(700)).canonical(),
    ]


def everything(env: LedgerEnv) -> dict[str, Any]:
    """What must not change when an append fails: memory, tree, rows, checkpoint."""
    ledger = env.ledger
    return {
        "state": state_view(ledger),  # size, prev, log time, registry, replay window, rules
        "root": ledger.tree.root(),
        "rows": env.snapshot(),  # every row of every table
        "published": ledger.published(),
        "size": ledger.size,
    }


def verify_export(env: LedgerEnv, directory: Path, previous: str | None = None) -> None:
    """Export the log and run the standalone verifier's bundle check on it."""
    export_bundle(env.ledger, directory)
    report = verify_bundle(
        directory, env.keys.log.verifier(), previous_checkpoint=previous, workers=1
    )
    assert report.tree_size == env.ledger.size
    assert report.root == env.ledger.tree.root().hex()


@pytest.mark.parametrize("step", APPEND_STEPS)
def test_a_failed_append_leaves_no_trace(
    failing: tuple[LedgerEnv, FailingStore], step: str, tmp_path: Path
) -> None:
    env, store = failing
    ledger = env.ledger
    before = everything(env)
    told: list[int] = []
    ledger.rollback_listeners.append(told.append)
    batch = batch_touching_everything(env)

    store.fail_at = step
    with pytest.raises(InjectedFailure):
        ledger.append_batch(batch)
    assert store.fail_at is None  # the step was reached
    assert everything(env) == before
    assert told == [before["size"]]  # observers of the rulebook were told to forget
    # A ledger opened afresh on the database sees the same log.
    with env.reopen() as fresh:
        assert fresh.published() == before["published"]
        assert fresh.tree.root() == before["root"]
        assert state_view(fresh)["registry"] == before["state"]["registry"]

    # The very same batch goes in next, at the next indices, as new entries.
    size = before["size"]
    receipts = ledger.append_batch(batch)
    assert [(r.index, r.duplicate) for r in receipts] == [(size + i, False) for i in range(3)]
    assert ledger.published()[0] == size + 3
    assert store.committed == 1
    verify_export(env, tmp_path / "bundle", previous=before["published"][1])


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_genesis_leaves_an_empty_log(tmp_path: Path, step: str) -> None:
    keys, clock = make_keys(), StepClock()
    path = tmp_path / "genesis.db"
    ledger, store = open_failing(path, log_key=keys.log, clock=clock)
    genesis = Signer(clock)(keys.authority, "log.genesis", genesis_body(keys)).canonical()
    with ledger:
        rows, view = db_snapshot(path), state_view(ledger)
        store.fail_at = step
        with pytest.raises(InjectedFailure):
            ledger.initialize(genesis)
        assert store.fail_at is None
        assert (ledger.size, ledger.origin, ledger.log_vkey, ledger.checkpoint_note) == (
            0,
            None,
            None,
            None,
        )
        assert state_view(ledger) == view
        assert db_snapshot(path) == rows
        receipt = ledger.initialize(genesis)
        assert (receipt.index, receipt.duplicate, receipt.tree_size) == (0, False, 1)
        env = LedgerEnv(path, f"sqlite:///{path}", keys, clock, Signer(clock), ledger)
        verify_export(env, tmp_path / "bundle")


def test_a_key_conflict_is_retried_with_every_id_looked_up(
    failing: tuple[LedgerEnv, FailingStore], tmp_path: Path
) -> None:
    """The fast attempt looks up only ids in the replay window; if the store's UNIQUE key
    refuses a row anyway, the whole transaction is redone with every id looked up."""
    env, store = failing
    size = env.ledger.size
    store.error = KeyConflict("injected: statement id already stored")
    store.fail_at = "insert_entries"
    receipts = env.ledger.append_batch(batch_touching_everything(env))
    assert [r.index for r in receipts] == [size, size + 1, size + 2]
    assert (store.begun, store.committed, store.checkpoints) == (2, 1, 1)
    verify_export(env, tmp_path / "bundle")


def test_a_database_failure_fails_every_request_of_a_group(
    failing: tuple[LedgerEnv, FailingStore],
) -> None:
    env, store = failing
    before = everything(env)
    k = env.keys
    requests = [
        [env.sign(k["finance"], "fund.appropriate", fund_body(710 + n)).canonical()]
        for n in range(3)
    ]
    store.fail_at = "insert_nodes"
    with pytest.raises(InjectedFailure):
        env.ledger.append_requests(requests)
    assert everything(env) == before
    outcomes = env.ledger.append_requests(requests)
    assert [o[0].index for o in outcomes if isinstance(o, list)] == [
        before["size"] + n for n in range(3)
    ]
