"""Statements, submissions and log entries: their shapes and bytes (FORMAT.md §3, §4).

Stateless: each value is checked in isolation (rule ``entry.shape``, or ``entry.canonical``
for a line that is not canonical JSON). What depends on the log so far (index, previous hash,
keys, roles, rulebook) is :mod:`verifier.rules.log_state`. Cost: each ``parse_*`` is O(size
of the input) and allocates a few small objects.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verifier.core.canonical import CanonicalError, canonical_bytes, parse_canonical
from verifier.core.errors import VerificationError
from verifier.core.keys import b64decode_canonical

#: FORMAT.md §3.2: the signed message's prefix in format 2 (then origin, "\n") and format 1.
STATEMENT_CONTEXT, STATEMENT_CONTEXT_V1 = b"gongxin/statement/v2\n", b"gongxin/statement/v1\n"
#: FORMAT.md §4: ``prev`` of entry 0.
ZERO_HASH_HEX = "0" * 64

STATEMENT_FIELDS = frozenset({"body", "id", "kind", "signer", "time"})
SUBMISSION_FIELDS = frozenset({"signatures", "statement"})
ENTRY_FIELDS = frozenset({"index", "log_time", "prev", "signatures", "statement"})
SIGNATURE_FIELDS = frozenset({"key_id", "sig"})
MAX_SIGNATURES = 8

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_KIND = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+\Z")
_KEY_ID = re.compile(r"[0-9a-f]{8}\Z")
_HASH_HEX = re.compile(r"[0-9a-f]{64}\Z")
#: FORMAT.md §3.1: RFC 3339, UTC, upper-case ``T`` and ``Z``, 0–6 fractional digits.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z\Z", re.ASCII)
#: FORMAT.md §4: exactly six fractional digits, so that byte order is time order.
_LOG_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z", re.ASCII)


@dataclass(frozen=True, slots=True)
class Signature:
    """One statement signature: ``key_id`` (8 hex digits, FORMAT.md §1) and 64 raw bytes."""

    key_id: str
    sig: bytes

    def to_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "sig": base64.b64encode(self.sig).decode("ascii")}


@dataclass(frozen=True, slots=True)
class Statement:
    """What an official signs (FORMAT.md §3). ``raw`` is the JSON object itself."""

    kind: str
    id: str
    time: str
    signer: str
    body: dict[str, Any]
    raw: dict[str, Any]
    #: The canonical bytes of ``raw`` when they were sliced from canonical input already.
    encoded: bytes | None = None

    def canonical(self) -> bytes:
        """``JCS(statement)``: taken from the input when available, else encoded."""
        return self.encoded if self.encoded is not None else canonical_bytes(self.raw)

    def message(self, origin: str | None) -> bytes:
        """The exact bytes every signature covers (FORMAT.md §3.2): format 2 names the log's
        ``origin``; ``None`` gives format 1's message (for format-1 logs only)."""
        if origin is None:
            return STATEMENT_CONTEXT_V1 + self.canonical()
        return STATEMENT_CONTEXT + origin.encode() + b"\n" + self.canonical()


