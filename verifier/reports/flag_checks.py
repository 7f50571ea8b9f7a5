"""The contract and payment red flags (GX01–GX10, R003, R018), computed once at the end of a
replay from the facts :class:`~verifier.reports.flags.FlagAnalyser` kept.

Conventions. A contract's **day** is the date of its ``contract.award`` entry (its year is
the year judged by GX04–GX06); its **value** is its total after every amendment, except for
GX02, which judges the value at award (what decided the procurement method). The buyer of
every contract is the log's owner (one street office per log), so "the same buyer" is the
log. Sliding windows (GX02, GX03) report each maximal run of contracts once. Pure; cost
O(contracts log contracts + payments).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from verifier.reports.flag_config import Thresholds
from verifier.reports.flag_facts import ContractFact, PaymentFact, flag, not_computable, yuan

__all__ = ["contract_flags", "payment_flags"]

Flags = list[dict[str, Any]]
#: Methods bound by the 20-day tender period (《政府采购法》第三十五条).
TENDERED = ("公开招标", "邀请招标")


def _add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months (the last day of a shorter month)."""
    n = d.year * 12 + d.month - 1 + months
    year, month = divmod(n, 12)
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month + 1, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _maximal_runs(
    items: Sequence[ContractFact], inside: Callable[[ContractFact, ContractFact], bool]
) -> Iterable[Sequence[ContractFact]]:
    """Each maximal run ``items[j..i]`` (sorted by day) whose first and last are ``inside``
    one window, once. O(n)."""
    starts: list[int] = []
    j = 0
    for c in items:
        while not inside(items[j], c):
            j += 1
        starts.append(j)
    for i, j in enumerate(starts):
        if i + 1 == len(items) or starts[i + 1] != j:
            yield items[j : i + 1]


def _by_provider(contracts: Iterable[ContractFact]) -> dict[str, list[ContractFact]]:
    out: dict[str, list[ContractFact]] = defaultdict(list)
    for c in sorted(contracts, key=lambda c: (c.day, c.index)):
        out[c.provider].append(c)
    return out


def _amendments(contracts: Iterable[ContractFact], t: Thresholds) -> Flags:
    limit = t["amendment"]["max_increase_percent"]
    out = []
    for c in contracts:
        rise = (c.peak - c.original) * 100 / c.original
        if c.amend_indices and rise > limit:
            out.append(
                flag("GX01", rise, limit, [c.index, *c.amend_indices], [c.contract_id, c.provider])
            )
    return out


def _splits(contracts: Iterable[ContractFact], t: Thresholds) -> Flags:
    cfg = t["split_purchase"]
    threshold = int(cfg["open_tender_threshold_yuan"]) * 100
    window = cfg["window_days"]
    out = []
    for provider, cs in _by_provider(c for c in contracts if c.original < threshold).items():
        for run in _maximal_runs(cs, lambda a, b: (b.day - a.day).days <= window):
            total = sum(c.original for c in run)
            if len(run) > 1 and total > threshold:
                ids = [*(c.contract_id for c in run), provider]
                out.append(flag("GX02", yuan(total), yuan(threshold), [c.index for c in run], ids))
    return out


def _direct_awards(contracts: Sequence[ContractFact], t: Thresholds) -> Flags:
    cfg = t["direct_award"]
    least, months = int(cfg["min_awards"]), int(cfg["window_months"])
    out = []
    direct = (c for c in contracts if not c.competitive)
    for provider, cs in _by_provider(direct).items():
        for run in _maximal_runs(cs, lambda a, b: b.day < _add_months(a.day, months)):
            if len(run) >= least:
                ids = [*(c.contract_id for c in run), provider]
                out.append(flag("GX03", len(run), least, [c.index for c in run], ids))
    share = cfg["max_share_percent"]
    for year, cs in sorted(_by_year(contracts).items()):
        total = sum(c.total for c in cs)
        direct_cs = [c for c in cs if not c.competitive]
        pct = sum(c.total for c in direct_cs) * 100 / total
        if pct > share:
            out.append(flag("GX04", pct, share, [c.index for c in direct_cs], [str(year)]))
    return out


def _by_year(contracts: Iterable[ContractFact]) -> dict[int, list[ContractFact]]:
    out: dict[int, list[ContractFact]] = defaultdict(list)
    for c in contracts:
        out[c.day.year].append(c)
    return out


