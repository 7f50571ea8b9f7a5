"""Rejected batches leave no trace (ledger/append.py; FORMAT.md §7–§8): every rule that can
refuse a submission, each inside a batch of good ones, on a temporary SQLite file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from ledger.records import InvalidEntry
from verifier.core import merkle
from verifier.core.errors import InputError

from .ledger_fixtures import (
    LedgerEnv,
    approve_body,
    award_body,
    checkpoint_root,
    fund_body,
    grant_body,
    key,
    replay,
    revoke_body,
    state_view,
    tamper_signature,
)

# -- rejected batches leave no trace ---------------------------------------------------------

BadItem = Callable[[LedgerEnv], list[bytes]]


def _wrong_role(e: LedgerEnv) -> list[bytes]:
    return [e.sign(e.keys["finance"], "payment.approve", approve_body(7)).canonical()]


def _unknown_key(e: LedgerEnv) -> list[bytes]:
    return [e.sign(e.keys.stranger, "fund.appropriate", fund_body(7)).canonical()]


def _bad_signature(e: LedgerEnv) -> list[bytes]:
    sub = e.sign(e.keys["finance"], "fund.appropriate", fund_body(7))
    return [tamper_signature(sub).canonical()]


def _bad_cosignature(e: LedgerEnv) -> list[bytes]:
    sub = e.sign(e.keys["finance"], "fund.appropriate", fund_body(7), cosigners=[e.keys["auditor"]])
    return [tamper_signature(sub, 1).canonical()]


def _non_canonical(e: LedgerEnv) -> list[bytes]:
    sub = e.sign(e.keys["finance"], "fund.appropriate", fund_body(7))
    return [json.dumps(sub.to_json(), ensure_ascii=False, separators=(", ", ": ")).encode()]


def _float_amount(e: LedgerEnv) -> list[bytes]:
    data = e.sign(e.keys["finance"], "fund.appropriate", fund_body(7, 123456)).canonical()
    assert data.count(b'"amount_fen":123456') == 1
    return [data.replace(b'"amount_fen":123456', b'"amount_fen":123456.0')]


def _revoked_key(e: LedgerEnv) -> list[bytes]:
    return [e.sign(e.keys["retired"], "fund.appropriate", fund_body(7)).canonical()]


def _duplicate_grant(e: LedgerEnv) -> list[bytes]:
    body = grant_body(e.keys["finance"], ["finance_officer"])
    return [e.sign(e.keys.authority, "key.grant", body).canonical()]


def _grant_twice_in_batch(e: LedgerEnv) -> list[bytes]:
    body = grant_body(key("newcomer"), ["approver"])
    return [
        e.sign(e.keys.authority, "key.grant", body).canonical(),
        e.sign(e.keys.authority2, "key.grant", body).canonical(),
    ]


def _revoke_then_use(e: LedgerEnv) -> list[bytes]:
    return [
        e.sign(e.keys.authority, "key.revoke", revoke_body(e.keys["approver"])).canonical(),
        e.sign(e.keys["approver"], "payment.approve", approve_body(8)).canonical(),
    ]


def _stale_statement(e: LedgerEnv) -> list[bytes]:
    old = e.clock.now - timedelta(days=8)
    return [e.sign(e.keys["finance"], "fund.appropriate", fund_body(7), time=old).canonical()]


def _bad_body(e: LedgerEnv) -> list[bytes]:
    return [e.sign(e.keys["finance"], "fund.appropriate", fund_body(7, 0)).canonical()]


def _amount_too_large(e: LedgerEnv) -> list[bytes]:
    return [e.sign(e.keys["finance"], "fund.appropriate", fund_body(7, 10**13 + 1)).canonical()]


def _full_width_month(e: LedgerEnv) -> list[bytes]:
    # "２０２４-01" (full-width digits) would sort after every ASCII month
    body = {"through_month": "\uff12\uff10\uff12\uff14-01"}
    return [e.sign(e.keys["desk"], "credit.expire", body).canonical()]


def _fund_id_reused(e: LedgerEnv) -> list[bytes]:
    # F-500 is appropriated earlier in the same batch (good_before): the rulebook's state
    # inside the batch sees it, and the rollback must forget it
    return [e.sign(e.keys["finance"], "fund.appropriate", fund_body(500, 7)).canonical()]


def _award_twice(e: LedgerEnv) -> list[bytes]:
    return [
        e.sign(e.keys["organiser"], "credit.award", award_body(502)).canonical(),
        e.sign(e.keys["organiser"], "credit.award", award_body(502, minutes=30)).canonical(),
    ]


def _genesis_again(e: LedgerEnv) -> list[bytes]:
    from .ledger_fixtures import genesis_body

    return [e.sign(e.keys.authority, "log.genesis", genesis_body(e.keys)).canonical()]


REJECTIONS: list[tuple[str, BadItem, str, str]] = [
    ("wrong role", _wrong_role, "role.forbidden", "statement.signer"),
    ("unknown key", _unknown_key, "key.unknown", "signatures[0].key_id"),
    ("bad signature", _bad_signature, "signature.invalid", "signatures[0].sig"),
    ("bad co-signature", _bad_cosignature, "signature.invalid", "signatures[1].sig"),
    ("non-canonical", _non_canonical, "entry.canonical", "submission"),
    (
        "float amount",
        _float_amount,
        "entry.canonical",
        "submission.statement.body.amount_fen",
    ),
    ("revoked key", _revoked_key, "key.revoked", "signatures[0].key_id"),
    ("duplicate key grant", _duplicate_grant, "key.duplicate", "statement.body.key"),
    ("grant twice in batch", _grant_twice_in_batch, "key.duplicate", "statement.body.key"),
    ("revoked inside batch", _revoke_then_use, "key.revoked", "signatures[0].key_id"),
    ("8 days old", _stale_statement, "statement.time", "statement.time"),
    ("zero amount", _bad_body, "entry.body", "statement.body.amount_fen"),
    ("amount over 10^13", _amount_too_large, "entry.body", "statement.body.amount_fen"),
    ("full-width month", _full_width_month, "entry.body", "statement.body.through_month"),
    ("second genesis", _genesis_again, "genesis.position", "statement.kind"),
    ("fund id reused", _fund_id_reused, "fund.duplicate", "statement.body.fund_id"),
    ("award twice", _award_twice, "credit.duplicate", "statement.body.resident_ref"),
]


@pytest.mark.parametrize(
    ("bad", "rule", "field"),
    [pytest.param(b, r, f, id=name) for name, b, r, f in REJECTIONS],
)
def test_rejected_batch_leaves_no_trace(
    env: LedgerEnv, bad: BadItem, rule: str, field: str
) -> None:
    k = env.keys
    good_before = [
        env.sign(k["finance"], "fund.appropriate", fund_body(500)),
        env.sign(k.authority, "key.grant", grant_body(key("late"), ["organiser"])),
    ]
    good_after = [env.sign(k["organiser"], "credit.award", award_body(501))]
    bad_items = bad(env)
    batch = [s.canonical() for s in good_before] + bad_items + [s.canonical() for s in good_after]
    position = len(good_before) + len(bad_items) - 1  # the last bad item is the offender
    before_db = env.snapshot()
    before_state = state_view(env.ledger)
    size = env.ledger.size
    old_note = env.ledger.latest_checkpoint()

    with pytest.raises(InvalidEntry) as info:
        env.ledger.append_batch(batch)
    err = info.value
    assert err.rule == rule
    assert err.field == f"batch[{position}].{field}"
    assert f"batch[{position}]" in str(err) and f"[{rule}]" in str(err)

    assert env.snapshot() == before_db  # every row of every table
    assert state_view(env.ledger) == before_state
    assert env.ledger.size == size

    # The same good statements (same ids) are accepted afterwards, at the next indices,
    # and the key granted in the rejected batch was not kept.
    receipts = env.ledger.append_batch([s.canonical() for s in good_before + good_after])
    assert [r.index for r in receipts] == [size, size + 1, size + 2]
    assert not any(r.duplicate for r in receipts)
    new_size, new_root = checkpoint_root(receipts[-1].checkpoint, env.keys)
    assert new_size == size + 3
    lines = list(env.ledger.iter_lines())
    for r in receipts:
        p = env.ledger.inclusion_proof(r.index, new_size)
        merkle.verify_inclusion(
            merkle.leaf_hash(lines[r.index]), r.index, new_size, p.path, new_root
        )
    _, old_root = checkpoint_root(old_note, env.keys)
    c = env.ledger.consistency_proof(size, new_size)
    merkle.verify_consistency(size, new_size, c.path, old_root, new_root)
    replay(lines)


def test_key_granted_in_a_rejected_batch_is_not_usable(env: LedgerEnv) -> None:
    newcomer = key("newcomer2")
    grant = env.sign(env.keys.authority, "key.grant", grant_body(newcomer, ["approver"]))
    with pytest.raises(InvalidEntry):
        env.ledger.append_batch([grant.canonical(), _wrong_role(env)[0]])
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(env.sign(newcomer, "payment.approve", approve_body(1)).canonical())
    assert info.value.rule == "key.unknown"


def test_rejected_batch_leaves_replay_window_unchanged(env: LedgerEnv) -> None:
    before = dict(env.ledger.state.recent_ids)
    good = env.sign(env.keys["finance"], "fund.appropriate", fund_body(600)).canonical()
    with pytest.raises(InvalidEntry):
        env.ledger.append_batch([good, _wrong_role(env)[0]])
    assert env.ledger.state.recent_ids == before
    # The rolled-back statement was never logged, so it can be submitted now.
    receipt = env.ledger.append(good)
    assert not receipt.duplicate and receipt.index == env.ledger.size - 1


def test_non_bytes_submission_is_an_input_error(env: LedgerEnv) -> None:
    before = env.snapshot()
    with pytest.raises(InputError):
        env.ledger.append_batch(["not bytes"])  # type: ignore[list-item]
    assert env.snapshot() == before
