"""Deterministic keys, clock and statement signer for the ledger tests, and the bodies of
the registry kinds (``log.genesis``, ``key.grant``, ``key.revoke``).

Keys come from fixed seeds, statement ids from a counter, and :class:`StepClock` advances a
fixed step per read, so two runs write byte-identical logs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core.entry import Submission

ORIGIN = "gongxin.test/ledger"
T0 = datetime(2026, 5, 4, 8, 0, 0, tzinfo=UTC)

#: official key name -> roles granted by :func:`tests.ledger_env.standard_ledger`
OFFICIAL_ROLES: dict[str, list[str]] = {
    "finance": ["finance_officer"],
    "approver": ["approver"],
    "organiser": ["organiser"],
    "desk": ["service_desk"],
    "auditor": ["auditor"],
    "retired": ["finance_officer"],
}


def key(
    name: str,
    *,
    key_name: str | None = None,
    seed: int = 0,
    namespace: str = "gongxin-ledger-tests",
) -> SignerKey:
    """A deterministic Ed25519 key named ``test-<name>`` (or ``key_name``), derived from
    ``namespace``, ``seed`` and ``name``."""
    digest = hashlib.sha256(f"{namespace}/{seed}/{name}".encode()).digest()
    return SignerKey.from_seed(key_name or f"test-{name}", digest)


def det_uuid(label: str) -> str:
    """A version-4 UUID derived from ``label`` (deterministic statement ids)."""
    return str(uuid.UUID(bytes=hashlib.sha256(label.encode()).digest()[:16], version=4))


class StepClock:
    """A clock that advances ``step`` each time the ledger reads it."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=10)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@dataclass
class Keys:
    log: SignerKey
    authority: SignerKey
    authority2: SignerKey
    officials: dict[str, SignerKey]
    stranger: SignerKey  # never granted

    def __getitem__(self, name: str) -> SignerKey:
        return self.officials[name]


def make_keys(seed: int = 0, origin: str = ORIGIN) -> Keys:
    return Keys(
        log=key("log", key_name=origin, seed=seed),
        authority=key("authority", seed=seed),
        authority2=key("authority2", seed=seed),
        officials={name: key(name, seed=seed) for name in OFFICIAL_ROLES},
        stranger=key("stranger", seed=seed),
    )


@dataclass
class Signer:
    """Signs statements with deterministic ids (``<prefix>/<counter>``, counting up), ``lead``
    before the clock's current time."""

    clock: StepClock
    prefix: str = "s"
    #: the number in the next statement id
    counter: int = 1
    lead: timedelta = timedelta(seconds=1)
    #: The log the statements are signed for (FORMAT.md §3.2; ``None``: a format-1 log).
    origin: str | None = ORIGIN

    def next_id(self) -> str:
        n, self.counter = self.counter, self.counter + 1
        return det_uuid(f"{self.prefix}/{n}")

    def __call__(
        self,
        signer: SignerKey,
        kind: str,
        body: dict[str, Any],
        *,
        statement_id: str | None = None,
        time: datetime | None = None,
        cosigners: Sequence[SignerKey] = (),
    ) -> Submission:
        return sign_statement(
            kind,
            body,
            signer,
            origin=self.origin,
            statement_id=statement_id or self.next_id(),
            time=time if time is not None else self.clock.now - self.lead,
            cosigners=cosigners,
        )


def genesis_body(keys: Keys, origin: str = ORIGIN, *, log_format: int = 2) -> dict[str, Any]:
    return genesis_body_for(keys.log, [keys.authority, keys.authority2], origin, log_format)


def genesis_body_for(
    log_key: SignerKey, authorities: Sequence[SignerKey], origin: str, log_format: int = 2
) -> dict[str, Any]:
    """The body of a ``log.genesis`` naming ``log_key`` and ``authorities``, of a format-2 log
    (``log_format=1``: without ``format``, an old format-1 log)."""
    body: dict[str, Any] = {
        "authorities": [str(a.verifier()) for a in authorities],
        "format": log_format,
        "log_key": str(log_key.verifier()),
        "origin": origin,
    }
    if log_format == 1:
        del body["format"]
    return body


def grant_body(k: SignerKey, roles: list[str], title: str = "测试岗位") -> dict[str, Any]:
    return {"key": str(k.verifier()), "roles": roles, "title": title}


def revoke_body(k: SignerKey, reason: str = "调岗") -> dict[str, Any]:
    return {"key_id": k.key_id_hex, "reason": reason}
