"""Labels of the report's totals (中文 English, report.json member), shared by the Markdown
and HTML renderings so that both name every figure alike."""

from __future__ import annotations

#: Money totals (fen in report.json), in the order they are shown.
TOTAL_MONEY: tuple[tuple[str, str], ...] = (
    ("拨款 Appropriated", "appropriated_fen"),
    ("捐赠 Donated", "donated_fen"),
    ("合同 Contracted", "contracted_fen"),
    ("已付 Paid (net)", "paid_fen"),
    ("冲正 Reversed", "reversed_fen"),
    ("待审批 Pending", "pending_fen"),
    ("未分配 Unallocated", "unallocated_fen"),
    ("余额 Remaining", "remaining_fen"),
)
#: Credit totals (points), in the order they are shown.
TOTAL_CREDITS: tuple[tuple[str, str], ...] = (
    ("获得 Awarded", "awarded_points"),
    ("更正 Corrected", "corrected_points"),
    ("兑换 Redeemed", "redeemed_points"),
    ("转入 Transferred in", "transferred_in_points"),
    ("转出 Transferred out", "transferred_out_points"),
    ("过期 Expired", "expired_points"),
    ("结余 Outstanding", "outstanding_points"),
)
