"""Small static SVG charts for the HTML report: grouped bars (with reference lines and a
running line) and a dated timeline; the Sankey flow is :mod:`verifier.reports.sankey`.

Why our own code and not a chart library: the one pure-Python SVG chart library on PyPI that
is kept up (pygal 3.1) always embeds an inline ``<script>`` (its tooltip configuration; by
default it also loads a tooltip script from a CDN), gives every chart a random UUID and a
generation date (the report must be the same on every run), has no Sankey diagram, and would
be a new dependency of the trusted verifier. What the report needs — rectangles, lines,
circles, text on linear axes — is about 300 lines here, tested in
``tests/test_report_svg.py``.

Every mark is an :class:`Mark`: a value, a ``<title>`` (the tooltip, listing the entry indices
behind it) and an ``href`` to the row of the data table that holds the figure and all its
entries. All text is escaped (:func:`esc`); no scripts, no external references, fixed
colours, deterministic output. Pure: no I/O. Cost: O(marks).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "PALETTE",
    "Mark",
    "TimelinePoint",
    "TimelineRow",
    "bar_chart",
    "esc",
    "nice_scale",
    "timeline",
]

#: Colours of series 0, 1, 2 … (colour-blind safe, Okabe–Ito), printable in grey scale.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
_FONT = 'font-family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"'
_MAX_LABEL = 24


def esc(text: object) -> str:
    """``text`` safe in SVG/HTML text and attribute values (``& < > " '`` escaped)."""
    return html.escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def short(label: str, limit: int = _MAX_LABEL) -> str:
    """``label`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Mark:
    """One bar or point: its value, tooltip and the table row it links to."""

    value: float
    title: str
    href: str | None = None


def nice_scale(lo: float, hi: float, ticks: int = 5) -> tuple[float, float, float]:
    """An axis from ≤ ``lo`` to ≥ ``hi`` in steps of 1, 2 or 5 × 10^k: (start, stop, step).
    A range that is empty (or too small to draw: under 10^-6) grows to at least 1."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo < 1e-6:
        hi = lo + 1.0
    raw = (hi - lo) / max(ticks, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start, stop = math.floor(lo / step) * step, math.ceil(hi / step) * step
    return min(start, lo), max(stop, hi), step


def _open(width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart" {_FONT} font-size="11">',
        f"<title>{esc(title)}</title><desc>{esc(desc)}</desc>",
    ]


def _mark(body: str, mark: Mark) -> str:
    """``body`` (an element without its closing tag) with its tooltip, in a link if any."""
    inner = f"{body}><title>{esc(mark.title)}</title></{body[1 : body.index(' ')]}>"
    if mark.href is None:
        return inner
    return f'<a href="{esc(mark.href)}">{inner}</a>'


def legend(names: Sequence[str], x: float, y: float, colours: Sequence[str] = PALETTE) -> str:
    """A one-line legend of coloured squares and names starting at (x, y)."""
    out, cx = [], x
    for k, name in enumerate(names):
        out.append(
            f'<rect x="{_n(cx)}" y="{_n(y - 9)}" width="10" height="10" '
            f'fill="{colours[k % len(colours)]}"/>'
            f'<text x="{_n(cx + 14)}" y="{_n(y)}">{esc(short(name))}</text>'
        )
        cx += 24 + 7 * min(len(name), _MAX_LABEL) + 6 * sum(ord(c) > 0x2E80 for c in name[:24])
    return "".join(out)


def _polyline(pts: Sequence[tuple[float, float]], marks: Sequence[Mark]) -> list[str]:
    """A dark line through ``pts`` with a dot (and its tooltip and link) at each."""
    out = []
    if pts:
        out.append(
            '<polyline fill="none" stroke="#333" stroke-width="1.5" points="'
            + " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
            + '"/>'
        )
    for (px, py), m in zip(pts, marks, strict=True):
        out.append(_mark(f'<circle cx="{_n(px)}" cy="{_n(py)}" r="2.5" fill="#333"', m))
    return out


def heading(text: str, x: float, y: float) -> str:
    """A chart's visible title (bold, cut to 60 characters)."""
    return f'<text x="{_n(x)}" y="{_n(y)}" font-weight="bold">{esc(short(text, 60))}</text>'


@dataclass(frozen=True, slots=True)
class RefLine:
    """A horizontal reference line (a budget, a threshold) with its label."""

    value: float
    label: str
    colour: str = "#B00020"


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Mark]]],
    *,
    title: str,
    fmt: Callable[[float], str],
    refs: Sequence[RefLine] = (),
    line: tuple[str, Sequence[Mark]] | None = None,
    width: int = 640,
    height: int = 260,
) -> str:
    """Grouped bars: one group per category, one bar per series (``series[s][1][c]`` is the
    mark of series s in category c), on a linear axis from min(0, values) to max(0, values),
    with horizontal ``refs`` and an optional ``line`` (one point per category, e.g. a running
    total). Axis labels use ``fmt``. Long category lists show every k-th label. O(marks)."""
    values = [m.value for _, marks in series for m in marks]
    values += [r.value for r in refs] + ([m.value for m in line[1]] if line else [])
    lo, hi, step = nice_scale(min([0.0, *values]), max([0.0, *values]))
    left, right, top, bottom = 64, 12, 46, 30
    pw, ph = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + ph * (hi - v) / (hi - lo)

    out = _open(width, height, title, f"{len(categories)} categories, {len(series)} series")
    out += [
        f'<line x1="{left}" x2="{width - right}" y1="{_n(y(v))}" y2="{_n(y(v))}" '
        f'stroke="#ddd"/><text x="{left - 4}" y="{_n(y(v) + 4)}" text-anchor="end">'
        f"{esc(fmt(v))}</text>"
        for v in (lo + t * step for t in range(round((hi - lo) / step) + 1))
    ]
    n = max(len(categories), 1)
    gw = pw / n
    bw = max(gw * 0.8 / max(len(series), 1), 0.5)
    every = max(1, math.ceil(n / max(pw // 58, 1)))
    for c, cat in enumerate(categories):
        gx = left + c * gw + gw * 0.1
        for s, (name, marks) in enumerate(series):
            m = marks[c]
            y0, y1 = sorted((y(0.0), y(m.value)))
            out.append(
                _mark(
                    f'<rect x="{_n(gx + s * bw)}" y="{_n(y0)}" width="{_n(bw)}" '
                    f'height="{_n(max(y1 - y0, 0.5 if m.value else 0))}" '
                    f'fill="{PALETTE[s % len(PALETTE)]}" data-series="{esc(name)}"',
                    m,
                )
            )
        if c % every == 0:
            out.append(
                f'<text x="{_n(left + c * gw + gw / 2)}" y="{height - bottom + 14}" '
                f'text-anchor="middle">{esc(short(cat, 12))}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{_n(y(0.0))}" y2="{_n(y(0.0))}" '
        'stroke="#333"/>'
    )
    for r in refs:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(r.value))}" '
            f'y2="{_n(y(r.value))}" stroke="{r.colour}" stroke-dasharray="6 3"/>'
            f'<text x="{width - right - 2}" y="{_n(y(r.value) - 3)}" text-anchor="end" '
            f'fill="{r.colour}" stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{esc(short(r.label, 40))}</text>"
        )
    if line is not None:
        out += _polyline(
            [(left + c * gw + gw / 2, y(m.value)) for c, m in enumerate(line[1])], line[1]
        )
    names = [name for name, _ in series] + ([line[0]] if line else [])
    colours = [PALETTE[s % len(PALETTE)] for s in range(len(series))] + ["#333"]
    out.append(heading(title, 4, 14))
    out.append(legend(names, left, 32, colours))
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """A dated mark on a timeline row: a milestone (``diamond``) or a payment (``circle``)."""

    day: date
    shape: str
    colour: str
    mark: Mark


