"""Entry kinds: who may sign each one and the shape of its body (FORMAT.md §7, §10).

Each kind maps to the roles allowed to sign it and a body check. The key-management kinds
are applied by :mod:`verifier.registry`. The domain kinds below are the first, provisional
set used by the demo (FORMAT.md §10): their bodies are shape-checked here, and the balance
rules that relate them (funds, contracts, payments, credits) plug in through
:class:`verifier.state.Rulebook`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from verifier.errors import VerificationError

MAX_AMOUNT_FEN = 10**13

FieldCheck = Callable[[Any], str | None]


def _pattern(regex: str, what: str) -> FieldCheck:
    rx = re.compile(regex)

    def check(v: Any) -> str | None:
        return None if type(v) is str and rx.fullmatch(v) else f"must be {what}"

    return check


def _int_range(lo: int, hi: int, what: str) -> FieldCheck:
    def check(v: Any) -> str | None:
        return None if type(v) is int and lo <= v <= hi else f"must be {what} ({lo}–{hi})"

    return check


def _text(max_len: int) -> FieldCheck:
    def check(v: Any) -> str | None:
        ok = type(v) is str and 1 <= len(v) <= max_len and v.isprintable()
        return None if ok else f"must be printable text of 1–{max_len} characters"

    return check


def _one_of(*choices: str) -> FieldCheck:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(choices)}"

    return check


def _date(v: Any) -> str | None:
    if type(v) is str and len(v) == 10:
        try:
            date.fromisoformat(v)
            return None
        except ValueError:
            pass
    return "must be a date YYYY-MM-DD"


ANY_OBJECT: dict[str, FieldCheck] = {}
ID = _pattern(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", "an identifier of letters, digits, ._:- (≤64)")
AMOUNT_FEN = _int_range(1, MAX_AMOUNT_FEN, "a positive integer amount in fen (分)")
RESIDENT_REF = _pattern(r"[0-9a-f]{32}", "a resident pseudonym of 32 hex digits")
USCC = _pattern(r"[0-9A-HJ-NPQRTUWXY]{18}", "an 18-character 统一社会信用代码")
PROCUREMENT_METHODS = (
    "公开招标",
    "邀请招标",
    "竞争性谈判",
    "竞争性磋商",
    "询价",
    "单一来源",
    "框架协议",
)


@dataclass(frozen=True)
class Kind:
    """One entry kind: the roles that may sign it and the exact fields of its body.

    ``fields`` is ``None`` for kinds whose bodies another module checks (key management).
    """

    name: str
    roles: frozenset[str]
    fields: dict[str, FieldCheck] | None

    def check_body(self, body: dict[str, Any], index: int) -> None:
        """Raise ``VerificationError("entry.body")`` naming the first bad field. O(fields)."""
        if self.fields is None:
            return
        if body.keys() != self.fields.keys():
            raise VerificationError(
                "entry.body",
                f"{self.name} body must have exactly the fields {', '.join(sorted(self.fields))}",
                index=index,
                field="statement.body",
            )
        for name, check in self.fields.items():
            problem = check(body[name])
            if problem:
                raise VerificationError(
                    "entry.body", problem, index=index, field=f"statement.body.{name}"
                )


def _kind(name: str, roles: set[str], fields: dict[str, FieldCheck] | None) -> Kind:
    return Kind(name, frozenset(roles), fields)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        # FORMAT.md §7.3 — key management (bodies checked by verifier.registry).
        _kind("log.genesis", {"authority"}, None),
        _kind("key.grant", {"authority"}, None),
        _kind("key.revoke", {"authority"}, None),
        # FORMAT.md §10 — provisional domain kinds.
        _kind(
            "fund.appropriate",
            {"finance_officer"},
            {
                "fund_id": ID,
                "fiscal_year": _int_range(2000, 2100, "a fiscal year"),
                "programme": _text(200),
                "source": _one_of("财政", "社区基金", "捐赠"),
                "amount_fen": AMOUNT_FEN,
            },
        ),
        _kind(
            "contract.award",
            {"finance_officer"},
            {
                "contract_id": ID,
                "fund_id": ID,
                "provider_uscc": USCC,
                "title": _text(200),
                "method": _one_of(*PROCUREMENT_METHODS),
                "total_fen": AMOUNT_FEN,
            },
        ),
        _kind(
            "payment.propose",
            {"finance_officer"},
            {
                "payment_id": ID,
                "contract_id": ID,
                "amount_fen": AMOUNT_FEN,
                "invoice_no": ID,
            },
        ),
        _kind("payment.approve", {"approver"}, {"payment_id": ID}),
        _kind(
            "activity.register",
            {"organiser"},
            {
                "activity_id": ID,
                "community": ID,
                "category": _text(50),
                "date": _date,
            },
        ),
        _kind(
            "credit.award",
            {"organiser"},
            {
                "resident_ref": RESIDENT_REF,
                "activity_id": ID,
                "minutes": _int_range(1, 24 * 60, "service minutes"),
            },
        ),
        _kind(
            "credit.redeem",
            {"service_desk"},
            {
                "resident_ref": RESIDENT_REF,
                "item": _text(100),
                "points": _int_range(1, 1_000_000, "points"),
            },
        ),
    )
}