def _concentration(contracts: Iterable[ContractFact], t: Thresholds) -> Flags:
    cfg = t["concentration"]
    top_limit, hhi_limit = cfg["max_provider_share_percent"], cfg["max_hhi"]
    out = []
    for year, cs in sorted(_by_year(contracts).items()):
        if len(cs) < cfg["min_contracts"]:
            continue
        total = sum(c.total for c in cs)
        value: dict[str, int] = defaultdict(int)
        for c in cs:
            value[c.provider] += c.total
        shares = {p: v * 100 / total for p, v in value.items()}
        for provider, pct in sorted(shares.items()):
            if pct > top_limit:
                idx = [c.index for c in cs if c.provider == provider]
                out.append(flag("GX05", pct, top_limit, idx, [provider, str(year)]))
        hhi = sum(s * s for s in shares.values())
        if hhi > hhi_limit:
            out.append(flag("GX06", round(hhi), hhi_limit, [c.index for c in cs], [str(year)]))
    return out


def _tenders(contracts: Sequence[ContractFact], t: Thresholds) -> Flags:
    out: Flags = []
    least = t["tender"]["min_tender_days"]
    timed = [c for c in contracts if c.tender is not None]
    if not timed:
        out.append(not_computable("R003", "contract.award.tender_start, tender_end"))
    for c in timed:
        assert c.tender is not None
        days = (c.tender[1] - c.tender[0]).days
        if c.method in TENDERED and days < least:
            out.append(flag("R003", days, least, [c.index], [c.contract_id, c.provider]))
    counted = [c for c in contracts if c.bidders is not None]
    if not counted:
        out.append(not_computable("R018", "contract.award.bidders"))
    for c in counted:
        if c.bidders == 1 and c.method != "单一来源":
            out.append(flag("R018", 1, 1, [c.index], [c.contract_id, c.provider]))
    return out


def contract_flags(contracts: dict[str, ContractFact], t: Thresholds) -> Flags:
    """GX01–GX06, R003 and R018 over every contract of the log."""
    cs = list(contracts.values())
    return [
        *_amendments(cs, t),
        *_splits(cs, t),
        *_direct_awards(cs, t),
        *_concentration(cs, t),
        *_tenders(cs, t),
    ]


def _timing(
    payments: Sequence[PaymentFact], contracts: dict[str, ContractFact], t: Thresholds
) -> Flags:
    out: Flags = []
    if not any(c.signed is not None for c in contracts.values()):
        out.append(not_computable("GX07", "contract.award.signed"))
    if not any(p.met is not None for p in payments):
        out.append(not_computable("GX08", "payment.propose.milestone_met"))
        out.append(not_computable("GX09", "payment.propose.milestone_met"))
    late = t["payment"]["max_days_after_met"]
    for p in payments:
        c = contracts[p.contract_id]
        ids = [p.payment_id, c.contract_id, c.provider]
        if c.signed is not None and p.day < c.signed:
            out.append(flag("GX07", (c.signed - p.day).days, 0, [c.index, p.index], ids))
        if p.met is None:
            continue
        if p.met > p.day:
            out.append(flag("GX08", (p.met - p.day).days, 0, [p.index], ids))
        if p.counted_day is not None and p.counted_index is not None:
            days = (p.counted_day - p.met).days
            if days > late:
                out.append(flag("GX09", days, late, [p.index, p.counted_index], ids))
    return out


def payment_flags(
    payments: dict[str, PaymentFact], contracts: dict[str, ContractFact], t: Thresholds
) -> Flags:
    """GX07–GX10 over every payment proposal of the log."""
    ps = list(payments.values())
    out = _timing(ps, contracts, t)
    cfg = t["dual_control"]
    near: dict[str, list[PaymentFact]] = defaultdict(list)
    for p in ps:
        if (
            p.threshold
            and p.threshold * (100 - cfg["band_percent"]) <= p.amount * 100 < p.threshold * 100
        ):
            near[p.proposer].append(p)
    for proposer, hits in sorted(near.items()):
        if len(hits) >= cfg["min_count"]:
            out.append(
                flag("GX10", len(hits), cfg["min_count"], [p.index for p in hits], [proposer])
            )
    return out