@dataclass(frozen=True, slots=True)
class TimelineRow:
    label: str
    points: Sequence[TimelinePoint]
    href: str | None = None


def _month_starts(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while date(y, m, 1) <= end:
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _shape(p: TimelinePoint, x: float, y: float) -> str:
    if p.shape == "diamond":
        d = f"M{_n(x)} {_n(y - 6)}L{_n(x + 6)} {_n(y)}L{_n(x)} {_n(y + 6)}L{_n(x - 6)} {_n(y)}Z"
        return _mark(f'<path d="{d}" fill="none" stroke="{p.colour}" stroke-width="1.5"', p.mark)
    return _mark(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{p.colour}"', p.mark)


def timeline(
    rows: Sequence[TimelineRow],
    *,
    title: str,
    legend_items: Sequence[tuple[str, str]] = (),
    width: int = 760,
) -> str:
    """One row per item (a contract), its points placed by date on a shared axis from the
    earliest to the latest point (month ticks, every k-th labelled). ``legend_items``:
    (name, colour). O(points)."""
    days = [p.day for r in rows for p in r.points]
    start, end = (min(days), max(days)) if days else (date(2000, 1, 1), date(2000, 1, 2))
    start = date(start.year, start.month, 1)
    span = max((end - start).days, 1)
    left, right, top, row_h = 170, 16, 40, 20
    height = top + row_h * max(len(rows), 1) + 30
    pw = width - left - right

    def x(d: date) -> float:
        return left + pw * (d - start).days / span

    out = _open(width, height, title, f"{len(rows)} rows, {len(days)} points")
    months = _month_starts(start, end)
    every = max(1, math.ceil(len(months) / 10))
    for k, m in enumerate(months):
        out.append(
            f'<line x1="{_n(x(m))}" x2="{_n(x(m))}" y1="{top - 6}" y2="{height - 26}" '
            'stroke="#eee"/>'
        )
        if k % every == 0:
            out.append(
                f'<text x="{_n(x(m))}" y="{height - 12}" text-anchor="middle">'
                f"{m.year}-{m.month:02d}</text>"
            )
    for k, r in enumerate(rows):
        cy = top + row_h * k + row_h / 2
        label = (
            f'<text x="{left - 6}" y="{_n(cy + 4)}" text-anchor="end">{esc(short(r.label))}</text>'
        )
        out.append(f'<a href="{esc(r.href)}">{label}</a>' if r.href else label)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(cy)}" y2="{_n(cy)}" stroke="#ccc"/>'
        )
        out.extend(_shape(p, x(p.day), cy) for p in r.points)
    if legend_items:
        out.append(legend([n for n, _ in legend_items], 4, 16, [c for _, c in legend_items]))
    out.append("</svg>")
    return "".join(out)
