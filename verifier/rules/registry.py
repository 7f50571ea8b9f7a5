"""The key registry: which keys may sign, with which roles, from which index (FORMAT.md §7).

Replayed from genesis by both the verifier and the ledger. Pure: no I/O.

Rules (FORMAT.md §7.2):

1. Entry 0 is ``log.genesis``; its body names the origin, the log key and the authority keys.
   Authority keys hold the role ``authority`` from index 0. They are strong keys, distinct
   public keys, none the log key's.
2. ``key.grant`` (signed by an authority) adds a key with a non-empty set of roles. It is
   usable by entries with a *greater* index. After the body's shape, in this order: the key
   is strong (``key.weak``), is not the log key's public key (``key.log_key``), its key id is
   not already known (``key.duplicate``; key ids name signers), its public key was never
   revoked (``key.reused``) and backs no live key id (``key.duplicate_public``). So a public
   key backs at most one key id for the life of the log: one private key cannot act as two
   people (dual control, FORMAT.md §10.3, compares key ids).
3. ``key.revoke`` (signed by an authority) retires a key: it may not sign any entry with a
   greater index. Revocation is final. The revoke entry itself may be signed by the key it
   revokes (an authority retiring itself).
4. A statement's signatures must all be by keys that are granted and not revoked at the
   entry's index; the first (the ``signer``) must hold a role that may sign the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nacl.bindings

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.rules.journal import Journal, put
from verifier.rules.kinds import genesis_format

#: FORMAT.md §7.1.
ROLES: frozenset[str] = frozenset(
    {"authority", "finance_officer", "approver", "organiser", "service_desk", "auditor"}
)

#: 2^255 − 19, the prime of Ed25519's field (RFC 8032 §5.1).
ED25519_P = 2**255 - 19


def is_canonical_point_encoding(public_key: bytes) -> bool:
    """Whether the y-coordinate of the 32-byte encoding (little-endian, top bit = sign of x
    cleared) is below p, as RFC 8032 §5.1.3 step 1 requires. Cost: O(32)."""
    return int.from_bytes(public_key, "little") & ((1 << 255) - 1) < ED25519_P


def is_strong_public_key(public_key: bytes) -> bool:
    """Whether a 32-byte Ed25519 public key is acceptable in the registry (FORMAT.md §7.2,
    ``key.weak``): canonically encoded, and a point of the prime-order subgroup other than
    the identity — libsodium's ``crypto_core_ed25519_is_valid_point``, which refuses the
    eight small-order points, points with a small-order component and non-points. Every key
    made by Ed25519 key generation is strong. Precondition: ``len(public_key) == 32``. Cost:
    one point decoding and one scalar multiplication (~60 µs)."""
    return is_canonical_point_encoding(public_key) and bool(
        nacl.bindings.crypto_core_ed25519_is_valid_point(public_key)
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
    #: public key → the key id it backs (at most one, granted or revoked; FORMAT.md §7.2)
    by_public: dict[bytes, str] = field(default_factory=dict)

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
        _require_keys(
            body, {"authorities", "log_key", "origin"} | (body.keys() & {"format"}), index
        )
        genesis_format(body, index)
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
        by_public = _genesis_key_rules(log_key, records, index)
        if signer not in records:
            raise VerificationError(
                "genesis.signer",
                "genesis must be signed by one of its authority keys; 创世条目须由权威密钥签名",
                index=index,
                key_id=signer,
            )
        self.keys.update(records)
        self.by_public.update(by_public)
        self.log_key = log_key
        self.origin = origin

    def apply_grant(self, body: dict[str, Any], index: int, journal: Journal | None) -> None:
        """Apply a ``key.grant`` body (FORMAT.md §7.3): its shape (``entry.body``), then the
        checks of :meth:`check_new_key`. Cost: O(roles) plus one point check (~60 µs)."""
        _require_keys(body, {"key", "roles", "title"}, index)
        key = _vkey(body["key"], index, "statement.body.key")
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
        self.check_new_key(key, index)
        put(journal, self.keys, key.key_id_hex, KeyRecord(key, frozenset(roles), index))
        put(journal, self.by_public, key.public_key, key.key_id_hex)

    def check_new_key(self, key: VerifierKey, index: int) -> None:
        """Raise unless ``key`` may be granted at ``index`` (FORMAT.md §7.2 rule 2), checking
        in this order: ``key.weak``, ``key.log_key``, ``key.duplicate`` (its key id is known),
        ``key.reused`` (its public key was revoked, under any key id) and
        ``key.duplicate_public`` (its public key backs a live key id). Cost: O(1) dictionary
        look-ups plus one point check."""
        field_name = "statement.body.key"
        kid = key.key_id_hex
        _require_strong(key, index, field_name)
        if self.log_key is not None and key.public_key == self.log_key.public_key:
            raise _log_key_error(key, index, field_name)
        if kid in self.keys or (self.log_key is not None and kid == self.log_key.key_id_hex):
            raise VerificationError(
                "key.duplicate",
                "this key id is already in the registry and cannot be granted again; 密钥编号已存在",
                index=index,
                key_id=kid,
                field=field_name,
            )
        other = self.by_public.get(key.public_key)
        if other is None:
            return
        rec = self.keys[other]
        if rec.revoked_at is not None:
            raise VerificationError(
                "key.reused",
                f"this public key was revoked as key {other} at entry {rec.revoked_at}; a revoked "
                f"key is never granted again under any name; 该公钥已作为密钥 {other} 于第 "
                f"{rec.revoked_at} 条吊销，不得以任何名义重新授权",
                index=index,
                key_id=kid,
                field=field_name,
            )
        raise _duplicate_public_error(key, other, index, field_name)

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
        put(journal, self.keys, kid, KeyRecord(rec.key, rec.roles, rec.granted_at, index))


def _genesis_key_rules(
    log_key: VerifierKey, records: dict[str, KeyRecord], index: int
) -> dict[bytes, str]:
    """FORMAT.md §7.2 rule 1 on a genesis of valid shape: the log key is strong, then each
    authority in list order is strong, not the log key's public key and not an earlier
    authority's. Returns the authorities' key ids by public key. Cost: one point check per
    key (~60 µs each)."""
    _require_strong(log_key, index, "statement.body.log_key")
    by_public: dict[bytes, str] = {}
    for i, rec in enumerate(records.values()):
        k, name = rec.key, f"statement.body.authorities[{i}]"
        _require_strong(k, index, name)
        if k.public_key == log_key.public_key:
            raise _log_key_error(k, index, name)
        if k.public_key in by_public:
            raise _duplicate_public_error(k, by_public[k.public_key], index, name)
        by_public[k.public_key] = k.key_id_hex
    return by_public


def _require_strong(key: VerifierKey, index: int, field_name: str) -> None:
    if not is_strong_public_key(key.public_key):
        raise VerificationError(
            "key.weak",
            "not a usable Ed25519 public key (small order, not in the prime-order subgroup or "
            "not canonically encoded); 公钥无效（小阶点、非素数阶子群或非规范编码）",
            index=index,
            key_id=key.key_id_hex,
            field=field_name,
        )


def _log_key_error(key: VerifierKey, index: int, field_name: str) -> VerificationError:
    return VerificationError(
        "key.log_key",
        "this is the log key's public key, which signs checkpoints only and holds no role; "
        "日志密钥只签署检查点，不得授予角色",
        index=index,
        key_id=key.key_id_hex,
        field=field_name,
    )


def _duplicate_public_error(
    key: VerifierKey, other: str, index: int, field_name: str
) -> VerificationError:
    return VerificationError(
        "key.duplicate_public",
        f"this public key already backs key {other}; one private key cannot act as two "
        f"people; 该公钥已用于密钥 {other}，一把私钥不得充当两人",
        index=index,
        key_id=key.key_id_hex,
        field=field_name,
    )


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
