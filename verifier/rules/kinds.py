"""Entry kinds: who may sign each one and the exact shape of its body (FORMAT.md §7, §10).

Each kind maps to the roles allowed to sign it and a body check. Body checks are stateless:
they look at one body in isolation (types, ranges, patterns, the USCC check digit, distinct
list items), through the field checks of :mod:`verifier.rules.field_checks`. Rules that
relate an entry to the log so far — balances, caps, who proposed a payment — are the
rulebook's (:mod:`verifier.rules`). The key-management kinds are checked and applied by
:mod:`verifier.rules.registry`.

The JSON Schemas in ``schemas/`` describe the same bodies; ``tests/test_schemas.py`` keeps
the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.core.errors import VerificationError
from verifier.rules.field_checks import (
    AMOUNT_FEN,
    ID,
    MAX_AMOUNT_FEN,
    POINTS,
    REASON,
    RESIDENT_REF,
    SHA256_HEX,
    USCC_ALPHABET,
    FieldCheck,
    _const,
    _date,
    _int_range,
    _list,
    _month,
    _object,
    _one_of,
    _text,
    _uscc,
    is_valid_uscc,
    uscc_check_char,
)

#: ``MAX_AMOUNT_FEN``, ``FieldCheck`` and the USCC helpers live in
#: :mod:`verifier.rules.field_checks`; importers may take them from here too.
__all__ = [
    "AWARD_OPTIONAL",
    "DOMAIN_KINDS",
    "EVIDENCE",
    "FUND_SOURCES",
    "KINDS",
    "MAX_AMOUNT_FEN",
    "MAX_AUTHORITIES",
    "MAX_KEY_NAME",
    "MILESTONE",
    "MILESTONES",
    "PARTY_TYPES",
    "PROCUREMENT_METHODS",
    "PROPOSE_OPTIONAL",
    "RELATIONS",
    "USCC_ALPHABET",
    "FieldCheck",
    "Kind",
    "genesis_format",
    "is_valid_uscc",
    "uscc_check_char",
]

#: FORMAT.md §7.3: the longest key name in a key-management body (``origin`` included) and
#: the most authority keys a genesis names. With the text limits of §10 they keep every legal
#: entry line below 65,535 bytes (FORMAT.md §4; tests/test_size_limits.py builds the largest).
MAX_KEY_NAME = 128
MAX_AUTHORITIES = 16

#: FORMAT.md §10.3: procurement methods (《政府采购法》 and 财政部令第 74 号 / 第 110 号).
PROCUREMENT_METHODS = (
    "公开招标",
    "邀请招标",
    "竞争性谈判",
    "竞争性磋商",
    "询价",
    "单一来源",
    "框架协议",
)
#: FORMAT.md §10.3: where appropriated money comes from.
FUND_SOURCES = ("财政", "社区基金", "捐赠")
#: FORMAT.md §10.2: party types (a community's 居委会, a 社会组织, a company).
PARTY_TYPES = ("community", "social_organisation", "company")
#: FORMAT.md §10.1: family relations a policy may allow credit transfers between.
RELATIONS = ("配偶", "父母", "子女", "兄弟姐妹", "祖父母", "孙子女")

MILESTONE = _object(
    {
        "milestone_id": ID,
        "amount_fen": AMOUNT_FEN,
        "due": _date,
        "deliverable": _text(200),
    }
)
MILESTONES = _list(MILESTONE, 1, 50, distinct_by="milestone_id")
EVIDENCE = _list(SHA256_HEX, 1, 32, distinct=True)


@dataclass(frozen=True)
class Kind:
    """One entry kind: the roles that may sign it and the exact fields of its body.

    ``fields`` is ``None`` for kinds whose bodies another module checks (key management).
    """

    name: str
    roles: frozenset[str]
    fields: dict[str, FieldCheck] | None
    #: Members a body MAY carry (FORMAT.md §10, "Changes in version 2.1"); checked when present.
    optional: dict[str, FieldCheck] = field(default_factory=dict)

    def check_body(self, body: dict[str, Any], index: int) -> None:
        """Raise ``VerificationError("entry.body")`` naming the first bad field. O(body)."""
        if self.fields is None:
            if self.name == "log.genesis":
                genesis_format(body, index)
            problem = _key_body_sizes(self.name, body)
            if problem:
                raise VerificationError(
                    "entry.body", problem[1], index=index, field=f"statement.body.{problem[0]}"
                )
            return
        keys = body.keys()
        if not self.fields.keys() <= keys or not keys <= self.fields.keys() | self.optional.keys():
            extra = f", optionally {', '.join(sorted(self.optional))}" if self.optional else ""
            raise VerificationError(
                "entry.body",
                f"{self.name} body must have exactly the fields "
                f"{', '.join(sorted(self.fields))}{extra}",
                index=index,
                field="statement.body",
            )
        checks = [*self.fields.items(), *((n, c) for n, c in self.optional.items() if n in keys)]
        for name, check in checks:
            problem = check(body[name])
            if problem:
                raise VerificationError(
                    "entry.body",
                    problem[1],
                    index=index,
                    field=f"statement.body.{name}{problem[0]}",
                )


def genesis_format(body: dict[str, Any], index: int = 0) -> int:
    """The log format a genesis body declares (FORMAT.md §7.3): 1 without ``format``, 2 with
    ``"format": 2``; any other value fails ``entry.body``. O(1)."""
    if "format" not in body:
        return 1
    if type(body["format"]) is not int or body["format"] != 2:
        raise VerificationError(
            "entry.body",
            "must be 2, or absent in a format-1 log; 日志格式版本无效",
            index=index,
            field="statement.body.format",
        )
    return 2


def _key_body_sizes(kind: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """FORMAT.md §7.3 size limits of a key-management body, (member, what it must be) of the
    first one exceeded; everything else about these bodies is the registry's. O(body)."""
    auths = body.get("authorities") if kind == "log.genesis" else None
    if type(auths) is list and len(auths) > MAX_AUTHORITIES:
        return "authorities", f"must list at most {MAX_AUTHORITIES} keys"
    names = {"log.genesis": ["origin", "log_key"], "key.grant": ["key"]}.get(kind, [])
    named = [(m, body.get(m)) for m in names] + [
        (f"authorities[{n}]", v) for n, v in enumerate(auths if type(auths) is list else ())
    ]
    for member, v in named:
        if type(v) is str and len(v.split("+", 1)[0]) > MAX_KEY_NAME:
            return member, f"must have a key name of at most {MAX_KEY_NAME} characters"
    return None


