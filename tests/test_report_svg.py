"""The SVG pieces of the HTML report (:mod:`verifier.reports.svg`, :mod:`verifier.reports.sankey`)
and the helpers around them: every chart is well-formed XML, escapes every text it is given,
draws nothing wrong for empty data, one item or huge numbers, and is deterministic."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.reports.html import render_html
from verifier.reports.sankey import Flow, Node, sankey
from verifier.reports.series import hhi
from verifier.reports.svg import (
    Mark,
    RefLine,
    TimelinePoint,
    TimelineRow,
    bar_chart,
    esc,
    nice_scale,
    short,
    timeline,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script>\"&' ]]> <!-- \u202e"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not root.findall(f".//{SVG}script")
    for el in root.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert "javascript:" not in value.lower()
    return root


def _texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter() if el.text]


def _bars(svg: str) -> list[ET.Element]:
    return _parse(svg).findall(f".//{SVG}rect[@data-series]")


def test_esc_and_short() -> None:
    assert esc(HOSTILE).count("<") == 0 and esc(HOSTILE).count('"') == 0
    assert esc("a&b") == "a&amp;b"
    assert short("一二三四五", 3) == "一二…"
    assert short("abc", 3) == "abc"


@pytest.mark.parametrize(
    ("lo", "hi"), [(0, 0), (0, 1), (0, 7), (-3, 10), (0, 10**15), (-(10**13), 0), (0, 0.001)]
)
def test_nice_scale_covers_the_range(lo: float, hi: float) -> None:
    a, b, step = nice_scale(lo, hi)
    assert a <= lo and b >= hi and b > a and step > 0
    assert (b - a) / step <= 12
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5, 10)


@given(st.floats(-1e15, 0), st.floats(0, 1e15))
def test_nice_scale_property(lo: float, hi: float) -> None:
    a, b, step = nice_scale(lo, hi)
    assert a <= lo <= hi <= b and step > 0


def test_bar_chart_escapes_every_text() -> None:
    svg = bar_chart(
        [HOSTILE, "2026-01"],
        [(HOSTILE, [Mark(5, HOSTILE, "#r-x"), Mark(-2, HOSTILE)])],
        refs=[RefLine(3, HOSTILE)],
        line=(HOSTILE, [Mark(5, HOSTILE), Mark(3, HOSTILE)]),
        title=HOSTILE,
        fmt=lambda v: HOSTILE,
    )
    assert "<script" not in svg
    root = _parse(svg)
    texts = _texts(root)
    assert any(HOSTILE in t for t in texts)  # the title and tooltips keep the text exactly
    assert all("<" not in t or t == HOSTILE or "<script>" in t for t in texts)
    links = root.findall(f".//{SVG}a")
    assert [a.get("href") for a in links] == ["#r-x"]


def test_bar_chart_empty_one_and_huge() -> None:
    empty = bar_chart([], [], title="empty", fmt=str)
    assert _bars(empty) == []
    one = bar_chart(["2026-05"], [("a", [Mark(1, "one")])], title="one", fmt=str)
    (bar,) = _bars(one)
    assert float(bar.get("height", "0")) > 0
    huge = bar_chart(
        ["a", "b"],
        [("s", [Mark(10**13 * 10**4, "big"), Mark(1, "small")])],
        title="huge",
        fmt=lambda v: f"{v:.3g}",
    )
    big, small = _bars(huge)
    assert float(big.get("height", "0")) > 100 and 0 < float(small.get("height", "0")) < 1
    zero = bar_chart(["a"], [("s", [Mark(0, "zero")])], title="zero", fmt=str)
    assert float(_bars(zero)[0].get("height", "1")) == 0


def test_bar_heights_are_proportional() -> None:
    svg = bar_chart(
        ["a", "b", "c"], [("s", [Mark(v, str(v)) for v in (10, 20, 40)])], title="t", fmt=str
    )
    h = [float(b.get("height", "0")) for b in _bars(svg)]
    assert h[1] == pytest.approx(2 * h[0], abs=0.2) and h[2] == pytest.approx(4 * h[0], abs=0.2)


def test_negative_bars_hang_below_the_axis() -> None:
    svg = bar_chart(["a", "b"], [("s", [Mark(10, "up"), Mark(-10, "down")])], title="t", fmt=str)
    up, down = _bars(svg)
    assert float(up.get("y", "0")) + float(up.get("height", "0")) == pytest.approx(
        float(down.get("y", "0")), abs=0.2
    )


def _sankey(values: list[int], label: str = "n") -> str:
    cols = [[Node("s:a", label, Mark(sum(values), label))], [], [], []]
    cols[1] = [
        Node(f"f:{i}", f"{label}{i}", Mark(v, label, f"#r-{i}")) for i, v in enumerate(values)
    ]
    flows = [Flow("s:a", f"f:{i}", Mark(v, label, f"#r-{i}")) for i, v in enumerate(values)]
    return sankey(cols, flows, title=label, headings=[label] * 4)


def test_sankey_escapes_and_links() -> None:
    svg = _sankey([5, 0, 7], HOSTILE)
    assert "<script" not in svg
    root = _parse(svg)
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 2  # the zero flow is not drawn
    hrefs = {a.get("href") for a in root.findall(f".//{SVG}a")}
    assert {"#r-0", "#r-2"} <= hrefs


def test_sankey_widths_are_proportional_and_huge_numbers_fit() -> None:
    for scale in (1, 10**13):
        root = _parse(_sankey([1 * scale, 3 * scale]))
        w = [float(p.get("stroke-width", "0")) for p in root.findall(f".//{SVG}path")]
        assert w[1] == pytest.approx(3 * w[0], rel=0.02)
        for rect in root.findall(f".//{SVG}rect"):
            assert (
                float(rect.get("y", "0")) >= 0
                and float(rect.get("y", "0")) + float(rect.get("height", "0")) <= 420
            )


def test_sankey_empty_and_one() -> None:
    _parse(sankey([], [], title="empty"))
    _parse(sankey([[], [], [], []], [], title="empty"))
    root = _parse(_sankey([42]))
    assert len(root.findall(f".//{SVG}path")) == 1


def test_timeline_places_points_by_date() -> None:
    day = date(2026, 5, 1)
    rows = [
        TimelineRow(
            HOSTILE,
            [
                TimelinePoint(day, "diamond", "#555", Mark(1, HOSTILE, "#r-1")),
                TimelinePoint(date(2026, 7, 1), "circle", "#0a0", Mark(1, "late", "#r-2")),
            ],
        )
    ]
    svg = timeline(rows, title=HOSTILE, legend_items=[(HOSTILE, "#000")])
    root = _parse(svg)
    (circle,) = root.findall(f".//{SVG}circle")
    (diamond,) = root.findall(f".//{SVG}path")
    assert float(circle.get("cx", "0")) > float(diamond.get("d", "M0 ")[1:].split()[0])
    assert "<script" not in svg
    _parse(timeline([], title="empty"))
    _parse(timeline([TimelineRow("one", [])], title="no points"))


def test_charts_are_deterministic() -> None:
    assert _sankey([3, 4]) == _sankey([3, 4])


def test_hhi() -> None:
    assert hhi([]) == 0 and hhi([0, 0]) == 0
    assert hhi([5]) == pytest.approx(10_000)
    assert hhi([1, 1, 1, 1]) == pytest.approx(2_500)
    assert hhi([10**13, 10**13]) == pytest.approx(5_000)


def _minimal_report(**extra: object) -> dict[str, object]:
    totals: dict[str, object] = dict.fromkeys(
        [
            "appropriated_fen", "donated_fen", "contracted_fen", "paid_fen", "reversed_fen",
            "pending_fen", "unallocated_fen", "remaining_fen", "awarded_points",
            "corrected_points", "redeemed_points", "transferred_in_points",
            "transferred_out_points", "expired_points", "outstanding_points",
        ],
        0,
    )  # fmt: skip
    totals |= {"funds": 0, "contracts": 0, "providers": 0, "communities": 0}
    totals["payments"] = dict.fromkeys(["pending", "counted", "rejected", "reversed"], 0)
    return {
        "format": "gongxin-traceability/1",
        "verification": {"valid": True, "origin": HOSTILE, "tree_size": 1, "root": "r", "keys": []},
        "totals": totals,
        "funds": [],
        "contracts": [],
        "providers": [],
        "communities": [],
        **extra,
    }


def test_html_of_an_empty_log_and_without_series() -> None:
    """A report without any fund, contract or community (and an older report without the
    series members) still renders: every section says there is no data."""
    html = render_html(_minimal_report())
    assert "<script" not in html.lower()
    assert html.count("<section") == 6 and "无数据 no data" in html
    assert "风险提示 Red flags" not in html  # no red_flags member: no section


def test_html_red_flags_section() -> None:
    flags = [
        {
            "indicator": "NF-TEST",
            "title": f"测试 · test {HOSTILE}",
            "value": 0.15,
            "threshold": 0.1,
            "basis": HOSTILE,
            "indices": [3, 9],
            "ids": ["K-1"],
            "computable": True,
        },
        {"indicator": "NF-NONE", "title": "x", "value": None, "threshold": None, "basis": "b",
         "indices": [], "ids": [], "computable": False},
    ]  # fmt: skip
    html = render_html(_minimal_report(red_flags=flags))
    assert 'id="flag-0"' in html and "#3, #9" in html and "not computable" in html
    assert "<script" not in html.lower()
    assert "没有指标超过阈值" in render_html(_minimal_report(red_flags=[]))
