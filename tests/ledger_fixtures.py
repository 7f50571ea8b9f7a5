"""Compatibility re-exports: the helpers that lived here are now in cohesive modules —
:mod:`tests.keyring` (keys, clock, signer, registry bodies), :mod:`tests.domain_bodies` (the
domain prelude and statement cycle), :mod:`tests.ledger_env` (a real ledger on a temporary
database, and raw views of what it stored), :mod:`tests.hand_entries` (entries replayed,
tampered or chained by hand) and :mod:`tests.json_walk`.

Import from those modules; this one remains for the test files that still import from here
(``grep -l ledger_fixtures tests``: the append, client and receipt-vector tests) and goes once
they have moved.
"""

from __future__ import annotations

from tests.domain_bodies import (
    CATEGORY,
    COMMUNITY,
    DUAL_CONTROL_FEN,
    POINTS_PER_HOUR,
    PROVIDER,
    STD_ACTIVITY,
    activity_body,
    approve_body,
    award_body,
    community_body,
    contract_body,
    credit_award_body,
    digest,
    domain_cycle,
    fund_body,
    policy_body,
    prelude,
    propose_body,
    provider_body,
    redeem_body,
    resident,
    uscc,
)
from tests.hand_entries import (
    EntryBuilder,
    replay,
    tamper_signature,
)
from tests.json_walk import (
    iter_bodies,
    iter_strings,
)
from tests.keyring import (
    OFFICIAL_ROLES,
    ORIGIN,
    T0,
    Keys,
    Signer,
    StepClock,
    det_uuid,
    genesis_body,
    genesis_body_for,
    grant_body,
    key,
    make_keys,
    revoke_body,
)
from tests.ledger_env import (
    LedgerEnv,
    all_checkpoints,
    checkpoint_root,
    db_snapshot,
    new_ledger,
    registry_view,
    rules_view,
    standard_ledger,
    state_view,
)

__all__ = [
    "CATEGORY",
    "COMMUNITY",
    "DUAL_CONTROL_FEN",
    "OFFICIAL_ROLES",
    "ORIGIN",
    "POINTS_PER_HOUR",
    "PROVIDER",
    "STD_ACTIVITY",
    "T0",
    "EntryBuilder",
    "Keys",
    "LedgerEnv",
    "Signer",
    "StepClock",
    "activity_body",
    "all_checkpoints",
    "approve_body",
    "award_body",
    "checkpoint_root",
    "community_body",
    "contract_body",
    "credit_award_body",
    "db_snapshot",
    "det_uuid",
    "digest",
    "domain_cycle",
    "fund_body",
    "genesis_body",
    "genesis_body_for",
    "grant_body",
    "iter_bodies",
    "iter_strings",
    "key",
    "make_keys",
    "new_ledger",
    "policy_body",
    "prelude",
    "propose_body",
    "provider_body",
    "redeem_body",
    "registry_view",
    "replay",
    "resident",
    "revoke_body",
    "rules_view",
    "standard_ledger",
    "state_view",
    "tamper_signature",
    "uscc",
]
