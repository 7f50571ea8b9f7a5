"""Unit tests of the key registry (FORMAT.md §7) through
:meth:`verifier.rules.log_state.LogState.check_and_apply` on hand-built entries, without a ledger
or database: the genesis, key grants (usable from the next index on) and revocations."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.core.errors import VerificationError
from verifier.rules.log_state import LogState

from .domain_bodies import fund_body
from .hand_entries import EntryBuilder, tamper_signature
from .keyring import Keys, genesis_body, grant_body, key, make_keys, revoke_body
from .ledger_env import registry_view
from .registry_cases import rejects, set_policy, start


@pytest.fixture
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def b() -> EntryBuilder:
    return EntryBuilder()


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
    # the log key: its public key is refused first (FORMAT.md §7.2 rule 2)
    err = rejects(
        state,
        b,
        b.sign(keys.authority, "key.grant", grant_body(keys.log, ["auditor"])),
        "key.log_key",
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
