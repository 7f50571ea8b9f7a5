"""The evaluator's HTML report: one self-contained file, Chinese first, from the same dict as
``report.json`` (:meth:`verifier.reports.traceability.ReportBuilder.build`), written by
``gongxin-verify DIR --report OUT`` after a successful verification only.

What it holds: a header (origin, checkpoint size and root, the keys used, the verdict, the
time range of the entries), the totals, the red flags when the report has them
(``red_flags``), and the charts of :mod:`verifier.reports.charts_flow`,
:mod:`verifier.reports.charts_time` and :mod:`verifier.reports.charts_parties`, each beside
its data table, every mark linking to the table row that lists the entry indices behind it.

Self-contained: inline CSS and inline SVG, no script at all, no fonts, images or styles from
anywhere else, so it reads offline on an intranet and prints on A4 (``@page``, one section
per page). Templating is Jinja2 (a template in ``templates/``) with autoescape on: every
string from the log is escaped by the template or by :func:`verifier.reports.svg.esc`; the
only markup passed through unescaped is the SVG built by :mod:`verifier.reports.svg` and
:mod:`verifier.reports.sankey`, which escape every text they contain. Jinja2 (and its
``markupsafe``) is imported here and nowhere else in the verifier. Why the charts are our own
code rather than a chart library: :mod:`verifier.reports.svg`.

Pure: no I/O beyond reading the template shipped with the package. Deterministic: the same
report dict gives the same bytes. Cost: O(figures + entry links shown), not O(entries):
under 0.2 s for the 100,000- and the 1,000,000-entry demo logs (``bench/report.py``), plus
about 0.4 s, once per process, to compile the template.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from verifier.reports.charts_flow import flow_chart
from verifier.reports.charts_parties import concentration_chart, credit_chart
from verifier.reports.charts_time import milestone_chart, spending_chart
from verifier.reports.labels import TOTAL_CREDITS, TOTAL_MONEY
from verifier.reports.markdown import refs, yuan
from verifier.reports.view import Chart

__all__ = ["HTML_TEMPLATE", "render_html"]

#: The template, in this package (``verifier/reports/templates/``).
HTML_TEMPLATE = "templates/report.html.j2"

#: How a red flag's ``unit`` is shown after its value and threshold.
_UNITS = {"percent": "%", "yuan": "元", "fen": "分", "days": "天 days", "count": "次 times"}


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["yuan"] = yuan
    env.filters["refs"] = refs
    text = resources.files("verifier.reports").joinpath(HTML_TEMPLATE).read_text("utf-8")
    return env.from_string(text)


def _flags(report: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The red flags as the template shows them, or ``None`` when the report has none."""
    flags = report.get("red_flags")
    if not isinstance(flags, list):
        return None
    return [
        {
            "id": f"flag-{n}",
            "indicator": f.get("indicator"),
            "title": f.get("title"),
            "value": f.get("value"),
            "threshold": f.get("threshold"),
            "basis": f.get("basis"),
            "indices": list(f.get("indices") or []),
            "ids": list(f.get("ids") or []),
            "computable": f.get("computable", True),
            "unit": _UNITS.get(str(f.get("unit") or ""), str(f.get("unit") or "")),
        }
        for n, f in enumerate(flags)
        if isinstance(f, dict)
    ]


def _charts(report: dict[str, Any]) -> list[Chart]:
    charts = [
        flow_chart(report),
        spending_chart(report),
        milestone_chart(report),
        concentration_chart(report),
        credit_chart(report),
    ]
    for c in charts:
        c.svgs = [Markup(s) for s in c.svgs]  # built escaped by verifier.reports.svg
    return charts


def render_html(report: dict[str, Any]) -> str:
    """The HTML form of ``report`` (as built by ``ReportBuilder.build``, with the members of
    :mod:`verifier.reports.series`)."""
    v = report.get("verification") or {}
    period = report.get("period") or {}
    return _template().render(
        v=v,
        period=period,
        totals=report["totals"],
        money=TOTAL_MONEY,
        credits=TOTAL_CREDITS,
        flags=_flags(report),
        charts=_charts(report),
    )
