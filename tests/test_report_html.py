"""``gongxin-verify --report`` writes ``report.html``: one self-contained file, rendered in the
real browser of the suite (Debian's Chromium, :mod:`tests.browser`; FAILS if missing).

A demo log (:func:`ledger.demo.build_demo`) is built through the real ledger, exported and
verified with the ``gongxin-verify`` entry point; its ``report.html`` is opened from disk in
headless Chromium: every chart is there, nothing is requested but the file itself, no
console error, no script, every mark links to a row that exists, and the totals read from
the data tables (their exact ``data-value``\\ s) equal ``report.json``'s. The new series
members of ``report.json`` (:mod:`verifier.reports.series`) are checked to sum to the
existing figures. A log whose names are hostile (``<script>``, quotes, an ``onerror``) is
verified too: its report shows them as text and runs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import build_demo
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.cli.main import main as verify_main
from verifier.reports.html import render_html
from verifier.reports.markdown import yuan
from verifier.rules.kinds import uscc_check_char

from .browser import chromium
from .report_log import build_small_log

DEMO_ENTRIES = 3000
CHART_SECTIONS = ("flow", "spend", "milestones", "concentration", "credits")
HOSTILE_NAME = "<script>window.__pwned=1</script>\"'&amp; 春晖"
HOSTILE_TITLE = '"><img src=x onerror="window.__pwned=2"> 项目'


def _verify(bundle: Path, *extra: str) -> int:
    vkey = (bundle / "log.vkey").read_text().strip()
    return verify_main([str(bundle), "--log-key", vkey, "--quiet", *extra])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bundle, report directory) of a verified demo log."""
    tmp = tmp_path_factory.mktemp("html-demo")
    url = f"sqlite:///{tmp / 'demo.db'}"
    build_demo(url, DEMO_ENTRIES, 1, None)
    with Ledger.open(url, create=False, replay=False) as ledger:
        export_bundle(ledger, tmp / "bundle")
    assert _verify(tmp / "bundle", "--report", str(tmp / "report")) == 0
    return tmp / "bundle", tmp / "report"


