"""Field checks: the building blocks of the body shapes of :mod:`verifier.rules.kinds`
(FORMAT.md §10).

A :data:`FieldCheck` looks at one value of a body in isolation — its type, range, pattern,
length, the USCC check character, distinct list items — and says what the value must be when
it is not. Constructors (``_pattern``, ``_int_range``, ``_text``, ``_one_of``, ``_const``,
``_object``, ``_list``) build checks; ``_date``, ``_month`` and ``_uscc`` are checks; the
upper-case names are the checks several kinds share. :func:`uscc_check_char` and
:func:`is_valid_uscc` implement GB 32100-2015 for anyone who builds or checks a
统一社会信用代码.

Pure and stateless. Cost: O(size of the value) per check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

#: FORMAT.md §10.1: every amount of money is an integer number of fen (分), 1 … 10^13.
MAX_AMOUNT_FEN = 10**13

#: A field check returns ``None`` when the value is fine, else what it must be, and the
#: sub-path of the offending part (``""`` for the value itself).
FieldCheck = Callable[[Any], tuple[str, str] | None]


def _pattern(regex: str, what: str) -> FieldCheck:
    rx = re.compile(regex)

    def check(v: Any) -> tuple[str, str] | None:
        return None if type(v) is str and rx.fullmatch(v) else ("", f"must be {what}")

    return check


def _int_range(lo: int, hi: int, what: str) -> FieldCheck:
    def check(v: Any) -> tuple[str, str] | None:
        if type(v) is int and lo <= v <= hi:
            return None
        return "", f"must be {what}, an integer {lo}…{hi}"

    return check


def _text(max_len: int) -> FieldCheck:
    def check(v: Any) -> tuple[str, str] | None:
        ok = type(v) is str and 1 <= len(v) <= max_len and v.isprintable() and v.strip() == v
        return None if ok else ("", f"must be printable text of 1–{max_len} characters")

    return check


def _one_of(*choices: str) -> FieldCheck:
    def check(v: Any) -> tuple[str, str] | None:
        return (
            None
            if type(v) is str and v in choices
            else ("", f"must be one of {', '.join(choices)}")
        )

    return check


def _const(value: str) -> FieldCheck:
    def check(v: Any) -> tuple[str, str] | None:
        return None if v == value else ("", f"must be {value!r}")

    return check


def _date(v: Any) -> tuple[str, str] | None:
    if type(v) is str and len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            date.fromisoformat(v)
            return None
        except ValueError:
            pass
    return "", "must be a date YYYY-MM-DD"


def _month(v: Any) -> tuple[str, str] | None:
    # [0-9], not \d: \d also matches non-ASCII digits (e.g. full-width "２０２６"), which
    # sort after every ASCII month and would let one credit.expire wipe every lot.
    if type(v) is str and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", v) and v[:4] != "0000":
        return None
    return "", "must be a month YYYY-MM"


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a 统一社会信用代码.

    Precondition: ``first17`` has 17 characters of :data:`USCC_ALPHABET`. O(17).
    """
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(v: object) -> bool:
    """True iff ``v`` is an 18-character 统一社会信用代码 with a correct check character."""
    return (
        type(v) is str
        and len(v) == 18
        and all(c in USCC_ALPHABET for c in v)
        and uscc_check_char(v[:17]) == v[17]
    )


def _uscc(v: Any) -> tuple[str, str] | None:
    if is_valid_uscc(v):
        return None
    return "", "must be an 18-character 统一社会信用代码 with a valid GB 32100-2015 check character"


def _object(fields: dict[str, FieldCheck]) -> FieldCheck:
    """A nested object with exactly ``fields``."""

    def check(v: Any) -> tuple[str, str] | None:
        if type(v) is not dict or v.keys() != fields.keys():
            return "", f"must be an object with exactly the members {', '.join(sorted(fields))}"
        for name, sub in fields.items():
            problem = sub(v[name])
            if problem:
                return f".{name}{problem[0]}", problem[1]
        return None

    return check


def _list(
    item: FieldCheck, lo: int, hi: int, *, distinct_by: str | None = None, distinct: bool = False
) -> FieldCheck:
    """A list of ``lo``…``hi`` items; ``distinct`` items, or items distinct by one member."""

    def check(v: Any) -> tuple[str, str] | None:
        if type(v) is not list or not lo <= len(v) <= hi:
            return "", f"must be a list of {lo}…{hi} items"
        for n, x in enumerate(v):
            problem = item(x)
            if problem:
                return f"[{n}]{problem[0]}", problem[1]
        keys = [x[distinct_by] for x in v] if distinct_by else v if distinct else None
        if keys is not None and len(set(keys)) != len(keys):
            what = f"{distinct_by} values" if distinct_by else "items"
            return "", f"must have distinct {what}"
        return None

    return check


ID = _pattern(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", "an identifier of letters, digits, ._:- (≤64)")
AMOUNT_FEN = _int_range(1, MAX_AMOUNT_FEN, "a positive amount in fen (分)")
POINTS = _int_range(1, 1_000_000, "points")
RESIDENT_REF = _pattern(r"[0-9a-f]{32}", "a resident pseudonym of 32 lower-case hex digits")
SHA256_HEX = _pattern(r"[0-9a-f]{64}", "a SHA-256 digest in 64 lower-case hex digits")
REASON = _text(500)
