"""Unit tests of :meth:`verifier.rules.log_state.LogState.check_and_apply` on hand-built
entries (FORMAT.md §8): co-signatures, roles, the entry's position, chain and statement time,
duplicate statement ids, and the journal's rollback; without a ledger or database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from verifier.core.errors import VerificationError
from verifier.rules.journal import Journal
from verifier.rules.log_state import LogState
from verifier.rules.registry import KeyRegistry

from .domain_bodies import (
    activity_body,
    approve_body,
    contract_body,
    fund_body,
    prelude,
    propose_body,
)
from .hand_entries import EntryBuilder, tamper_signature
from .keyring import Keys, genesis_body, grant_body, key, make_keys, revoke_body
from .ledger_env import registry_view
from .registry_cases import rejects, start


@pytest.fixture
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def b() -> EntryBuilder:
    return EntryBuilder()


# -- signatures and roles ------------------------------------------------------------------------


@pytest.fixture
def staffed(keys: Keys, b: EntryBuilder) -> LogState:
    state = start(keys, b)
    for name, roles in (
        ("finance", ["finance_officer"]),
        ("approver", ["approver"]),
        ("auditor", ["auditor"]),
        ("organiser", ["approver", "organiser"]),
    ):
        b.apply(state, b.sign(keys.authority, "key.grant", grant_body(keys[name], roles)))
    # the domain prelude: policy v1, a community (by the authority), a provider (by finance)
    for sub in prelude(b.sign, keys.authority, keys["finance"]):
        b.apply(state, sub)
    return state


def test_cosignature_by_unknown_key(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    sub = b.sign(keys["finance"], "fund.appropriate", fund_body(1), cosigners=[keys.stranger])
    err = rejects(staffed, b, sub, "key.unknown")
    assert err.field == "signatures[1].key_id" and err.key_id == keys.stranger.key_id_hex


def test_cosignature_must_verify(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    sub = b.sign(keys["finance"], "fund.appropriate", fund_body(1), cosigners=[keys["auditor"]])
    err = rejects(staffed, b, tamper_signature(sub, 1), "signature.invalid")
    assert err.field == "signatures[1].sig"


def test_cosigner_needs_no_role_for_the_kind(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    sub = b.sign(
        keys["finance"],
        "fund.appropriate",
        fund_body(1),
        cosigners=[keys["auditor"], keys["approver"]],
    )
    b.apply(staffed, sub)


def test_signature_verification_cannot_be_faked_by_verified_keys(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    """A pre-verified key that is not the registry's key is ignored: the signature is checked."""
    sub = tamper_signature(b.sign(keys["finance"], "fund.appropriate", fund_body(1)))
    rejects(staffed, b, sub, "signature.invalid", verified_keys=[keys["approver"].public_key])
    rejects(staffed, b, sub, "signature.invalid", verified_keys=[None])


@pytest.mark.parametrize(
    ("signer", "kind", "body"),
    [
        ("finance", "payment.approve", approve_body(1)),
        ("approver", "fund.appropriate", fund_body(1)),
        ("auditor", "fund.appropriate", fund_body(1)),
        ("auditor", "payment.approve", approve_body(1)),
        ("finance", "key.grant", grant_body(key("x"), ["approver"])),
        ("authority", "fund.appropriate", fund_body(1)),
        ("organiser", "credit.redeem", {"resident_ref": "0" * 32, "item": "理发", "points": 1}),
    ],
)
def test_role_forbidden(
    keys: Keys, b: EntryBuilder, staffed: LogState, signer: str, kind: str, body: dict[str, Any]
) -> None:
    k = keys.authority if signer == "authority" else keys[signer]
    err = rejects(staffed, b, b.sign(k, kind, body), "role.forbidden")
    assert err.field == "statement.signer" and err.key_id == k.key_id_hex