@pytest.fixture(scope="module")
def report(demo: tuple[Path, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((demo[1] / "report.json").read_text(encoding="utf-8"))
    return data


# ------------------------------------------------------------- the series members


def test_fund_months_sum_to_each_fund(report: dict[str, Any]) -> None:
    months = {s["fund_id"]: s["months"] for s in report["fund_months"]}
    for f in report["funds"]:
        mine = months.get(f["fund_id"], [])
        assert sum(m["paid_fen"] for m in mine) == f["paid_fen"], f["fund_id"]
        assert sorted(i for m in mine for i in m["entries"]) == f["entries"]["paid"]


def test_credit_months_and_concentration_sum_to_the_report(report: dict[str, Any]) -> None:
    communities = {c["party_id"]: c for c in report["communities"]}
    for c in report["credit_months"]:
        for figure in ("awarded", "corrected", "redeemed", "expired", "transferred_in"):
            got = sum(m[f"{figure}_points"] for m in c["months"])
            assert got == communities[c["party_id"]][f"{figure}_points"], (c["party_id"], figure)
    years = report["concentration"]
    assert sum(y["contracted_fen"] for y in years) == report["totals"]["contracted_fen"]
    assert all(0 < y["top5_share"] <= 1 and 0 < y["hhi"] <= 10_000 for y in years)


def test_schedule_and_period(report: dict[str, Any]) -> None:
    contracts = {c["contract_id"]: c for c in report["contracts"]}
    assert {s["contract_id"] for s in report["schedule"]} == set(contracts)
    for s in report["schedule"]:
        c = contracts[s["contract_id"]]
        assert sum(m["amount_fen"] for m in s["milestones"]) == c["total_fen"]
        states = {p["payment_id"]: p["state"] for p in c["payments"]}
        assert {p["payment_id"]: p["state"] for p in s["payments"]} == states
    p = report["period"]
    assert p["first_log_time"] <= p["last_log_time"]
    assert p["months"][0] == p["first_log_time"][:7] and p["months"][-1] == p["last_log_time"][:7]
    assert len(p["months"]) >= 3, "the demo should span several months"


def test_html_is_rendered_from_report_json_alone(
    demo: tuple[Path, Path], report: dict[str, Any]
) -> None:
    """Deterministic, and from the same data as report.json: rendering the JSON file again
    gives the same bytes."""
    html = (demo[1] / "report.html").read_text(encoding="utf-8")
    assert render_html(report) == html
    low = html.lower()
    assert "<script" not in low and "http://" not in low.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in low and "@import" not in low and "url(" not in low


# ------------------------------------------------------------- in the browser


def _read_page(page: Any) -> dict[str, Any]:
    """Everything the assertions need, read by the browser from the rendered page."""
    seen: dict[str, Any] = page.evaluate(
        """() => {
        const sums = {};
        for (const t of document.querySelectorAll('table[data-table]')) {
            const s = sums[t.dataset.table] = {};
            for (const td of t.querySelectorAll('td[data-key]')) {
                s[td.dataset.key] = (s[td.dataset.key] || 0) + Number(td.dataset.value);
            }
        }
        const totals = {};
        for (const td of document.querySelectorAll('section#totals td[data-key]')) {
            totals[td.dataset.key] = [Number(td.dataset.value), td.textContent];
        }
        const svgs = {};
        for (const s of document.querySelectorAll('section')) {
            svgs[s.id] = [...s.querySelectorAll('svg')].filter(
                v => v.getBoundingClientRect().width > 100).length;
        }
        const hrefs = [...document.querySelectorAll('svg a')].map(a => a.getAttribute('href'));
        const missing = hrefs.filter(h => !document.getElementById(h.slice(1)));
        return {sums, totals, svgs, links: hrefs.length, missing,
                scripts: document.scripts.length,
                handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
                pwned: window.__pwned === undefined ? null : window.__pwned,
                text: document.body.innerText};
    }"""
    )
    return seen


def _open(
    html_file: Path, screenshot: Path | None = None
) -> tuple[dict[str, Any], list[str], list[str], bytes]:
    requested: list[str] = []
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requested.append(r.url))
        page.on(
            "console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_file.resolve().as_uri())
        page.wait_for_load_state("load")
        seen = _read_page(page)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=False)
        pdf = page.pdf(format="A4", print_background=True)
    return seen, requested, errors, pdf


@pytest.fixture(scope="module")
def browsed(
    demo: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], list[str], list[str], bytes, Path]:
    """The demo's report.html opened in Chromium: (what the page shows, requests, console
    errors, its A4 PDF, the screenshot's path)."""
    default = tmp_path_factory.mktemp("shot") / "report.png"
    shot = Path(os.environ.get("GONGXIN_REPORT_SCREENSHOT", default))
    seen, requested, errors, pdf = _open(demo[1] / "report.html", shot)
    return seen, requested, errors, pdf, shot


def test_report_html_is_offline_and_scriptless(demo: tuple[Path, Path], browsed: Any) -> None:
    seen, requested, errors, pdf, shot = browsed
    assert requested == [(demo[1] / "report.html").resolve().as_uri()], requested
    assert errors == []
    assert seen["scripts"] == 0 and seen["handlers"] == 0
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pdf.startswith(b"%PDF") and pages >= 1 + len(CHART_SECTIONS), pages  # A4, a page each
    assert shot.stat().st_size > 10_000


def test_every_chart_is_drawn_and_every_mark_links(report: dict[str, Any], browsed: Any) -> None:
    seen = browsed[0]
    for section in CHART_SECTIONS:
        assert seen["svgs"].get(section, 0) >= 1, (section, seen["svgs"])
    assert seen["links"] > 20 and seen["missing"] == []
    v = report["verification"]
    for shown in (
        v["origin"],
        v["root"],
        v["log_key"],
        "验证通过",
        report["period"]["first_log_time"],
    ):
        assert shown in seen["text"], shown


