"""Bodies of the domain kinds (FORMAT.md §10), mirroring :mod:`verifier.rules.kinds` field by field.

These are the stateless checks only. Rules that relate an entry to the log so far (balances,
caps, registered parties, who proposed a payment) and a few cross-field rules the rulebook
applies (noted in the descriptions) are :mod:`verifier.rules`'.

This module holds the policy (§10.1) and parties (§10.2); funds, contracts and payments
(§10.3) are :mod:`schemas.money_bodies`, volunteer service and credits (§10.4)
:mod:`schemas.credit_bodies`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas._body_common import _distinct_by, distinct_items
from schemas._types import (
    AMOUNT_RULE,
    ID_RULE,
    POINTS_RULE,
    USCC_RULE,
    AmountFen,
    Id,
    Points,
    Text50,
    Text100,
    Text200,
    Uscc,
    WireModel,
    desc,
    text_rule,
)
from schemas.credit_bodies import Relation

PartyType = Literal["community", "social_organisation", "company"]


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

    _rates_distinct = distinct_items("credit_rates", "category")
    _items_distinct = distinct_items("catalogue", "item")
    _relations_distinct = distinct_items("transfer_relations")


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
