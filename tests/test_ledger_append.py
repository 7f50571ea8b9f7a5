"""The ledger's append pipeline (ledger/log.py, ledger/append.py; FORMAT.md §4–§8) on a
temporary SQLite file: receipts, checkpoints and proofs, idempotency, the statement time window
and edge cases. Rejected batches: test_ledger_append_rejections.py."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ledger import proofs
from ledger.log import Ledger
from ledger.records import InvalidEntry, entry_bytes
from verifier.cli.parallel import SignaturePool
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.entry import Submission, parse_entry_line
from verifier.core.errors import InputError, VerificationError

from .ledger_fixtures import (
    LedgerEnv,
    all_checkpoints,
    checkpoint_root,
    fund_body,
    grant_body,
    new_ledger,
    policy_body,
    replay,
    state_view,
    tamper_signature,
)

# -- receipts, checkpoints and proofs ------------------------------------------------------


def test_receipts_are_contiguous_and_covered_by_signed_checkpoints(env: LedgerEnv) -> None:
    lines = list(env.ledger.iter_lines())
    assert [r.index for r in env.receipts] == list(range(len(lines)))
    assert env.ledger.size == env.ledger.database_size() == len(lines) == 25
    vkey = env.keys.log.verifier()
    for r in env.receipts:
        assert not r.duplicate
        assert r.leaf_hash == merkle.leaf_hash(lines[r.index])
        cp = open_checkpoint(r.checkpoint, vkey)
        assert cp.origin == vkey.name
        assert cp.size == r.tree_size > r.index
        assert cp.root == proofs.root_of(merkle.leaf_hash(x) for x in lines[: cp.size])
        proof = env.ledger.inclusion_proof(r.index, r.tree_size)
        merkle.verify_inclusion(r.leaf_hash, r.index, r.tree_size, proof.path, cp.root)
        assert parse_entry_line(lines[r.index], r.index).statement.id == r.statement_id
    # The whole log re-verifies from scratch, signatures included.
    state = replay(lines)
    assert state.size == len(lines)
    assert state.prev == merkle.leaf_hash(lines[-1]).hex()


def test_a_checkpoint_by_another_key_does_not_open(env: LedgerEnv) -> None:
    with pytest.raises(VerificationError):
        open_checkpoint(env.receipts[-1].checkpoint, env.keys.authority.verifier())


def test_inclusion_and_consistency_at_every_checkpointed_size(env: LedgerEnv) -> None:
    lines = list(env.ledger.iter_lines())
    leaves = [merkle.leaf_hash(x) for x in lines]
    cps = all_checkpoints(env.path)
    # one checkpoint per committed batch
    assert sorted(cps) == sorted({r.tree_size for r in env.receipts})
    assert len(cps) >= 9
    roots = {size: checkpoint_root(note, env.keys)[1] for size, note in cps.items()}
    for size, root in roots.items():
        assert env.ledger.checkpoint_at(size) == cps[size]
        for i in range(size):
            p = env.ledger.inclusion_proof(i, size)
            assert (p.leaf_index, p.tree_size, p.root) == (i, size, root)
            merkle.verify_inclusion(leaves[i], i, size, p.path, root)
            wrong = leaves[(i + 1) % size] if size > 1 else b"\x00" * 32
            with pytest.raises(VerificationError):  # the proof binds the leaf
                merkle.verify_inclusion(wrong, i, size, p.path, root)
    sizes = sorted(roots)
    for a in sizes:
        for b in sizes:
            if a > b:
                continue
            c = env.ledger.consistency_proof(a, b)
            assert (c.root1, c.root2) == (roots[a], roots[b])
            merkle.verify_consistency(a, b, c.path, roots[a], roots[b])
            if a < b:
                with pytest.raises(VerificationError):
                    merkle.verify_consistency(a, b, c.path, roots[a], roots[sizes[0]])


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("inclusion_proof", (0, 0)),
        ("inclusion_proof", (5, 5)),
        ("inclusion_proof", (0, 26)),
        ("inclusion_proof", (-1, 3)),
        ("consistency_proof", (0, 5)),
        ("consistency_proof", (6, 5)),
        ("consistency_proof", (1, 26)),
    ],
)
def test_proof_arguments_out_of_range(env: LedgerEnv, call: str, args: tuple[int, int]) -> None:
    with pytest.raises(InputError):
        getattr(env.ledger, call)(*args)


# -- idempotency ---------------------------------------------------------------------------


def test_same_submission_twice_returns_the_original_receipt(env: LedgerEnv) -> None:
    sub = env.sign(env.keys["finance"], "fund.appropriate", fund_body(900)).canonical()
    first = env.ledger.append(sub)
    before = env.snapshot()
    view = state_view(env.ledger)
    again = env.ledger.append(sub)
    assert again.duplicate and not first.duplicate
    assert (again.index, again.statement_id, again.leaf_hash) == (
        first.index,
        first.statement_id,
        first.leaf_hash,
    )
    assert again.checkpoint == env.ledger.latest_checkpoint()
    assert again.tree_size == env.ledger.size
    assert env.snapshot() == before  # nothing written, not even a checkpoint
    assert state_view(env.ledger) == view
    # ... also after a restart (the DB remembers, not only memory)
    env.ledger.close()
    with env.reopen() as reopened:
        third = reopened.append(sub)
        assert third.duplicate and third.index == first.index
    assert env.snapshot() == before


def test_same_statement_id_with_other_content_is_a_conflict(env: LedgerEnv) -> None:
    sid = "0b7a8e38-1c1a-4d4a-9f0e-8b6c2b0f3a11"
    k = env.keys["finance"]
    env.ledger.append(env.sign(k, "fund.appropriate", fund_body(1), statement_id=sid).canonical())
    before = env.snapshot()
    other = env.sign(k, "fund.appropriate", fund_body(2), statement_id=sid)
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(other.canonical())
    assert info.value.rule == "statement.conflict"
    assert info.value.field == "batch[0].statement.id"
    # the same statement with an extra co-signature is different content too
    same = env.sign(
        k, "fund.appropriate", fund_body(1), statement_id=sid, cosigners=[env.keys["auditor"]]
    )
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append_batch(
            [env.sign(k, "fund.appropriate", fund_body(3)).canonical(), same.canonical()]
        )
    assert info.value.rule == "statement.conflict"
    assert info.value.field == "batch[1].statement.id"
    assert env.snapshot() == before


def test_duplicates_inside_one_batch(env: LedgerEnv) -> None:
    k = env.keys["finance"]
    a = env.sign(k, "fund.appropriate", fund_body(11)).canonical()
    b = env.sign(k, "fund.appropriate", fund_body(12)).canonical()
    old = env.receipts[-1]
    size = env.ledger.size
    receipts = env.ledger.append_batch([a, b, a, a])
    assert [r.index for r in receipts] == [size, size + 1, size, size]
    assert [r.duplicate for r in receipts] == [False, False, True, True]
    assert receipts[2].leaf_hash == receipts[0].leaf_hash
    assert {r.checkpoint for r in receipts} == {env.ledger.latest_checkpoint()}
    assert env.ledger.size == size + 2
    # a mix of an already-logged statement and a new one
    old_line = next(env.ledger.iter_lines(old.index, old.index + 1))
    old_sub = Submission(
        parse_entry_line(old_line).statement, parse_entry_line(old_line).signatures
    )
    c = env.sign(k, "fund.appropriate", fund_body(13)).canonical()
    mixed = env.ledger.append_batch([old_sub.canonical(), c])
    assert (mixed[0].index, mixed[0].duplicate) == (old.index, True)
    assert (mixed[1].index, mixed[1].duplicate) == (size + 2, False)
    # within one batch, the same id with different content is a conflict
    sid = "3f1c7d2e-5a5b-4c6d-8e7f-901234567890"
    x = env.sign(k, "fund.appropriate", fund_body(14), statement_id=sid).canonical()
    y = env.sign(k, "fund.appropriate", fund_body(15), statement_id=sid).canonical()
    before = env.snapshot()
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append_batch([x, y])
    assert (info.value.rule, info.value.field) == ("statement.conflict", "batch[1].statement.id")
    assert env.snapshot() == before
    replay(list(env.ledger.iter_lines()))


# -- statement time window and replays --------------------------------------------------------


def test_statement_time_window(env: LedgerEnv) -> None:
    k = env.keys["finance"]
    now = env.clock.now + env.clock.step  # what the ledger reads next
    cases = [
        (now - timedelta(days=8), False),
        (now - timedelta(days=7, seconds=20), False),
        (now + timedelta(minutes=6), False),
        (now - timedelta(days=6), True),
        (now + timedelta(minutes=4), True),
    ]
    for n, (t, ok) in enumerate(cases):
        env.clock.now = now - env.clock.step  # the next read returns `now` again
        sub = env.sign(k, "fund.appropriate", fund_body(300 + n), time=t).canonical()
        if ok:
            env.ledger.append(sub)
        else:
            before = env.snapshot()
            with pytest.raises(InvalidEntry) as info:
                env.ledger.append(sub)
            assert (info.value.rule, info.value.field) == (
                "statement.time",
                "batch[0].statement.time",
            )
            assert env.snapshot() == before
        now = now + timedelta(seconds=1)


def test_a_logged_statement_cannot_be_replayed_under_a_new_index(env: LedgerEnv) -> None:
    lines = list(env.ledger.iter_lines())
    target = parse_entry_line(lines[-1])
    sub = Submission(target.statement, target.signatures)
    size = env.ledger.size
    # through the ledger: the original receipt, nothing new
    r = env.ledger.append(sub.canonical())
    assert r.duplicate and r.index == size - 1 and env.ledger.size == size
    # a forged line replaying it at the next index is refused by the shared rules
    state = replay(lines)
    forged = entry_bytes(size, target.log_time, merkle.leaf_hash(lines[-1]).hex(), sub)
    with pytest.raises(VerificationError) as info:
        state.check_and_apply(parse_entry_line(forged, size), merkle.leaf_hash(forged))
    assert info.value.rule == "statement.duplicate"
    assert info.value.index == size


def test_log_time_never_goes_backwards(tmp_path: Path) -> None:
    env = new_ledger(tmp_path)
    k = env.keys
    env.ledger.append_batch(
        [
            env.sign(
                k.authority, "key.grant", grant_body(k["finance"], ["finance_officer"])
            ).canonical(),
            env.sign(k.authority, "policy.set", policy_body()).canonical(),
        ]
    )
    env.clock.now -= timedelta(hours=1)  # the machine's clock jumps back
    env.ledger.append(
        env.sign(
            k["finance"], "fund.appropriate", fund_body(1), time=env.clock.now - timedelta(hours=2)
        ).canonical()
    )
    times = [parse_entry_line(x).log_time for x in env.ledger.iter_lines()]
    assert times == sorted(times)
    replay(list(env.ledger.iter_lines()))
    env.ledger.close()


# -- edge cases of the pipeline -------------------------------------------------------------


def test_empty_batch_writes_nothing(env: LedgerEnv) -> None:
    before = env.snapshot()
    assert env.ledger.append_batch([]) == []
    assert env.snapshot() == before


def test_large_batch_with_worker_pre_verification(tmp_path: Path) -> None:
    """Batches of 64+ are pre-verified in worker processes; the result must not depend on it:
    keys granted inside the batch work from the next index, and a forged signature deep in
    the batch is still caught."""
    env = new_ledger(tmp_path)
    env.ledger.close()
    k = env.keys
    with env.reopen(pool=SignaturePool(2)) as ledger:
        items = [
            env.sign(k.authority, "key.grant", grant_body(k["finance"], ["finance_officer"])),
            env.sign(k.authority, "policy.set", policy_body()),  # funds need a policy in force
        ]
        items += [env.sign(k["finance"], "fund.appropriate", fund_body(n)) for n in range(1, 80)]
        bad = list(items)
        bad[70] = tamper_signature(bad[70])
        before = env.snapshot()
        with pytest.raises(InvalidEntry) as info:
            ledger.append_batch([s.canonical() for s in bad])
        assert (info.value.rule, info.value.field) == (
            "signature.invalid",
            "batch[70].signatures[0].sig",
        )
        assert env.snapshot() == before
        receipts = ledger.append_batch([s.canonical() for s in items])
        assert [r.index for r in receipts] == list(range(1, 82))
        # now the key is known before the batch: pre-verified in the workers
        more = [env.sign(k["finance"], "fund.appropriate", fund_body(n)) for n in range(100, 170)]
        more[3] = tamper_signature(more[3])
        with pytest.raises(InvalidEntry) as info:
            ledger.append_batch([s.canonical() for s in more])
        assert info.value.field == "batch[3].signatures[0].sig"
        lines = list(ledger.iter_lines())
    replay(lines)
    assert len(lines) == 82


def test_failed_commit_rolls_back_memory(env: LedgerEnv) -> None:
    """If step 8 fails (here: a conflicting Merkle node row planted by hand), the in-memory
    state, tree and checkpoint are those of before the batch."""
    size = env.ledger.size
    conn = sqlite3.connect(env.path)
    conn.execute("INSERT INTO merkle_nodes VALUES (0, ?, zeroblob(32))", (size,))
    conn.commit()
    conn.close()
    before_db = env.snapshot()
    view = state_view(env.ledger)
    sub = env.sign(env.keys["finance"], "fund.appropriate", fund_body(901)).canonical()
    with pytest.raises(Exception):  # noqa: B017 - the storage error is not typed
        env.ledger.append(sub)
    assert env.snapshot() == before_db
    assert state_view(env.ledger) == view


def test_append_before_initialize_is_a_typed_error(tmp_path: Path) -> None:
    from .ledger_fixtures import Signer, StepClock, genesis_body, make_keys

    keys = make_keys()
    clock = StepClock()
    sign = Signer(clock)
    with Ledger.open(
        f"sqlite:///{tmp_path / 'e.db'}", log_key=keys.log, clock=clock, pool=SignaturePool(1)
    ) as ledger:
        with pytest.raises((InputError, InvalidEntry)):
            ledger.append(sign(keys.authority, "log.genesis", genesis_body(keys)).canonical())
        assert ledger.size == 0
