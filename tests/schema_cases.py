"""Known-good documents of every body and envelope model, and the two oracles the schema
tests compare (:mod:`tests.test_schemas`): whether a pydantic model accepts a document, and
whether the verifier does (``Kind.check_body``, :class:`verifier.rules.registry.KeyRegistry`,
:mod:`verifier.core.entry`)."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, ValidationError

from ledger.signing.keys import SignerKey
from ledger.signing.statements import canonicalize, unsigned_statement
from schemas import BODY_MODELS, ENVELOPE_MODELS
from verifier.core.canonical import CanonicalError, check_profile
from verifier.core.entry import parse_entry_line, parse_statement, submission_from_json
from verifier.core.errors import VerificationError
from verifier.rules import kinds
from verifier.rules.registry import KeyRecord, KeyRegistry

Json = Any
Path = tuple[str | int, ...]

# -- keys and known-good documents ---------------------------------------------------------

KEYS = [
    SignerKey.from_seed(name, bytes([n + 1]) * 32)
    for n, name in enumerate(
        ("gongxin.example/xinhua-jiedao", "街道办主任", "authority-2", "财务科.会计", "审批人")
    )
]
LOG, AUTH = KEYS[0], KEYS[1]
VKEYS = [str(k.verifier()) for k in KEYS]
KEY_IDS = [k.key_id_hex for k in KEYS]

H1, H2 = "a1" * 32, "0f" * 32
RES1, RES2 = "0123456789abcdef" * 2, "fedcba9876543210" * 2
MILESTONES = [
    {
        "milestone_id": "M1",
        "amount_fen": 30_000_000,
        "due": "2026-06-30",
        "deliverable": "上半年服务报告",
    },
    {
        "milestone_id": "M2",
        "amount_fen": 30_000_000,
        "due": "2026-12-31",
        "deliverable": "全年服务报告及审计",
    },
]

GOOD: dict[str, dict[str, Json]] = {
    "log.genesis": {
        "authorities": [VKEYS[1], VKEYS[2]],
        "format": 2,
        "log_key": VKEYS[0],
        "origin": LOG.name,
    },
    "key.grant": {
        "key": VKEYS[3],
        "roles": ["approver", "finance_officer"],
        "title": "街道财务科 会计",
    },
    "key.revoke": {"key_id": KEY_IDS[3], "reason": "调离岗位"},
    "policy.set": {
        "version": 1,
        "currency": "CNY",
        "dual_control_threshold_fen": 500_000,
        "credit_rates": [
            {"category": "助老服务", "points_per_hour": 10},
            {"category": "环境保护", "points_per_hour": 8},
        ],
        "daily_cap_points": 80,
        "activity_cap_points": 40,
        "balance_cap_points": 5000,
        "expiry_months": 24,
        "catalogue": [{"item": "理发服务", "points": 30}, {"item": "家电维修", "points": 50}],
        "transfer_relations": ["配偶", "父母", "子女"],
    },
    "party.register": {
        "party_id": "P-chunhui",
        "type": "social_organisation",
        "name": "杭州春晖社会工作服务中心",
        "uscc": "91350100M000100Y43",
    },
    "fund.appropriate": {
        "fund_id": "F2026-elderly",
        "fiscal_year": 2026,
        "programme": "居家养老服务",
        "source": "财政",
        "amount_fen": 120_000_000,
    },
    "fund.donate": {
        "donation_id": "D-0001",
        "fund_id": "F2026-elderly",
        "donor": "P-lvzhou",
        "amount_fen": 5_000_000,
        "receipt_sha256": H1,
    },
    "contract.award": {
        "contract_id": "C2026-001",
        "fund_id": "F2026-elderly",
        "provider": "P-chunhui",
        "title": "2026 年居家养老上门服务项目",
        "method": "竞争性磋商",
        "total_fen": 60_000_000,
        "milestones": MILESTONES,
        "evidence": [H1, H2],
    },
    "contract.amend": {
        "amendment_id": "A-C2026-001-1",
        "contract_id": "C2026-001",
        "total_fen": 60_000_000,
        "milestones": MILESTONES,
        "evidence": [H2],
        "reason": "服务对象增加 20 户，经街道办主任办公会议决定",
    },
    "payment.propose": {
        "payment_id": "PAY-0001",
        "contract_id": "C2026-001",
        "milestone_id": "M1",
        "amount_fen": 30_000_000,
        "invoice_no": "33012600-00001234",
        "invoice_sha256": H2,
    },
    "payment.approve": {"payment_id": "PAY-0001"},
    "payment.reject": {"payment_id": "PAY-0001", "reason": "发票金额与付款节点不符"},
    "payment.reverse": {"payment_id": "PAY-0001", "reason": "发票作废，重新开具"},
    "activity.register": {
        "activity_id": "ACT-2026-0412",
        "community": "P-xinhua",
        "category": "助老服务",
        "date": "2026-04-12",
        "title": "敬老院陪伴",
    },
    "credit.award": {"resident_ref": RES1, "activity_id": "ACT-2026-0412", "minutes": 120},
    "credit.correct": {
        "award_index": 42,
        "resident_ref": RES1,
        "activity_id": "ACT-2026-0412",
        "minutes": 90,
        "reason": "签到记录有误",
    },
    "credit.redeem": {"resident_ref": RES1, "item": "理发服务", "points": 30},
    "credit.transfer": {"from_ref": RES1, "to_ref": RES2, "points": 100, "relation": "父母"},
    "credit.expire": {"through_month": "2024-03"},
}


def _submission() -> dict[str, Json]:
    st_ = unsigned_statement(
        "fund.appropriate",
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "2026-11-22T08:30:00Z",
        KEYS[3].key_id_hex,
        GOOD["fund.appropriate"],
    )
    sigs = [
        {"key_id": k.key_id_hex, "sig": base64.b64encode(k.sign(st_.message(LOG.name))).decode()}
        for k in (KEYS[3], KEYS[4])
    ]
    return {"signatures": sigs, "statement": st_.raw}


SUBMISSION = _submission()
GOOD["statement"] = SUBMISSION["statement"]
GOOD["submission"] = SUBMISSION
GOOD["entry"] = {
    "index": 7,
    "log_time": "2026-11-22T08:30:01.250000Z",
    "prev": H1,
    **SUBMISSION,
}

# -- oracles -------------------------------------------------------------------------------


def model_accepts(name: str, doc: Json) -> bool:
    model: type[BaseModel] = {**BODY_MODELS, **ENVELOPE_MODELS}[name]
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True


def _registry() -> KeyRegistry:
    reg = KeyRegistry()
    for k in KEYS[1:]:
        reg.keys[k.key_id_hex] = KeyRecord(k.verifier(), frozenset({"finance_officer"}), 1)
    return reg


def verifier_accepts(name: str, doc: Json) -> bool:
    """Whether the verifier accepts ``doc`` as far as its shape goes."""
    try:
        if name in ("log.genesis", "key.grant"):
            kinds.KINDS[name].check_body(doc, 0)  # the size limits of FORMAT.md §7.3
        if name == "log.genesis":
            KeyRegistry().apply_genesis(doc, 0, signer="")
        elif name == "key.grant":
            KeyRegistry().apply_grant(doc, 1, None)
        elif name == "key.revoke":
            _registry().apply_revoke(doc, 5, None)
        elif name == "statement":
            check_profile(doc)
            parse_statement(doc)
        elif name == "submission":
            check_profile(doc)
            submission_from_json(doc)
        elif name == "entry":
            parse_entry_line(canonicalize(doc))
        else:
            kinds.KINDS[name].check_body(doc, 0)
    except CanonicalError:
        return False
    except VerificationError as exc:
        if name == "log.genesis":
            # The signer check comes after every body check.
            return exc.rule == "genesis.signer"
        if name == "key.revoke" and exc.rule == "key.unknown":
            # An unknown key is registry state, not body shape; only its form is the body's.
            kid = doc.get("key_id")
            return type(kid) is str and len(kid) == 8 and set(kid) <= set("0123456789abcdef")
        return False
    return name != "log.genesis"
