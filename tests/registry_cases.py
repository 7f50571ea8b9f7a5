"""Helpers of the key-registry and LogState unit tests (:mod:`tests.test_registry_rules`,
:mod:`tests.test_log_state_checks`): a log state started with a genesis, a policy in force, and
the assertion that an entry is rejected by a given rule without changing the state."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.core.errors import VerificationError
from verifier.rules.log_state import LogState

from .domain_bodies import policy_body
from .hand_entries import EntryBuilder
from .keyring import Keys, genesis_body
from .ledger_env import registry_view


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
