"""Rule-state snapshots: the replayed :class:`LogState` as canonical, versioned bytes
(FORMAT.md §12.1).

:func:`encode_state` writes everything :meth:`LogState.check_and_apply` needs to judge the
next entry — position, format, replay window, key registry, policy, funds and credits — as
one JSON object with sorted members (orjson, ``OPT_SORT_KEYS``), so that equal states give
equal bytes; :func:`decode_state` checks every value and rebuilds the state, or raises
:class:`SnapshotError`. The ledger stores snapshots to open fast (FORMAT.md §12.2) and
``gongxin-verify --state`` keeps one between runs (§12.3). A snapshot is a cache: its user
checks size and root against the tree before trusting it.

Replaying from a decoded state gives the same verdicts, errors and postings as replaying
from entry 0 (``tests/test_snapshot_codec.py``). Pure: no I/O. Cost: O(size of the state)
both ways (about a second for the 1M-entry demo's state).
"""

from __future__ import annotations

import gc
import hashlib
import heapq
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson

from verifier.core.errors import InputError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.rules.log_state import LogState
from verifier.rules.postings import Posting
from verifier.rules.registry import ROLES, KeyRecord, KeyRegistry
from verifier.rules.rulebook import DomainRules
from verifier.rules.snapshot_check import (
    Json,
    SnapshotError,
    array,
    hash_hex,
    integer,
    log_time,
    obj,
    optional_integer,
    optional_text,
    str_list,
    text,
)
from verifier.rules.snapshot_credits import credits_from_json, credits_to_json
from verifier.rules.snapshot_domain import (
    funds_from_json,
    funds_to_json,
    policy_from_json,
    policy_to_json,
)

#: The encoding's version, the first member a decoder reads (FORMAT.md §12.1).
SNAPSHOT_VERSION: int = 1
#: The members of a version-1 snapshot.
FIELDS = frozenset(
    {
        "snapshot_version",
        "size",
        "prev",
        "log_time",
        "format",
        "message_origin",
        "recent_ids",
        "registry",
        "policy",
        "funds",
        "credits",
    }
)
REGISTRY_FIELDS = frozenset({"origin", "log_key", "keys"})

__all__ = ["SNAPSHOT_VERSION", "SnapshotError", "decode_state", "encode_state", "snapshot_digest"]


def encode_state(state: LogState) -> bytes:
    """The canonical snapshot of ``state`` (FORMAT.md §12.1). Precondition: no journalled
    change is pending (the state is at a committed size) and its rulebook is a
    :class:`DomainRules` (else :class:`SnapshotError`). Cost: O(size of the state)."""
    with _no_gc():
        return _encode(state)


def _encode(state: LogState) -> bytes:
    rules = state.rulebook
    if not isinstance(rules, DomainRules):
        raise SnapshotError(f"cannot encode a rulebook of type {type(rules).__name__}")
    doc = {
        "snapshot_version": SNAPSHOT_VERSION,
        "size": state.size,
        "prev": state.prev,
        "log_time": state.log_time,
        "format": state.format,
        "message_origin": state.message_origin,
        "recent_ids": {i: _time_text(t) for i, t in state.recent_ids.items()},
        "registry": _registry_to_json(state.registry),
        "policy": policy_to_json(rules.policy),
        "funds": funds_to_json(rules.funds),
        "credits": credits_to_json(rules.credits),
    }
    try:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
        raise SnapshotError(f"cannot encode: {exc}") from None


def decode_state(data: bytes, *, observer: Callable[[Posting], None] | None = None) -> LogState:
    """The state ``data`` encodes, with a fresh :class:`DomainRules` given ``observer``.

    Total: any bytes give a :class:`LogState` or :class:`SnapshotError` naming the first
    problem found (not JSON, another version, a member missing or of the wrong type, a
    reference to a missing fund, contract or key, …). It does not check the state against a
    log — that is its caller's job (size and root, FORMAT.md §12.2, §12.3). Cost: O(len(data)).
    """
    with _no_gc():
        return _decode(data, observer)


