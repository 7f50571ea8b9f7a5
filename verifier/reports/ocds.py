"""OCDS 1.1.5 export: the log's contracts as an Open Contracting release package.

One **compiled release** per contract (``tag: ["compiled"]``, ``ocid`` = prefix + ``-`` +
contract id), built from verified entries only:

- ``parties``: the buyer (the log's owner, named by its origin; roles buyer, procuringEntity,
  payer) and the provider (id ``CN-USCI-`` + its 统一社会信用代码, identifier scheme
  ``CN-USCI``; roles supplier, payee);
- ``planning.budget``: the fund (id, programme, appropriation plus donations);
- ``tender`` and ``awards[0]``: title, value at award, ``procurementMethod`` mapped from the
  Chinese method (kept verbatim in ``procurementMethodDetails``), the optional number of
  bids and tender period (FORMAT.md §10.3);
- ``contracts[0]``: value after amendments, the optional ``dateSigned``, ``milestones``
  (``dueDate``, ``status``, ``dateMet`` when a payment recorded it), ``amendments`` and
  ``implementation.transactions``: one per payment **counted** at the end of the log
  (reversed and rejected payments are left out, so the transactions sum to the contract's
  paid amount), value in yuan converted exactly from fen.

Every object made from an entry carries ``gongxinEntries``: the entry indices behind it (an
additional field, allowed by OCDS). Dates are the entries' ``log_time`` (UTC), due dates
midnight Beijing time. Memory: the award body of each contract and one record per payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from verifier.core.entry import Entry
from verifier.core.errors import InputError
from verifier.reports.flag_facts import yuan
from verifier.rules import Posting

__all__ = ["METHODS", "PLACEHOLDER_PREFIX", "OcdsCollector", "check_prefix"]

#: The placeholder OCID prefix: register a real one with the Open Contracting Partnership.
PLACEHOLDER_PREFIX = "ocds-xxxxxx"
_PREFIX = re.compile(r"ocds-[0-9a-z]{6}\Z")

#: FORMAT.md §10.3 method → OCDS ``method`` codelist.
METHODS = {
    "公开招标": "open",
    "邀请招标": "selective",
    "竞争性谈判": "limited",
    "竞争性磋商": "limited",
    "询价": "limited",
    "单一来源": "direct",
    "框架协议": "selective",
}


def check_prefix(prefix: str, where: str = "--ocid-prefix") -> str:
    """``prefix`` if it is an OCID prefix (``ocds-`` and 6 lower-case letters or digits)."""
    if not _PREFIX.fullmatch(prefix):
        raise InputError(
            f"{prefix!r} is not an OCID prefix like ocds-a1b2c3; OCID 前缀格式错误", field=where
        )
    return prefix


def _value(fen: int) -> dict[str, Any]:
    return {"amount": yuan(fen), "currency": "CNY"}


@dataclass(slots=True)
class _Payment:
    payment_id: str
    milestone_id: str
    amount: int
    indices: list[int]
    met: str | None
    counted: str | None = None  # log_time when counted; None when not (or no longer) counted


@dataclass(slots=True)
class _Contract:
    award: dict[str, Any]
    index: int
    time: str
    last: int
    last_time: str
    total: int
    milestones: list[dict[str, Any]]
    amendments: list[dict[str, Any]] = field(default_factory=list)
    payments: list[_Payment] = field(default_factory=list)


class OcdsCollector:
    """Keeps what the release package needs while the log is replayed: feed
    :meth:`posting` and :meth:`entry` in index order, then :meth:`build`."""

    def __init__(self) -> None:
        self.origin = ""
        self.parties: dict[str, tuple[str, str]] = {}  # party id → (name, uscc)
        self.funds: dict[str, dict[str, Any]] = {}
        self.contracts: dict[str, _Contract] = {}
        self.payments: dict[str, tuple[_Contract, _Payment]] = {}
        self.last_time = ""
        self._postings: list[Posting] = []

    def posting(self, p: Posting) -> None:
        self._postings.append(p)

    def entry(self, entry: Entry) -> None:
        """Note an accepted entry (after its postings). O(1), O(milestones) for contracts."""
        postings, self._postings = self._postings, []
        kind, b, i, t = entry.statement.kind, entry.statement.body, entry.index, entry.log_time
        self.last_time = t
        if kind == "log.genesis":
            self.origin = b["origin"]
        elif kind == "party.register":
            self.parties[b["party_id"]] = (b["name"], b["uscc"])
        elif kind == "fund.appropriate":
            self.funds[b["fund_id"]] = {**b, "index": [i]}
        elif kind == "fund.donate":
            fund = self.funds[b["fund_id"]]
            fund["amount_fen"] += b["amount_fen"]
            fund["index"].append(i)
        elif kind == "contract.award":
            self.contracts[b["contract_id"]] = _Contract(
                b, i, t, i, t, b["total_fen"], b["milestones"]
            )
        elif kind == "contract.amend":
            self._amend(entry)
        elif kind == "payment.propose":
            c = self._touch(b["contract_id"], i, t)
            pay = _Payment(
                b["payment_id"], b["milestone_id"], b["amount_fen"], [i], b.get("milestone_met")
            )
            c.payments.append(pay)
            self.payments[pay.payment_id] = (c, pay)
        elif kind.startswith("payment."):
            c, pay = self.payments[b["payment_id"]]
            self._touch(c.award["contract_id"], i, t)
            pay.indices.append(i)
        for p in postings:
            if p.payment is None:
                continue
            _, pay = self.payments[p.payment]
            if p.event == "payment.counted":
                pay.counted = t
            elif p.event == "payment.reversed":
                pay.counted = None

    def _touch(self, contract_id: str, index: int, time: str) -> _Contract:
        c = self.contracts[contract_id]
        c.last, c.last_time = index, time
        return c

    def _amend(self, entry: Entry) -> None:
        b = entry.statement.body
        c = self._touch(b["contract_id"], entry.index, entry.log_time)
        c.amendments.append(
            {
                "id": b["amendment_id"],
                "date": entry.log_time,
                "rationale": b["reason"],
                "description": f"合同总额 contract value {yuan(c.total)} → {yuan(b['total_fen'])} 元 CNY",
                "gongxinEntries": [entry.index],
            }
        )
        c.total, c.milestones = b["total_fen"], b["milestones"]

    # -- the package --------------------------------------------------------------------------

    def _org(self, party_id: str) -> dict[str, Any]:
        name, uscc = self.parties[party_id]
        return {
            "id": f"CN-USCI-{uscc}",
            "name": name,
            "identifier": {"scheme": "CN-USCI", "id": uscc, "legalName": name},
        }

    def _milestones(self, c: _Contract) -> list[dict[str, Any]]:
        out = []
        for m in c.milestones:
            counted = [p for p in c.payments if p.milestone_id == m["milestone_id"] and p.counted]
            paid = sum(p.amount for p in counted)
            met = [p.met for p in counted if p.met]
            status = "met" if paid >= m["amount_fen"] else "partiallyMet" if paid else "scheduled"
            ms: dict[str, Any] = {
                "id": m["milestone_id"],
                "title": m["deliverable"],
                "type": "delivery",
                "description": f"节点金额 amount {yuan(m['amount_fen'])} 元 CNY",
                "dueDate": f"{m['due']}T00:00:00+08:00",
                "status": status,
            }
            if met:
                ms["dateMet"] = f"{max(met)}T00:00:00+08:00"
            out.append(ms)
        return out

    def _release(self, c: _Contract, prefix: str) -> dict[str, Any]:
        a = c.award
        cid, buyer = a["contract_id"], {"id": self.origin, "name": self.origin}
        supplier = self._org(a["provider"])
        fund = self.funds[a["fund_id"]]
        paid = [p for p in c.payments if p.counted]
        transactions = [
            {
                "id": p.payment_id,
                "date": p.counted,
                "value": _value(p.amount),
                "payer": buyer,
                "payee": {"id": supplier["id"], "name": supplier["name"]},
                "gongxinEntries": p.indices,
            }
            for p in paid
        ]
        tender: dict[str, Any] = {
            "id": f"{cid}-tender",
            "title": a["title"],
            "status": "complete",
            "procuringEntity": buyer,
            "procurementMethod": METHODS[a["method"]],
            "procurementMethodDetails": a["method"],
            "value": _value(a["total_fen"]),
        }
        if "bidders" in a:
            tender["numberOfTenderers"] = a["bidders"]
        if "tender_start" in a and "tender_end" in a:
            tender["tenderPeriod"] = {
                "startDate": f"{a['tender_start']}T00:00:00+08:00",
                "endDate": f"{a['tender_end']}T00:00:00+08:00",
            }
        contract: dict[str, Any] = {
            "id": cid,
            "awardID": f"{cid}-award",
            "title": a["title"],
            "status": "terminated" if sum(p.amount for p in paid) == c.total else "active",
            "value": _value(c.total),
            "milestones": self._milestones(c),
            "implementation": {"transactions": transactions},
            "gongxinEntries": [c.index],
        }
        if "signed" in a:
            contract["dateSigned"] = f"{a['signed']}T00:00:00+08:00"
        if c.amendments:
            contract["amendments"] = c.amendments
        return {
            "ocid": f"{prefix}-{cid}",
            "id": f"{prefix}-{cid}-{c.last}",
            "date": c.last_time,
            "tag": ["compiled"],
            "initiationType": "tender",
            "language": "zh",
            "parties": [
                {**buyer, "roles": ["buyer", "procuringEntity", "payer"]},
                {**supplier, "roles": ["supplier", "payee"]},
            ],
            "buyer": buyer,
            "planning": {
                "budget": {
                    "id": fund["fund_id"],
                    "description": fund["programme"],
                    "project": fund["programme"],
                    "amount": _value(fund["amount_fen"]),
                    "gongxinEntries": fund["index"],
                }
            },
            "tender": tender,
            "awards": [
                {
                    "id": f"{cid}-award",
                    "title": a["title"],
                    "status": "active",
                    "date": c.time,
                    "value": _value(a["total_fen"]),
                    "suppliers": [{"id": supplier["id"], "name": supplier["name"]}],
                    "gongxinEntries": [c.index],
                }
            ],
            "contracts": [contract],
        }

    def build(self, prefix: str = PLACEHOLDER_PREFIX, size: int | None = None) -> dict[str, Any]:
        """The release package (OCDS 1.1.5), one compiled release per contract in award
        order. ``size``: the verified tree size, named in the package's ``uri``. Raises
        :class:`InputError` when the log has no contract (a package needs a release)."""
        check_prefix(prefix)
        if not self.contracts:
            raise InputError(
                "the log has no contract: no OCDS release to write; 日志中没有合同", field="--ocds"
            )
        uri = f"https://{self.origin}/ocds/release-package"
        return {
            "uri": uri if size is None else f"{uri}?size={size}",
            "version": "1.1",
            "publishedDate": self.last_time,
            "publisher": {"name": self.origin},
            "releases": [self._release(c, prefix) for c in self.contracts.values()],
        }
