"""A real ledger on a temporary SQLite file (or an empty PostgreSQL database) with the
deterministic keys, clock and signer of :mod:`tests.keyring`, and raw read-only views of what
it stored (checkpoints, every table, the in-memory state) for comparisons.
"""

from __future__ import annotations

import copy
import itertools
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from tests.domain_bodies import domain_cycle, fund_body, prelude
from tests.keyring import (
    OFFICIAL_ROLES,
    Keys,
    Signer,
    StepClock,
    genesis_body,
    grant_body,
    make_keys,
    revoke_body,
)
from verifier.cli.parallel import SignaturePool
from verifier.core.checkpoint import open_checkpoint
from verifier.rules import DomainRules
from verifier.rules.log_state import LogState


@dataclass
class LedgerEnv:
    """An open ledger on a temporary SQLite file, with its keys, clock and signer."""

    path: Path
    url: str
    keys: Keys
    clock: StepClock
    sign: Signer
    ledger: Ledger
    receipts: list[Any] = field(default_factory=list)

    def reopen(self, **kwargs: Any) -> Ledger:
        kwargs.setdefault("log_key", self.keys.log)
        kwargs.setdefault("clock", self.clock)
        kwargs.setdefault("pool", SignaturePool(1))
        return Ledger.open(self.url, **kwargs)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return db_snapshot(self.path)


def new_ledger(
    tmp_path: Path, *, seed: int = 0, name: str = "ledger.db", url: str | None = None
) -> LedgerEnv:
    """An initialised ledger (genesis only), on a SQLite file in ``tmp_path`` unless another
    database ``url`` (an empty PostgreSQL database) is given."""
    keys = make_keys(seed)
    clock = StepClock()
    path = tmp_path / name
    url = url or f"sqlite:///{path}"
    ledger = Ledger.open(url, log_key=keys.log, clock=clock, pool=SignaturePool(1))
    sign = Signer(clock, prefix=f"seed{seed}")
    env = LedgerEnv(path, url, keys, clock, sign, ledger)
    env.receipts.append(
        ledger.initialize(sign(keys.authority, "log.genesis", genesis_body(keys)).canonical())
    )
    return env


def standard_ledger(tmp_path: Path, *, seed: int = 0, url: str | None = None) -> LedgerEnv:
    """Genesis; a batch granting every official followed by the domain :func:`prelude`; a
    fund.appropriate by ``retired`` and its revocation; then 13 statements of the
    :func:`domain_cycle` (credit awards co-signed by the auditor) in batches of irregular
    sizes (so there are many checkpoints): 25 entries. Its activity :data:`STD_ACTIVITY` is
    open for :func:`award_body` on the clock's day."""
    env = new_ledger(tmp_path, seed=seed, url=url)
    k, sign, ledger = env.keys, env.sign, env.ledger
    batch = [
        sign(k.authority, "key.grant", grant_body(k[name], roles))
        for name, roles in OFFICIAL_ROLES.items()
    ]
    batch += prelude(sign, k.authority, k["finance"])
    env.receipts += ledger.append_batch([s.canonical() for s in batch])
    env.receipts.append(
        ledger.append(sign(k["retired"], "fund.appropriate", fund_body(0)).canonical())
    )
    env.receipts.append(
        ledger.append(sign(k.authority2, "key.revoke", revoke_body(k["retired"])).canonical())
    )
    cycle = domain_cycle(13, env.clock.now.date().isoformat())
    for size in (1, 3, 2, 4, 1, 2):
        batch = []
        for who, kind, body in itertools.islice(cycle, size):
            cosigners = [k["auditor"]] if kind == "credit.award" else []
            batch.append(sign(k[who], kind, body, cosigners=cosigners))
        env.receipts += ledger.append_batch([s.canonical() for s in batch])
    return env


def all_checkpoints(path: Path) -> dict[int, str]:
    """Every checkpoint the ledger at ``path`` stored, by tree size (raw read-only sqlite3)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT size, note FROM checkpoints ORDER BY size"))
    finally:
        conn.close()


def db_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the schema), read with a separate raw connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {
            "sqlite_master": conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).fetchall()
        }
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for t in tables:
            rows = conn.execute(f'SELECT * FROM "{t}"').fetchall()
            out[t] = sorted(rows, key=lambda r: tuple(repr(v) for v in r))
        return out
    finally:
        conn.close()


def registry_view(state: LogState) -> dict[str, tuple[Any, ...]]:
    """A comparable summary of the key registry."""
    return {
        kid: (str(rec.key), tuple(sorted(rec.roles)), rec.granted_at, rec.revoked_at)
        for kid, rec in state.registry.keys.items()
    }


def rules_view(state: LogState) -> tuple[Any, ...]:
    """A comparable copy of the rulebook's state (policy, funds side, credits side)."""
    rules = state.rulebook
    assert isinstance(rules, DomainRules)
    return (rules.policy, copy.deepcopy(rules.funds), copy.deepcopy(rules.credits))


def state_view(ledger: Ledger) -> dict[str, Any]:
    """A comparable summary of a ledger's in-memory state."""
    s = ledger.state
    return {
        "size": s.size,
        "prev": s.prev,
        "log_time": s.log_time,
        "registry": registry_view(s),
        "recent_ids": dict(s.recent_ids),
        "rules": rules_view(s),
        "tree": (ledger.tree.size, list(ledger.tree.peaks)),
        "checkpoint": ledger.checkpoint_note,
    }


def checkpoint_root(note: str, keys: Keys) -> tuple[int, bytes]:
    cp = open_checkpoint(note, keys.log.verifier())
    return cp.size, cp.root
