"""RFC 8785 (JCS) canonical JSON, restricted to the Gongxin profile (FORMAT.md §2).

Gongxin hashes and signs only JSON values of the *Gongxin profile*:

- objects whose member names are ASCII (so that RFC 8785's UTF-16 ordering equals the byte
  ordering that orjson's ``OPT_SORT_KEYS`` uses),
- arrays, strings, ``true``/``false``/``null``,
- integers in the interoperable range ``-(2**53-1) .. 2**53-1``. No floats, ever: money is
  integer fen.

For such values, ``orjson.dumps(value, option=OPT_SORT_KEYS)`` produces exactly the RFC 8785
bytes (the test-suite checks this against the ``rfc8785`` reference package with hypothesis),
and it is ~50x faster, so it is the encoder used everywhere.

``parse_canonical`` is the strict parser: it accepts bytes only if they are *already* the
canonical encoding of a profile value. Duplicate member names, whitespace, unsorted members,
escaped characters that need no escaping, floats and out-of-range integers are all refused,
each with an error naming the JSON path.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson

from verifier.errors import InputError

MAX_SAFE_INTEGER = 2**53 - 1
_OPTS = orjson.OPT_SORT_KEYS


class CanonicalError(InputError):
    """Bytes that are not canonical Gongxin-profile JSON. ``field`` is the JSON path."""


def check_profile(value: Any, path: str = "$") -> None:
    """Raise :class:`CanonicalError` unless ``value`` lies in the Gongxin JSON profile.

    Cost: one walk over the value, O(size); paths are built only on failure.
    """
    if not _in_profile(value):
        _explain_profile(value, path)


def _in_profile(value: Any) -> bool:
    """Fast check, no allocation on success (hot path of every append and verification)."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[no-any-return]
    if t is dict:
        for k, v in value.items():
            if not k.isascii() or (type(v) is not str and not _in_profile(v)):
                return False
        return True
    if t is list:
        for v in value:  # noqa: SIM110 — a plain loop is faster here
            if type(v) is not str and not _in_profile(v):
                return False
        return True
    return False


def _explain_profile(value: Any, path: str) -> None:
    """Slow path: find the first value outside the profile and raise naming its path."""
    t = type(value)
    if t is str or t is bool or value is None:
        return
    if t is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError("integer outside ±(2^53−1); 整数超出范围", field=path)
        return
    if t is dict:
        for k, v in value.items():
            if not k.isascii():
                raise CanonicalError(
                    "object member names must be ASCII; 字段名须为 ASCII", field=path
                )
            _explain_profile(v, f"{path}.{k}")
        return
    if t is list:
        for i, v in enumerate(value):
            _explain_profile(v, f"{path}[{i}]")
        return
    if t is float:
        raise CanonicalError(
            "floating-point numbers are not allowed (money is integer fen); 不允许小数", field=path
        )
    raise CanonicalError(f"unsupported JSON type {t.__name__}", field=path)


def canonical_bytes(value: Any) -> bytes:
    """Encode a profile value as RFC 8785 bytes. Precondition: ``check_profile(value)`` holds
    (the encoder itself rejects non-JSON types and integers beyond 64 bits). Cost: O(size).
    """
    return orjson.dumps(value, option=_OPTS)


def canonicalize(value: Any) -> bytes:
    """Check ``value`` against the profile, then encode it. Use on untrusted Python values."""
    check_profile(value)
    return canonical_bytes(value)


def parse_canonical(data: bytes, what: str = "$") -> Any:
    """Parse ``data`` and require that it is exactly the canonical encoding of its value.

    ``what`` names the input in error messages (e.g. ``"entries.jsonl line 7"``).
    Raises :class:`CanonicalError` naming the first problem. Cost: O(len(data)).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CanonicalError(f"not valid UTF-8 JSON: {exc}; 不是合法的 JSON", field=what) from None
    check_profile(value, what)
    if orjson.dumps(value, option=_OPTS) != data:
        raise CanonicalError(_explain_non_canonical(data), field=what)
    return value


def _explain_non_canonical(data: bytes) -> str:
    """Slow path, only on failure: say *why* the bytes are not canonical."""
    dup: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen and not dup:
                dup.append(k)
            seen.add(k)
        return dict(pairs)

    with contextlib.suppress(ValueError):
        json.loads(data, object_pairs_hook=hook)
    if dup:
        return f"duplicate member name {dup[0]!r}; JSON 中有重复字段"
    return (
        "not in RFC 8785 canonical form (members must be sorted, no whitespace, minimal "
        "escaping); 不是 RFC 8785 规范化 JSON"
    )
