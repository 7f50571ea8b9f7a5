"""An INDEPENDENT summation of the traceability report's figures (FORMAT.md §10.6) over raw
exported entry lines, written from FORMAT.md §10 alone (it does not use ``verifier.rules``),
and the assertion that a report equals it (:mod:`tests.test_report`,
:mod:`tests.test_report_xlsx`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ------------------------------------------------------------------- independent summation


def _months(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _money(rec: dict[str, Any], name: str, amount: int, index: int) -> None:
    """Add ``amount`` to ``rec[name]`` and ``index`` to its index list ``rec["i_<name>"]``."""
    rec[name] = rec.get(name, 0) + amount
    ix = rec.setdefault(f"i_{name}", [])
    if not ix or ix[-1] != index:
        ix.append(index)


@dataclass
class _Sums:
    """The summation's state; one method per kind (or family of kinds) of FORMAT.md §10,
    each taking the entry index and its statement."""

    funds: dict[str, dict[str, Any]] = field(default_factory=dict)
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    communities: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: activity id -> community, category, month
    activities: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: (resident, activity) -> points
    awards: dict[tuple[str, str], int] = field(default_factory=dict)
    #: resident -> [[month, community, points]] sorted
    lots: dict[str, list[list[Any]]] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)

    def community(self, cid: str) -> dict[str, Any]:
        return self.communities.setdefault(cid, {})

    def take(self, resident: str, points: int) -> list[tuple[str, str, int]]:
        """Spend ``points`` of ``resident``'s lots, oldest first; the (month, community,
        points) taken."""
        taken, rest, need = [], [], points
        for m, c, p in self.lots.get(resident, []):
            t = min(p, need)
            need -= t
            if t:
                taken.append((m, c, t))
            if p - t:
                rest.append([m, c, p - t])
        assert need == 0, "the log spends more than a balance: the summation is wrong"
        self.lots[resident] = rest
        return taken

    def add_lot(self, resident: str, month: str, cid: str, points: int) -> None:
        held = self.lots.setdefault(resident, [])
        for lot in held:
            if lot[0] == month and lot[1] == cid:
                lot[2] += points
                break
        else:
            held.append([month, cid, points])
            held.sort()
        self.lots[resident] = [lot for lot in held if lot[2]]

    # -- money (§10.3) ----------------------------------------------------------------------

    def policy_set(self, i: int, st: dict[str, Any]) -> None:
        self.policy = st["body"]

    def party_register(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        if b["type"] != "community":
            self.providers[b["party_id"]] = {"name": b["name"], "uscc": b["uscc"]}

    def fund_appropriate(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        self.funds[b["fund_id"]] = {}
        _money(self.funds[b["fund_id"]], "appropriated", b["amount_fen"], i)

    def fund_donate(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        _money(self.funds[b["fund_id"]], "donated", b["amount_fen"], i)

    def contract_award(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        self.contracts[b["contract_id"]] = {"fund": b["fund_id"], "provider": b["provider"]}
        for rec in (
            self.funds[b["fund_id"]],
            self.providers[b["provider"]],
            self.contracts[b["contract_id"]],
        ):
            _money(rec, "contracted", b["total_fen"], i)

    def contract_amend(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        c = self.contracts[b["contract_id"]]
        delta = b["total_fen"] - c["contracted"]
        for rec in (self.funds[c["fund"]], self.providers[c["provider"]], c):
            _money(rec, "contracted", delta, i)

    def _payment_of(self, kind: str, st: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The payment a payment.* statement concerns (recorded on propose) and whether this
        statement makes it count."""
        b = st["body"]
        if kind != "payment.propose":
            return self.payments[b["payment_id"]], kind == "payment.approve"
        self.payments[b["payment_id"]] = p = {
            "contract": b["contract_id"],
            "amount": b["amount_fen"],
            "state": "pending",
            "signer": st["signer"],
        }
        return p, b["amount_fen"] < self.policy["dual_control_threshold_fen"]

    def payment(self, i: int, st: dict[str, Any]) -> None:
        kind = st["kind"]
        p, counted = self._payment_of(kind, st)
        c = self.contracts[p["contract"]]
        recs = (self.funds[c["fund"]], self.providers[c["provider"]], c)
        if counted:
            p["state"] = "counted"
            for rec in recs:
                _money(rec, "paid", p["amount"], i)
        elif kind == "payment.reject":
            p["state"] = "rejected"
        elif kind == "payment.reverse":
            p["state"] = "reversed"
            for rec in recs:
                _money(rec, "paid", -p["amount"], i)
                _money(rec, "reversed", p["amount"], i)

    # -- credits (§10.4) --------------------------------------------------------------------

    def activity_register(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        self.activities[b["activity_id"]] = (b["community"], b["category"], b["date"][:7])

    def credit_points(self, i: int, st: dict[str, Any]) -> None:
        """credit.award and credit.correct: the award's points become the new value."""
        b = st["body"]
        cid, category, month = self.activities[b["activity_id"]]
        rate = {r["category"]: r["points_per_hour"] for r in self.policy["credit_rates"]}[category]
        points = b["minutes"] * rate // 60
        key = (b["resident_ref"], b["activity_id"])
        delta = points - self.awards.get(key, 0)
        self.awards[key] = points
        name = "awarded" if st["kind"] == "credit.award" else "corrected"
        _money(self.community(cid), name, delta, i)
        self.add_lot(b["resident_ref"], month, cid, delta)

    def credit_redeem(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        for _, cid, pts in self.take(b["resident_ref"], b["points"]):
            _money(self.community(cid), "redeemed", pts, i)

    def credit_transfer(self, i: int, st: dict[str, Any]) -> None:
        b = st["body"]
        for m, cid, pts in self.take(b["from_ref"], b["points"]):
            _money(self.community(cid), "transferred_out", pts, i)
            _money(self.community(cid), "transferred_in", pts, i)
            self.add_lot(b["to_ref"], m, cid, pts)

    def credit_expire(self, i: int, st: dict[str, Any]) -> None:
        through = _months(st["body"]["through_month"])
        for resident, held in self.lots.items():
            for m, cid, pts in held:
                if _months(m) <= through:
                    _money(self.community(cid), "expired", pts, i)
            self.lots[resident] = [lot for lot in held if _months(lot[0]) > through]

    def result(self) -> dict[str, Any]:
        for cid, rec in self.communities.items():
            rec["outstanding"] = sum(
                p for held in self.lots.values() for _, c, p in held if c == cid
            )
        return {
            "funds": self.funds,
            "contracts": self.contracts,
            "providers": self.providers,
            "payments": self.payments,
            "communities": self.communities,
        }


_HANDLERS: dict[str, Callable[[_Sums, int, dict[str, Any]], None]] = {
    "policy.set": _Sums.policy_set,
    "party.register": _Sums.party_register,
    "fund.appropriate": _Sums.fund_appropriate,
    "fund.donate": _Sums.fund_donate,
    "contract.award": _Sums.contract_award,
    "contract.amend": _Sums.contract_amend,
    "activity.register": _Sums.activity_register,
    "credit.award": _Sums.credit_points,
    "credit.correct": _Sums.credit_points,
    "credit.redeem": _Sums.credit_redeem,
    "credit.transfer": _Sums.credit_transfer,
    "credit.expire": _Sums.credit_expire,
}


def independent_sums(lines: list[bytes]) -> dict[str, Any]:
    """The report's figures, recomputed from the raw entry lines with FORMAT.md §10 alone
    (no ``verifier`` code): per fund, contract, provider and community, plus totals."""
    sums = _Sums()
    for raw in lines:
        e = json.loads(raw)
        kind = e["statement"]["kind"]
        handler = _Sums.payment if kind.startswith("payment.") else _HANDLERS.get(kind)
        if handler is not None:
            handler(sums, e["index"], e["statement"])
    return sums.result()


# ------------------------------------------------------------------- the comparison


def _get(m: dict[str, Any], name: str) -> int:
    return int(m.get(name, 0))


CREDIT_NAMES = ("awarded", "corrected", "redeemed", "transferred_in", "transferred_out", "expired")
MONEY_NAMES = ("appropriated", "donated", "contracted", "paid", "reversed")


def _assert_funds(report: dict[str, Any], want: dict[str, Any]) -> None:
    funds = {f["fund_id"]: f for f in report["funds"]}
    assert set(funds) == set(want["funds"])
    for fid, w in want["funds"].items():
        for name in MONEY_NAMES:
            assert funds[fid][f"{name}_fen"] == _get(w, name), (fid, name)
            assert funds[fid]["entries"][name] == w.get(f"i_{name}", []), (fid, name)
        budget = _get(w, "appropriated") + _get(w, "donated")
        assert funds[fid]["unallocated_fen"] == budget - _get(w, "contracted"), fid
        assert funds[fid]["remaining_fen"] == budget - _get(w, "paid"), fid


def _assert_contracts(report: dict[str, Any], want: dict[str, Any]) -> None:
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


def _assert_providers(report: dict[str, Any], want: dict[str, Any]) -> None:
    providers = {p["party_id"]: p for p in report["providers"]}
    assert set(providers) == set(want["providers"])
    for pid, w in want["providers"].items():
        assert (providers[pid]["name"], providers[pid]["uscc"]) == (w["name"], w["uscc"])
        for name in ("contracted", "paid", "reversed"):
            assert providers[pid][f"{name}_fen"] == _get(w, name), (pid, name)
            assert providers[pid]["entries"][name] == w.get(f"i_{name}", []), (pid, name)


def _assert_communities(report: dict[str, Any], want: dict[str, Any]) -> None:
    communities = {c["party_id"]: c for c in report["communities"]}
    assert set(want["communities"]) <= set(communities)
    for cid, c in communities.items():
        w = want["communities"].get(cid, {"outstanding": 0})
        for name in CREDIT_NAMES:
            assert c[f"{name}_points"] == _get(w, name), (cid, name)
            assert c["entries"][name] == w.get(f"i_{name}", []), (cid, name)
        assert c["outstanding_points"] == w["outstanding"], cid


def _assert_totals(report: dict[str, Any], want: dict[str, Any]) -> None:
    t = report["totals"]
    for name in MONEY_NAMES:
        assert t[f"{name}_fen"] == sum(_get(f, name) for f in want["funds"].values()), name
    for name in (*CREDIT_NAMES, "outstanding"):
        want_total = sum(_get(c, name) for c in want["communities"].values())
        assert t[f"{name}_points"] == want_total, name
    counted = Counter(p["state"] for p in want["payments"].values())
    assert t["payments"] == {s: counted.get(s, 0) for s in t["payments"]}


def assert_report_matches(report: dict[str, Any], want: dict[str, Any]) -> None:
    """Every fund, contract, provider and community figure of ``report`` (and every index
    list behind a summed figure) equals the independent summation ``want``; so do the
    totals."""
    _assert_funds(report, want)
    _assert_contracts(report, want)
    _assert_providers(report, want)
    _assert_communities(report, want)
    _assert_totals(report, want)
