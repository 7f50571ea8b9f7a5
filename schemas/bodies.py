"""Bodies of the domain kinds (FORMAT.md §10), mirroring :mod:`verifier.rules.kinds` field by field.

These are the stateless checks only. Rules that relate an entry to the log so far (balances,
caps, registered parties, who proposed a payment) and a few cross-field rules the rulebook
applies (noted in the descriptions) are :mod:`verifier.rules`'.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator
from pydantic.config import JsonDict

from schemas._types import (
    AMOUNT_RULE,
    DATE_PATTERN,
    DATE_RULE,
    ID_RULE,
    MONTH_RULE,
    POINTS_RULE,
    RESIDENT_RULE,
    SHA256_RULE,
    USCC_RULE,
    AmountFen,
    Date,
    Id,
    Month,
    Points,
    ResidentRef,
    Sha256Hex,
    Text50,
    Text100,
    Text200,
    Text500,
    Uscc,
    WireModel,
    _real_date,
    desc,
    text_rule,
)

ProcurementMethod = Literal[
    "公开招标", "邀请招标", "竞争性谈判", "竞争性磋商", "询价", "单一来源", "框架协议"
]
FundSource = Literal["财政", "社区基金", "捐赠"]
PartyType = Literal["community", "social_organisation", "company"]
Relation = Literal["配偶", "父母", "子女", "兄弟姐妹", "祖父母", "孙子女"]


def _distinct(keys: Sequence[Hashable], what: str) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} 不得重复; {what} values must be distinct")


def _distinct_by(zh: str, en: str, member: str) -> tuple[str, str]:
    return (
        f"{zh}；各项的 {member} 互不相同（JSON Schema 无法表达，由校验器检查）",
        f"{en}; items have distinct {member} values (JSON Schema cannot express this, the "
        "validator checks it)",
    )


REASON_DESC = desc("理由", "The reason", text_rule(500))


def _optional(schema: JsonDict) -> None:
    """An optional member (FORMAT.md §10, version 2.1): absent, never ``null``; its Python
    default ``None`` stays out of the published schema."""
    schema.pop("default", None)


def _optional_date(schema: JsonDict) -> None:
    _optional(schema)
    schema["format"] = "date"


#: :data:`Date` without its schema extras (pydantic does not compose them with a callable).
OptionalDate = Annotated[str, Field(pattern=DATE_PATTERN), AfterValidator(_real_date)]
OPTIONAL_RULE = ("可选，可缺省，不得为 null", "optional: may be absent, never null")


# -- FORMAT.md §10.1: policy ---------------------------------------------------------------


class CreditRate(WireModel):
    """一类志愿服务每小时的积分。Points per hour of one category of volunteer service."""

    category: Text50 = Field(description=desc("服务类别", "Service category", text_rule(50)))
    points_per_hour: int = Field(
        ge=1,
        le=1000,
        description=desc(
            "每小时积分", "Points per hour of service", ("整数 1–1000", "an integer 1 … 1000")
        ),
    )


class CatalogueItem(WireModel):
    """兑换目录中的一项及其所需积分。One item of the redemption catalogue and its price."""

    item: Text100 = Field(description=desc("兑换物品或服务", "Item or service", text_rule(100)))
    points: Points = Field(description=desc("所需积分", "Points it costs", POINTS_RULE))


class PolicySet(WireModel):
    """设定政策：自本条起整体替换现行政策；版本号为上一版本加一（首版为 1）。
    Set the policy: replaces the whole policy from this entry on; the version is the previous
    one plus one, the first is 1 (FORMAT.md §10.1)."""

    version: int = Field(
        ge=1,
        le=1_000_000,
        description=desc(
            "政策版本号", "Policy version", ("整数 1–1,000,000", "an integer 1 … 1,000,000")
        ),
    )
    currency: Literal["CNY"] = Field(
        description=desc("币种，固定为人民币", "Currency, always renminbi", ("CNY", "CNY"))
    )
    dual_control_threshold_fen: AmountFen = Field(
        description=desc(
            "双人控制门槛：付款金额达到此数须另经审批人批准",
            "Dual-control threshold: a payment of at least this amount needs an approver's "
            "approval",
            AMOUNT_RULE,
        )
    )
    credit_rates: list[CreditRate] = Field(
        min_length=1,
        max_length=50,
        description=desc(
            "各服务类别的积分费率",
            "Credit rates by service category",
            _distinct_by("1–50 项", "1 … 50 items", "category"),
        ),
    )
    daily_cap_points: Points = Field(
        description=desc("每名居民每日积分上限", "Daily cap of points per resident", POINTS_RULE)
    )
    activity_cap_points: Points = Field(
        description=desc("单次活动积分上限", "Cap of points for one activity", POINTS_RULE)
    )
    balance_cap_points: int = Field(
        ge=1,
        le=10**9,
        description=desc(
            "居民积分余额上限",
            "Cap of a resident's points balance",
            ("整数 1–10^9", "an integer 1 … 10^9"),
        ),
    )
    expiry_months: int = Field(
        ge=1,
        le=120,
        description=desc(
            "积分有效期（月），自获得当月起计",
            "How many months points stay valid, counted from the month earned",
            ("整数 1–120", "an integer 1 … 120"),
        ),
    )
    catalogue: list[CatalogueItem] = Field(
        min_length=1,
        max_length=100,
        description=desc(
            "积分兑换目录",
            "Redemption catalogue",
            _distinct_by("1–100 项", "1 … 100 items", "item"),
        ),
    )
    transfer_relations: list[Relation] = Field(
        min_length=0,
        max_length=6,
        json_schema_extra={"uniqueItems": True},
        description=desc(
            "允许相互转赠积分的亲属关系",
            "Family relations between whom points may be transferred",
            ("0–6 项，互不相同；空列表表示不允许转赠", "0 … 6 distinct items; empty: no transfers"),
        ),
    )

    @field_validator("credit_rates")
    @classmethod
    def _rates_distinct(cls, v: list[CreditRate]) -> list[CreditRate]:
        _distinct([r.category for r in v], "category")
        return v

    @field_validator("catalogue")
    @classmethod
    def _items_distinct(cls, v: list[CatalogueItem]) -> list[CatalogueItem]:
        _distinct([c.item for c in v], "item")
        return v

    @field_validator("transfer_relations")
    @classmethod
    def _relations_distinct(cls, v: list[str]) -> list[str]:
        _distinct(v, "transfer_relations")
        return v


# -- FORMAT.md §10.2: parties --------------------------------------------------------------


class PartyRegister(WireModel):
    """登记参与方：社区（居委会）、社会组织或企业。
    Register a party: a community (居委会), a social organisation (社会组织) or a company
    (FORMAT.md §10.2)."""

    party_id: Id = Field(description=desc("参与方编号", "Party identifier", ID_RULE))
    type: PartyType = Field(
        description=desc(
            "参与方类型：community 社区居委会、social_organisation 社会组织、company 企业",
            "Party type: community (社区居委会), social_organisation (社会组织) or company",
        )
    )
    name: Text200 = Field(description=desc("名称", "Registered name", text_rule(200)))
    uscc: Uscc = Field(
        description=desc(
            "统一社会信用代码（同一代码只能登记一次）",
            "Unified social credit code; a code may be registered only once",
            USCC_RULE,
        )
    )


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

    @field_validator("milestones")
    @classmethod
    def _milestones_distinct(cls, v: list[Milestone]) -> list[Milestone]:
        _distinct([m.milestone_id for m in v], "milestone_id")
        return v

    @field_validator("evidence")
    @classmethod
    def _evidence_distinct(cls, v: list[str]) -> list[str]:
        _distinct(v, "evidence")
        return v


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

    @field_validator("milestones")
    @classmethod
    def _milestones_distinct(cls, v: list[Milestone]) -> list[Milestone]:
        _distinct([m.milestone_id for m in v], "milestone_id")
        return v

    @field_validator("evidence")
    @classmethod
    def _evidence_distinct(cls, v: list[str]) -> list[str]:
        _distinct(v, "evidence")
        return v


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


# -- FORMAT.md §10.4: volunteer service and credits ----------------------------------------


class ActivityRegister(WireModel):
    """登记志愿服务活动。Register a volunteer activity (FORMAT.md §10.4)."""

    activity_id: Id = Field(description=desc("活动编号", "Activity identifier", ID_RULE))
    community: Id = Field(
        description=desc("主办社区的参与方编号", "Party id of the community holding it", ID_RULE)
    )
    category: Text50 = Field(
        description=desc(
            "服务类别（须在现行政策的积分费率中）",
            "Service category (one the policy rates)",
            text_rule(50),
        )
    )
    date: Date = Field(description=desc("活动日期", "Date of the activity", DATE_RULE))
    title: Text100 = Field(description=desc("活动名称", "Activity title", text_rule(100)))


class CreditAward(WireModel):
    """记录一名居民参加活动的服务时长，按政策费率折算积分。
    Record a resident's service minutes at an activity; points follow the policy's rate
    (FORMAT.md §10.4)."""

    resident_ref: ResidentRef = Field(description=desc("居民假名", "Resident", RESIDENT_RULE))
    activity_id: Id = Field(description=desc("活动编号", "Activity", ID_RULE))
    minutes: int = Field(
        ge=1,
        le=24 * 60,
        description=desc(
            "服务分钟数", "Minutes of service", ("整数 1–1440", "an integer 1 … 1440")
        ),
    )


class CreditCorrect(WireModel):
    """更正一条服务时长记录。Correct the minutes of an earlier credit.award (FORMAT.md §10.4)."""

    award_index: int = Field(
        ge=1,
        le=2**53 - 1,
        description=desc(
            "被更正的 credit.award 条目序号",
            "Index of the credit.award entry corrected",
            ("整数 1 至 2^53−1", "an integer 1 … 2^53−1"),
        ),
    )
    resident_ref: ResidentRef = Field(description=desc("居民假名", "Resident", RESIDENT_RULE))
    activity_id: Id = Field(description=desc("活动编号", "Activity", ID_RULE))
    minutes: int = Field(
        ge=0,
        le=24 * 60,
        description=desc(
            "更正后的服务分钟数（0 即收回该记录的全部积分）",
            "Corrected minutes of service (0 takes back all points of the award)",
            ("整数 0–1440", "an integer 0 … 1440"),
        ),
    )
    reason: Text500 = Field(description=REASON_DESC)


class CreditRedeem(WireModel):
    """兑换积分：按兑换目录扣减居民积分。
    Redeem points for a catalogue item (FORMAT.md §10.4)."""

    resident_ref: ResidentRef = Field(description=desc("居民假名", "Resident", RESIDENT_RULE))
    item: Text100 = Field(
        description=desc(
            "兑换物品（须在兑换目录中）", "Item redeemed (from the catalogue)", text_rule(100)
        )
    )
    points: Points = Field(description=desc("扣减积分", "Points spent", POINTS_RULE))


class CreditTransfer(WireModel):
    """在政策允许的亲属之间转赠积分（不得转给本人，由规则库检查）。
    Transfer points between family members the policy allows; not to oneself (checked by the
    rulebook) (FORMAT.md §10.4)."""

    from_ref: ResidentRef = Field(description=desc("转出居民", "Resident giving", RESIDENT_RULE))
    to_ref: ResidentRef = Field(description=desc("转入居民", "Resident receiving", RESIDENT_RULE))
    points: Points = Field(description=desc("转赠积分", "Points transferred", POINTS_RULE))
    relation: Relation = Field(
        description=desc("双方的亲属关系", "Family relation between the two residents")
    )


class CreditExpire(WireModel):
    """积分过期：使截至某月（含）获得且已超过有效期的积分过期。
    Expire the points earned up to and including a month once they are past the policy's
    validity (FORMAT.md §10.4)."""

    through_month: Month = Field(
        description=desc("过期截至月份（含）", "Last month whose points expire", MONTH_RULE)
    )
