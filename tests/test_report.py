"""``gongxin-verify --report``: the traceability report (FORMAT.md §10.6).

A small, self-contained street-office log (policy, parties, funds, a donation, contracts and
an amendment, payments below and above the dual-control threshold, an approval, a rejection,
a reversal, a pending proposal, activities, awards, a correction, redemptions, a transfer, a
second policy, an expiry run) is written through the real ledger, exported, and verified
with the ``gongxin-verify`` entry point. Its report is then checked against an INDEPENDENT
summation over the raw exported lines (:func:`independent_sums`, written here from FORMAT.md
§10 alone: it does not use ``verifier.rules``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.cli.main import main as verify_main
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
            "log_key": str(keys["log"].verifier()),
            "origin": ORIGIN,
        },
        keys["authority"],
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


# ------------------------------------------------------------------- independent summation


def _months(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def independent_sums(lines: list[bytes]) -> dict[str, Any]:
    """The report's figures, recomputed from the raw entry lines with FORMAT.md §10 alone
    (no ``verifier`` code): per fund, contract, provider and community, plus totals."""
    funds: dict[str, dict[str, Any]] = {}
    contracts: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    payments: dict[str, dict[str, Any]] = {}
    communities: dict[str, dict[str, Any]] = {}
    activities: dict[str, tuple[str, str, str]] = {}  # id -> community, category, month
    awards: dict[tuple[str, str], int] = {}  # (resident, activity) -> points
    lots: dict[str, list[list[Any]]] = {}  # resident -> [[month, community, points]] sorted
    policy: dict[str, Any] = {}

    def money(rec: dict[str, Any], name: str, amount: int, index: int) -> None:
        rec[name] = rec.get(name, 0) + amount
        ix = rec.setdefault(f"i_{name}", [])
        if not ix or ix[-1] != index:
            ix.append(index)

    def community(cid: str) -> dict[str, Any]:
        return communities.setdefault(cid, {})

    def take(resident: str, points: int) -> list[tuple[str, str, int]]:
        taken, rest, need = [], [], points
        for m, c, p in lots.get(resident, []):
            t = min(p, need)
            need -= t
            if t:
                taken.append((m, c, t))
            if p - t:
                rest.append([m, c, p - t])
        assert need == 0, "the log spends more than a balance: the summation is wrong"
        lots[resident] = rest
        return taken

    def add_lot(resident: str, month: str, cid: str, points: int) -> None:
        held = lots.setdefault(resident, [])
        for lot in held:
            if lot[0] == month and lot[1] == cid:
                lot[2] += points
                break
        else:
            held.append([month, cid, points])
            held.sort()
        lots[resident] = [lot for lot in held if lot[2]]

    for raw in lines:
        e = json.loads(raw)
        i, st = e["index"], e["statement"]
        kind, b = st["kind"], st["body"]
        if kind == "policy.set":
            policy = b
        elif kind == "party.register":
            if b["type"] != "community":
                providers[b["party_id"]] = {"name": b["name"], "uscc": b["uscc"]}
        elif kind == "fund.appropriate":
            funds[b["fund_id"]] = {}
            money(funds[b["fund_id"]], "appropriated", b["amount_fen"], i)
        elif kind == "fund.donate":
            money(funds[b["fund_id"]], "donated", b["amount_fen"], i)
        elif kind == "contract.award":
            contracts[b["contract_id"]] = {"fund": b["fund_id"], "provider": b["provider"]}
            for rec in (funds[b["fund_id"]], providers[b["provider"]], contracts[b["contract_id"]]):
                money(rec, "contracted", b["total_fen"], i)
        elif kind == "contract.amend":
            c = contracts[b["contract_id"]]
            delta = b["total_fen"] - c["contracted"]
            for rec in (funds[c["fund"]], providers[c["provider"]], c):
                money(rec, "contracted", delta, i)
        elif kind.startswith("payment."):
            if kind == "payment.propose":
                c = contracts[b["contract_id"]]
                payments[b["payment_id"]] = p = {
                    "contract": b["contract_id"],
                    "amount": b["amount_fen"],
                    "state": "pending",
                    "signer": st["signer"],
                }
                counted = b["amount_fen"] < policy["dual_control_threshold_fen"]
            else:
                p = payments[b["payment_id"]]
                c = contracts[p["contract"]]
                counted = kind == "payment.approve"
            recs = (funds[c["fund"]], providers[c["provider"]], c)
            if counted:
                p["state"] = "counted"
                for rec in recs:
                    money(rec, "paid", p["amount"], i)
            elif kind == "payment.reject":
                p["state"] = "rejected"
            elif kind == "payment.reverse":
                p["state"] = "reversed"
                for rec in recs:
                    money(rec, "paid", -p["amount"], i)
                    money(rec, "reversed", p["amount"], i)
        elif kind == "activity.register":
            activities[b["activity_id"]] = (b["community"], b["category"], b["date"][:7])
        elif kind in ("credit.award", "credit.correct"):
            cid, category, month = activities[b["activity_id"]]
            rate = {r["category"]: r["points_per_hour"] for r in policy["credit_rates"]}[category]
            points = b["minutes"] * rate // 60
            key = (b["resident_ref"], b["activity_id"])
            delta = points - awards.get(key, 0)
            awards[key] = points
            name = "awarded" if kind == "credit.award" else "corrected"
            money(community(cid), name, delta, i)
            add_lot(b["resident_ref"], month, cid, delta)
        elif kind == "credit.redeem":
            for _, cid, pts in take(b["resident_ref"], b["points"]):
                money(community(cid), "redeemed", pts, i)
        elif kind == "credit.transfer":
            for m, cid, pts in take(b["from_ref"], b["points"]):
                money(community(cid), "transferred_out", pts, i)
                money(community(cid), "transferred_in", pts, i)
                add_lot(b["to_ref"], m, cid, pts)
        elif kind == "credit.expire":
            through = _months(b["through_month"])
            for resident, held in lots.items():
                for m, cid, pts in held:
                    if _months(m) <= through:
                        money(community(cid), "expired", pts, i)
                lots[resident] = [lot for lot in held if _months(lot[0]) > through]
    for cid, rec in communities.items():
        rec["outstanding"] = sum(p for held in lots.values() for _, c, p in held if c == cid)
    return {
        "funds": funds,
        "contracts": contracts,
        "providers": providers,
        "payments": payments,
        "communities": communities,
    }


# ------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SmallLog]]:
    tmp = tmp_path_factory.mktemp("report")
    log = build_small_log(tmp)
    export_bundle(log.ledger, tmp / "bundle")
    yield tmp / "bundle", log
    log.ledger.close()


def _verify(bundle_dir: Path, *extra: str) -> int:
    vkey = (bundle_dir / "log.vkey").read_text().strip()
    return verify_main([str(bundle_dir), "--log-key", vkey, "--quiet", *extra])


def _lines(bundle_dir: Path) -> list[bytes]:
    return (bundle_dir / "entries.jsonl").read_bytes().splitlines()


@pytest.fixture(scope="module")
def report(
    bundle: tuple[Path, SmallLog], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out") / "report.json"
    assert _verify(bundle[0], "--report", str(out)) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _get(m: dict[str, Any], name: str) -> int:
    return int(m.get(name, 0))


def assert_report_matches(report: dict[str, Any], want: dict[str, Any]) -> None:
    """Every fund, contract, provider and community figure of ``report`` (and every index
    list behind a summed figure) equals the independent summation ``want``; so do the
    totals."""
    funds = {f["fund_id"]: f for f in report["funds"]}
    assert set(funds) == set(want["funds"])
    for fid, w in want["funds"].items():
        for name in ("appropriated", "donated", "contracted", "paid", "reversed"):
            assert funds[fid][f"{name}_fen"] == _get(w, name), (fid, name)
            assert funds[fid]["entries"][name] == w.get(f"i_{name}", []), (fid, name)
        budget = _get(w, "appropriated") + _get(w, "donated")
        assert funds[fid]["unallocated_fen"] == budget - _get(w, "contracted"), fid
        assert funds[fid]["remaining_fen"] == budget - _get(w, "paid"), fid
    contracts = {c["contract_id"]: c for c in report["contracts"]}
    assert set(contracts) == set(want["contracts"])
    for cid, w in want["contracts"].items():
        c = contracts[cid]
        assert (c["total_fen"], c["paid_fen"], c["reversed_fen"]) == (
            w["contracted"],
            _get(w, "paid"),
            _get(w, "reversed"),
        ), cid
        assert (c["fund_id"], c["provider"]) == (w["fund"], w["provider"]), cid
    states = {p["payment_id"]: p["state"] for c in report["contracts"] for p in c["payments"]}
    assert states == {pid: p["state"] for pid, p in want["payments"].items()}
    providers = {p["party_id"]: p for p in report["providers"]}
    assert set(providers) == set(want["providers"])
    for pid, w in want["providers"].items():
        assert (providers[pid]["name"], providers[pid]["uscc"]) == (w["name"], w["uscc"])
        for name in ("contracted", "paid", "reversed"):
            assert providers[pid][f"{name}_fen"] == _get(w, name), (pid, name)
            assert providers[pid]["entries"][name] == w.get(f"i_{name}", []), (pid, name)
    communities = {c["party_id"]: c for c in report["communities"]}
    assert set(want["communities"]) <= set(communities)
    credit_names = (
        "awarded",
        "corrected",
        "redeemed",
        "transferred_in",
        "transferred_out",
        "expired",
    )
    for cid, c in communities.items():
        w = want["communities"].get(cid, {"outstanding": 0})
        for name in credit_names:
            assert c[f"{name}_points"] == _get(w, name), (cid, name)
            assert c["entries"][name] == w.get(f"i_{name}", []), (cid, name)
        assert c["outstanding_points"] == w["outstanding"], cid
    t = report["totals"]
    for name in ("appropriated", "donated", "contracted", "paid", "reversed"):
        assert t[f"{name}_fen"] == sum(_get(f, name) for f in want["funds"].values()), name
    for name in (*credit_names, "outstanding"):
        want_total = sum(_get(c, name) for c in want["communities"].values())
        assert t[f"{name}_points"] == want_total, name
    counted = Counter(p["state"] for p in want["payments"].values())
    assert t["payments"] == {s: counted.get(s, 0) for s in t["payments"]}


# ------------------------------------------------------------------- tests


def test_report_matches_independent_sums(
    bundle: tuple[Path, SmallLog], report: dict[str, Any]
) -> None:
    assert_report_matches(report, independent_sums(_lines(bundle[0])))


def test_demo_verifies_and_its_report_is_reproduced_independently(tmp_path: Path) -> None:
    """Done-when: the demo verifies, and its report's totals are reproduced by summing the
    raw entries independently."""
    from ledger.demo import build_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    size, _ = build_demo(url, 3000, 1, None)
    with Ledger.open(url, create=False, replay=False) as ledger:
        export_bundle(ledger, tmp_path / "bundle")
    out = tmp_path / "demo-report.json"
    assert _verify(tmp_path / "bundle", "--report", str(out), "--workers", "2") == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["verification"]["tree_size"] == size == 3000
    want = independent_sums(_lines(tmp_path / "bundle"))
    assert want["funds"] and want["payments"] and want["communities"], "the demo moved nothing"
    assert_report_matches(report, want)
    assert (tmp_path / "demo-report.md").read_text(encoding="utf-8").startswith("# 公信")


def test_scenario_figures_by_hand(report: dict[str, Any]) -> None:
    """The scenario's own arithmetic, as a reader would check it by hand."""
    funds = {f["fund_id"]: f for f in report["funds"]}
    f1, f2 = funds["F-1"], funds["F-2"]
    # F-1: paid = 500 (below the threshold) + 5000 (approved) + 2000 (approved) yuan.
    assert (f1["appropriated_fen"], f1["contracted_fen"], f1["paid_fen"]) == (
        5_000_000,
        3_000_000,
        750_000,
    )
    # F-2: 10000 + 2000 donated; K-2 8000 amended to 9000; PAY-4 900 paid then reversed.
    assert (f2["donated_fen"], f2["contracted_fen"], f2["paid_fen"], f2["reversed_fen"]) == (
        200_000,
        900_000,
        0,
        90_000,
    )
    assert (f2["pending_fen"], f1["pending_fen"]) == (300_000, 0)
    assert (f1["source"], f2["source"]) == ("财政", "社区基金")
    assert report["totals"]["payments"] == {
        "pending": 1,
        "counted": 3,
        "rejected": 1,
        "reversed": 1,
    }
    com = {c["party_id"]: c for c in report["communities"]}
    assert set(com) == set(COMMUNITIES)
    # 春江: 90 min × 10/h = 15, 45 min → 7 (corrected to 120 min → 20), then 60 min × 12/h
    # under policy v2 = 12; 秋月: 100 min × 6/h = 10, then 70 min × 6/h = 7 in July.
    assert com["C-chunjiang"]["awarded_points"] == 15 + 7 + 12
    assert com["C-chunjiang"]["corrected_points"] == 20 - 7
    assert com["C-qiuyue"]["awarded_points"] == 10 + 7
    assert report["totals"]["redeemed_points"] == 20 + 3 + 3
    assert com["C-qiuyue"]["outstanding_points"] == 7 - 3
    assert com["C-chunjiang"]["outstanding_points"] == 0  # all expired in July


