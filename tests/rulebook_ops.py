"""Operations for the rulebook tests (FORMAT.md §10): the officials' keys, the test policy
and parties, and one ``*_op`` builder per kind with small, valid defaults.

:class:`Op` is one statement to sign: the signer's name, the kind and the body.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core.entry import Submission
from verifier.rules.kinds import uscc_check_char

from .keyring import grant_body, key

REPO = Path(__file__).resolve().parents[1]
ORIGIN = "gongxin.test/rulebook"
NAMESPACE = "gongxin-rulebook-tests"
#: A Monday morning; every test day starts at 08:00 UTC, far from midnight.
START = datetime(2026, 5, 4, 8, 0, 0, tzinfo=UTC)

#: Official key name -> roles. ``dual`` holds both finance_officer and approver (dual control
#: compares keys, not roles: it may approve others' payments, never its own).
OFFICIALS: dict[str, list[str]] = {
    "finance": ["finance_officer"],
    "finance2": ["finance_officer"],
    "approver": ["approver"],
    "dual": ["approver", "finance_officer"],
    "organiser": ["organiser"],
    "organiser2": ["organiser"],
    "desk": ["service_desk"],
}

#: The policy of every test log (version 1). Points: 助老 10/h, 环保 20/h.
POLICY: dict[str, Any] = {
    "version": 1,
    "currency": "CNY",
    "dual_control_threshold_fen": 100_000,
    "credit_rates": [
        {"category": "助老", "points_per_hour": 10},
        {"category": "环保", "points_per_hour": 20},
    ],
    "daily_cap_points": 40,
    "activity_cap_points": 30,
    "balance_cap_points": 100,
    "expiry_months": 2,
    "catalogue": [{"item": "理发券", "points": 20}, {"item": "鸡蛋", "points": 5}],
    "transfer_relations": ["子女", "配偶"],
}

#: party id -> type, registered by :func:`standard_setup`.
PARTIES: dict[str, str] = {
    "Q1": "community",
    "Q2": "community",
    "P1": "company",
    "P2": "social_organisation",
}


# -- keys ------------------------------------------------------------------------------------


@dataclass
class RuleKeys:
    log: SignerKey
    authority: SignerKey
    officials: dict[str, SignerKey]
    stranger: SignerKey  # never granted

    def __getitem__(self, name: str) -> SignerKey:
        if name == "authority":
            return self.authority
        if name == "stranger":
            return self.stranger
        return self.officials[name]


def rule_keys(seed: int = 0) -> RuleKeys:
    """Deterministic keys (their own namespace, so not those of other test modules)."""
    return RuleKeys(
        log=key("log", key_name=ORIGIN, seed=seed, namespace=NAMESPACE),
        authority=key("authority", seed=seed, namespace=NAMESPACE),
        officials={n: key(n, seed=seed, namespace=NAMESPACE) for n in OFFICIALS},
        stranger=key("stranger", seed=seed, namespace=NAMESPACE),
    )


# -- values ----------------------------------------------------------------------------------


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 (correct GB 32100-2015 check character), distinct per ``n``."""
    first17 = f"91350100{n:09d}"
    return first17 + uscc_check_char(first17)


def resident(n: int) -> str:
    """A resident_ref (32 lower-case hex digits), distinct per ``n``."""
    return hashlib.sha256(f"resident/{n}".encode()).hexdigest()[:32]


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def add_months(month: str, k: int) -> str:
    n = int(month[:4]) * 12 + int(month[5:7]) - 1 + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


# -- operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One statement to sign: who (a key name of :class:`RuleKeys`), what kind, which body."""

    signer: str
    kind: str
    body: dict[str, Any]
    cosigners: tuple[str, ...] = ()


def policy_op(version: int = 1, **changes: Any) -> Op:
    body = {**POLICY, "version": version, **changes}
    return Op("authority", "policy.set", body)


def party_op(party_id: str, type_: str, n: int | None = None, *, signer: str = "finance") -> Op:
    code = uscc(n if n is not None else int(hashlib.sha256(party_id.encode()).hexdigest()[:6], 16))
    return Op(
        signer,
        "party.register",
        {"party_id": party_id, "type": type_, "name": f"{party_id} 测试主体", "uscc": code},
    )


def fund_op(fund_id: str, amount: int, source: str = "财政", *, signer: str = "finance") -> Op:
    return Op(
        signer,
        "fund.appropriate",
        {
            "fund_id": fund_id,
            "fiscal_year": 2026,
            "programme": "社区养老服务",
            "source": source,
            "amount_fen": amount,
        },
    )


def donate_op(donation_id: str, fund_id: str, amount: int, *, signer: str = "finance") -> Op:
    return Op(
        signer,
        "fund.donate",
        {
            "donation_id": donation_id,
            "fund_id": fund_id,
            "donor": "donor-1",
            "amount_fen": amount,
            "receipt_sha256": digest(f"receipt/{donation_id}"),
        },
    )


