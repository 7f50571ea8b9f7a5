"""Constrained field types shared by the wire-format models (FORMAT.md §2–§4, §7, §10).

Each type carries what JSON Schema can say (``pattern``, ``minimum``/``maximum``, lengths) and,
where it cannot say everything, a validator that enforces the rest: the USCC check character,
real calendar dates, "printable" text, verifier keys whose key id matches name and key.

Patterns use only ``[...]`` classes, ``{m,n}``, groups and ``^``/``$``, so they mean the same
in ECMA-262 (JSON Schema), Rust ``regex`` (pydantic) and Python ``re``. ``\\d`` and ``\\s``
are avoided on purpose: they match non-ASCII digits and different sets of spaces in each.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from verifier.core.errors import InputError
from verifier.core.keys import parse_verifier_key
from verifier.rules.kinds import MAX_KEY_NAME

#: FORMAT.md §10.1: the largest amount of money, in fen (分).
MAX_AMOUNT_FEN = 10**13
#: FORMAT.md §2: the largest integer of the canonical JSON profile.
MAX_JSON_INT = 2**53 - 1


class WireModel(BaseModel):
    """Base of every model: exactly the listed members, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


def desc(zh: str, en: str, rule: tuple[str, str] | None = None) -> str:
    """A field description, Chinese first: ``名称：规则。Name: rule.``"""
    if rule is None:
        return f"{zh}。{en}."
    return f"{zh}：{rule[0]}。{en}: {rule[1]}."


# -- patterns ------------------------------------------------------------------------------

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
KEY_ID_PATTERN = r"^[0-9a-f]{8}$"
HEX32_PATTERN = r"^[0-9a-f]{32}$"
HEX64_PATTERN = r"^[0-9a-f]{64}$"
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: Years 0001–9999 (FORMAT.md §10): no year 0000.
MONTH_PATTERN = r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])$"
#: GB 32100-2015: 18 characters of 0-9 and A-Z without I, O, S, V, Z.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

#: C0 and C1 control characters (Unicode category Cc).
_CONTROL = r"\x00-\x1f\x7f-\x9f"
#: Every other character Python's ``str.isspace`` accepts (all non-printable).
_OTHER_SPACE = r"\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Printable text: no control characters or non-ASCII spaces anywhere, no space at either
#: end. The remaining non-printable characters (categories Cf, Cs, Co, Cn) are left to the
#: validator.
TEXT_PATTERN = (
    rf"^[^ {_CONTROL}{_OTHER_SPACE}]"
    rf"([^{_CONTROL}{_OTHER_SPACE}]*[^ {_CONTROL}{_OTHER_SPACE}])?$"
)
#: FORMAT.md §1: a key name has no ``+``, no white space and no control characters; in a
#: key-management body at most ``MAX_KEY_NAME`` characters (FORMAT.md §7.3).
KEY_NAME_PATTERN = rf"^[^+ {_CONTROL}{_OTHER_SPACE}]+$"
#: FORMAT.md §1: ``name+<8 hex key id>+base64(0x01 ‖ 32-byte key)``; 33 bytes are 44 base64
#: characters without padding, and the leading 0x01 makes them start with ``A`` and one of
#: ``Q``…``Z``, ``a``…``f``.
VERIFIER_KEY_PATTERN = (
    rf"^[^+ {_CONTROL}{_OTHER_SPACE}]+\+[0-9a-fA-F]{{8}}\+A[Q-Za-f][A-Za-z0-9+/]{{42}}$"
)
#: FORMAT.md §3.1.
KIND_PATTERN = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
#: FORMAT.md §4: exactly six fractional digits.
LOG_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
#: FORMAT.md §3.3: standard padded base64 of 64 bytes is 85 characters, one of ``AQgw`` (the
#: low 4 bits are zero) and ``==``.
SIGNATURE_PATTERN = r"^[A-Za-z0-9+/]{85}[AQgw]==$"


# -- validators ----------------------------------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character: weights 3^i mod 31, check = (31 − Σ mod 31) mod 31."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[-total % 31]


def _uscc(v: str) -> str:
    if uscc_check_char(v[:17]) != v[17]:
        raise ValueError(
            "统一社会信用代码校验位错误; the GB 32100-2015 check character of this USCC is wrong"
        )
    return v


def _printable(v: str) -> str:
    if not v.isprintable() or v.strip() != v:
        raise ValueError(
            "须为可打印字符且首尾无空白; must be printable text without leading or trailing space"
        )
    return v


def _real_date(v: str) -> str:
    try:
        date.fromisoformat(v)
    except ValueError:
        raise ValueError(f"不是有效日期; {v} is not a real calendar date") from None
    return v


def _real_time(v: str) -> str:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"不是有效的日期时间; {v} is not a real date and time") from None
    return v


def _verifier_key(v: str) -> str:
    try:
        parse_verifier_key(v)
    except InputError as exc:
        raise ValueError(f"验证公钥无效; {exc.message}") from None
    return v


# -- rule texts for descriptions -----------------------------------------------------------