def test_report_header_and_markdown(bundle: tuple[Path, SmallLog], report: dict[str, Any]) -> None:
    v = report["verification"]
    assert v["valid"] is True and v["tree_size"] == len(_lines(bundle[0]))
    assert "elapsed_seconds" not in v  # the report depends on the log only
    assert report["format"] == "gongxin-traceability/1"


def test_markdown_next_to_json_and_directory_mode(
    bundle: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    assert _verify(bundle[0], "--report", str(out)) == 0
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    for needle in (
        "# 公信 可追溯报告",
        "## 资金 Funds",
        "## 合同 Contracts",
        "## 服务机构 Providers",
        "## 社区积分 Community credits",
        "| 拨款 Appropriated | 50000.00 |",  # F-1: 5,000,000 fen
        "7500.00",  # F-1 paid
        "杭州春晖养老服务有限公司",
        "驳回 rejected",
    ):
        assert needle in md, needle
    lines = _lines(bundle[0])
    fund_line = next(i for i, raw in enumerate(lines) if b'"fund_id":"F-1","programme"' in raw)
    assert f"| 拨款 Appropriated | 50000.00 | #{fund_line} |" in md
    # Directory mode, and the same bytes on a second run, also with two worker processes.
    d = tmp_path / "dir"
    assert _verify(bundle[0], "--report", str(d), "--workers", "2") == 0
    assert (d / "report.json").read_bytes() == out.read_bytes()
    assert (d / "report.md").read_text(encoding="utf-8") == md


def test_no_report_when_verification_fails(bundle: tuple[Path, SmallLog], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("checkpoint", "log.vkey"):
        (bad / name).write_bytes((bundle[0] / name).read_bytes())
    lines = _lines(bundle[0])
    k = next(i for i, raw in enumerate(lines) if b'"amount_fen":5000000,' in raw)
    lines[k] = lines[k].replace(b'"amount_fen":5000000,', b'"amount_fen":5000001,')
    (bad / "entries.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    assert _verify(bad, "--report", str(out)) == 1
    assert not out.exists()
    assert _verify(bad, "--report", str(tmp_path / "x.json"), "--workers", "2") == 1
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "x.md").exists()


def test_report_to_unwritable_place_is_a_usage_error(
    bundle: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    assert _verify(bundle[0], "--report", str(tmp_path / "missing" / "r.json")) == 2
    (tmp_path / "file").write_text("x")
    assert _verify(bundle[0], "--report", str(tmp_path / "file")) == 2


def test_index_lists_cover_every_domain_entry(
    bundle: tuple[Path, SmallLog], report: dict[str, Any]
) -> None:
    """Every entry that moved money or points is linked from some figure."""
    lines = _lines(bundle[0])
    moving = {
        json.loads(raw)["index"]
        for raw in lines
        if json.loads(raw)["statement"]["kind"].split(".")[0]
        in ("fund", "contract", "payment", "credit")
    }
    linked: set[int] = set()
    for section in ("funds", "contracts", "providers", "communities"):
        for rec in report[section]:
            for ix in rec["entries"].values():
                linked.update(ix)
    assert moving <= linked


def test_yuan_and_refs() -> None:
    from verifier.reports.markdown import refs, yuan

    assert [yuan(v) for v in (0, 5, 123456, -5, -100)] == [
        "0.00",
        "0.05",
        "1234.56",
        "-0.05",
        "-1.00",
    ]
    assert refs([]) == "—"
    assert refs([3, 7]) == "#3, #7"
    long = refs(list(range(100)))
    assert long.startswith("#0, #1, #2, #3, #4, #5, … #98, #99") and "共 100 条" in long
