"""A small, self-contained street-office log for the traceability-report tests
(:mod:`tests.test_report`, :mod:`tests.test_trace`): policy, parties, funds, a donation,
contracts and an amendment, payments below and above the dual-control threshold, an approval,
a rejection, a reversal, a pending proposal, activities, awards, a correction, redemptions, a
transfer, a second policy and an expiry run, written through the real ledger with seeded keys
and a clock the builder moves explicitly.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.cli.parallel import SignaturePool
from verifier.rules.kinds import uscc_check_char

ORIGIN = "gongxin.test/report"
START = datetime(2026, 5, 4, 8, 0, 0, tzinfo=UTC)
ROLES = {
    "finance": (["finance_officer"], "街道财务科 会计"),
    "approver": (["approver"], "街道办事处 分管副主任"),
    "organiser": (["organiser"], "春江社区 社工"),
    "desk": (["service_desk"], "街道便民服务中心 窗口"),
}
COMMUNITIES = {"C-chunjiang": "春江社区", "C-qiuyue": "秋月社区"}
PROVIDERS = {
    "P-chunhui": ("company", "杭州春晖养老服务有限公司"),
    "P-lvzhou": ("social_organisation", "绿洲社会工作服务中心"),
}


def _key(name: str) -> SignerKey:
    seed = hashlib.sha256(f"gongxin-report-tests/{name}".encode()).digest()
    return SignerKey.from_seed(ORIGIN if name == "log" else f"test-{name}", seed)


def _uscc(n: int) -> str:
    first17 = f"91330106MA{n:07d}"
    return first17 + uscc_check_char(first17)


def _ref(name: str) -> str:
    return hashlib.sha256(f"resident/{name}".encode()).hexdigest()[:32]


def _policy(version: int, *, rate_elderly: int, expiry_months: int) -> dict[str, Any]:
    return {
        "version": version,
        "currency": "CNY",
        "dual_control_threshold_fen": 100_000,
        "credit_rates": [
            {"category": "助老服务", "points_per_hour": rate_elderly},
            {"category": "环境整治", "points_per_hour": 6},
        ],
        "daily_cap_points": 100,
        "activity_cap_points": 60,
        "balance_cap_points": 10_000,
        "expiry_months": expiry_months,
        "catalogue": [{"item": "理发服务", "points": 20}, {"item": "图书借阅", "points": 3}],
        "transfer_relations": ["配偶", "子女"],
    }


def _contract(cid: str, fund: str, provider: str, milestones: dict[str, int]) -> dict[str, Any]:
    return {
        "contract_id": cid,
        "fund_id": fund,
        "provider": provider,
        "title": f"{cid} 居家养老上门服务",
        "method": "公开招标",
        "total_fen": sum(milestones.values()),
        "milestones": [
            {"milestone_id": m, "amount_fen": a, "due": "2026-12-31", "deliverable": "服务记录"}
            for m, a in milestones.items()
        ],
        "evidence": [hashlib.sha256(cid.encode()).hexdigest()],
    }


def _propose(pid: str, contract: str, milestone: str, amount: int) -> dict[str, Any]:
    return {
        "payment_id": pid,
        "contract_id": contract,
        "milestone_id": milestone,
        "amount_fen": amount,
        "invoice_no": f"INV-{pid}",
        "invoice_sha256": hashlib.sha256(pid.encode()).hexdigest(),
    }


class _Clock:
    """The ledger's clock: returns ``now``, which the builder moves explicitly."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SmallLog:
    """A ledger on SQLite with its keys; ``at[label]`` is the index of a labelled entry."""

    url: str
    ledger: Ledger
    clock: _Clock
    keys: dict[str, SignerKey]
    at: dict[str, int] = field(default_factory=dict)
    n: int = 0

    def add(self, signer: str, kind: str, body: dict[str, Any], label: str | None = None) -> int:
        self.n += 1
        self.clock.now += timedelta(seconds=10)
        sub = sign_statement(
            kind,
            body,
            self.keys[signer],
            origin=ORIGIN,
            statement_id=str(uuid.UUID(int=self.n, version=4)),
            time=self.clock.now - timedelta(seconds=1),
        )
        index = self.ledger.append(sub.canonical()).index
        if label is not None:
            self.at[label] = index
        return index

    def today(self) -> str:
        return self.clock.now.date().isoformat()


