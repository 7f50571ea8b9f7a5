"""Statements, submissions and log entries: their shapes and bytes (FORMAT.md §3, §4).

Everything here is stateless: it checks one value in isolation. Checks that depend on the
log so far (index, previous hash, keys, roles, business rules) live in :mod:`verifier.state`.

Cost: each ``parse_*`` is O(size of the input) and allocates a few small objects.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verifier.core.canonical import CanonicalError, canonical_bytes, canonicalize, parse_canonical
from verifier.core.errors import VerificationError

#: FORMAT.md §3.2: the signed message is this prefix followed by the canonical statement.
STATEMENT_CONTEXT = b"gongxin/statement/v1\n"
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
#: FORMAT.md §4: the log time always has exactly six fractional digits, so that the
#: byte order of two log times is their time order.
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

    def message(self) -> bytes:
        """The exact bytes every signature covers (FORMAT.md §3.2)."""
        return STATEMENT_CONTEXT + self.canonical()


@dataclass(frozen=True, slots=True)
class Submission:
    """A signed statement as a client submits it (FORMAT.md §3.3).

    ``encoded`` holds the canonical bytes when the submission was parsed from them."""

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


def _fail(rule: str, detail: str, field: str, index: int | None = None) -> VerificationError:
    return VerificationError(rule, detail, field=field, index=index)


def _require_fields(obj: Any, fields: frozenset[str], path: str) -> dict[str, Any]:
    if type(obj) is not dict:
        raise _fail("entry.shape", "must be a JSON object; 须为 JSON 对象", path)
    keys = obj.keys()
    if keys != fields:
        missing = sorted(fields - keys)
        extra = sorted(keys - fields)
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise _fail("entry.shape", f"{'; '.join(parts)}; 字段不符", path)
    return obj


def _bad(what: str, path: str, suffix: str) -> VerificationError:
    return _fail("entry.shape", f"must be {what}; 格式错误", f"{path}{suffix}")


def _require_str(value: Any, pattern: re.Pattern[str], what: str, path: str) -> str:
    if type(value) is not str or not pattern.match(value):
        raise _bad(what, path, "")
    return value


_TIME_WHAT = "RFC 3339 UTC time such as 2026-11-22T08:30:00Z"
_LOG_TIME_WHAT = "RFC 3339 UTC time YYYY-MM-DDTHH:MM:SS.ffffffZ"


def check_time(value: Any, path: str, *, log_time: bool = False) -> str:
    """Validate an RFC 3339 UTC timestamp (FORMAT.md §3.1, §4). Returns it unchanged."""
    if log_time:
        _require_str(value, _LOG_TIME, _LOG_TIME_WHAT, path)
    else:
        _require_str(value, _TIME, _TIME_WHAT, path)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _fail("entry.shape", f"not a real date and time: {value}; 日期无效", path) from None
    return str(value)


def parse_statement(obj: Any, path: str = "statement", encoded: bytes | None = None) -> Statement:
    """Check the shape of a statement object (FORMAT.md §3.1). O(1) besides the body.

    Field paths for error messages are built only when a check fails (hot path).
    """
    d = _require_fields(obj, STATEMENT_FIELDS, path)
    kind, sid, time, signer, body = d["kind"], d["id"], d["time"], d["signer"], d["body"]
    if type(kind) is not str or not _KIND.match(kind):
        raise _bad("a dotted lower-case kind such as key.grant", path, ".kind")
    if type(sid) is not str or not _UUID.match(sid):
        raise _bad("a lower-case UUID", path, ".id")
    if type(time) is not str or not _TIME.match(time):
        raise _bad(_TIME_WHAT, path, ".time")
    try:
        datetime.fromisoformat(time)
    except ValueError:
        raise _fail(
            "entry.shape", f"not a real date and time: {time}; 日期无效", f"{path}.time"
        ) from None
    if type(signer) is not str or not _KEY_ID.match(signer):
        raise _bad("an 8-hex-digit key id", path, ".signer")
    if type(body) is not dict:
        raise _fail("entry.shape", "must be a JSON object; 须为 JSON 对象", f"{path}.body")
    return Statement(kind, sid, time, signer, body, d, encoded)


def parse_signatures(value: Any, signer: str, path: str = "signatures") -> tuple[Signature, ...]:
    """Check the signature list (FORMAT.md §3.3): 1..8 entries, distinct key ids, the first
    by the statement's ``signer``, each ``sig`` the standard base64 of 64 bytes."""
    if type(value) is not list or not 1 <= len(value) <= MAX_SIGNATURES:
        raise _fail("entry.shape", f"must be a list of 1 to {MAX_SIGNATURES} signatures", path)
    out: list[Signature] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if type(item) is not dict or item.keys() != SIGNATURE_FIELDS:
            _require_fields(item, SIGNATURE_FIELDS, f"{path}[{i}]")
        kid, sig = item["key_id"], item["sig"]
        if type(kid) is not str or not _KEY_ID.match(kid):
            raise _bad("an 8-hex-digit key id", path, f"[{i}].key_id")
        if kid in seen:
            raise _fail("entry.shape", "two signatures by one key; 重复签名", f"{path}[{i}].key_id")
        seen.add(kid)
        raw = b""
        if type(sig) is str and len(sig) == 88:
            try:
                raw = base64.b64decode(sig, validate=True)
            except (binascii.Error, ValueError):  # ValueError: non-ASCII text
                raw = b""
        if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != sig:
            raise _bad("standard base64 of a 64-byte Ed25519 signature", path, f"[{i}].sig")
        out.append(Signature(kid, raw))
    if out[0].key_id != signer:
        raise _fail(
            "entry.shape",
            f"first signature is by {out[0].key_id}, but statement.signer is {signer}; 签名人不符",
            f"{path}[0].key_id",
        )
    return tuple(out)


