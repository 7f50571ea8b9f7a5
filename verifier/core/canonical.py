"""RFC 8785 (JCS) canonical JSON, restricted to the Gongxin profile (FORMAT.md §2).

For profile values (ASCII member names, no floats, integers within ±(2^53−1)),
``orjson.dumps(value, option=OPT_SORT_KEYS)`` is exactly the RFC 8785 encoding (the tests
check it against the ``rfc8785`` reference package with hypothesis) and ~50x faster, so it is
the encoder. :func:`parse_canonical` accepts bytes only if they are *already* the canonical
encoding of a profile value, naming the JSON path of the first fault.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from verifier.core.errors import InputError

MAX_SAFE_INTEGER = 2**53 - 1
#: FORMAT.md §2 rule 5: arrays and objects nest at most this deep, as deep as the deepest legal
#: entry line (entry → statement → body → list → object; tests/test_depth_limits.py).
MAX_DEPTH = 5
_OPTS = orjson.OPT_SORT_KEYS


class CanonicalError(InputError):
    """Bytes that are not canonical Gongxin-profile JSON. ``field`` is the JSON path."""


def check_profile(value: Any, path: str = "$", max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`CanonicalError` unless ``value`` is in the profile, nested ≤ ``max_depth``
    deep. O(size), recursing ≤ ``max_depth + 1`` deep; paths are built only on failure."""
    if not _in_profile(value, max_depth):
        _explain_profile(value, path, max_depth)


def _in_profile(value: Any, room: int) -> bool:
    """Fast check, no allocation on success (hot path of every append and verification)."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[no-any-return]
    if t is dict and room > 0:
        for k, v in value.items():
            if not k.isascii() or (type(v) is not str and not _in_profile(v, room - 1)):
                return False
        return True
    if t is list and room > 0:
        for v in value:  # noqa: SIM110 — a plain loop is faster here
            if type(v) is not str and not _in_profile(v, room - 1):
                return False
        return True
    return False


def _explain_profile(value: Any, path: str, room: int) -> None:
    """Slow path: find the first value outside the profile and raise naming its path."""
    t = type(value)
    if t is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalError("integer outside ±(2^53−1); 整数超出范围", field=path)
    if t is str or t is bool or t is int or value is None:
        return
    if (t is dict or t is list) and room < 1:
        raise CanonicalError(f"nested deeper than {MAX_DEPTH} levels; 嵌套层数过多", field=path)
    if t is dict:
        for k, v in value.items():
            if not k.isascii():
                raise CanonicalError("member names must be ASCII; 字段名须为 ASCII", field=path)
            _explain_profile(v, f"{path}.{k}", room - 1)
        return
    if t is list:
        for i, v in enumerate(value):
            _explain_profile(v, f"{path}[{i}]", room - 1)
        return
    if t is float:
        if value.is_integer() and abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(
                "number outside ±(2^53−1) (only integers in that range are allowed); 数值超出范围",
                field=path,
            )
        raise CanonicalError(
            "floating-point numbers are not allowed (money is integer fen); 不允许小数", field=path
        )
    raise CanonicalError(f"unsupported JSON type {t.__name__}", field=path)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a profile value. Precondition: ``check_profile(value)`` holds (orjson
    itself rejects non-JSON types and integers beyond 64 bits). Cost: O(size)."""
    return orjson.dumps(value, option=_OPTS)


def parse_canonical(data: bytes, what: str = "$", max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data``, requiring it to be exactly the canonical encoding of a profile value
    nested at most ``max_depth`` deep; else :class:`CanonicalError` naming the first problem,
    and ``what`` (e.g. ``"line"``) as the root of the JSON path. Cost: O(len(data))."""
    try:
        value = orjson.loads(data)  # refuses nesting deeper than 1024 by itself
    except orjson.JSONDecodeError as exc:
        raise CanonicalError(f"not valid UTF-8 JSON: {exc}; 不是合法的 JSON", field=what) from None
    check_profile(value, what, max_depth)
    if orjson.dumps(value, option=_OPTS) != data:
        message, where = _explain_non_canonical(data, what)
        raise CanonicalError(message, field=where)
    return value


class _Pairs(list[tuple[str, Any]]):
    """An object's members in input order (to find duplicates with their path)."""


def _first_duplicate(value: Any, path: str) -> str | None:
    """Path of the first duplicate member name in ``value`` (depth first), or ``None``."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for k, _ in value:
            if k in seen:
                return f"{path}.{k}"
            seen.add(k)
        for k, v in value:
            found = _first_duplicate(v, f"{path}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _first_duplicate(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _explain_non_canonical(data: bytes, path: str) -> tuple[str, str]:
    """Slow path, only on failure: say *why* the bytes are not canonical, and where."""
    try:
        tree = json.loads(data, object_pairs_hook=_Pairs)
    except ValueError:
        tree = None
    dup = _first_duplicate(tree, path)
    if dup:
        return f"duplicate member name {dup.rsplit('.', 1)[1]!r}; JSON 中有重复字段", dup
    why = "not in RFC 8785 canonical form (members must be sorted, no whitespace, minimal escaping)"
    return f"{why}; 不是 RFC 8785 规范化 JSON", path