def test_totals_shown_equal_report_json(report: dict[str, Any], browsed: Any) -> None:
    t = report["totals"]
    for key, (value, text) in browsed[0]["totals"].items():
        assert value == t[key], key
        assert text == (yuan(t[key]) if key.endswith("_fen") else str(t[key])), key


def test_chart_tables_sum_to_report_json(report: dict[str, Any], browsed: Any) -> None:
    t, sums = report["totals"], browsed[0]["sums"]
    flow = sums["flow"]
    assert flow["appropriated_fen"] == t["appropriated_fen"]
    assert flow.get("donated_fen", 0) == t["donated_fen"]
    assert flow["contracted_fen"] == t["contracted_fen"] == flow["provider_fen"]
    assert flow.get("unallocated_fen", 0) == t["unallocated_fen"]
    assert sums["spend"]["paid_fen"] == t["paid_fen"]
    assert sums["milestones"]["milestone_fen"] == t["contracted_fen"]
    assert sums["milestones"].get("payment_counted_fen", 0) == t["paid_fen"]
    assert sums["milestones"].get("payment_pending_fen", 0) == t["pending_fen"]
    assert sums["concentration"]["contracted_fen"] == t["contracted_fen"]
    for figure in ("awarded", "redeemed", "expired"):
        assert sums["credits"].get(f"{figure}_points", 0) == t[f"{figure}_points"], figure


# ------------------------------------------------------------- hostile text


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small report log plus a provider, a fund and a contract with hostile names."""
    tmp = tmp_path_factory.mktemp("html-hostile")
    log = build_small_log(tmp)
    uscc17 = "91330106MA0000099"
    log.add(
        "finance",
        "party.register",
        {
            "party_id": "P-evil",
            "type": "company",
            "name": HOSTILE_NAME,
            "uscc": uscc17 + uscc_check_char(uscc17),
        },
    )
    log.add(
        "finance",
        "fund.appropriate",
        {
            "fund_id": "F-evil",
            "fiscal_year": 2026,
            "programme": HOSTILE_TITLE,
            "source": "财政",
            "amount_fen": 300_000,
        },
    )
    log.add(
        "finance",
        "contract.award",
        {
            "contract_id": "K-evil",
            "fund_id": "F-evil",
            "provider": "P-evil",
            "title": HOSTILE_TITLE,
            "method": "单一来源",
            "total_fen": 100_000,
            "milestones": [
                {
                    "milestone_id": "M1",
                    "amount_fen": 100_000,
                    "due": "2026-09-30",
                    "deliverable": HOSTILE_TITLE,
                }
            ],
            "evidence": [hashlib.sha256(b"evil").hexdigest()],
        },
    )
    export_bundle(log.ledger, tmp / "bundle")
    log.ledger.close()
    (tmp / "out").mkdir()
    assert _verify(tmp / "bundle", "--report", str(tmp / "out" / "r.json")) == 0
    yield tmp / "out"


def test_hostile_names_are_shown_as_text_and_run_nothing(hostile: Path) -> None:
    html = (hostile / "r.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;" in html
    seen, requested, errors, _ = _open(hostile / "r.html")
    assert seen["pwned"] is None and seen["scripts"] == 0 and seen["handlers"] == 0
    assert errors == [] and len(requested) == 1, (errors, requested)
    assert HOSTILE_NAME[:24] in seen["text"]  # the flow table shows the name, as text
    assert HOSTILE_TITLE.split(">")[0] in seen["text"]


# ------------------------------------------------------------- the command line


def test_no_html_when_verification_fails(demo: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(demo[0], bad)
    lines = (bad / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (bad / "entries.jsonl").write_bytes(b"".join(lines[:-1]))
    assert _verify(bad, "--report", str(tmp_path / "out")) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
