"""Bodies of the money kinds (FORMAT.md §10.3): funds, contracts and payments, mirroring
:mod:`verifier.rules.kinds` field by field (stateless checks only; see :mod:`schemas.bodies`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas._body_common import (
    OPTIONAL_RULE,
    REASON_DESC,
    OptionalDate,
    _distinct_by,
    _optional,
    _optional_date,
    distinct_items,
)
from schemas._types import (
    AMOUNT_RULE,
    DATE_RULE,
    ID_RULE,
    SHA256_RULE,
    AmountFen,
    Date,
    Id,
    Sha256Hex,
    Text200,
    Text500,
    WireModel,
    desc,
    text_rule,
)

ProcurementMethod = Literal[
    "公开招标", "邀请招标", "竞争性谈判", "竞争性磋商", "询价", "单一来源", "框架协议"
]
FundSource = Literal["财政", "社区基金", "捐赠"]


# -- FORMAT.md §10.3: funds, contracts, payments -------------------------------------------


class FundAppropriate(WireModel):
    """拨款：设立一项资金（预算项目或社区基金）。
    Appropriate a fund: a budget line or community fund (FORMAT.md §10.3)."""

    fund_id: Id = Field(description=desc("资金编号", "Fund identifier", ID_RULE))
    fiscal_year: int = Field(
        ge=2000,
        le=2100,
        description=desc("财政年度", "Fiscal year", ("整数 2000–2100", "an integer 2000 … 2100")),
    )
    programme: Text200 = Field(description=desc("项目名称", "Programme name", text_rule(200)))
    source: FundSource = Field(
        description=desc(
            "资金来源：财政、社区基金或捐赠",
            "Source: 财政 (public budget), 社区基金 (community fund) or 捐赠 (donation)",
        )
    )
    amount_fen: AmountFen = Field(description=desc("拨款金额", "Amount appropriated", AMOUNT_RULE))


class FundDonate(WireModel):
    """捐赠入账：一笔捐款计入已有资金。A donation credited to an existing fund (FORMAT.md §10.3)."""

    donation_id: Id = Field(description=desc("捐赠编号", "Donation identifier", ID_RULE))
    fund_id: Id = Field(description=desc("入账资金编号", "Fund credited", ID_RULE))
    donor: Id = Field(description=desc("捐赠方标识", "Donor identifier", ID_RULE))
    amount_fen: AmountFen = Field(description=desc("捐赠金额", "Amount donated", AMOUNT_RULE))
    receipt_sha256: Sha256Hex = Field(
        description=desc("捐赠收据文件的摘要", "Digest of the donation receipt", SHA256_RULE)
    )


class Milestone(WireModel):
    """合同付款节点。A payment milestone of a contract."""

    milestone_id: Id = Field(description=desc("节点编号", "Milestone identifier", ID_RULE))
    amount_fen: AmountFen = Field(
        description=desc("节点金额", "Amount of the milestone", AMOUNT_RULE)
    )
    due: Date = Field(description=desc("到期日", "Due date", DATE_RULE))
    deliverable: Text200 = Field(description=desc("交付内容", "What is delivered", text_rule(200)))


MILESTONES_RULE = _distinct_by(
    "1–50 项；各节点金额之和须等于合同总额（由规则库检查）",
    "1 … 50 items; the amounts must sum to total_fen (checked by the rulebook)",
    "milestone_id",
)
EVIDENCE_RULE = ("1–32 个互不相同的 SHA-256 摘要", "1 … 32 distinct SHA-256 digests")


class ContractAward(WireModel):
    """授予合同：从一项资金向一家服务提供方（社会组织或企业）授予政府购买服务合同。
    Award a purchase-of-service contract (政府购买服务合同) from a fund to a provider, a
    social organisation or company (FORMAT.md §10.3)."""

    contract_id: Id = Field(description=desc("合同编号", "Contract identifier", ID_RULE))
    fund_id: Id = Field(description=desc("资金编号", "Fund the contract is paid from", ID_RULE))
    provider: Id = Field(
        description=desc("服务提供方的参与方编号", "Party id of the provider", ID_RULE)
    )
    title: Text200 = Field(description=desc("合同名称", "Contract title", text_rule(200)))
    method: ProcurementMethod = Field(
        description=desc(
            "采购方式（《政府采购法》及财政部令第 74 号、第 110 号）",
            "Procurement method (Government Procurement Law; MoF orders 74 and 110)",
        )
    )
    total_fen: AmountFen = Field(description=desc("合同总额", "Contract total", AMOUNT_RULE))
    milestones: list[Milestone] = Field(
        min_length=1,
        max_length=50,
        description=desc("付款节点", "Payment milestones", MILESTONES_RULE),
    )
    evidence: list[Sha256Hex] = Field(
        min_length=1,
        max_length=32,
        json_schema_extra={"uniqueItems": True},
        description=desc(
            "采购证明文件（招标文件、评审报告、合同文本等）的摘要",
            "Digests of the procurement documents (tender, evaluation report, contract text …)",
            EVIDENCE_RULE,
        ),
    )
    signed: OptionalDate = Field(
        default=None,  # type: ignore[assignment]  # absent, never null (strict mode)
        json_schema_extra=_optional_date,
        description=desc(
            "合同签订日期（可选）", "Date the contract was signed (optional)", DATE_RULE
        ),
    )
    bidders: int = Field(
        default=None,  # type: ignore[assignment]
        ge=1,
        le=10_000,
        json_schema_extra=_optional,
        description=desc(
            "投标或响应的供应商数量（可选）", "Number of bids received (optional)", OPTIONAL_RULE
        ),
    )
    tender_start: OptionalDate = Field(
        default=None,  # type: ignore[assignment]
        json_schema_extra=_optional_date,
        description=desc(
            "采购公告或邀请发出日期（可选）", "Start of the tender period (optional)", DATE_RULE
        ),
    )
    tender_end: OptionalDate = Field(
        default=None,  # type: ignore[assignment]
        json_schema_extra=_optional_date,
        description=desc(
            "响应文件提交截止日期（可选）", "End of the tender period (optional)", DATE_RULE
        ),
    )

    _milestones_distinct = distinct_items("milestones", "milestone_id")
    _evidence_distinct = distinct_items("evidence")


class ContractAmend(WireModel):
    """变更合同：以新的合同总额和全部付款节点替换原有内容。
    Amend a contract: a new total and the complete new list of milestones (FORMAT.md §10.3)."""

    amendment_id: Id = Field(description=desc("变更编号", "Amendment identifier", ID_RULE))
    contract_id: Id = Field(description=desc("被变更的合同编号", "Contract amended", ID_RULE))
    total_fen: AmountFen = Field(
        description=desc("变更后的合同总额", "New contract total", AMOUNT_RULE)
    )
    milestones: list[Milestone] = Field(
        min_length=1,
        max_length=50,
        description=desc(
            "变更后的全部付款节点（已付或待付的节点金额不得减少，由规则库检查）",
            "All milestones after the amendment (a milestone with payments made or pending may "
            "not shrink below them; checked by the rulebook)",
            MILESTONES_RULE,
        ),
    )
    evidence: list[Sha256Hex] = Field(
        min_length=1,
        max_length=32,
        json_schema_extra={"uniqueItems": True},
        description=desc(
            "变更依据文件（补充协议等）的摘要",
            "Digests of the documents behind the amendment (supplementary agreement …)",
            EVIDENCE_RULE,
        ),
    )
    reason: Text500 = Field(description=REASON_DESC)

    _milestones_distinct = distinct_items("milestones", "milestone_id")
    _evidence_distinct = distinct_items("evidence")


class PaymentPropose(WireModel):
    """付款申请：按合同节点申请付款；达到双人控制门槛的须经审批人批准。
    Propose a payment against a contract milestone; at or above the dual-control threshold it
    needs an approver's approval (FORMAT.md §10.3)."""

    payment_id: Id = Field(description=desc("付款编号", "Payment identifier", ID_RULE))
    contract_id: Id = Field(description=desc("合同编号", "Contract paid", ID_RULE))
    milestone_id: Id = Field(description=desc("付款节点编号", "Milestone paid", ID_RULE))
    amount_fen: AmountFen = Field(description=desc("付款金额", "Amount to pay", AMOUNT_RULE))
    invoice_no: Id = Field(description=desc("发票号码", "Invoice number", ID_RULE))
    invoice_sha256: Sha256Hex = Field(
        description=desc("发票文件的摘要", "Digest of the invoice document", SHA256_RULE)
    )
    milestone_met: OptionalDate = Field(
        default=None,  # type: ignore[assignment]  # absent, never null (strict mode)
        json_schema_extra=_optional_date,
        description=desc(
            "节点验收（完成）日期（可选）", "Date the milestone was met (optional)", DATE_RULE
        ),
    )
    acceptance_sha256: Sha256Hex = Field(
        default=None,  # type: ignore[assignment]
        json_schema_extra=_optional,
        description=desc(
            "验收记录的摘要（可选）", "Digest of the acceptance record (optional)", SHA256_RULE
        ),
    )


class PaymentApprove(WireModel):
    """批准付款（须由申请人以外的审批人签署）。
    Approve a proposed payment (by an approver other than the proposer; FORMAT.md §10.3)."""

    payment_id: Id = Field(description=desc("被批准的付款编号", "Payment approved", ID_RULE))


class PaymentReject(WireModel):
    """驳回付款申请。Reject a proposed payment (FORMAT.md §10.3)."""

    payment_id: Id = Field(description=desc("被驳回的付款编号", "Payment rejected", ID_RULE))
    reason: Text500 = Field(description=REASON_DESC)


class PaymentReverse(WireModel):
    """冲正已计入的付款（已批准或无须审批的付款）。
    Reverse a payment already counted (approved, or below the dual-control threshold)
    (FORMAT.md §10.3)."""

    payment_id: Id = Field(description=desc("被冲正的付款编号", "Payment reversed", ID_RULE))
    reason: Text500 = Field(description=REASON_DESC)
