"""Group commit inside the ledger (:meth:`ledger.log.Ledger.append_requests`): several
independent requests in ONE write transaction under one checkpoint, a rejected request undone
alone, idempotency exact across the requests (FORMAT.md §8 step 4)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.records import InvalidEntry, Receipt
from verifier.core import merkle
from verifier.core.entry import parse_submission
from verifier.core.errors import GongxinError, InputError

from .failing_store import FailingStore, open_failing
from .ledger_fixtures import (
    LedgerEnv,
    all_checkpoints,
    approve_body,
    checkpoint_root,
    fund_body,
    grant_body,
    key,
    replay,
    state_view,
)
from .test_append_failures import verify_export


@pytest.fixture
def failing(env: LedgerEnv) -> tuple[LedgerEnv, FailingStore]:
    """The standard ledger (25 entries), reopened over a counting :class:`FailingStore`."""
    env.ledger.close()
    env.ledger, store = open_failing(env.path, log_key=env.keys.log, clock=env.clock)
    return env, store


def appropriation(env: LedgerEnv, n: int) -> bytes:
    return env.sign(env.keys["finance"], "fund.appropriate", fund_body(n)).canonical()


def wrong_role(env: LedgerEnv) -> bytes:
    """A payment approval by the finance officer, who may not approve (role.forbidden)."""
    return env.sign(env.keys["finance"], "payment.approve", approve_body(7)).canonical()


def receipts(outcome: list[Receipt] | GongxinError) -> list[Receipt]:
    assert isinstance(outcome, list), outcome
    return outcome


def test_one_bad_request_among_good_ones_costs_one_transaction(
    failing: tuple[LedgerEnv, FailingStore], tmp_path: Path
) -> None:
    env, store = failing
    ledger = env.ledger
    size = ledger.size
    checkpoints_before = all_checkpoints(env.path)
    told: list[int] = []
    ledger.rollback_listeners.append(told.append)
    good = [[appropriation(env, 800 + n)] for n in range(4)]
    bad = [appropriation(env, 890), wrong_role(env)]  # the first is fine on its own
    unparsable = [b'{"statement": 1}']
    requests = [*good[:2], bad, good[2], unparsable, good[3]]

    outcomes = ledger.append_requests(requests)

    # One transaction, one checkpoint, for all the good requests.
    assert (store.begun, store.committed, store.checkpoints) == (1, 1, 1)
    assert len(all_checkpoints(env.path)) == len(checkpoints_before) + 1
    err = outcomes[2]
    assert isinstance(err, InvalidEntry)
    assert (err.rule, err.field) == ("role.forbidden", "batch[1].statement.signer")
    assert isinstance(outcomes[4], GongxinError) and not isinstance(outcomes[4], list)
    accepted = [receipts(outcomes[k])[0] for k in (0, 1, 3, 5)]
    assert [r.index for r in accepted] == list(range(size, size + 4))  # contiguous, in order
    assert {(r.tree_size, r.checkpoint) for r in accepted} == {ledger.published()}
    assert ledger.size == size + 4
    # The rejected request was undone alone: its good first statement is not logged, the
    # rulebook forgot its fund, and observers were told to drop what they saw of it.
    assert ledger.receipt_of(parse_submission(bad[0]).statement.id) is None
    funds = ledger.state.rulebook.funds.funds  # type: ignore[attr-defined]
    assert "F-800" in funds and "F-890" not in funds
    assert told == [size + 2]
    # The log is whole: it replays, each receipt's proof checks, and the export verifies.
    lines = list(ledger.iter_lines())
    replay(lines)
    _, root = checkpoint_root(accepted[0].checkpoint, env.keys)
    for r in accepted:
        p = ledger.inclusion_proof(r.index, r.tree_size)
        merkle.verify_inclusion(
            merkle.leaf_hash(lines[r.index]), r.index, r.tree_size, p.path, root
        )
    verify_export(env, tmp_path / "bundle")


def test_a_rejected_request_frees_its_ids_and_keys(failing: tuple[LedgerEnv, FailingStore]) -> None:
    """What a rejected request did in memory is gone for the requests after it in the same
    transaction: its statement ids are new again, the key it granted is unknown."""
    env, store = failing
    k = env.keys
    newcomer = key("group-newcomer")
    grant = env.sign(k.authority, "key.grant", grant_body(newcomer, ["approver"])).canonical()
    fund = appropriation(env, 820)
    use_key = env.sign(newcomer, "payment.approve", approve_body(1)).canonical()
    size = env.ledger.size

    outcomes = env.ledger.append_requests([[grant, fund, wrong_role(env)], [use_key], [fund]])

    assert isinstance(outcomes[0], InvalidEntry) and outcomes[0].rule == "role.forbidden"
    assert isinstance(outcomes[1], InvalidEntry) and outcomes[1].rule == "key.unknown"
    (r,) = receipts(outcomes[2])
    assert (r.index, r.duplicate) == (size, False)
    assert (store.begun, store.checkpoints) == (1, 1)


def test_duplicates_across_requests_of_one_group(failing: tuple[LedgerEnv, FailingStore]) -> None:
    env, store = failing
    k = env.keys["finance"]
    a, b = appropriation(env, 830), appropriation(env, 831)
    sid = "5d0c8f0e-2b7a-4d3e-9c1f-0a1b2c3d4e5f"
    x = env.sign(k, "fund.appropriate", fund_body(832), statement_id=sid).canonical()
    y = env.sign(k, "fund.appropriate", fund_body(833), statement_id=sid).canonical()
    size = env.ledger.size

    outcomes = env.ledger.append_requests([[a], [a, b], [x], [b, y], [b]])

    ra, (ra2, rb), rx, rb2 = (
        receipts(outcomes[0])[0],
        receipts(outcomes[1]),
        receipts(outcomes[2])[0],
        receipts(outcomes[4])[0],
    )
    assert [(r.index, r.duplicate) for r in (ra, ra2, rb, rx, rb2)] == [
        (size, False),
        (size, True),  # same id, same bytes as request 0: its entry, marked duplicate
        (size + 1, False),
        (size + 2, False),
        (size + 1, True),
    ]
    assert ra2.leaf_hash == ra.leaf_hash and ra2.line == ra.line
    conflict = outcomes[3]
    assert isinstance(conflict, InvalidEntry)
    assert (conflict.rule, conflict.field) == ("statement.conflict", "batch[1].statement.id")
    assert env.ledger.size == size + 3 and (store.begun, store.checkpoints) == (1, 1)

    # Later, against the stored log: the same answers, nothing written.
    rows = env.snapshot()
    view = state_view(env.ledger)
    again = env.ledger.append_requests([[b, a], [y], [x]])
    assert [(r.index, r.duplicate) for r in receipts(again[0])] == [
        (size + 1, True),
        (size, True),
    ]
    assert isinstance(again[1], InvalidEntry) and again[1].rule == "statement.conflict"
    assert [(r.index, r.duplicate) for r in receipts(again[2])] == [(size + 2, True)]
    assert env.snapshot() == rows and state_view(env.ledger) == view
    assert store.checkpoints == 1  # no new checkpoint for duplicates only


def test_an_old_resubmission_in_a_group_gets_its_original_receipt(
    failing: tuple[LedgerEnv, FailingStore],
) -> None:
    """A statement older than the replay window is not looked up by the fast attempt; its
    request fails the time rule, looks up its other ids, finds it logged and is retried —
    inside the same transaction."""
    env, store = failing
    old = appropriation(env, 840)
    (first,) = env.ledger.append_batch([old])
    env.clock.now += timedelta(days=8)
    env.ledger.append(appropriation(env, 841))  # expires the old ids from the window
    assert env.ledger.receipt_of(first.statement_id) is not None
    store.begun = store.checkpoints = 0
    size = env.ledger.size

    outcomes = env.ledger.append_requests([[appropriation(env, 842)], [old]])

    assert [(r.index, r.duplicate) for r in receipts(outcomes[0])] == [(size, False)]
    assert [(r.index, r.duplicate) for r in receipts(outcomes[1])] == [(first.index, True)]
    assert (store.begun, store.checkpoints) == (1, 1)


def test_empty_and_all_rejected_groups(failing: tuple[LedgerEnv, FailingStore]) -> None:
    env, store = failing
    rows = env.snapshot()
    assert env.ledger.append_requests([]) == []
    outcomes = env.ledger.append_requests([[wrong_role(env)], ["not bytes"]])  # type: ignore[list-item]
    assert isinstance(outcomes[0], InvalidEntry) and isinstance(outcomes[1], InputError)
    assert env.snapshot() == rows and store.checkpoints == 0
