"""Resident register fields (docs/RESIDENTS.md): validation of names, ID numbers, phones,
communities and register numbers, and the lookup codes (13 Crockford base-32 digits, 65 bits;
8-digit codes of the first release are retired). Pure functions; :mod:`ledger.residents`
keeps the register itself and re-exports these names."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime

from verifier.core.errors import InputError

#: Crockford base-32 digits (no I, L, O, U).
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_READ = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: Register numbers: "R" and 20 Crockford digits (100 random bits).
REGISTER_NO_DIGITS = 20
#: Lookup codes: 13 Crockford digits (65 random bits), shown as XXXX-XXXX-XXXXX.
LOOKUP_CODE_LEN = 13
#: The retired length of the first release's lookup codes (40 bits; see the module docstring).
RETIRED_CODE_LEN = 8
#: The reserved ``community_secrets`` row holding the lookup-code pepper (no community
#: name can take this value: communities match :data:`COMMUNITY_RE`).
PEPPER_ROW = "~lookup-code-pepper"
#: Community names: the identifier pattern of FORMAT.md §10.
COMMUNITY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
PHONE_RE = re.compile(r"1[0-9]{10}")
ID_NUMBER_RE = re.compile(r"[0-9]{17}[0-9X]")
NAME_MAX = 50
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


class RetiredLookupCode(InputError):
    """An 8-digit lookup code of the first release: retired (40 bits can be guessed); the
    resident needs a new 13-digit code from their community office."""


# -- validation ----------------------------------------------------------------------------


def check_name(name: str) -> str:
    """The name with surrounding white space removed; :class:`InputError` (field ``name``)
    unless it is 1–50 printable characters. O(len)."""
    value = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(value) <= NAME_MAX or not value.isprintable():
        raise InputError(f"must be 1–{NAME_MAX} printable characters", field="name")
    return value


def check_id_number(id_number: str) -> str:
    """A resident identity number (居民身份证号码, GB 11643-1999), upper-cased: 17 digits and a
    check character (0-9 or X), a real birth date (YYYYMMDD at positions 7–14, not in the
    future), and a correct ISO 7064 MOD 11-2 check character. :class:`InputError` (field
    ``id_number``) otherwise. O(1)."""
    value = id_number.strip().upper() if isinstance(id_number, str) else ""
    if not ID_NUMBER_RE.fullmatch(value):
        raise InputError("must be 18 characters: 17 digits and a digit or X", field="id_number")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InputError("holds no valid birth date", field="id_number") from None
    if not date(1900, 1, 1) <= born <= datetime.now(UTC).date():
        raise InputError("birth date is out of range", field="id_number")
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if value[17] != "0123456789X"[(12 - total % 11) % 11]:
        raise InputError("check character is wrong (typo?)", field="id_number")
    return value


def check_phone(phone: str) -> str:
    """A mainland mobile number: 11 digits starting with 1 (spaces and hyphens dropped);
    :class:`InputError` (field ``phone``) otherwise. O(len)."""
    value = re.sub(r"[ \-]", "", phone) if isinstance(phone, str) else ""
    if not PHONE_RE.fullmatch(value):
        raise InputError("must be 11 digits starting with 1", field="phone")
    return value


def check_community(community: str) -> str:
    """A community identifier (FORMAT.md §10 pattern); :class:`InputError` otherwise."""
    if not isinstance(community, str) or not COMMUNITY_RE.fullmatch(community):
        raise InputError(
            "must be 1–64 letters, digits or . _ : - (starting with a letter or digit)",
            field="community",
        )
    return community


def _crockford(text: str) -> str:
    """Upper-case, drop spaces and hyphens, read O as 0 and I, L as 1."""
    return re.sub(r"[\s\-]", "", text).upper().translate(_CROCKFORD_READ)


def check_register_no(register_no: str) -> str:
    """The canonical form of a register number ("R" + 20 Crockford digits; case, spaces,
    hyphens and the look-alikes O/I/L are forgiven); :class:`InputError` (field
    ``register_no``) otherwise. O(len)."""
    value = register_no.strip() if isinstance(register_no, str) else ""
    if value[:1] in ("R", "r"):
        body = _crockford(value[1:])
        if len(body) == REGISTER_NO_DIGITS and all(c in CROCKFORD for c in body):
            return "R" + body
    raise InputError(
        f'must be "R" followed by {REGISTER_NO_DIGITS} letters and digits', field="register_no"
    )


def new_register_no() -> str:
    """A fresh random register number (100 bits from :mod:`secrets`)."""
    return "R" + "".join(secrets.choice(CROCKFORD) for _ in range(REGISTER_NO_DIGITS))


def new_lookup_code() -> str:
    """A fresh random lookup code (13 Crockford digits: 65 bits from :mod:`secrets`)."""
    return "".join(secrets.choice(CROCKFORD) for _ in range(LOOKUP_CODE_LEN))


def format_lookup_code(code: str) -> str:
    """A 13-digit code as people are shown it: ``XXXX-XXXX-XXXXX`` (other text unchanged)."""
    if len(code) != LOOKUP_CODE_LEN:
        return code
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalize_lookup_code(code: object) -> str | None:
    """The canonical form of a lookup code as typed: 13 Crockford digits, upper case, with
    spaces and hyphens dropped and O read as 0, I and L as 1; ``None`` for anything else
    (including over 64 characters). :class:`RetiredLookupCode` for an 8-digit code of the
    first release. O(len), no key derivation."""
    if not isinstance(code, str) or len(code) > 64:
        return None
    value = _crockford(code)
    if any(c not in CROCKFORD for c in value):
        return None
    if len(value) == RETIRED_CODE_LEN:
        raise RetiredLookupCode(
            "这是停用的 8 位旧查询码，请到社区领取新的 13 位查询码 — an old 8-character lookup "
            "code (retired); ask the community office for a new 13-character one",
            field="code",
        )
    return value if len(value) == LOOKUP_CODE_LEN else None
