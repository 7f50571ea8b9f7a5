"""The red-flag section of ``report.md`` (from ``report["red_flags"]``, see
:mod:`verifier.reports.flag_facts` for the record shape). Pure; O(flags + indices)."""

from __future__ import annotations

from typing import Any

__all__ = ["flags_section"]

#: Entry indices shown per flag before "…" (the JSON lists all of them).
SHOWN = 20
_UNITS = {"percent": "%", "yuan": " 元", "days": " 天 days", "points": " 分 points"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return text + _UNITS.get(unit, "")


def flags_section(report: dict[str, Any]) -> list[str]:
    """Markdown lines: the flags that fired, then the indicators that could not be
    computed for want of optional data. Empty when the report has no ``red_flags``."""
    flags = report.get("red_flags")
    if flags is None:
        return []
    lines = ["## 红旗 · Red flags", ""]
    lines.append(
        "由已验证条目计算；红旗不是规则违反，而是值得复核的迹象。 Computed from the verified "
        "entries only; a flag is not a rule violation but a pattern worth a closer look."
    )
    lines.append("")
    fired = [f for f in flags if f["computable"]]
    if fired:
        lines += [
            "| 指标 indicator | 说明 title | 值 value | 阈值 threshold | 涉及 ids | 条目 entries | 依据 basis |",
            "|---|---|---:|---:|---|---|---|",
        ]
        for f in fired:
            shown = ", ".join(str(i) for i in f["indices"][:SHOWN])
            if len(f["indices"]) > SHOWN:
                shown += f", … ({len(f['indices'])})"
            lines.append(
                f"| {f['indicator']} | {_cell(f['title'])} | {_num(f['value'], f['unit'])} | "
                f"{_num(f['threshold'], f['unit'])} | {_cell(', '.join(f['ids']))} | {shown} | "
                f"{_cell(f['basis'])} |"
            )
    else:
        lines.append("未发现红旗。 No red flags.")
    missing = [f for f in flags if not f["computable"]]
    if missing:
        lines += [
            "",
            "不可计算（日志未记录所需的可选字段）· Not computable (optional members absent):",
            "",
        ]
        lines += [f"- {f['indicator']} {f['title']} — {f['basis']}" for f in missing]
    lines.append("")
    return lines
