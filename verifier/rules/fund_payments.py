"""Payments: ``payment.propose``, ``payment.approve``, ``payment.reject`` and
``payment.reverse`` (FORMAT.md §10.3).

A payment is proposed against one milestone of a contract and commits its amount there at
once. Below the policy's dual-control threshold it counts at once; at or above it stays
pending until a ``payment.approve`` signed by a key other than the proposer's counts it, or a
``payment.reject`` releases it. A reversal applies once, to a counted payment, and returns its
amount to the milestone, the contract and the fund. An invoice number is open (cannot be
reused on the contract) while its payment is pending or counted.

:class:`PaymentRules` is a mixin of :class:`verifier.rules.funds.FundBook`, which holds the
state and the fund and contract rules. Pure: no I/O. Each handler checks everything first,
then applies its effects through the journal (when one is given), and returns the postings.
Cost: O(1) per entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier.core.entry import Entry
from verifier.rules._fail import rule_error
from verifier.rules.fund_records import (
    COUNTED,
    PENDING,
    REJECTED,
    REVERSED,
    Contract,
    Fund,
    Payment,
)
from verifier.rules.journal import Journal, assign, put
from verifier.rules.policy import Policy
from verifier.rules.postings import Posting


class PaymentRules:
    """The payment kinds of :class:`~verifier.rules.funds.FundBook` (no state of its own)."""

    __slots__ = ()

    # State and lookups of the FundBook this is mixed into.
    funds: dict[str, Fund]
    contracts: dict[str, Contract]
    payments: dict[str, Payment]
    open_invoices: dict[tuple[str, str], str]

    if TYPE_CHECKING:

        def contract(self, contract_id: str, entry: Entry) -> Contract: ...

        def _require_new(
            self, table: dict[str, Any], key: str, rule: str, entry: Entry, fld: str
        ) -> None: ...

    def payment(self, payment_id: str, entry: Entry, *, state: str) -> Payment:
        p = self.payments.get(payment_id)
        if p is None:
            raise rule_error(
                "payment.unknown",
                f"payment {payment_id} does not exist; 付款不存在",
                entry,
                "payment_id",
            )
        if p.state != state:
            raise rule_error(
                "payment.state",
                f"payment {payment_id} is {p.state}, must be {state}; 付款状态不允许此操作",
                entry,
                "payment_id",
            )
        return p

    def propose(self, entry: Entry, policy: Policy, j: Journal | None) -> list[Posting]:
        b = entry.statement.body
        self._require_new(self.payments, b["payment_id"], "payment.duplicate", entry, "payment_id")
        contract = self.contract(b["contract_id"], entry)
        ms = contract.milestones.get(b["milestone_id"])
        if ms is None:
            raise rule_error(
                "contract.milestone_unknown",
                f"contract {contract.contract_id} has no milestone {b['milestone_id']}; 里程碑不存在",
                entry,
                "milestone_id",
            )
        remaining = ms.amount - ms.committed
        if b["amount_fen"] > remaining:
            raise rule_error(
                "payment.exceeds_milestone",
                f"amount {b['amount_fen']} fen exceeds milestone {b['milestone_id']}'s remaining "
                f"{remaining} fen; 超出里程碑剩余金额",
                entry,
                "amount_fen",
            )
        invoice = (contract.contract_id, b["invoice_no"])
        if invoice in self.open_invoices:
            raise rule_error(
                "payment.invoice_reused",
                f"invoice {b['invoice_no']} is already on payment {self.open_invoices[invoice]}; 发票重复使用",
                entry,
                "invoice_no",
            )
        dual = b["amount_fen"] >= policy.dual_control_threshold_fen
        pay = Payment(
            b["payment_id"],
            contract.contract_id,
            b["milestone_id"],
            b["amount_fen"],
            b["invoice_no"],
            entry.statement.signer,
            PENDING,
            entry.index,
        )
        put(j, self.payments, pay.payment_id, pay)
        put(j, self.open_invoices, invoice, pay.payment_id)
        assign(j, ms, "committed", ms.committed + pay.amount)
        if dual:
            return [self._posting(entry.index, "payment.proposed", pay)]
        return [self._count(pay, entry.index, j)]

    def approve(self, entry: Entry, j: Journal | None) -> list[Posting]:
        pay = self.payment(entry.statement.body["payment_id"], entry, state=PENDING)
        if entry.statement.signer == pay.proposer:
            raise rule_error(
                "payment.self_approval",
                f"payment {pay.payment_id} was proposed by key {pay.proposer}; another key must "
                f"approve it; 不得审批本人提交的付款",
                entry,
                "payment_id",
            )
        return [self._count(pay, entry.index, j)]

    def reject(self, entry: Entry, j: Journal | None) -> list[Posting]:
        pay = self.payment(entry.statement.body["payment_id"], entry, state=PENDING)
        ms = self.contracts[pay.contract_id].milestones[pay.milestone_id]
        assign(j, pay, "state", REJECTED)
        assign(j, ms, "committed", ms.committed - pay.amount)
        self._close_invoice(pay, j)
        return [self._posting(entry.index, "payment.rejected", pay)]

    def reverse(self, entry: Entry, j: Journal | None) -> list[Posting]:
        pay = self.payment(entry.statement.body["payment_id"], entry, state=COUNTED)
        contract = self.contracts[pay.contract_id]
        ms = contract.milestones[pay.milestone_id]
        fund = self.funds[contract.fund_id]
        assign(j, pay, "state", REVERSED)
        assign(j, ms, "committed", ms.committed - pay.amount)
        assign(j, ms, "paid", ms.paid - pay.amount)
        assign(j, contract, "paid", contract.paid - pay.amount)
        assign(j, fund, "paid", fund.paid - pay.amount)
        self._close_invoice(pay, j)
        return [self._posting(entry.index, "payment.reversed", pay)]

    # -- effects ------------------------------------------------------------------------------

    def _count(self, pay: Payment, index: int, j: Journal | None) -> Posting:
        contract = self.contracts[pay.contract_id]
        ms = contract.milestones[pay.milestone_id]
        fund = self.funds[contract.fund_id]
        assign(j, pay, "state", COUNTED)
        assign(j, ms, "paid", ms.paid + pay.amount)
        assign(j, contract, "paid", contract.paid + pay.amount)
        assign(j, fund, "paid", fund.paid + pay.amount)
        return self._posting(index, "payment.counted", pay)

    def _close_invoice(self, pay: Payment, j: Journal | None) -> None:
        key = (pay.contract_id, pay.invoice_no)
        if j is None:
            self.open_invoices.pop(key, None)
        else:
            j.delete_item(self.open_invoices, key)

    def _posting(self, index: int, event: str, pay: Payment) -> Posting:
        contract = self.contracts[pay.contract_id]
        return Posting(
            index,
            event,
            pay.amount,
            fund=contract.fund_id,
            contract=contract.contract_id,
            payment=pay.payment_id,
            provider=contract.provider,
        )