def _kind(
    name: str,
    roles: set[str],
    fields: dict[str, FieldCheck] | None,
    optional: dict[str, FieldCheck] | None = None,
) -> Kind:
    return Kind(name, frozenset(roles), fields, optional or {})


#: FORMAT.md §10.3 (version 2.1): optional procurement facts of a ``contract.award`` — the
#: signing date, the number of bids received and the tender period — for the red flags.
AWARD_OPTIONAL: dict[str, FieldCheck] = {
    "signed": _date,
    "bidders": _int_range(1, 10_000, "the number of bids received"),
    "tender_start": _date,
    "tender_end": _date,
}
#: FORMAT.md §10.3 (version 2.1): optional acceptance facts of a ``payment.propose``: the
#: date the milestone was met (验收日期) and the digest of the acceptance record.
PROPOSE_OPTIONAL: dict[str, FieldCheck] = {
    "milestone_met": _date,
    "acceptance_sha256": SHA256_HEX,
}


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        # FORMAT.md §7.3 — key management (bodies checked by verifier.rules.registry).
        _kind("log.genesis", {"authority"}, None),
        _kind("key.grant", {"authority"}, None),
        _kind("key.revoke", {"authority"}, None),
        # FORMAT.md §10.1 — policy.
        _kind(
            "policy.set",
            {"authority"},
            {
                "version": _int_range(1, 1_000_000, "the policy version"),
                "currency": _const("CNY"),
                "dual_control_threshold_fen": AMOUNT_FEN,
                "credit_rates": _list(
                    _object(
                        {
                            "category": _text(50),
                            "points_per_hour": _int_range(1, 1000, "points per hour"),
                        }
                    ),
                    1,
                    50,
                    distinct_by="category",
                ),
                "daily_cap_points": POINTS,
                "activity_cap_points": POINTS,
                "balance_cap_points": _int_range(1, 10**9, "the balance cap"),
                "expiry_months": _int_range(1, 120, "months"),
                "catalogue": _list(
                    _object({"item": _text(100), "points": POINTS}), 1, 100, distinct_by="item"
                ),
                "transfer_relations": _list(_one_of(*RELATIONS), 0, len(RELATIONS), distinct=True),
            },
        ),
        # FORMAT.md §10.2 — parties.
        _kind(
            "party.register",
            {"authority", "finance_officer"},
            {
                "party_id": ID,
                "type": _one_of(*PARTY_TYPES),
                "name": _text(200),
                "uscc": _uscc,
            },
        ),
        # FORMAT.md §10.3 — funds, contracts and payments.
        _kind(
            "fund.appropriate",
            {"finance_officer"},
            {
                "fund_id": ID,
                "fiscal_year": _int_range(2000, 2100, "a fiscal year"),
                "programme": _text(200),
                "source": _one_of(*FUND_SOURCES),
                "amount_fen": AMOUNT_FEN,
            },
        ),
        _kind(
            "fund.donate",
            {"finance_officer"},
            {
                "donation_id": ID,
                "fund_id": ID,
                "donor": ID,
                "amount_fen": AMOUNT_FEN,
                "receipt_sha256": SHA256_HEX,
            },
        ),
        _kind(
            "contract.award",
            {"finance_officer"},
            {
                "contract_id": ID,
                "fund_id": ID,
                "provider": ID,
                "title": _text(200),
                "method": _one_of(*PROCUREMENT_METHODS),
                "total_fen": AMOUNT_FEN,
                "milestones": MILESTONES,
                "evidence": EVIDENCE,
            },
            AWARD_OPTIONAL,
        ),
        _kind(
            "contract.amend",
            {"finance_officer"},
            {
                "amendment_id": ID,
                "contract_id": ID,
                "total_fen": AMOUNT_FEN,
                "milestones": MILESTONES,
                "evidence": EVIDENCE,
                "reason": REASON,
            },
        ),
        _kind(
            "payment.propose",
            {"finance_officer"},
            {
                "payment_id": ID,
                "contract_id": ID,
                "milestone_id": ID,
                "amount_fen": AMOUNT_FEN,
                "invoice_no": ID,
                "invoice_sha256": SHA256_HEX,
            },
            PROPOSE_OPTIONAL,
        ),
        _kind("payment.approve", {"approver"}, {"payment_id": ID}),
        _kind("payment.reject", {"approver"}, {"payment_id": ID, "reason": REASON}),
        _kind("payment.reverse", {"finance_officer"}, {"payment_id": ID, "reason": REASON}),
        # FORMAT.md §10.4 — volunteer service and credits.
        _kind(
            "activity.register",
            {"organiser"},
            {
                "activity_id": ID,
                "community": ID,
                "category": _text(50),
                "date": _date,
                "title": _text(100),
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
            "credit.correct",
            {"organiser"},
            {
                "award_index": _int_range(1, 2**53 - 1, "the index of the credit.award entry"),
                "resident_ref": RESIDENT_REF,
                "activity_id": ID,
                "minutes": _int_range(0, 24 * 60, "the corrected service minutes"),
                "reason": REASON,
            },
        ),
        _kind(
            "credit.redeem",
            {"service_desk"},
            {"resident_ref": RESIDENT_REF, "item": _text(100), "points": POINTS},
        ),
        _kind(
            "credit.transfer",
            {"service_desk"},
            {
                "from_ref": RESIDENT_REF,
                "to_ref": RESIDENT_REF,
                "points": POINTS,
                "relation": _one_of(*RELATIONS),
            },
        ),
        _kind("credit.expire", {"service_desk"}, {"through_month": _month}),
    )
}

#: The kinds the business rulebook applies (everything but key management).
DOMAIN_KINDS = frozenset(KINDS) - {"log.genesis", "key.grant", "key.revoke"}
