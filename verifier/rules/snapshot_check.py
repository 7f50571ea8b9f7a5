"""Type checks for decoding a rule-state snapshot (FORMAT.md §12.1), and its error.

A snapshot may come from a damaged disk or from someone else: every value read from one is
checked here before it is used, so that decoding raises :class:`SnapshotError` — never
``KeyError``, ``TypeError`` or an object of the wrong type that fails later. Each helper
names the place it checked (``what``) in the error. Pure; each check O(1) unless stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: A JSON value as :func:`orjson.loads` returns it.
Json = Any

_HEX64 = re.compile(r"[0-9a-f]{64}")
_LOG_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message says what was wrong (English, then
    Chinese, as a log line)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"bad state snapshot: {what}; 状态快照无效")


def integer(value: Json, what: str, *, low: int | None = 0) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) of at least ``low``."""
    if type(value) is not int or (low is not None and value < low):
        bound = "" if low is None else f" ≥ {low}"
        raise SnapshotError(f"{what} must be an integer{bound}")
    return value


def text(value: Json, what: str) -> str:
    """``value`` if it is a ``str``."""
    if type(value) is not str:
        raise SnapshotError(f"{what} must be a string")
    return value


def optional_text(value: Json, what: str) -> str | None:
    """``value`` if it is ``None`` or a ``str``."""
    return None if value is None else text(value, what)


def optional_integer(value: Json, what: str) -> int | None:
    """``value`` if it is ``None`` or an integer ≥ 0."""
    return None if value is None else integer(value, what)


def obj(value: Json, what: str, fields: frozenset[str] | None = None) -> dict[str, Json]:
    """``value`` if it is a JSON object, with exactly ``fields`` when they are given."""
    if type(value) is not dict:
        raise SnapshotError(f"{what} must be an object")
    if fields is not None and value.keys() != fields:
        raise SnapshotError(f"{what} must have exactly the members {', '.join(sorted(fields))}")
    return value


def array(value: Json, what: str, length: int | None = None) -> list[Json]:
    """``value`` if it is a JSON array (of ``length`` items when given)."""
    if type(value) is not list or (length is not None and len(value) != length):
        size = "" if length is None else f" of {length} items"
        raise SnapshotError(f"{what} must be an array{size}")
    return value


def only(values: Iterable[Json], kind: type) -> bool:
    """Whether every item of ``values`` has exactly the type ``kind`` (``bool`` is not
    ``int``). O(len), in C: the decoder's hot loops check whole arrays this way."""
    return set(map(type, values)) <= {kind}


def int_map(value: Json, what: str) -> dict[str, int]:
    """``value`` if it is an object whose values are all integers ≥ 0. O(len)."""
    d = obj(value, what)
    if not only(d.values(), int) or min(d.values(), default=0) < 0:
        raise SnapshotError(f"every value of {what} must be an integer ≥ 0")
    return d


def str_list(value: Json, what: str) -> list[str]:
    """``value`` if it is an array of strings. O(len)."""
    items = array(value, what)
    if not only(items, str):
        raise SnapshotError(f"every item of {what} must be a string")
    return items


def hash_hex(value: Json, what: str) -> str:
    """``value`` if it is 64 lower-case hex digits (a SHA-256 hash)."""
    if type(value) is not str or not _HEX64.fullmatch(value):
        raise SnapshotError(f"{what} must be 64 lower-case hex digits")
    return value


def log_time(value: Json, what: str) -> str:
    """``value`` if it is ``""`` or an entry log time ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if type(value) is not str or (value and not _LOG_TIME.fullmatch(value)):
        raise SnapshotError(f"{what} must be a log time YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return value
