"""Money as officers type it: yuan (元) text such as ``12,345.67`` to integer fen (分), exactly.

The log holds money only as integer fen (FORMAT.md §10.1). Conversion goes through
:class:`decimal.Decimal`, never through binary floating point, and refuses anything that is
not a whole number of fen (more than two decimals) instead of rounding it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["AmountError", "fen_to_yuan", "yuan_to_fen"]

#: Digits with optional thousands separators (groups of three), then up to any decimals
#: (the number of decimals is checked separately, to say what is wrong).
_YUAN = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")


class AmountError(ValueError):
    """Text or a number that is not an amount of yuan with at most two decimals."""


def yuan_to_fen(value: str | int | float | Decimal) -> int:
    """Convert an amount in yuan to integer fen, exactly.

    Accepts text like ``12345.67``, ``12,345.67``, ``¥12,345.67`` or ``12345.67元`` (spaces
    around are ignored; commas only as thousands separators), an ``int``, a ``Decimal``, or
    a ``float`` (from a spreadsheet cell; taken by its shortest decimal form, so ``0.1`` is
    0.10 yuan). Raises :class:`AmountError` for a negative amount, more than two decimals,
    or anything else. Range is not checked here (the body check does: 1 … 10^13 fen).
    """
    if isinstance(value, bool):
        raise AmountError("not an amount")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError("not a finite amount")
        text = format(value, "f")
    else:
        text = value.strip().removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    negative = text.startswith("-")
    match = _YUAN.fullmatch(text.removeprefix("-"))
    if match is None:
        raise AmountError(
            f"金额格式应如 12345.67 或 12,345.67 — {text!r} is not an amount in yuan "
            "like 12345.67 or 12,345.67"
        )
    decimals = match.group(1) or ""
    if len(decimals) > 2:
        raise AmountError(
            f"金额最多两位小数（分） — {text!r} has more than 2 decimals (fen is the smallest unit)"
        )
    if negative:
        raise AmountError(f"金额不能为负 — {text!r} is negative")
    try:
        fen = Decimal(text.replace(",", "")) * 100
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise AmountError(f"{text!r} is not an amount") from None
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """Integer fen as yuan text with two decimals and thousands separators: ``12,345.67``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