def test_role_of_the_cosigner_does_not_help(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    sub = b.sign(keys["auditor"], "payment.approve", approve_body(1), cosigners=[keys["approver"]])
    rejects(staffed, b, sub, "role.forbidden")


def test_key_with_several_roles(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    fin = keys["finance"]
    day = b.clock.now.date().isoformat()  # the day of the next log times
    b.apply(staffed, b.sign(fin, "fund.appropriate", fund_body(1, 1_000_000)))
    b.apply(staffed, b.sign(fin, "contract.award", contract_body("C-1", "F-1", day)))
    b.apply(staffed, b.sign(fin, "payment.propose", propose_body("P-1", "C-1")))
    # the key holding approver and organiser signs a kind of each role
    k = keys["organiser"]
    b.apply(staffed, b.sign(k, "payment.approve", approve_body(1)))
    b.apply(staffed, b.sign(k, "activity.register", activity_body("A1", day)))


def test_unknown_kind(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    rejects(staffed, b, b.sign(keys["finance"], "fund.steal", fund_body(1)), "entry.kind")


# -- position, chain and time ----------------------------------------------------------------------


def test_position_rules(keys: Keys, b: EntryBuilder, staffed: LogState) -> None:
    sub = b.sign(keys["finance"], "fund.appropriate", fund_body(1))
    entry, leaf = b.entry(sub, index=staffed.size + 1)
    with pytest.raises(VerificationError) as info:
        staffed.check_and_apply(entry, leaf)
    assert info.value.rule == "entry.index"
    # a broken hash chain
    saved = b.lines[-1]
    b.lines[-1] = saved + b" "
    err = rejects(staffed, b, sub, "entry.prev_hash")
    assert err.field == "prev"
    b.lines[-1] = saved
    # log time going backwards
    last = datetime.fromisoformat(staffed.log_time)
    entry, leaf = b.entry(sub, log_time=last - timedelta(microseconds=1))
    with pytest.raises(VerificationError) as info:
        staffed.check_and_apply(entry, leaf)
    assert info.value.rule == "entry.log_time"
    b.apply(staffed, sub)


def test_statement_time_window_and_duplicates(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    fin = keys["finance"]
    now = b.clock.now + b.clock.step  # the next log time
    for t in (now - timedelta(days=8), now + timedelta(minutes=5, seconds=1)):
        sub = b.sign(fin, "fund.appropriate", fund_body(1), time=t)
        entry, leaf = b.entry(sub, log_time=now)
        with pytest.raises(VerificationError) as info:
            staffed.check_and_apply(entry, leaf)
        assert info.value.rule == "statement.time"
    # the edges are inside
    b.apply(
        staffed,
        b.sign(fin, "fund.appropriate", fund_body(2), time=now - timedelta(days=7)),
        log_time=now,
    )
    b.apply(
        staffed,
        b.sign(fin, "fund.appropriate", fund_body(3), time=now + timedelta(minutes=5)),
        log_time=now,
    )
    # a statement id seen inside the window cannot come back, whatever the content
    sid = "11111111-2222-4333-8444-555555555555"
    b.apply(staffed, b.sign(fin, "fund.appropriate", fund_body(4), statement_id=sid), log_time=now)
    again = b.sign(fin, "fund.appropriate", fund_body(5), statement_id=sid)
    entry, leaf = b.entry(again, log_time=now + timedelta(days=6))
    with pytest.raises(VerificationError) as info:
        staffed.check_and_apply(entry, leaf)
    assert (info.value.rule, info.value.field) == ("statement.duplicate", "statement.id")


def test_statement_id_reuse_just_outside_the_window_is_valid(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    fin = keys["finance"]
    sid = "22222222-3333-4444-8555-666666666666"
    t0 = b.clock.now
    b.apply(
        staffed,
        b.sign(fin, "fund.appropriate", fund_body(1), statement_id=sid, time=t0),
        log_time=t0 + timedelta(seconds=1),
    )
    later = t0 + timedelta(days=7, minutes=2)
    sub = b.sign(
        fin, "fund.appropriate", fund_body(2), statement_id=sid, time=later - timedelta(seconds=1)
    )
    b.apply(staffed, sub, log_time=later)


def test_statement_id_reuse_long_after_is_valid_whatever_the_log_order(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    fin = keys["finance"]
    sid = "33333333-4444-4555-8666-777777777777"
    t0 = b.clock.now
    # logged together: first a fresh statement, then one signed 6 days earlier
    b.apply(staffed, b.sign(fin, "fund.appropriate", fund_body(1), time=t0), log_time=t0)
    b.apply(
        staffed,
        b.sign(
            fin, "fund.appropriate", fund_body(2), statement_id=sid, time=t0 - timedelta(days=6)
        ),
        log_time=t0,
    )
    # 3 days later the second statement's time is 9 days back: far outside the window
    later = t0 + timedelta(days=3)
    sub = b.sign(fin, "fund.appropriate", fund_body(3), statement_id=sid, time=later)
    b.apply(staffed, sub, log_time=later)


# -- journal --------------------------------------------------------------------------------------


def test_journal_rolls_back_registry_changes(
    keys: Keys, b: EntryBuilder, staffed: LogState
) -> None:
    before = registry_view(staffed)
    ids_before = dict(staffed.recent_ids)
    position = staffed.snapshot_position()
    journal = Journal()
    b.apply(
        staffed,
        b.sign(keys.authority, "key.grant", grant_body(keys["desk"], ["service_desk"])),
        journal=journal,
    )
    b.apply(
        staffed, b.sign(keys.authority, "key.revoke", revoke_body(keys["finance"])), journal=journal
    )
    assert registry_view(staffed) != before
    assert len(journal) > 0
    journal.rollback()
    staffed.restore_position(position)
    assert registry_view(staffed) == before
    assert dict(staffed.recent_ids) == ids_before
    assert staffed.snapshot_position() == position


def test_registry_lookup_rules_directly() -> None:
    keys = make_keys()
    reg = KeyRegistry()
    reg.apply_genesis(genesis_body(keys), 0, keys.authority.key_id_hex)
    with pytest.raises(VerificationError) as info:
        reg.lookup(keys.stranger.key_id_hex, 3)
    assert info.value.rule == "key.unknown"
    reg.apply_grant(grant_body(keys["finance"], ["finance_officer"]), 4, None)
    assert reg.lookup(keys["finance"].key_id_hex, 5).granted_at == 4
    reg.apply_revoke(revoke_body(keys["finance"]), 9, None)
    assert reg.lookup(keys["finance"].key_id_hex, 9).revoked_at == 9
    with pytest.raises(VerificationError) as info:
        reg.lookup(keys["finance"].key_id_hex, 10)
    assert info.value.rule == "key.revoked"
    with pytest.raises(VerificationError) as info:
        KeyRegistry().apply_genesis(genesis_body(keys), 1, keys.authority.key_id_hex)
    assert info.value.rule == "genesis.position"


@pytest.mark.parametrize("case", ["role-then-unknown-cosigner", "bad-sig-then-unknown-cosigner"])
def test_all_keys_are_checked_before_signatures_and_role(
    keys: Keys, b: EntryBuilder, staffed: LogState, case: str
) -> None:
    if case == "role-then-unknown-cosigner":
        sub = b.sign(keys["auditor"], "fund.appropriate", fund_body(1), cosigners=[keys.stranger])
    else:
        sub = tamper_signature(
            b.sign(keys["finance"], "fund.appropriate", fund_body(1), cosigners=[keys.stranger])
        )
    rejects(staffed, b, sub, "key.unknown")
