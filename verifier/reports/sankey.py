"""A static Sankey-style flow diagram in SVG (source → fund → contract → provider) for the
HTML report. Why hand-written: see :mod:`verifier.reports.svg` (no chart library we could
use draws one).

Layout: the columns are placed evenly from left to right; a node's height is proportional
to the larger of what flows into and out of it (one scale for the whole diagram, so heights
compare across columns); nodes keep the order given, with a fixed gap; each flow is a band
(a cubic Bézier stroke as wide as its value) from the bottom of what its source has already
sent to the bottom of what its target has already received. Every node and band carries a
``<title>`` and a link to its data-table row. Pure: no I/O. Cost: O(nodes + flows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.reports.svg import PALETTE, Mark, _mark, _n, _open, esc, short

__all__ = ["Flow", "Node", "sankey"]


@dataclass(frozen=True, slots=True)
class Node:
    """A box of the diagram; ``key`` is unique over all columns."""

    key: str
    label: str
    mark: Mark


@dataclass(frozen=True, slots=True)
class Flow:
    """A band from node ``source`` to node ``target`` (keys); ``mark.value`` is its width."""

    source: str
    target: str
    mark: Mark


def _sizes(flows: Sequence[Flow]) -> tuple[dict[str, float], dict[str, float]]:
    outs: dict[str, float] = {}
    ins: dict[str, float] = {}
    for f in flows:
        v = max(f.mark.value, 0.0)
        outs[f.source] = outs.get(f.source, 0.0) + v
        ins[f.target] = ins.get(f.target, 0.0) + v
    return outs, ins


_TOP, _BOTTOM, _NODE_W, _LABEL_W = 34, 10, 10, 190

#: A node's place: (x, y, height).
_Pos = dict[str, tuple[float, float, float]]


def _layout(
    columns: Sequence[Sequence[Node]], flows: Sequence[Flow], width: int, height: int, gap: float
) -> tuple[_Pos, float]:
    """Every node's place and the scale (pixels per unit of value)."""
    outs, ins = _sizes(flows)
    size = {n.key: max(outs.get(n.key, 0.0), ins.get(n.key, 0.0)) for col in columns for n in col}
    avail = height - _TOP - _BOTTOM
    scales = [
        (avail - gap * (len(col) - 1)) / total
        for col in columns
        if (total := sum(size[n.key] for n in col)) > 0
    ]
    k = max(min(scales), 0.0) if scales else 0.0
    step = (width - _LABEL_W - _NODE_W) / max(len(columns) - 1, 1)
    pos: _Pos = {}
    for c, col in enumerate(columns):
        y = float(_TOP)
        for n in col:
            h = max(size[n.key] * k, 1.0)
            pos[n.key] = (c * step, y, h)
            y += h + gap
    return pos, k


def _headings(headings: Sequence[str], columns: Sequence[Sequence[Node]], pos: _Pos) -> list[str]:
    out = []
    for text, col in zip(headings, columns, strict=False):
        if not col:
            continue
        out.append(
            f'<text x="{_n(pos[col[0].key][0])}" y="14" font-weight="bold">{esc(text)}</text>'
        )
    return out


def _bands(flows: Sequence[Flow], pos: _Pos, k: float, colour_of: dict[str, str]) -> list[str]:
    """One band per drawable flow, stacked at both ends in the order given."""
    out = []
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    for f in flows:
        if f.source not in pos or f.target not in pos or f.mark.value <= 0:
            continue
        (sx, sy, _), (tx, ty, _) = pos[f.source], pos[f.target]
        w = f.mark.value * k
        y0 = sy + sent.get(f.source, 0.0) + w / 2
        y1 = ty + got.get(f.target, 0.0) + w / 2
        sent[f.source] = sent.get(f.source, 0.0) + w
        got[f.target] = got.get(f.target, 0.0) + w
        colour = colour_of.setdefault(f.target, colour_of.get(f.source, PALETTE[-1]))
        x0, x1 = sx + _NODE_W, tx
        xm = (x0 + x1) / 2
        d = f"M{_n(x0)} {_n(y0)}C{_n(xm)} {_n(y0)} {_n(xm)} {_n(y1)} {_n(x1)} {_n(y1)}"
        out.append(
            _mark(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-opacity="0.35" '
                f'stroke-width="{_n(max(w, 0.5))}"',
                f.mark,
            )
        )
    return out


def _nodes(columns: Sequence[Sequence[Node]], pos: _Pos, colour_of: dict[str, str]) -> list[str]:
    """The boxes, and a label beside each box whose line is still free (labels never
    overlap; a box without one keeps its tooltip)."""
    out = []
    for col in columns:
        free = 0.0
        for n in col:
            x, y, h = pos[n.key]
            out.append(
                _mark(
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_NODE_W}" height="{_n(h)}" '
                    f'fill="{colour_of.get(n.key, "#555")}"',
                    n.mark,
                )
            )
            if y + h / 2 - 5 < free:
                continue
            free = y + h / 2 + 7
            out.append(
                f'<text x="{_n(x + _NODE_W + 4)}" y="{_n(y + h / 2 + 4)}">'
                f"{esc(short(n.label, 16))}</text>"
            )
    return out


def sankey(
    columns: Sequence[Sequence[Node]],
    flows: Sequence[Flow],
    *,
    title: str,
    headings: Sequence[str] = (),
    width: int = 1000,
    height: int = 420,
    gap: float = 6.0,
) -> str:
    """The diagram of ``flows`` between the nodes of ``columns`` (flows between unknown
    keys, or of value ≤ 0, are not drawn). ``headings``: one caption per column."""
    pos, k = _layout(columns, flows, width, height, gap)
    colour_of = {
        n.key: PALETTE[i % len(PALETTE)] for i, n in enumerate(columns[0] if columns else [])
    }
    out = _open(width, height, title, f"{len(pos)} nodes, {len(flows)} flows")
    out += _headings(headings, columns, pos)
    out += _bands(flows, pos, k, colour_of)
    out += _nodes(columns, pos, colour_of)
    out.append("</svg>")
    return "".join(out)
