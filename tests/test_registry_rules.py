"""Unit tests of :meth:`verifier.state.LogState.check_and_apply` and the key registry
(FORMAT.md §7, §8) on hand-built entries, without a ledger or database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from verifier.core.errors import VerificationError
from verifier.rules.journal import Journal
from verifier.rules.log_state import LogState
from verifier.rules.registry import KeyRegistry

from .ledger_fixtures import (
    EntryBuilder,
    Keys,
    activity_body,
    approve_body,
    contract_body,
    fund_body,
    genesis_body,
    grant_body,
    key,
    make_keys,
    policy_body,
    prelude,
    propose_body,
    registry_view,
    revoke_body,
    tamper_signature,
)


@pytest.fixture
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def b() -> EntryBuilder:
    return EntryBuilder()


def start(keys: Keys, b: EntryBuilder) -> LogState:
    state = LogState()
    b.apply(state, b.sign(keys.authority, "log.genesis", genesis_body(keys)))
    return state


def set_policy(keys: Keys, b: EntryBuilder, state: LogState) -> None:
    """Log policy v1 (signed by an authority): most domain kinds need a policy in force."""
    b.apply(state, b.sign(keys.authority, "policy.set", policy_body()))


def rejects(state: LogState, b: EntryBuilder, sub: Any, rule: str, **kw: Any) -> VerificationError:
    """``sub`` as the next entry is rejected with ``rule``; the state is left unchanged."""
    before = (state.size, state.prev, state.log_time, registry_view(state), dict(state.recent_ids))
    entry, leaf = b.entry(sub)
    with pytest.raises(VerificationError) as info:
        state.check_and_apply(entry, leaf, **kw)
    assert info.value.rule == rule, info.value
    assert info.value.index == entry.index
    after = (state.size, state.prev, state.log_time, registry_view(state), dict(state.recent_ids))
    assert after == before
    return info.value


# -- genesis ---------------------------------------------------------------------------------


def test_genesis_sets_up_the_registry(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    assert state.size == 1
    assert state.registry.log_key == keys.log.verifier()
    assert state.registry.origin == keys.log.name
    view = registry_view(state)
    assert set(view) == {keys.authority.key_id_hex, keys.authority2.key_id_hex}
    assert all(v[1] == ("authority",) and v[2] == 0 and v[3] is None for v in view.values())


def test_genesis_must_be_entry_0(keys: Keys, b: EntryBuilder) -> None:
    state = LogState()
    err = rejects(
        state,
        b,
        b.sign(keys.authority, "key.grant", grant_body(keys["finance"], ["approver"])),
        "genesis.position",
    )
    assert err.field == "statement.kind"
    state = start(keys, b)
    rejects(state, b, b.sign(keys.authority, "log.genesis", genesis_body(keys)), "genesis.position")


def test_genesis_signed_by_an_unlisted_key(keys: Keys, b: EntryBuilder) -> None:
    # signed by an official key that the genesis body does not list
    rejects(
        LogState(), b, b.sign(keys["finance"], "log.genesis", genesis_body(keys)), "genesis.signer"
    )
    # signed by the log key itself (it is not an authority)
    rejects(LogState(), b, b.sign(keys.log, "log.genesis", genesis_body(keys)), "genesis.signer")


def test_genesis_signature_must_verify(keys: Keys, b: EntryBuilder) -> None:
    sub = tamper_signature(b.sign(keys.authority, "log.genesis", genesis_body(keys)))
    rejects(LogState(), b, sub, "signature.invalid")
    # even when the caller claims to have verified it already under another key
    entry, leaf = b.entry(sub)
    with pytest.raises(VerificationError) as info:
        LogState().check_and_apply(entry, leaf, verified_keys=[keys.authority2.public_key])
    assert info.value.rule == "signature.invalid"


def test_genesis_cosigned_by_a_stranger(keys: Keys, b: EntryBuilder) -> None:
    sub = b.sign(keys.authority, "log.genesis", genesis_body(keys), cosigners=[keys.stranger])
    err = rejects(LogState(), b, sub, "key.unknown")
    assert err.field == "signatures[1].key_id"
    # co-signed by the other listed authority: fine
    sub = b.sign(keys.authority, "log.genesis", genesis_body(keys), cosigners=[keys.authority2])
    state = LogState()
    b.apply(state, sub)
    assert state.size == 1


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body, k: body.update(authorities=[]),
        lambda body, k: body.update(authorities=[str(k.authority.verifier())] * 2),
        lambda body, k: body.update(authorities=[str(k.log.verifier())]),
        lambda body, k: body.update(origin="another/origin"),
        lambda body, k: body.update(extra=1),
        lambda body, k: body.update(log_key="not a key"),
    ],
    ids=[
        "no-authorities",
        "repeated-authority",
        "log-key-as-authority",
        "origin",
        "extra",
        "log-key",
    ],
)
def test_genesis_body_rules(keys: Keys, b: EntryBuilder, mutate: Any) -> None:
    body = genesis_body(keys)
    mutate(body, keys)
    rule = "entry.body"
    rejects(LogState(), b, b.sign(keys.authority, "log.genesis", body), rule)


# -- grants: usable from the next index on ----------------------------------------------------


def test_key_granted_at_g_signs_from_g_plus_1(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    set_policy(keys, b, state)
    fin = keys["finance"]
    g = state.size
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    rec = state.registry.keys[fin.key_id_hex]
    assert rec.granted_at == g and rec.roles == {"finance_officer"}
    assert not rec.active_at(g) and not rec.active_at(g - 1) and rec.active_at(g + 1)
    # the registry refuses the key at (and before) its grant index ...
    for idx in (g - 1, g):
        with pytest.raises(VerificationError) as info:
            state.registry.lookup(fin.key_id_hex, idx)
        assert info.value.rule == "key.not_yet"
    # ... and the grant entry itself cannot carry the granted key's co-signature
    other = key("other")
    sub = b.sign(keys.authority, "key.grant", grant_body(other, ["approver"]), cosigners=[other])
    assert rejects(state, b, sub, "key.unknown").field == "signatures[1].key_id"
    # at g + 1 it works
    b.apply(state, b.sign(fin, "fund.appropriate", fund_body(1)))
    assert state.size == g + 2


def test_grant_and_use_in_the_same_replay_step_order(keys: Keys, b: EntryBuilder) -> None:
    """Authorities hold their role from index 0 (they sign entry 1 directly)."""
    state = start(keys, b)
    assert state.registry.keys[keys.authority.key_id_hex].active_at(0)
    b.apply(state, b.sign(keys.authority2, "key.grant", grant_body(keys["approver"], ["approver"])))


@pytest.mark.parametrize(
    "roles", [[], ["approver", "approver"], ["organiser", "approver"], ["mayor"], "approver"]
)
def test_grant_roles_must_be_sorted_distinct_known(keys: Keys, b: EntryBuilder, roles: Any) -> None:
    state = start(keys, b)
    body = {"key": str(keys["approver"].verifier()), "roles": roles, "title": "x"}
    err = rejects(state, b, b.sign(keys.authority, "key.grant", body), "entry.body")
    assert err.field == "statement.body.roles"


@pytest.mark.parametrize("title", ["", "x" * 201, 5])
def test_grant_title_length(keys: Keys, b: EntryBuilder, title: Any) -> None:
    state = start(keys, b)
    body = {"key": str(keys["approver"].verifier()), "roles": ["approver"], "title": title}
    rejects(state, b, b.sign(keys.authority, "key.grant", body), "entry.body")


def test_grant_of_a_known_key_id_is_a_duplicate(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    # again, even with other roles
    rejects(
        state,
        b,
        b.sign(keys.authority2, "key.grant", grant_body(fin, ["approver"])),
        "key.duplicate",
    )
    # an authority key, and the log key
    rejects(
        state,
        b,
        b.sign(keys.authority, "key.grant", grant_body(keys.authority2, ["approver"])),
        "key.duplicate",
    )
    err = rejects(
        state,
        b,
        b.sign(keys.authority, "key.grant", grant_body(keys.log, ["auditor"])),
        "key.duplicate",
    )
    assert err.key_id == keys.log.key_id_hex


def test_regrant_of_a_revoked_key_is_a_duplicate(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    b.apply(state, b.sign(keys.authority, "key.revoke", revoke_body(fin)))
    err = rejects(
        state,
        b,
        b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])),
        "key.duplicate",
    )
    assert err.field == "statement.body.key"
    # Revocation is final: the same key id stays revoked.
    rejects(state, b, b.sign(fin, "fund.appropriate", fund_body(2)), "key.revoked")


# -- revocation ----------------------------------------------------------------------------------


def test_revoked_key_is_refused_after_its_revocation(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    set_policy(keys, b, state)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    b.apply(state, b.sign(fin, "fund.appropriate", fund_body(1)))
    r = state.size
    b.apply(state, b.sign(keys.authority, "key.revoke", revoke_body(fin)))
    rec = state.registry.keys[fin.key_id_hex]
    assert rec.revoked_at == r and rec.active_at(r) and not rec.active_at(r + 1)
    err = rejects(state, b, b.sign(fin, "fund.appropriate", fund_body(2)), "key.revoked")
    assert err.key_id == fin.key_id_hex and err.field == "signatures[0].key_id"
    # as a co-signer too
    sub = b.sign(
        keys.authority, "key.grant", grant_body(keys["approver"], ["approver"]), cosigners=[fin]
    )
    assert rejects(state, b, sub, "key.revoked").field == "signatures[1].key_id"
    # revoking it twice is refused
    rejects(state, b, b.sign(keys.authority, "key.revoke", revoke_body(fin)), "key.revoked")


def test_self_revocation_is_valid_at_the_revocation_index(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    a1 = keys.authority
    r = state.size
    # the revoke entry is signed (and co-signed) by the key it revokes
    b.apply(state, b.sign(a1, "key.revoke", revoke_body(a1, "退休"), cosigners=[keys.authority2]))
    assert state.registry.keys[a1.key_id_hex].revoked_at == r
    err = rejects(
        state,
        b,
        b.sign(a1, "key.grant", grant_body(keys["finance"], ["finance_officer"])),
        "key.revoked",
    )
    assert err.index == r + 1
    # the other authority carries on
    b.apply(
        state,
        b.sign(keys.authority2, "key.grant", grant_body(keys["finance"], ["finance_officer"])),
    )


def test_revocation_entry_cosigned_by_the_revoked_key(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    b.apply(state, b.sign(keys.authority, "key.revoke", revoke_body(fin), cosigners=[fin]))


@pytest.mark.parametrize(
    "body",
    [
        {"key_id": "00000000", "reason": "x"},
        {"key_id": "ffffffff", "reason": "x"},
    ],
)
def test_revoke_of_an_unknown_key(keys: Keys, b: EntryBuilder, body: dict[str, Any]) -> None:
    state = start(keys, b)
    rejects(state, b, b.sign(keys.authority, "key.revoke", body), "key.unknown")


def test_revoke_of_the_log_key_is_unknown(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    rejects(state, b, b.sign(keys.authority, "key.revoke", revoke_body(keys.log)), "key.unknown")


@pytest.mark.parametrize("reason", ["", "x" * 501])
def test_revoke_reason_length(keys: Keys, b: EntryBuilder, reason: str) -> None:
    state = start(keys, b)
    b.apply(
        state, b.sign(keys.authority, "key.grant", grant_body(keys["finance"], ["finance_officer"]))
    )
    rejects(
        state,
        b,
        b.sign(keys.authority, "key.revoke", revoke_body(keys["finance"], reason)),
        "entry.body",
    )


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