ID_RULE = (
    "标识符，1–64 个字母、数字或 . _ : -，以字母或数字开头",
    "an identifier of 1–64 letters, digits or . _ : -, starting with a letter or digit",
)
AMOUNT_RULE = (
    "整数，单位为分，1 至 10^13",
    "an integer number of fen (分, 0.01 yuan), 1 … 10^13",
)
POINTS_RULE = ("整数积分，1 至 1,000,000", "an integer number of points, 1 … 1,000,000")
RESIDENT_RULE = (
    "32 位小写十六进制的假名，即社区密钥下居民登记号的 HMAC-SHA-256 前 16 字节，不能识别个人",
    "a pseudonym of 32 lower-case hex digits, the first 16 bytes of HMAC-SHA-256 of the "
    "resident's register number under the community's secret; it identifies no one",
)
SHA256_RULE = ("SHA-256 摘要，64 位小写十六进制", "SHA-256 digest, 64 lower-case hex digits")
DATE_RULE = (
    "日期 YYYY-MM-DD，须为日历上存在的日期，不可为 2 月 30 日或 0000 年等；这一点由校验器检查",
    "a date YYYY-MM-DD that exists in the calendar, so no 30 February and no year 0000; the "
    "validator checks that",
)
MONTH_RULE = ("月份 YYYY-MM，年份 0001–9999", "month YYYY-MM, year 0001–9999")
USCC_RULE = (
    "18 位统一社会信用代码，字符取自 0-9 及除 I、O、S、V、Z 外的大写字母，"
    "第 18 位须为 GB 32100-2015 校验码；JSON Schema 无法表达校验码，由校验器检查",
    "18-character unified social credit code (统一社会信用代码) of 0-9 and capital letters "
    "except I, O, S, V, Z whose 18th character is the GB 32100-2015 check character; JSON "
    "Schema cannot express the check character, the validator checks it",
)
KEY_ID_RULE = ("8 位小写十六进制", "8 lower-case hex digits")
VERIFIER_KEY_RULE = (
    "验证公钥字符串“名称+密钥编号+base64(0x01‖公钥)”，名称至多 128 个字符；密钥编号须与名称和"
    "公钥相符，这一点由校验器检查",
    "a verifier key string name+keyid+base64(0x01 ‖ public key) whose name has at most 128 "
    "characters; the validator checks that the key id matches the name and key",
)


def text_rule(n: int) -> tuple[str, str]:
    """The rule text of printable text of 1…n characters."""
    return (
        f"1–{n} 个可打印字符，首尾无空格；不得含控制字符、换行、全角空格等不可打印字符。"
        "是否可打印按 Python 的 str.isprintable() 判定，JSON Schema 只能部分表达，其余由校验器检查",
        f"1–{n} printable characters with no space at either end; no control characters, line "
        "breaks, ideographic spaces or other non-printable characters. Printable is as "
        "Python's str.isprintable() defines it; JSON Schema expresses only part of this, the "
        "validator checks the rest",
    )


# -- types ---------------------------------------------------------------------------------

Id = Annotated[str, Field(pattern=ID_PATTERN)]
KeyId = Annotated[str, Field(pattern=KEY_ID_PATTERN)]
AmountFen = Annotated[int, Field(ge=1, le=MAX_AMOUNT_FEN)]
Points = Annotated[int, Field(ge=1, le=1_000_000)]
ResidentRef = Annotated[str, Field(pattern=HEX32_PATTERN)]
Sha256Hex = Annotated[str, Field(pattern=HEX64_PATTERN)]
Date = Annotated[
    str,
    Field(pattern=DATE_PATTERN, json_schema_extra={"format": "date"}),
    AfterValidator(_real_date),
]
Month = Annotated[str, Field(pattern=MONTH_PATTERN)]
Uscc = Annotated[str, Field(pattern=USCC_PATTERN), AfterValidator(_uscc)]
Text50 = Annotated[
    str, Field(min_length=1, max_length=50, pattern=TEXT_PATTERN), AfterValidator(_printable)
]
Text100 = Annotated[
    str, Field(min_length=1, max_length=100, pattern=TEXT_PATTERN), AfterValidator(_printable)
]
Text200 = Annotated[
    str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN), AfterValidator(_printable)
]
Text500 = Annotated[
    str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN), AfterValidator(_printable)
]
#: A key name of at most :data:`MAX_KEY_NAME` characters, ``+``, 8 hex digits, ``+``, 44 base64.
VerifierKeyText = Annotated[
    str,
    Field(pattern=VERIFIER_KEY_PATTERN, max_length=MAX_KEY_NAME + 54),
    AfterValidator(_verifier_key),
]
Time = Annotated[
    str,
    Field(pattern=TIME_PATTERN, json_schema_extra={"format": "date-time"}),
    AfterValidator(_real_time),
]
LogTime = Annotated[
    str,
    Field(pattern=LOG_TIME_PATTERN, json_schema_extra={"format": "date-time"}),
    AfterValidator(_real_time),
]
