"""One public key, one person (FORMAT.md §7.2): ``key.weak``, ``key.log_key``, ``key.reused``
and ``key.duplicate_public`` at ``key.grant`` and in the genesis, their order relative to
``key.duplicate`` and the body's shape, through
:meth:`verifier.rules.log_state.LogState.check_and_apply` on hand-built entries."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.signing.keys import SignerKey
from verifier.core.keys import VerifierKey, compute_key_id
from verifier.rules.log_state import LogState
from verifier.rules.registry import KeyRegistry

from .ed25519_model import NON_CANONICAL, SMALL_ORDER
from .hand_entries import EntryBuilder
from .keyring import Keys, genesis_body, grant_body, key, make_keys, revoke_body
from .registry_cases import rejects, start


@pytest.fixture
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def b() -> EntryBuilder:
    return EntryBuilder()


def named(name: str, public_key: bytes) -> str:
    """The verifier key string of ``public_key`` under ``name`` (its own key id)."""
    return str(VerifierKey(name, compute_key_id(name, public_key), public_key))


def alias(k: SignerKey, name: str) -> str:
    """``k``'s public key under another key name: another key id, the same private key."""
    return named(name, k.verifier().public_key)


def grant(keys: Keys, key_text: str, roles: list[str] | None = None) -> Any:
    return {"key": key_text, "roles": roles or ["approver"], "title": "测试岗位"}


def refuses_grant(state: LogState, b: EntryBuilder, keys: Keys, key_text: str, rule: str) -> None:
    sub = b.sign(keys.authority, "key.grant", grant(keys, key_text))
    err = rejects(state, b, sub, rule)
    assert err.field == "statement.body.key"
    assert err.key_id == key_text.split("+")[1]


# -- key.weak ----------------------------------------------------------------------------------

WEAK = [*SMALL_ORDER, NON_CANONICAL[0], NON_CANONICAL[-1], (2).to_bytes(32, "little")]


@pytest.mark.parametrize("public_key", WEAK, ids=lambda k: k.hex()[:6] + "…" + k.hex()[-2:])
def test_grant_of_a_weak_key(keys: Keys, b: EntryBuilder, public_key: bytes) -> None:
    refuses_grant(start(keys, b), b, keys, named("test-weak", public_key), "key.weak")


@pytest.mark.parametrize("public_key", SMALL_ORDER[:2] + NON_CANONICAL[:1])
def test_genesis_with_a_weak_authority_or_log_key(
    keys: Keys, b: EntryBuilder, public_key: bytes
) -> None:
    body = genesis_body(keys)
    body["authorities"].append(named("test-weak", public_key))
    sub = b.sign(keys.authority, "log.genesis", body)
    assert rejects(LogState(), b, sub, "key.weak").field == "statement.body.authorities[2]"
    weak_log = VerifierKey(keys.log.name, compute_key_id(keys.log.name, public_key), public_key)
    body = genesis_body(keys) | {"log_key": str(weak_log)}
    sub = b.sign(keys.authority, "log.genesis", body)
    assert rejects(LogState(), b, sub, "key.weak").field == "statement.body.log_key"


# -- key.log_key -------------------------------------------------------------------------------


def test_grant_of_the_log_key(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    refuses_grant(state, b, keys, alias(keys.log, "test-log-alias"), "key.log_key")
    # under its own name too (its key id is known as well: key.log_key comes first)
    refuses_grant(state, b, keys, str(keys.log.verifier()), "key.log_key")


def test_genesis_with_the_log_key_as_authority_under_another_name(
    keys: Keys, b: EntryBuilder
) -> None:
    body = genesis_body(keys)
    body["authorities"].append(alias(keys.log, "test-log-alias"))
    sub = b.sign(keys.authority, "log.genesis", body)
    assert rejects(LogState(), b, sub, "key.log_key").field == "statement.body.authorities[2]"


# -- key.duplicate_public ----------------------------------------------------------------------


def test_grant_of_a_live_key_under_another_name(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    refuses_grant(state, b, keys, alias(fin, "test-finance-alias"), "key.duplicate_public")
    # an authority's key as an official's
    refuses_grant(state, b, keys, alias(keys.authority2, "test-a2-clerk"), "key.duplicate_public")


def test_genesis_with_one_authority_twice_under_two_names(keys: Keys, b: EntryBuilder) -> None:
    body = genesis_body(keys)
    body["authorities"].append(alias(keys.authority2, "test-authority2-again"))
    sub = b.sign(keys.authority, "log.genesis", body)
    err = rejects(LogState(), b, sub, "key.duplicate_public")
    assert err.field == "statement.body.authorities[2]"
    assert keys.authority2.key_id_hex in err.detail


# -- key.reused --------------------------------------------------------------------------------


def test_grant_of_a_revoked_key_under_another_name(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fin = keys["finance"]
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fin, ["finance_officer"])))
    r = state.size
    b.apply(state, b.sign(keys.authority, "key.revoke", revoke_body(fin)))
    refuses_grant(state, b, keys, alias(fin, "test-finance-new-post"), "key.reused")
    # the same key id again stays key.duplicate (checked before key.reused)
    refuses_grant(state, b, keys, str(fin.verifier()), "key.duplicate")
    # a retired authority's key too
    b.apply(state, b.sign(keys.authority, "key.revoke", revoke_body(keys.authority2)))
    refuses_grant(state, b, keys, alias(keys.authority2, "test-a2-clerk"), "key.reused")
    sub = b.sign(keys.authority, "key.grant", grant(keys, alias(fin, "test-x")))
    assert f"entry {r}" in rejects(state, b, sub, "key.reused").detail


# -- order and journal -------------------------------------------------------------------------


def test_the_body_shape_comes_before_the_key_rules(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    body = {"key": str(keys.authority.verifier()), "roles": ["mayor"], "title": "x"}
    err = rejects(state, b, b.sign(keys.authority, "key.grant", body), "entry.body")
    assert err.field == "statement.body.roles"
    body = {"key": named("test-weak", SMALL_ORDER[0]), "roles": ["approver"], "title": ""}
    err = rejects(state, b, b.sign(keys.authority, "key.grant", body), "entry.body")
    assert err.field == "statement.body.title"


def test_a_fresh_key_is_granted_and_indexed(keys: Keys, b: EntryBuilder) -> None:
    state = start(keys, b)
    fresh = key("fresh")
    b.apply(state, b.sign(keys.authority, "key.grant", grant_body(fresh, ["approver"])))
    reg = state.registry
    assert reg.by_public == {
        rec.key.public_key: kid for kid, rec in reg.keys.items()
    }  # authorities and the grant, one key id each
    assert len(reg.by_public) == 3


def test_a_rolled_back_grant_frees_its_public_key() -> None:
    from verifier.rules.journal import Journal

    keys = make_keys()
    reg = KeyRegistry()
    reg.apply_genesis(genesis_body(keys), 0, keys.authority.key_id_hex)
    j = Journal()
    reg.apply_grant(grant_body(keys["finance"], ["finance_officer"]), 1, j)
    assert keys["finance"].verifier().public_key in reg.by_public
    j.rollback()
    assert keys["finance"].verifier().public_key not in reg.by_public
    # so the same person may be granted under another name after all
    reg.apply_grant(grant(keys, alias(keys["finance"], "test-finance-b")), 1, None)
