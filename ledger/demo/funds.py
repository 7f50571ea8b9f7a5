"""The money side of the scenario: appropriations and donations (财政, 社区基金, 捐赠),
purchase-of-service contracts (政府购买服务) and their amendments, milestone payments under
dual control above the policy's threshold, rejections and reversals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta

from ledger.demo.books import (
    _Contract,
    _ContractPlan,
    _Fund,
    _Milestone,
    _Payment,
    annual_contracts,
)
from ledger.demo.cast import (
    DEMO_START,
    FUND_LINES,
    PROJECTS,
    REJECT_REASONS,
    REVERSE_REASONS,
    YUAN,
)
from ledger.demo.planner import Planned, _Planner
from ledger.demo.planted import (
    AMEND_DAY,
    AMEND_PERCENT,
    AMEND_TITLE,
    LATE_DAYS,
    LATE_MILESTONE,
    LATE_TITLE,
    SPLIT_DAYS,
    SPLIT_FUND,
    split_plan,
)


def digest(text: str) -> str:
    """A SHA-256 standing in for an off-log document (evidence, invoice, receipt)."""
    return hashlib.sha256(text.encode()).hexdigest()


class _Funds(_Planner):
    """Fund lines, contracts and payments (a part of :class:`~ledger.demo.Scenario`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.accountant = self.keys.finance[0]
        self.funds: dict[tuple[int, str], _Fund] = {}
        self.contracts: list[_Contract] = []  # open contracts, in award order
        self.contract_queue: list[_ContractPlan] = []
        self.pending: list[_Payment] = []
        self.reversals: dict[int, list[_Payment]] = {}
        self.n_contracts: dict[int, int] = {}
        self.n_payments = 0
        self.n_amendments = 0
        self.n_donations = 0
        self.rejected = 0
        self.reversed = 0
        self.quarter_done: tuple[int, int] = (2025, 1)
        #: (contract id, milestone id) paid late on purpose (ledger/demo/planted.py).
        self.late: set[tuple[str, str]] = set()

    def _office(self, today: date) -> Iterator[Planned]:
        """A working day's money: appropriations, the approver's decisions on proposals,
        reversals, one award; on Mondays the due payments, a project, an amendment."""
        if today.weekday() >= 5:
            return
        yield from self._budget(today)
        yield from self._approvals()
        for pay in self.reversals.pop(self.day, []):
            yield from self._reverse(pay)
        if self.day in SPLIT_DAYS:  # planted: a split purchase (ledger/demo/planted.py)
            if self.day == SPLIT_DAYS[0]:
                key, source, programme, yuan = SPLIT_FUND
                yield from self._appropriate(
                    today.year, key, source, f"{today.year}年{programme}", yuan
                )
            self.contract_queue.insert(0, split_plan(self.day, today))
        if self.day == AMEND_DAY:  # planted: an amendment above 10 %
            yield from self._amend_planted(today)
        if self.contract_queue:
            yield from self._award(self.contract_queue.pop(0), today)
        if today.weekday() == 0:
            yield from self._propose_due(today)
            week = self.day // 7
            if week % 4 == 3:
                self._plan_project(today)
            if week % 16 == 14:
                yield from self._amend(today)

    def _budget(self, today: date) -> Iterator[Planned]:
        """Appropriations: the fiscal year's lines in January (the opening's second day for
        2025), a supplementary line each later quarter; donations each quarter."""
        year, q = today.year, (today.month - 1) // 3 + 1
        first = self.day == 1
        if not first and (year, q) <= self.quarter_done:
            return
        self.quarter_done = (year, q)
        if first or q == 1:
            for key, (source, programme, yuan) in FUND_LINES.items():
                yield from self._appropriate(year, key, source, f"{year}年{programme}", yuan)
            self.contract_queue.extend(annual_contracts(year))
        else:
            yuan = self.rng.randrange(300_000, 800_001, 10_000)
            yield from self._appropriate(
                year, f"Q{q}-ZJ", "财政", f"{year}年第{q}季度社区服务追加经费", yuan
            )
        donors = ("mingde-property", "lvzhou-env", f"CSZH-{year}-{q:02d}")
        for fund_key, donor in (("SQJJ", donors[(year + q) % 2]), ("JZ", donors[2])):
            fund = self.funds[(year, fund_key)]
            self.n_donations += 1
            amount = self.rng.randrange(10_000, 100_001, 1_000) * YUAN
            body = {
                "donation_id": f"JK-{year}-{self.n_donations:04d}",
                "fund_id": fund.fund_id,
                "donor": donor,
                "amount_fen": amount,
                "receipt_sha256": digest(f"{self.seed}/receipt/{self.n_donations}"),
            }
            fund.appropriated += amount
            yield self._p("fund.donate", body, self.accountant)

    def _appropriate(
        self, year: int, key: str, source: str, programme: str, yuan: int
    ) -> Iterator[Planned]:
        fund = _Fund(f"F-{year}-{key}", source, yuan * YUAN)
        self.funds[(year, key)] = fund
        body = {
            "fund_id": fund.fund_id,
            "fiscal_year": year,
            "programme": programme,
            "source": source,
            "amount_fen": fund.appropriated,
        }
        yield self._p("fund.appropriate", body, self.accountant)

    def _fund_for(self, year: int, key: str, total: int) -> _Fund | None:
        """The line ``key`` of ``year``, else a supplementary line of the year with room."""
        candidates = [self.funds.get((year, key))]
        candidates += [self.funds.get((year, f"Q{q}-ZJ")) for q in (4, 3, 2)]
        for fund in candidates:
            if fund is not None and fund.unallocated >= total:
                return fund
        return None

    def _plan_project(self, today: date) -> None:
        provider, key, title, method = PROJECTS[self.rng.randrange(len(PROJECTS))]
        n = self.rng.randint(2, 4)
        spacing = self.rng.choice((21, 30, 45))
        shares = [100 // n] * n
        shares[-1] += 100 - sum(shares)
        deliverables = ("实施方案及开工确认", "中期进度报告", "完工验收", "结项评估")
        steps = [deliverables[0], *deliverables[4 - n + 1 :]] if n < 4 else list(deliverables)
        self.contract_queue.append(
            _ContractPlan(
                provider,
                key,
                f"{today.year}年{title}",
                method,
                self.rng.randrange(40_000, 300_001, 5_000),
                [
                    (shares[k], today + timedelta(days=spacing * (k + 1)), steps[k])
                    for k in range(n)
                ],
            )
        )

    def _award(self, plan: _ContractPlan, today: date) -> Iterator[Planned]:
        total = plan.total_yuan * YUAN
        fund = self._fund_for(today.year, plan.fund_key, total)
        if fund is None:
            return
        year = today.year
        self.n_contracts[year] = n = self.n_contracts.get(year, 0) + 1
        contract_id = f"HT-{year}-{n:03d}"
        milestones = []
        left = total
        for k, (share, due, deliverable) in enumerate(plan.milestones):
            amount = left if k == len(plan.milestones) - 1 else total * share // 100
            left -= amount
            milestones.append(_Milestone(f"M{k + 1}", amount, due, deliverable))
        docs = ("招标文件", "中标通知书", "合同文本")[: self.rng.randint(1, 3)]
        evidence = [digest(f"{self.seed}/{contract_id}/{doc}") for doc in docs]
        contract = _Contract(
            contract_id, fund, milestones, evidence, original=total, title=plan.title
        )
        if plan.title == LATE_TITLE:  # planted: a late payment
            self.late.add((contract_id, LATE_MILESTONE))
        body = {
            "contract_id": contract_id,
            "fund_id": fund.fund_id,
            "provider": plan.provider,
            "title": plan.title,
            "method": plan.method,
            "total_fen": total,
            "milestones": [m.body() for m in milestones],
            "evidence": evidence,
            "signed": today.isoformat(),
        }
        fund.contracted += total
        self.contracts.append(contract)
        yield self._p("contract.award", body, self.accountant)

    def _amend(self, today: date) -> Iterator[Planned]:
        """Add a milestone to the oldest open contract whose fund has room and whose increases
        stay within 10 % of its original value (补充协议, 《政府采购法》第四十九条)."""
        extra = self.rng.randrange(20_000, 80_001, 5_000) * YUAN
        for contract in self.contracts:
            within = (contract.total + extra - contract.original) * 10 <= contract.original
            if within and contract.fund.unallocated >= extra and len(contract.milestones) < 50:
                break
        else:
            return
        yield from self._add_milestone(contract, extra, today)

    def _amend_planted(self, today: date) -> Iterator[Planned]:
        """Planted: raise the contract titled ``AMEND_TITLE`` by ``AMEND_PERCENT`` % of its
        original value (ledger/demo/planted.py)."""
        for contract in self.contracts:
            extra = contract.original * AMEND_PERCENT // 100
            if contract.title == AMEND_TITLE and contract.fund.unallocated >= extra:
                yield from self._add_milestone(contract, extra, today)
                return

    def _add_milestone(self, contract: _Contract, extra: int, today: date) -> Iterator[Planned]:
        self.n_amendments += 1
        amendment_id = f"BC-{today.year}-{self.n_amendments:03d}"
        ms = _Milestone(
            f"M{len(contract.milestones) + 1}",
            extra,
            today + timedelta(days=60),
            "补充服务内容完成及验收",
        )
        contract.milestones.append(ms)
        evidence = [*contract.evidence, digest(f"{self.seed}/{amendment_id}/补充协议")][-32:]
        contract.evidence = evidence
        body = {
            "amendment_id": amendment_id,
            "contract_id": contract.contract_id,
            "total_fen": contract.total,
            "milestones": [m.body() for m in contract.milestones],
            "evidence": evidence,
            "reason": "根据居民需求增加服务内容,经街道党工委会议研究同意,签订补充协议",
        }
        contract.fund.contracted += extra
        yield self._p("contract.amend", body, self.accountant)

    def _propose_due(self, today: date) -> Iterator[Planned]:
        """Every Monday: one payment for each milestone that is due and not yet committed."""
        for contract in list(self.contracts):
            open_ms = 0
            for ms in contract.milestones:
                if ms.committed < ms.amount:
                    open_ms += 1
                if ms.due >= today or ms.committed >= ms.amount or ms.pending:
                    continue
                late = (contract.contract_id, ms.milestone_id) in self.late
                if late and today < ms.due + timedelta(days=LATE_DAYS):
                    continue
                yield from self._propose(contract, ms, ms.amount - ms.committed)
            if not open_ms and not any(ms.pending for ms in contract.milestones):
                self.contracts.remove(contract)

    def _propose(self, contract: _Contract, ms: _Milestone, amount: int) -> Iterator[Planned]:
        self.n_payments += 1
        year = (DEMO_START.date() + timedelta(days=self.day)).year
        payment_id = f"ZF-{year}-{self.n_payments:05d}"
        invoice_no = f"{year % 100:02d}332000{self.n_payments:012d}"
        body = {
            "payment_id": payment_id,
            "contract_id": contract.contract_id,
            "milestone_id": ms.milestone_id,
            "amount_fen": amount,
            "invoice_no": invoice_no,
            "invoice_sha256": digest(f"{self.seed}/invoice/{invoice_no}"),
            "milestone_met": ms.due.isoformat(),  # accepted on its due date
        }
        p = self._p("payment.propose", body, self.accountant)
        ms.committed += amount
        pay = _Payment(payment_id, contract, ms, amount, self.day)
        if amount >= self.policy["dual_control_threshold_fen"]:
            ms.pending = True
            self.pending.append(pay)
        else:
            self._counted(pay)
        yield p

    def _counted(self, pay: _Payment) -> None:
        """A payment just counted: reverse the first one after two months, then a few."""
        if (self.reversed == 0 and self.day >= 60) or (self.reversed and self.rng.random() < 0.02):
            self.reversed += 1
            day = self.day + 2
            while (DEMO_START.date() + timedelta(days=day)).weekday() >= 5:
                day += 1
            self.reversals.setdefault(day, []).append(pay)

    def _approvals(self) -> Iterator[Planned]:
        """The approver decides on yesterday's proposals (a different key: dual control)."""
        keep = []
        for pay in self.pending:
            if pay.day >= self.day:
                keep.append(pay)
                continue
            pay.milestone.pending = False
            if (self.rejected == 0 and pay.day >= 28) or (
                self.rejected and self.rng.random() < 0.05
            ):
                self.rejected += 1
                reason = REJECT_REASONS[self.rng.randrange(len(REJECT_REASONS))]
                body = {"payment_id": pay.payment_id, "reason": reason}
                pay.milestone.committed -= pay.amount
                yield self._p("payment.reject", body, self.keys.approver)
            else:
                p = self._p("payment.approve", {"payment_id": pay.payment_id}, self.keys.approver)
                self._counted(pay)
                yield p
        self.pending = keep

    def _reverse(self, pay: _Payment) -> Iterator[Planned]:
        reason = REVERSE_REASONS[self.rng.randrange(len(REVERSE_REASONS))]
        body = {"payment_id": pay.payment_id, "reason": reason}
        pay.milestone.committed -= pay.amount
        if pay.contract not in self.contracts:
            self.contracts.append(pay.contract)
        yield self._p("payment.reverse", body, self.keys.finance[1])
