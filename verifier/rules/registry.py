"""The key registry: which keys may sign, with which roles, from which index (FORMAT.md §7).

Replayed from genesis by both the verifier and the ledger. Pure: no I/O.

Rules (FORMAT.md §7.2):

1. Entry 0 is ``log.genesis``; its body names the origin, the log key and the authority keys.
   Authority keys hold the role ``authority`` from index 0.
2. ``key.grant`` (signed by an authority) adds a key with a non-empty set of roles. It is
   usable by entries with a *greater* index. A key id already known (granted, revoked, or the
   log key) can never be granted again — key ids name signers, so they must stay unique.
3. ``key.revoke`` (signed by an authority) retires a key: it may not sign any entry with a
   greater index. Revocation is final. The revoke entry itself may be signed by the key it
   revokes (an authority retiring itself).
4. A statement's signatures must all be by keys that are granted and not revoked at the
   entry's index; the first (the ``signer``) must hold a role that may sign the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.rules.journal import Journal

#: FORMAT.md §7.1.
ROLES: frozenset[str] = frozenset(
    {"authority", "finance_officer", "approver", "organiser", "service_desk", "auditor"}
)


@dataclass(slots=True)
class KeyRecord:
    """What the registry knows about one key."""

    key: VerifierKey
    roles: frozenset[str]
    granted_at: int
    revoked_at: int | None = None

    def active_at(self, index: int) -> bool:
        """True if the key may sign the entry at ``index``."""
        if index < self.granted_at or (index == self.granted_at and self.granted_at != 0):
            return False
        return self.revoked_at is None or index <= self.revoked_at


@dataclass(slots=True)
class KeyRegistry:
    """Keys by key id (8 hex digits). ``journal`` makes changes undoable (ledger batches)."""

    keys: dict[str, KeyRecord] = field(default_factory=dict)
    log_key: VerifierKey | None = None
    origin: str | None = None

    def lookup(self, key_id: str, index: int, field_name: str = "signatures") -> KeyRecord:
        """Return the record of a key allowed to sign entry ``index``, or raise.

        Rules ``key.unknown`` (never granted) and ``key.revoked`` / ``key.not_yet``.
        """
        rec = self.keys.get(key_id)
        if rec is None:
            raise VerificationError(
                "key.unknown",
                "signed by a key that was never granted; 签名密钥未经授权",
                index=index,
                key_id=key_id,
                field=field_name,
            )
        if rec.revoked_at is not None and index > rec.revoked_at:
            raise VerificationError(
                "key.revoked",
                f"signed by a key revoked at entry {rec.revoked_at}; 签名密钥已于第 {rec.revoked_at} 条吊销",
                index=index,
                key_id=key_id,
                field=field_name,
            )
        if not rec.active_at(index):
            raise VerificationError(
                "key.not_yet",
                f"signed by a key granted only at entry {rec.granted_at}; 密钥尚未生效",
                index=index,
                key_id=key_id,
                field=field_name,
            )
        return rec

    # -- the three key-management kinds (FORMAT.md §7.3) -------------------------------

    def apply_genesis(self, body: dict[str, Any], index: int, signer: str) -> None:
        """Apply the genesis body at ``index`` (must be 0). Not journalled: genesis is
        only ever the first entry of a fresh log."""
        if index != 0:
            raise VerificationError(
                "genesis.position",
                "log.genesis may only be entry 0; 创世条目只能是第 0 条",
                index=index,
            )
        _require_keys(body, {"authorities", "log_key", "origin"}, index)
        origin = body["origin"]
        log_key = _vkey(body["log_key"], index, "statement.body.log_key")
        if type(origin) is not str or log_key.name != origin:
            raise _shape(index, "statement.body.origin", "must equal the log key's name")
        auths = body["authorities"]
        if type(auths) is not list or not auths:
            raise _shape(index, "statement.body.authorities", "must be a non-empty list of keys")
        records: dict[str, KeyRecord] = {}
        for i, text in enumerate(auths):
            k = _vkey(text, index, f"statement.body.authorities[{i}]")
            if k.key_id_hex in records or k.key_id_hex == log_key.key_id_hex:
                raise _shape(index, f"statement.body.authorities[{i}]", "duplicate key id")
            records[k.key_id_hex] = KeyRecord(k, frozenset({"authority"}), 0)
        if signer not in records:
            raise VerificationError(
                "genesis.signer",
                "genesis must be signed by one of its authority keys; 创世条目须由权威密钥签名",
                index=index,
                key_id=signer,
            )
        self.keys.update(records)
        self.log_key = log_key
        self.origin = origin

    def apply_grant(self, body: dict[str, Any], index: int, journal: Journal | None) -> None:
        """Apply a ``key.grant`` body (FORMAT.md §7.3)."""
        _require_keys(body, {"key", "roles", "title"}, index)
        key = _vkey(body["key"], index, "statement.body.key")
        kid = key.key_id_hex
        if kid in self.keys or (self.log_key is not None and kid == self.log_key.key_id_hex):
            raise VerificationError(
                "key.duplicate",
                "this key id is already in the registry and cannot be granted again; 密钥编号已存在",
                index=index,
                key_id=kid,
                field="statement.body.key",
            )
        roles = body["roles"]
        if (
            type(roles) is not list
            or not roles
            or any(type(r) is not str or r not in ROLES for r in roles)
            or len(set(roles)) != len(roles)
            or roles != sorted(roles)
        ):
            raise _shape(
                index,
                "statement.body.roles",
                f"must be a sorted non-empty list of distinct roles from {sorted(ROLES)}",
            )
        title = body["title"]
        if type(title) is not str or not 1 <= len(title) <= 200:
            raise _shape(index, "statement.body.title", "must be a post title of 1–200 characters")
        rec = KeyRecord(key, frozenset(roles), index)
        if journal is None:
            self.keys[kid] = rec
        else:
            journal.set_item(self.keys, kid, rec)

    def apply_revoke(self, body: dict[str, Any], index: int, journal: Journal | None) -> None:
        """Apply a ``key.revoke`` body (FORMAT.md §7.3)."""
        _require_keys(body, {"key_id", "reason"}, index)
        kid = body["key_id"]
        if type(kid) is not str or len(kid) != 8:
            raise _shape(index, "statement.body.key_id", "must be an 8-hex-digit key id")
        rec = self.keys.get(kid)
        if rec is None:
            raise VerificationError(
                "key.unknown",
                "cannot revoke a key that was never granted; 无此密钥",
                index=index,
                key_id=str(kid),
                field="statement.body.key_id",
            )
        if rec.revoked_at is not None:
            raise VerificationError(
                "key.revoked",
                f"key already revoked at entry {rec.revoked_at}; 密钥已吊销",
                index=index,
                key_id=kid,
                field="statement.body.key_id",
            )
        reason = body["reason"]
        if type(reason) is not str or not 1 <= len(reason) <= 500:
            raise _shape(index, "statement.body.reason", "must be a reason of 1–500 characters")
        new = KeyRecord(rec.key, rec.roles, rec.granted_at, index)
        if journal is None:
            self.keys[kid] = new
        else:
            journal.set_item(self.keys, kid, new)


def _shape(index: int, field_name: str, detail: str) -> VerificationError:
    return VerificationError("entry.body", detail, index=index, field=field_name)


def _require_keys(body: dict[str, Any], names: set[str], index: int) -> None:
    if body.keys() != names:
        raise _shape(
            index, "statement.body", f"must have exactly the fields {', '.join(sorted(names))}"
        )


def _vkey(text: Any, index: int, field_name: str) -> VerifierKey:
    if type(text) is not str:
        raise _shape(index, field_name, "must be a verifier key string name+keyid+base64")
    try:
        return parse_verifier_key(text)
    except InputError as exc:
        raise _shape(index, field_name, exc.message) from None