def _milestones(milestones: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [
        {"milestone_id": mid, "amount_fen": amt, "due": "2026-12-31", "deliverable": f"交付 {mid}"}
        for mid, amt in milestones
    ]


def contract_op(
    contract_id: str,
    fund_id: str,
    provider: str,
    milestones: Sequence[tuple[str, int]],
    total: int | None = None,
    *,
    signer: str = "finance",
) -> Op:
    return Op(
        signer,
        "contract.award",
        {
            "contract_id": contract_id,
            "fund_id": fund_id,
            "provider": provider,
            "title": "居家养老上门服务",
            "method": "竞争性磋商",
            "total_fen": sum(a for _, a in milestones) if total is None else total,
            "milestones": _milestones(milestones),
            "evidence": [digest(f"contract/{contract_id}")],
        },
    )


def amend_op(
    amendment_id: str,
    contract_id: str,
    milestones: Sequence[tuple[str, int]],
    total: int | None = None,
    *,
    signer: str = "finance",
) -> Op:
    return Op(
        signer,
        "contract.amend",
        {
            "amendment_id": amendment_id,
            "contract_id": contract_id,
            "total_fen": sum(a for _, a in milestones) if total is None else total,
            "milestones": _milestones(milestones),
            "evidence": [digest(f"amendment/{amendment_id}")],
            "reason": "服务范围调整",
        },
    )


def propose_op(
    payment_id: str,
    contract_id: str,
    milestone_id: str,
    amount: int,
    invoice: str | None = None,
    *,
    signer: str = "finance",
) -> Op:
    inv = invoice or f"INV-{payment_id}"
    return Op(
        signer,
        "payment.propose",
        {
            "payment_id": payment_id,
            "contract_id": contract_id,
            "milestone_id": milestone_id,
            "amount_fen": amount,
            "invoice_no": inv,
            "invoice_sha256": digest(f"invoice/{inv}"),
        },
    )


def approve_op(payment_id: str, *, signer: str = "approver") -> Op:
    return Op(signer, "payment.approve", {"payment_id": payment_id})


def reject_op(payment_id: str, *, signer: str = "approver") -> Op:
    return Op(signer, "payment.reject", {"payment_id": payment_id, "reason": "发票不符"})


def reverse_op(payment_id: str, *, signer: str = "finance") -> Op:
    return Op(signer, "payment.reverse", {"payment_id": payment_id, "reason": "重复支付冲正"})


def activity_op(
    activity_id: str,
    community: str,
    category: str,
    day: str | date,
    *,
    signer: str = "organiser",
) -> Op:
    return Op(
        signer,
        "activity.register",
        {
            "activity_id": activity_id,
            "community": community,
            "category": category,
            "date": str(day),
            "title": "敬老院探访",
        },
    )


def award_op(ref: str, activity_id: str, minutes: int, *, signer: str = "organiser") -> Op:
    return Op(
        signer,
        "credit.award",
        {"resident_ref": ref, "activity_id": activity_id, "minutes": minutes},
    )


def correct_op(
    award_index: int, ref: str, activity_id: str, minutes: int, *, signer: str = "organiser"
) -> Op:
    return Op(
        signer,
        "credit.correct",
        {
            "award_index": award_index,
            "resident_ref": ref,
            "activity_id": activity_id,
            "minutes": minutes,
            "reason": "签到记录更正",
        },
    )


def redeem_op(ref: str, item: str, points: int, *, signer: str = "desk") -> Op:
    return Op(signer, "credit.redeem", {"resident_ref": ref, "item": item, "points": points})


def transfer_op(
    src: str, dst: str, points: int, relation: str = "配偶", *, signer: str = "desk"
) -> Op:
    return Op(
        signer,
        "credit.transfer",
        {"from_ref": src, "to_ref": dst, "points": points, "relation": relation},
    )


def expire_op(through_month: str, *, signer: str = "desk") -> Op:
    return Op(signer, "credit.expire", {"through_month": through_month})


def grant_op(keys: RuleKeys, name: str, roles: Sequence[str] | None = None) -> Op:
    roles = sorted(roles if roles is not None else OFFICIALS[name])
    return Op("authority", "key.grant", grant_body(keys[name], roles, f"{name} 岗位"))


def revoke_op(keys: RuleKeys, name: str) -> Op:
    return Op("authority", "key.revoke", {"key_id": keys[name].key_id_hex, "reason": "调岗"})


def genesis_op(keys: RuleKeys) -> Op:
    return Op(
        "authority",
        "log.genesis",
        {
            "authorities": [str(keys.authority.verifier())],
            "format": 2,
            "log_key": str(keys.log.verifier()),
            "origin": ORIGIN,
        },
    )


def standard_setup(keys: RuleKeys, *, policy: bool = True) -> list[Op]:
    """After genesis: a grant for every official, policy v1 (unless not ``policy``) and the
    parties of :data:`PARTIES`."""
    ops = [grant_op(keys, name) for name in OFFICIALS]
    if policy:
        ops.append(policy_op(1))
    ops += [party_op(pid, t, n) for n, (pid, t) in enumerate(PARTIES.items())]
    return ops


def sign_op(
    keys: RuleKeys, op: Op, statement_id: str, when: datetime, *, as_key: SignerKey | None = None
) -> Submission:
    """Sign ``op`` as a client would (statement time ``when``)."""
    return sign_statement(
        op.kind,
        op.body,
        as_key or keys[op.signer],
        origin=ORIGIN,
        statement_id=statement_id,
        time=when,
        cosigners=[keys[c] for c in op.cosigners],
    )


def statement_id(prefix: str, n: int) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(f"{prefix}/{n}".encode()).digest()[:16], version=4))


def day_start(day: str | date) -> datetime:
    """08:00 UTC of ``day``."""
    return datetime.combine(date.fromisoformat(str(day)), time(8, 0), tzinfo=UTC)