def parse_submission(data: bytes) -> Submission:
    """Parse a client submission: canonical JSON ``{"signatures":[…],"statement":{…}}``.

    Raises :class:`verifier.canonical.CanonicalError` for non-canonical bytes and
    :class:`VerificationError` (rule ``entry.shape``) naming the field otherwise.
    Signatures are *not* verified here (that needs the key registry).
    """
    obj = parse_canonical(data, "submission")
    return submission_from_json(obj, data)


def _statement_slice(canonical: bytes) -> bytes | None:
    """The statement's canonical bytes inside a canonical submission or entry line.

    Canonical form puts ``"signatures"`` right before the last member, ``"statement"``, and
    a well-formed signature list holds no ``]``, so the first ``],"statement":{`` is the
    boundary (a canonical value's encoding is a substring of its container's). If the list
    is malformed, the shape check that follows rejects the input anyway; ``None`` when the
    marker is absent. O(len).
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
    """Parse one line of ``entries.jsonl`` (without its newline), FORMAT.md §4.

    Checks canonical form and shape only. ``expected_index``, when given, is used to
    attribute errors to an index even when the line is too broken to carry its own.
    """
    try:
        obj = parse_canonical(line, "line")
        d = _require_fields(obj, ENTRY_FIELDS, "entry")
        index = d["index"]
        if type(index) is not int or index < 0:
            raise _fail("entry.shape", "must be a non-negative integer", "index")
        log_time = check_time(d["log_time"], "log_time", log_time=True)
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


def entry_bytes(index: int, log_time: str, prev: str, submission: Submission) -> bytes:
    """The canonical line (without newline) of a new entry; its bytes are the Merkle leaf
    data (FORMAT.md §4, §5). Preconditions: arguments already validated.

    The entry's members sort as ``index < log_time < prev < signatures < statement``, so
    its canonical form is the three log fields followed by the canonical submission's
    members: built by concatenation, without re-encoding. O(len).
    """
    tail = submission.canonical()
    return b"".join(
        (
            b'{"index":',
            str(index).encode(),
            b',"log_time":"',
            log_time.encode(),
            b'","prev":"',
            prev.encode(),
            b'",',
            tail[1:],
        )
    )


def unsigned_statement(
    kind: str, sid: str, time: str, signer: str, body: dict[str, Any]
) -> Statement:
    """Build and shape-check a statement from its parts (for signing tools)."""
    raw = {"body": body, "id": sid, "kind": kind, "signer": signer, "time": time}
    try:
        canonicalize(raw)
    except CanonicalError as exc:
        raise _fail("entry.shape", exc.message, exc.field or "statement") from None
    except TypeError as exc:
        raise _fail("entry.shape", f"body is not JSON: {exc}", "statement.body") from None
    return parse_statement(raw)
