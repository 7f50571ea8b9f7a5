"""What the red flags are computed from, and the flag records themselves.

:class:`ContractFact` and :class:`PaymentFact` are what :class:`~verifier.reports.flags.FlagAnalyser`
keeps of each contract and payment while the log is replayed (the rest of an entry is
forgotten); :data:`INDICATORS` names every indicator with its title and basis, and
:func:`flag` builds one record of ``report.json``'s ``"red_flags"`` list:

``{"indicator", "title", "value", "threshold", "unit", "basis", "indices", "ids",
"computable"}`` — ``value`` and ``threshold`` are numbers (``None`` when not computable),
``unit`` says what they count (``percent``, ``yuan``, ``days``, ``count``, ``hhi``,
``points``), ``indices`` are the entry indices behind the flag (sorted), ``ids`` the contract,
payment, party, key, activity or resident ids it concerns (empty when not computable: then
``basis`` names the optional members the log lacks). Codes ``R…`` are those of the
Open Contracting Partnership's red-flag library (cardinal); ``GX…`` are Gongxin's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["INDICATORS", "NON_COMPETITIVE_METHOD", "ContractFact", "PaymentFact", "flag", "yuan"]

#: FORMAT.md §10.3: the one method without competition (单一来源采购).
NON_COMPETITIVE_METHOD = "单一来源"

#: code → (title "中文 · English", unit, basis). Order: the order of the report.
INDICATORS: dict[str, tuple[str, str, str]] = {
    "GX01": (
        "合同变更增额超过原合同金额 10% · Amendments raise the contract value by more than 10 %",
        "percent",
        "《政府采购法》第四十九条：追加采购金额不得超过原合同采购金额的百分之十",
    ),
    "GX02": (
        "疑似化整为零拆分采购 · Possible split purchase",
        "yuan",
        "《政府采购法》第二十八条、《政府采购法实施条例》第二十八条：不得化整为零规避公开招标",
    ),
    "GX03": (
        "反复单一来源授予同一供应商 · Repeated non-competitive awards to one provider",
        "count",
        "《政府采购法》第二十六条、第三十一条：公开招标为主要方式，单一来源须符合法定情形",
    ),
    "GX04": (
        "年度非竞争性采购占比过高 · High share of non-competitive awards in a year",
        "percent",
        "《政府采购法》第二十六条：公开招标应作为政府采购的主要采购方式",
    ),
    "GX05": (
        "单一供应商占年度合同金额过半 · One provider holds most of a year's contract value",
        "percent",
        "供应商集中度（市场份额）；《政府采购法》第三条公平竞争原则",
    ),
    "GX06": (
        "年度供应商高度集中 · Highly concentrated providers in a year (HHI)",
        "hhi",
        "赫芬达尔—赫希曼指数 HHI = Σ 份额²（百分比），> 2,500 为高度集中（2010 年美国横向合并指南）",
    ),
    "GX07": (
        "合同签订前付款 · Payment before the contract was signed",
        "days",
        "《政府采购法》第四十六条、《政府采购法实施条例》第五十一条：依签订的合同付款",
    ),
    "GX08": (
        "节点验收前付款 · Payment before the milestone was met",
        "days",
        "《政府采购法实施条例》第五十一条：按合同约定（验收后）支付资金",
    ),
    "GX09": (
        "验收后逾期付款 · Payment more than 30 days after the milestone was met",
        "days",
        "《保障中小企业款项支付条例》：自交付（验收）之日起 30 日内支付款项",
    ),
    "GX10": (
        "付款金额集中于双人审批门槛之下 · Payments clustering just below the dual-control threshold",
        "count",
        "FORMAT.md §10.3 双人控制；《行政事业单位内部控制规范（试行）》不相容岗位相互分离",
    ),
    "GX11": (
        "同一组织者每月向同一居民多次授予积分 · Many awards from one organiser to one resident in a month",
        "count",
        "《志愿服务条例》第十九条、《志愿服务记录与证明出具办法》：记录真实、准确、完整",
    ),
    "GX12": (
        "活动日期后较晚才记录积分 · Awards recorded long after the activity's date",
        "days",
        "《志愿服务记录与证明出具办法》：志愿服务记录应当及时",
    ),
    "GX13": (
        "大额积分后随即兑换 · Redemption right after large awards by one organiser",
        "points",
        "《志愿服务条例》第十九条：记录真实；积分不得变相套现（FORMAT.md §10.4）",
    ),
    "R003": (
        "招标期限过短 · Short submission period",
        "days",
        "《政府采购法》第三十五条：自招标文件发出之日起至投标截止不得少于二十日",
    ),
    "R018": (
        "只收到一份投标 · Single bid received",
        "count",
        "《政府采购法》第三十六条：符合条件的供应商不足三家的应予废标",
    ),
}


def yuan(fen: int) -> float | int:
    """``fen`` in yuan, exactly: an int when whole, else the float whose shortest repr is
    the two-decimal value (exact for |fen| < 10^15, far above any legal amount)."""
    return fen // 100 if fen % 100 == 0 else fen / 100


def flag(
    indicator: str,
    value: float | None,
    threshold: float | None,
    indices: list[int],
    ids: list[str],
    *,
    computable: bool = True,
    needs: str = "",
) -> dict[str, Any]:
    """One record of ``"red_flags"`` (see the module docstring)."""
    title, unit, basis = INDICATORS[indicator]
    if needs:
        basis = f"{basis}（需要可选字段 needs the optional members: {needs}）"
    if isinstance(value, float):
        value = round(value, 2)
    return {
        "indicator": indicator,
        "title": title,
        "value": value,
        "threshold": threshold,
        "unit": unit,
        "basis": basis,
        "indices": sorted(set(indices)),
        "ids": ids,
        "computable": computable,
    }


def not_computable(indicator: str, needs: str) -> dict[str, Any]:
    """The marker of an indicator the log lacks the data for (``needs``: the optional
    members, FORMAT.md §10.3 version 2.1)."""
    return flag(indicator, None, None, [], [], computable=False, needs=needs)


@dataclass(slots=True)
class ContractFact:
    """A contract as the flags see it: award facts, the optional procurement members, and
    its total over time (``peak``: the largest total any amendment gave it)."""

    contract_id: str
    index: int
    day: date
    provider: str
    method: str
    total: int
    original: int
    peak: int
    signed: date | None = None
    bidders: int | None = None
    tender: tuple[date, date] | None = None
    amend_indices: list[int] = field(default_factory=list)

    @property
    def competitive(self) -> bool:
        """Awarded with competition: not 单一来源 and not on a single bid."""
        return self.method != NON_COMPETITIVE_METHOD and self.bidders != 1


@dataclass(slots=True)
class PaymentFact:
    """A payment proposal: when, how much, by whom, under which dual-control threshold, the
    optional acceptance date, and when it was counted (``None``: never)."""

    payment_id: str
    contract_id: str
    index: int
    day: date
    amount: int
    proposer: str
    threshold: int
    met: date | None = None
    counted_index: int | None = None
    counted_day: date | None = None
