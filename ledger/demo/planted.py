"""Anomalies planted in the demo so that its report shows red flags (issue 16; the flags are
:mod:`verifier.reports.flags`). Everything else in the demo keeps the rules the flags watch:
amendments stay within 10 % of a contract's original value, and every payment is made within
days of its milestone's acceptance. The planted ones, on fixed simulated days (so every
longer log holds the same), and the flags they raise:

- **split purchase (GX02)**: a special line 社区适老化改造专项 of 2,100,000 yuan, then three
  询价 contracts of 680,000 yuan to 杭州安心应急救援培训有限公司 two weeks apart — each below
  the 2,000,000-yuan open-tender threshold, together above it;
- **amendment above 10 % (GX01)**: the 2025 老年助餐点运营服务 contract raised by 20 % of its
  original value (a supplementary agreement for one more meal point);
- **late payment (GX09)**: the first milestone of the 2025 社区矛盾纠纷调解服务 contract,
  accepted on its due date, paid only about 45 days later.

Demo payments record the milestone's acceptance date (``milestone_met``, its due date) and
demo awards their signing date (``signed``, the award date): the optional members of
FORMAT.md §10.3 (version 2.1), so that the payment-timing flags are computable.
``tests/test_flags_demo.py`` checks that the demo's flags are exactly these.
"""

from __future__ import annotations

from datetime import date, timedelta

from ledger.demo.books import _ContractPlan

#: The special fund line of the split purchase: (key, source, programme, yuan).
SPLIT_FUND = ("GZ", "财政", "社区适老化改造专项经费", 2_100_000)
SPLIT_PROVIDER = "anxin-safety"
#: Simulated days (Mondays 2025-08-04, 08-18, 09-01) of the three split contracts.
SPLIT_DAYS = (210, 224, 238)
SPLIT_YUAN = 680_000
#: The amendment above 10 %: its day (Monday 2025-09-15), the contract's title, the rise.
AMEND_DAY = 252
AMEND_TITLE = "2025年度老年助餐点运营服务"
AMEND_PERCENT = 20
#: The late payment: the contract's title, its milestone and the days after acceptance.
LATE_TITLE = "2025年度社区矛盾纠纷调解服务"
LATE_MILESTONE = "M1"
LATE_DAYS = 45


def split_plan(day: int, today: date) -> _ContractPlan:
    """The split contract awarded on simulated ``day`` (one of :data:`SPLIT_DAYS`)."""
    part = "一二三"[SPLIT_DAYS.index(day)]
    return _ContractPlan(
        SPLIT_PROVIDER,
        SPLIT_FUND[0],
        f"{today.year}年社区适老化改造({part}期)",
        "询价",
        SPLIT_YUAN,
        [
            (50, today + timedelta(days=42), "改造施工完成及居民验收"),
            (50, today + timedelta(days=84), "质保期满验收"),
        ],
    )