def build_small_log(tmp_path: Path) -> SmallLog:
    """Write the scenario of the module docstring. The ledger stays open (close it)."""
    keys = {name: _key(name) for name in ("log", "authority", *ROLES)}
    clock = _Clock()
    url = f"sqlite:///{tmp_path / 'report.db'}"
    ledger = Ledger.open(url, log_key=keys["log"], clock=clock, pool=SignaturePool(1))
    log = SmallLog(url, ledger, clock, keys)
    genesis = sign_statement(
        "log.genesis",
        {
            "authorities": [str(keys["authority"].verifier())],
            "format": 2,
            "log_key": str(keys["log"].verifier()),
            "origin": ORIGIN,
        },
        keys["authority"],
        origin=ORIGIN,
        statement_id=str(uuid.UUID(int=0, version=4)),
        time=START - timedelta(seconds=1),
    )
    ledger.initialize(genesis.canonical())
    for name, (roles, title) in ROLES.items():
        log.add(
            "authority",
            "key.grant",
            {"key": str(keys[name].verifier()), "roles": roles, "title": title},
        )
    log.add("authority", "policy.set", _policy(1, rate_elderly=10, expiry_months=12))
    n = 0
    for pid, name in COMMUNITIES.items():
        n += 1
        body = {"party_id": pid, "type": "community", "name": name, "uscc": _uscc(n)}
        log.add("authority", "party.register", body)
    for pid, (ptype, name) in PROVIDERS.items():
        n += 1
        log.add(
            "finance",
            "party.register",
            {"party_id": pid, "type": ptype, "name": name, "uscc": _uscc(n)},
        )
    fund = {"fiscal_year": 2026, "programme": "社区养老服务"}
    log.add(
        "finance",
        "fund.appropriate",
        {**fund, "fund_id": "F-1", "source": "财政", "amount_fen": 5_000_000},
    )
    log.add(
        "finance",
        "fund.appropriate",
        {**fund, "fund_id": "F-2", "source": "社区基金", "amount_fen": 1_000_000},
    )
    log.add(
        "finance",
        "fund.donate",
        {
            "donation_id": "D-1",
            "fund_id": "F-2",
            "donor": "donor-001",
            "amount_fen": 200_000,
            "receipt_sha256": "ab" * 32,
        },
    )
    log.add(
        "finance",
        "contract.award",
        _contract("K-1", "F-1", "P-chunhui", {"M1": 1_000_000, "M2": 2_000_000}),
    )
    log.add("finance", "contract.award", _contract("K-2", "F-2", "P-lvzhou", {"M1": 800_000}))
    amend = _contract("K-2", "F-2", "P-lvzhou", {"M1": 900_000})
    log.add(
        "finance",
        "contract.amend",
        {
            "amendment_id": "AM-1",
            "contract_id": "K-2",
            "total_fen": amend["total_fen"],
            "milestones": amend["milestones"],
            "evidence": amend["evidence"],
            "reason": "增加服务时长",
        },
    )
    log.add("finance", "payment.propose", _propose("PAY-1", "K-1", "M1", 50_000))  # counted
    log.add("finance", "payment.propose", _propose("PAY-2", "K-1", "M1", 500_000))  # pending
    log.add("approver", "payment.approve", {"payment_id": "PAY-2"})
    log.add("finance", "payment.propose", _propose("PAY-3", "K-1", "M2", 1_500_000))
    log.add("approver", "payment.reject", {"payment_id": "PAY-3", "reason": "发票金额有误"})
    log.add("finance", "payment.propose", _propose("PAY-4", "K-2", "M1", 90_000))  # counted
    log.add("finance", "payment.reverse", {"payment_id": "PAY-4", "reason": "重复支付"})
    log.add("finance", "payment.propose", _propose("PAY-5", "K-2", "M1", 300_000))  # stays pending
    log.add("finance", "payment.propose", _propose("PAY-6", "K-1", "M2", 200_000))
    log.add("approver", "payment.approve", {"payment_id": "PAY-6"})
    # Credits, in May 2026.
    for aid, community, category in (
        ("ACT-1", "C-chunjiang", "助老服务"),
        ("ACT-2", "C-qiuyue", "环境整治"),
    ):
        body = {
            "activity_id": aid,
            "community": community,
            "category": category,
            "date": log.today(),
            "title": f"{category}活动",
        }
        log.add("organiser", "activity.register", body)
    award = "credit.award"
    log.add("organiser", award, {"resident_ref": _ref("r1"), "activity_id": "ACT-1", "minutes": 90})
    log.add(
        "organiser",
        award,
        {"resident_ref": _ref("r2"), "activity_id": "ACT-1", "minutes": 45},
        label="award-r2",
    )
    log.add(
        "organiser", award, {"resident_ref": _ref("r1"), "activity_id": "ACT-2", "minutes": 100}
    )
    log.add(
        "organiser",
        "credit.correct",
        {
            "award_index": log.at["award-r2"],
            "resident_ref": _ref("r2"),
            "activity_id": "ACT-1",
            "minutes": 120,
            "reason": "签到记录更正",
        },
    )
    log.add("desk", "credit.redeem", {"resident_ref": _ref("r1"), "item": "理发服务", "points": 20})
    log.add(
        "desk",
        "credit.transfer",
        {"from_ref": _ref("r1"), "to_ref": _ref("r3"), "points": 3, "relation": "配偶"},
    )
    # A new policy: a higher rate, and points expire after one month.
    log.add("authority", "policy.set", _policy(2, rate_elderly=12, expiry_months=1))
    log.add("organiser", award, {"resident_ref": _ref("r3"), "activity_id": "ACT-1", "minutes": 60})
    log.add("desk", "credit.redeem", {"resident_ref": _ref("r3"), "item": "图书借阅", "points": 3})
    # July: expire May, then new service in July.
    log.clock.now = datetime(2026, 7, 2, 9, 0, 0, tzinfo=UTC)
    log.add("desk", "credit.expire", {"through_month": "2026-05"})
    body = {
        "activity_id": "ACT-3",
        "community": "C-qiuyue",
        "category": "环境整治",
        "date": log.today(),
        "title": "夏季环境整治",
    }
    log.add("organiser", "activity.register", body)
    log.add("organiser", award, {"resident_ref": _ref("r2"), "activity_id": "ACT-3", "minutes": 70})
    log.add("desk", "credit.redeem", {"resident_ref": _ref("r2"), "item": "图书借阅", "points": 3})
    return log