def _decode(data: bytes, observer: Callable[[Posting], None] | None) -> LogState:
    try:
        doc = orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise SnapshotError(f"not JSON ({exc})") from None
    version = obj(doc, "the snapshot").get("snapshot_version")
    if version != SNAPSHOT_VERSION or type(version) is not int:
        raise SnapshotError(
            f"unsupported snapshot_version {version!r} (this reads {SNAPSHOT_VERSION})"
        )
    obj(doc, "the snapshot", FIELDS)
    rules = DomainRules(observer)
    rules.policy = policy_from_json(doc["policy"])
    # filled in place: DomainRules binds its handlers to the books it made
    funds_from_json(doc["funds"], rules.funds)
    credits_from_json(doc["credits"], rules.credits)
    state = LogState(rulebook=rules)
    state.size = integer(doc["size"], "size")
    state.prev = hash_hex(doc["prev"], "prev")
    state.log_time = log_time(doc["log_time"], "log_time")
    state.format = integer(doc["format"], "format")
    state.message_origin = optional_text(doc["message_origin"], "message_origin")
    state.registry = _registry_from_json(doc["registry"])
    _check_position(state)
    state.recent_ids = _recent_ids(doc["recent_ids"])
    state._expiry = [(t, i) for i, t in state.recent_ids.items()]
    heapq.heapify(state._expiry)
    return state


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: building millions of containers would trigger
    full collections over the whole heap (they halve the speed at a million entries), and
    a snapshot's objects form no garbage cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def snapshot_digest(data: bytes) -> bytes:
    """SHA-256 of the encoded bytes (FORMAT.md §12.1): 32 bytes. Cost: O(len(data))."""
    return hashlib.sha256(data).digest()


# -- position and replay window -----------------------------------------------------------------


def _check_position(state: LogState) -> None:
    """The scalar members agree with each other (an empty log has no format, origin or
    registry; a format-2 log's signed origin is its registry's)."""
    if state.format not in (0, 1, 2) or (state.format == 0) != (state.size == 0):
        raise SnapshotError("format must be 0 for an empty log, else 1 or 2")
    want = state.registry.origin if state.format == 2 else None
    if state.message_origin != want:
        raise SnapshotError("message_origin must be the registry's origin in format 2, else null")
    if (state.size == 0) != (state.registry.log_key is None):
        raise SnapshotError("registry.log_key must be null exactly when the log is empty")


def _time_text(t: datetime) -> str:
    """A statement time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always UTC in a valid log)."""
    if t.utcoffset() != UTC.utcoffset(None):
        raise SnapshotError(f"statement time {t} is not UTC")
    # isoformat, not strftime: "%Y" drops the zeros of years before 1000 on some platforms
    return t.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _recent_ids(value: Json) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for sid, t in obj(value, "recent_ids").items():
        if not log_time(t, f"recent_ids[{sid}]"):
            raise SnapshotError(f"recent_ids[{sid}] must be a time")
        try:
            out[sid] = datetime.fromisoformat(t)
        except ValueError:
            raise SnapshotError(f"recent_ids[{sid}] is not a real date and time") from None
    return out


# -- key registry -------------------------------------------------------------------------------


def _registry_to_json(reg: KeyRegistry) -> Json:
    return {
        "origin": reg.origin,
        "log_key": None if reg.log_key is None else str(reg.log_key),
        "keys": {
            kid: [str(r.key), sorted(r.roles), r.granted_at, r.revoked_at]
            for kid, r in reg.keys.items()
        },
    }


def _vkey(value: Json, what: str) -> VerifierKey:
    try:
        return parse_verifier_key(text(value, what))
    except InputError as exc:
        raise SnapshotError(f"{what}: {exc.message}") from None


def _registry_from_json(value: Json) -> KeyRegistry:
    d = obj(value, "registry", REGISTRY_FIELDS)
    reg = KeyRegistry(origin=optional_text(d["origin"], "registry.origin"))
    reg.log_key = None if d["log_key"] is None else _vkey(d["log_key"], "registry.log_key")
    if (reg.log_key is None) != (reg.origin is None) or (
        reg.log_key is not None and reg.log_key.name != reg.origin
    ):
        raise SnapshotError("registry.origin must be the log key's name")
    for kid, v in obj(d["keys"], "registry.keys").items():
        what = f"registry.keys[{kid}]"
        vkey, roles, granted_at, revoked_at = array(v, what, 4)
        key = _vkey(vkey, what)
        role_list = str_list(roles, what)
        if key.key_id_hex != kid or not role_list or not set(role_list) <= ROLES:
            raise SnapshotError(f"{what}: key id or roles do not fit")
        rec = KeyRecord(
            key, frozenset(role_list), integer(granted_at, what), optional_integer(revoked_at, what)
        )
        if key.public_key in reg.by_public:
            raise SnapshotError(f"{what}: its public key backs another key id")
        reg.keys[kid] = rec
        reg.by_public[key.public_key] = kid
    return reg
