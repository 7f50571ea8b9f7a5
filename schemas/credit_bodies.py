"""Bodies of the volunteer-service kinds (FORMAT.md §10.4): activities and credits, mirroring
:mod:`verifier.rules.kinds` field by field (stateless checks only; see :mod:`schemas.bodies`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas._body_common import REASON_DESC
from schemas._types import (
    DATE_RULE,
    ID_RULE,
    MONTH_RULE,
    POINTS_RULE,
    RESIDENT_RULE,
    Date,
    Id,
    Month,
    Points,
    ResidentRef,
    Text50,
    Text100,
    Text500,
    WireModel,
    desc,
    text_rule,
)

Relation = Literal["配偶", "父母", "子女", "兄弟姐妹", "祖父母", "孙子女"]


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
