"""Bodies of the domain kinds (FORMAT.md §10) for the ledger tests: the prelude a log needs
(policy and two parties) and a cycle of funds, contracts, payments and volunteer credits that is
valid under the rulebook, statement after statement.

Every domain kind but policy.set and party.register needs a policy in force, and most refer to
registered parties, funds, contracts, payments or activities. :func:`prelude` gives a log the
policy and two parties; :func:`domain_cycle` then yields statements that are valid one after
the other under the rulebook. Everything is deterministic (digests of fixed labels).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from ledger.signing.keys import SignerKey
from tests.keyring import Signer
from verifier.core.entry import Submission
from verifier.rules.kinds import uscc_check_char

#: The community (社区居委会) and the provider (社会组织) the prelude registers.
COMMUNITY = "gulou-3"
PROVIDER = "yangguang-sg"
#: A category with a credit rate in :func:`policy_body` (10 points per hour).
CATEGORY = "助老"
POINTS_PER_HOUR = 10
#: A catalogue item of :func:`policy_body` and its exact price in points.
ITEM, ITEM_POINTS = "理发券", 5
#: Payments of at least this many fen need a payment.approve by another key.
DUAL_CONTROL_FEN = 100_000


def uscc(first17: str) -> str:
    """A 统一社会信用代码: ``first17`` and its GB 32100-2015 check character."""
    return first17 + uscc_check_char(first17)


def digest(label: str) -> str:
    """A deterministic SHA-256 hex digest (an evidence document, an invoice)."""
    return hashlib.sha256(label.encode()).hexdigest()


def resident(label: object) -> str:
    """A deterministic resident_ref (32 lower-case hex digits)."""
    return hashlib.md5(str(label).encode()).hexdigest()


def policy_body(version: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid ``policy.set`` body; ``changes`` replace members."""
    body: dict[str, Any] = {
        "version": version,
        "currency": "CNY",
        "dual_control_threshold_fen": DUAL_CONTROL_FEN,
        "credit_rates": [
            {"category": CATEGORY, "points_per_hour": POINTS_PER_HOUR},
            {"category": "环境整治", "points_per_hour": 8},
        ],
        "daily_cap_points": 80,
        "activity_cap_points": 40,
        "balance_cap_points": 5000,
        "expiry_months": 24,
        "catalogue": [
            {"item": ITEM, "points": ITEM_POINTS},
            {"item": "米面油礼包", "points": 30},
        ],
        "transfer_relations": ["子女", "配偶"],
    }
    body.update(changes)
    return body


def community_body() -> dict[str, Any]:
    return {
        "party_id": COMMUNITY,
        "type": "community",
        "name": "鼓楼街道第三社区居民委员会",
        "uscc": uscc("55330102MEA00001X"),
    }


def provider_body() -> dict[str, Any]:
    return {
        "party_id": PROVIDER,
        "type": "social_organisation",
        "name": "阳光社工服务中心",
        "uscc": uscc("52330102MJ0000017"),
    }


def prelude(sign: Signer, authority: SignerKey, registrar: SignerKey) -> list[Submission]:
    """The domain prelude a log needs before most domain kinds: policy v1 (signed by
    ``authority``), the community (by ``authority``) and the provider (by ``registrar``, an
    authority or a finance officer)."""
    return [
        sign(authority, "policy.set", policy_body()),
        sign(authority, "party.register", community_body()),
        sign(registrar, "party.register", provider_body()),
    ]


def fund_body(n: int, amount: Any = 100_000) -> dict[str, Any]:
    return {
        "fund_id": f"F-{n}",
        "fiscal_year": 2026,
        "programme": "社区养老服务",
        "source": "财政",
        "amount_fen": amount,
    }


def contract_body(contract_id: str, fund_id: str, due: str) -> dict[str, Any]:
    """A contract of 600 000 fen with the provider: milestones M1 (200 000) and M2 (400 000)."""
    return {
        "contract_id": contract_id,
        "fund_id": fund_id,
        "provider": PROVIDER,
        "title": "助餐服务",
        "method": "询价",
        "total_fen": 600_000,
        "milestones": [
            {"milestone_id": "M1", "amount_fen": 200_000, "due": due, "deliverable": "首月助餐"},
            {"milestone_id": "M2", "amount_fen": 400_000, "due": due, "deliverable": "次月助餐"},
        ],
        "evidence": [digest(f"contract {contract_id}")],
    }


def propose_body(
    payment_id: str, contract_id: str, amount: int = 200_000, milestone: str = "M1"
) -> dict[str, Any]:
    """A payment proposal; the default amount is at the dual-control threshold or above."""
    return {
        "payment_id": payment_id,
        "contract_id": contract_id,
        "milestone_id": milestone,
        "amount_fen": amount,
        "invoice_no": f"INV-{payment_id}",
        "invoice_sha256": digest(f"invoice {payment_id}"),
    }


def approve_body(n: int) -> dict[str, Any]:
    return {"payment_id": f"P-{n}"}


def activity_body(activity_id: str, day: str) -> dict[str, Any]:
    return {
        "activity_id": activity_id,
        "community": COMMUNITY,
        "category": CATEGORY,
        "date": day,
        "title": "敬老院陪护",
    }


def credit_award_body(who: str, activity_id: str, minutes: int = 60) -> dict[str, Any]:
    return {"resident_ref": who, "activity_id": activity_id, "minutes": minutes}


def redeem_body(who: str) -> dict[str, Any]:
    return {"resident_ref": who, "item": ITEM, "points": ITEM_POINTS}


def domain_cycle(count: int, day: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``count`` domain statements (signer name, kind, body), valid in this order after the
    :func:`prelude` on a log whose entries are logged on ``day`` (YYYY-MM-DD). Every prefix is
    valid too. Signer names are official key names (finance, approver, organiser, desk).

    A cycle of seven, ids numbered by position ``k``: fund.appropriate ``F<k>`` →
    contract.award ``C<k>`` (of the fund before) → payment.propose ``P<k>`` (200 000 fen, at
    the dual-control threshold or above: pending) → payment.approve of it → activity.register
    ``A<k>`` on ``day`` → credit.award of 90 minutes (15 points) to resident ``resident(k)``
    → credit.redeem of :data:`ITEM` by that resident.
    """
    for k in range(count):
        m = k % 7
        if m == 0:
            body = fund_body(0, 1_000_000 + k)
            body["fund_id"] = f"F{k}"
            yield "finance", "fund.appropriate", body
        elif m == 1:
            yield "finance", "contract.award", contract_body(f"C{k}", f"F{k - 1}", day)
        elif m == 2:
            yield "finance", "payment.propose", propose_body(f"P{k}", f"C{k - 1}")
        elif m == 3:
            yield "approver", "payment.approve", {"payment_id": f"P{k - 1}"}
        elif m == 4:
            yield "organiser", "activity.register", activity_body(f"A{k}", day)
        elif m == 5:
            yield "organiser", "credit.award", credit_award_body(resident(k), f"A{k - 1}", 90)
        else:
            yield "desk", "credit.redeem", redeem_body(resident(k - 1))


#: The activity the standard ledger registers first (position 4 of its domain cycle):
#: :func:`award_body` refers to it.
STD_ACTIVITY = "A4"


def award_body(n: int, activity_id: str = STD_ACTIVITY, minutes: int = 60) -> dict[str, Any]:
    """A credit.award (60 minutes: 10 points) for resident ``r<n>`` (a new resident for each
    ``n``)."""
    return credit_award_body(resident(f"r{n}"), activity_id, minutes)