@dataclass(frozen=True, slots=True)
class Submission:
    """A signed statement as a client submits it (FORMAT.md §3.3); ``encoded`` holds the
    canonical bytes when it was parsed from them."""

    statement: Statement
    signatures: tuple[Signature, ...]
    encoded: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "signatures": [s.to_json() for s in self.signatures],
            "statement": self.statement.raw,
        }

    def canonical(self) -> bytes:
        return self.encoded if self.encoded is not None else canonical_bytes(self.to_json())


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry (FORMAT.md §4): the submission plus what the log adds."""

    index: int
    log_time: str
    prev: str
    statement: Statement
    signatures: tuple[Signature, ...]


def _shape(detail: str, field: str) -> VerificationError:
    return VerificationError("entry.shape", detail, field=field)


def _require_fields(obj: Any, fields: frozenset[str], path: str) -> dict[str, Any]:
    """``obj`` if it is an object with exactly the members ``fields``."""
    if type(obj) is not dict:
        raise _shape("must be a JSON object; 须为 JSON 对象", path)
    keys = obj.keys()
    if keys != fields:
        missing = sorted(fields - keys)
        extra = sorted(keys - fields)
        named = (("missing", missing), ("unexpected", extra))
        parts = [f"{what} {', '.join(names)}" for what, names in named if names]
        raise _shape(f"{'; '.join(parts)}; 字段不符", path)
    return obj


def _bad(what: str, path: str, suffix: str) -> VerificationError:
    return _shape(f"must be {what}; 格式错误", f"{path}{suffix}")


def _require_str(value: Any, pat: re.Pattern[str], what: str, path: str, suffix: str = "") -> str:
    """``value`` if it is a string matching ``pat``; the field path is built on failure only."""
    if type(value) is not str or not pat.match(value):
        raise _bad(what, path, suffix)
    return value


_TIME_WHAT = "RFC 3339 UTC time such as 2026-11-22T08:30:00Z"
_LOG_TIME_WHAT = "RFC 3339 UTC time YYYY-MM-DDTHH:MM:SS.ffffffZ"


def _require_time(value: Any, pat: re.Pattern[str], what: str, path: str, suffix: str = "") -> str:
    """An RFC 3339 UTC time matching ``pat`` that is a real date (FORMAT.md §3.1, §4)."""
    _require_str(value, pat, what, path, suffix)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _shape(f"not a real date and time: {value}; 日期无效", path + suffix) from None
    return str(value)


def parse_statement(obj: Any, path: str = "statement", encoded: bytes | None = None) -> Statement:
    """Check the shape of a statement object (FORMAT.md §3.1). O(1) besides the body.

    ``encoded``, when given, must be the canonical bytes of ``obj``. Field paths for error
    messages are built only when a check fails (hot path).
    """
    d = _require_fields(obj, STATEMENT_FIELDS, path)
    kind, sid, time, signer, body = d["kind"], d["id"], d["time"], d["signer"], d["body"]
    _require_str(kind, _KIND, "a dotted lower-case kind such as key.grant", path, ".kind")
    _require_str(sid, _UUID, "a lower-case UUID", path, ".id")
    _require_time(time, _TIME, _TIME_WHAT, path, ".time")
    _require_str(signer, _KEY_ID, "an 8-hex-digit key id", path, ".signer")
    if type(body) is not dict:
        raise _shape("must be a JSON object; 须为 JSON 对象", f"{path}.body")
    return Statement(kind, sid, time, signer, body, d, encoded)


def parse_signatures(value: Any, signer: str, path: str = "signatures") -> tuple[Signature, ...]:
    """Check the signature list (FORMAT.md §3.3): 1..8 entries, distinct key ids, the first
    by the statement's ``signer``, each ``sig`` the standard base64 of 64 bytes."""
    if type(value) is not list or not 1 <= len(value) <= MAX_SIGNATURES:
        raise _shape(f"must be a list of 1 to {MAX_SIGNATURES} signatures", path)
    out: list[Signature] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if type(item) is not dict or item.keys() != SIGNATURE_FIELDS:
            _require_fields(item, SIGNATURE_FIELDS, f"{path}[{i}]")
        kid, sig = item["key_id"], item["sig"]
        if type(kid) is not str or not _KEY_ID.match(kid):
            raise _bad("an 8-hex-digit key id", path, f"[{i}].key_id")
        if kid in seen:
            raise _shape("two signatures by one key; 重复签名", f"{path}[{i}].key_id")
        seen.add(kid)
        raw = b64decode_canonical(sig) if type(sig) is str and len(sig) == 88 else None
        if raw is None or len(raw) != 64:
            raise _bad("standard base64 of a 64-byte Ed25519 signature", path, f"[{i}].sig")
        out.append(Signature(kid, raw))
    if out[0].key_id != signer:
        raise _shape(
            f"first signature is by {out[0].key_id}, but statement.signer is {signer}; 签名人不符",
            f"{path}[0].key_id",
        )
    return tuple(out)


def parse_submission(data: bytes) -> Submission:
    """Parse a client submission, canonical JSON (FORMAT.md §3.3). Raises
    :class:`~verifier.core.canonical.CanonicalError` or ``entry.shape`` naming the field.
    Signatures are *not* verified here (that needs the key registry). O(len(data))."""
    obj = parse_canonical(data, "submission")
    return submission_from_json(obj, data)


def _statement_slice(canonical: bytes) -> bytes | None:
    """The statement's canonical bytes inside a canonical submission or entry line, or None.

    ``"statement"`` is the last member, right after ``"signatures"``, whose well-formed list
    holds no ``]``: so the first ``],"statement":{`` is the boundary (a canonical value's
    encoding is a substring of its container's); a malformed list fails the shape check. O(len).
    """
    start = canonical.find(b'],"statement":{')
    return canonical[start + 14 : -1] if start >= 0 else None


def submission_from_json(obj: Any, encoded: bytes | None = None) -> Submission:
    """Shape-check an already parsed submission object (see :func:`parse_submission`).
    ``encoded``, when given, must be the canonical bytes ``obj`` was parsed from."""
    d = _require_fields(obj, SUBMISSION_FIELDS, "submission")
    st = parse_statement(
        d["statement"], "statement", None if encoded is None else _statement_slice(encoded)
    )
    return Submission(st, parse_signatures(d["signatures"], st.signer), encoded)


def parse_entry_line(line: bytes, expected_index: int | None = None) -> Entry:
    """Parse one line of ``entries.jsonl`` (without its newline), FORMAT.md §4: canonical
    form and shape only. ``expected_index`` attributes errors to an index even when the line
    is too broken to carry its own. O(len(line))."""
    try:
        obj = parse_canonical(line, "line")
        d = _require_fields(obj, ENTRY_FIELDS, "entry")
        index = d["index"]
        if type(index) is not int or index < 0:
            raise _shape("must be a non-negative integer", "index")
        log_time = _require_time(d["log_time"], _LOG_TIME, _LOG_TIME_WHAT, "log_time")
        prev = _require_str(d["prev"], _HASH_HEX, "64 lower-case hex digits", "prev")
        st = parse_statement(d["statement"], "statement", _statement_slice(line))
        sigs = parse_signatures(d["signatures"], st.signer)
    except CanonicalError as exc:
        raise VerificationError(
            "entry.canonical", exc.message, field=exc.field, index=expected_index
        ) from None
    except VerificationError as exc:
        if exc.index is None and expected_index is not None:
            raise exc.with_index(expected_index) from None
        raise
    return Entry(index, log_time, prev, st, sigs)
