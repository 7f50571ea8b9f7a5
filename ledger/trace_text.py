"""``gongxin trace`` for a terminal: a :class:`ledger.trace.TraceResult` as lines of text,
Chinese first (the JSON form is :meth:`~ledger.trace.TraceResult.to_json`)."""

from __future__ import annotations

from ledger.trace import TARGET_NAMES, TraceResult
from verifier.reports.markdown import yuan
from verifier.reports.tracing import balance_change
from verifier.rules import Posting

__all__ = ["EVENT_LABELS", "render_text"]

#: Short labels of posting events, Chinese first.
EVENT_LABELS = {
    "fund.appropriated": "拨款 appropriated",
    "fund.donated": "捐赠 donated",
    "contract.awarded": "合同授予 awarded",
    "contract.amended": "合同变更 amended",
    "payment.proposed": "待审批 proposed",
    "payment.counted": "已支付 paid",
    "payment.rejected": "驳回 rejected",
    "payment.reversed": "冲正 reversed",
    "credit.awarded": "获得 awarded",
    "credit.corrected": "更正 corrected",
    "credit.redeemed": "兑换 redeemed",
    "credit.transferred_out": "转出 transferred out",
    "credit.transferred_in": "转入 transferred in",
    "credit.expired": "过期 expired",
}


def _amount(p: Posting, resident: bool) -> str:
    label = EVENT_LABELS.get(p.event, p.event)
    if p.event.startswith("credit."):
        change = f"{balance_change(p):+d}" if resident else str(p.amount)
        return f"{label} {change} 分 points ({p.community})"
    sign = "+" if p.event == "contract.amended" and p.amount >= 0 else ""
    return f"{label} {sign}{yuan(p.amount)} 元"


_SUMMARY_LABELS = {
    "amount_fen": "金额 amount",
    "appropriated_fen": "拨款 appropriated",
    "donated_fen": "捐赠 donated",
    "contracted_fen": "合同 contracted",
    "total_fen": "总额 total",
    "paid_fen": "已付 paid (net)",
    "reversed_fen": "冲正 reversed",
    "pending_fen": "待审批 pending",
    "unpaid_fen": "未付 unpaid",
    "unallocated_fen": "未分配 unallocated",
    "remaining_fen": "余额 remaining",
}


def render_text(result: TraceResult) -> str:
    """The trace for a terminal: one line per entry (index, log time, kind, signer and
    title, leaf hash prefix, amounts, description), then the figures."""
    resident = result.target == "resident"
    n = len(result.entries)
    lines = [
        f"追溯 trace: {TARGET_NAMES[result.target]} {result.ident} — {n} 个条目 entries "
        f"(日志共 {result.log_size} 条 of {result.log_size} in the log)",
        "序号 index · 记账时间 log time · 类型 kind · 签名人 signer · 叶哈希 leaf hash · "
        "金额 amount · 说明 description",
    ]
    for e in result.entries:
        who = f"{e.signer}（{e.signer_title}）" if e.signer_title else e.signer
        amounts = "; ".join(_amount(p, resident) for p in e.postings)
        if e.balance_after is not None:
            amounts += f" → 余额 balance {e.balance_after}"
        lines.append(
            f"#{e.index}  {e.log_time}  {e.kind}  {who}  {e.leaf_hash[:16]}  {amounts}  "
            f"{e.description}"
        )
    s = result.summary
    if resident:
        lines.append(f"余额 balance: {s['balance_points']} 分 points")
    elif result.target == "payment":
        lines.append(
            f"状态 state: {s['state']} · 金额 amount {yuan(s['amount_fen'])} 元 · 合同 contract "
            f"{s['contract_id']} · 资金 fund {s['fund_id']} · 服务机构 provider {s['provider']}"
        )
    else:
        figures = " · ".join(
            f"{label} {yuan(s[key])} 元" for key, label in _SUMMARY_LABELS.items() if key in s
        )
        lines.append(f"合计 figures: {figures}")
        if result.target == "contract":
            lines.append(
                f"资金 fund {s['fund_id']} · 服务机构 provider {s['provider']} · 付款 payments: "
                + (", ".join(f"{pid} {st}" for pid, st in s["payments"].items()) or "—")
            )
    return "\n".join(lines) + "\n"
