"""``gongxin-verify --report``: the traceability report (FORMAT.md §10.6).

The small street-office log of :mod:`tests.report_log` is written through the real ledger,
exported, and verified with the ``gongxin-verify`` entry point. Its report is then checked
against an INDEPENDENT summation over the raw exported lines
(:func:`tests.report_sums.independent_sums`, written from FORMAT.md §10 alone: it does not use
``verifier.rules``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.cli.main import main as verify_main

from .report_log import COMMUNITIES, SmallLog, build_small_log
from .report_sums import assert_report_matches, independent_sums

# ------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SmallLog]]:
    tmp = tmp_path_factory.mktemp("report")
    log = build_small_log(tmp)
    export_bundle(log.ledger, tmp / "bundle")
    yield tmp / "bundle", log
    log.ledger.close()


def _verify(bundle_dir: Path, *extra: str) -> int:
    vkey = (bundle_dir / "log.vkey").read_text().strip()
    return verify_main([str(bundle_dir), "--log-key", vkey, "--quiet", *extra])


def _lines(bundle_dir: Path) -> list[bytes]:
    return (bundle_dir / "entries.jsonl").read_bytes().splitlines()


@pytest.fixture(scope="module")
def report(
    bundle: tuple[Path, SmallLog], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out") / "report.json"
    assert _verify(bundle[0], "--report", str(out)) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


# ------------------------------------------------------------------- tests


def test_report_matches_independent_sums(
    bundle: tuple[Path, SmallLog], report: dict[str, Any]
) -> None:
    assert_report_matches(report, independent_sums(_lines(bundle[0])))


def test_demo_verifies_and_its_report_is_reproduced_independently(tmp_path: Path) -> None:
    """Done-when: the demo verifies, and its report's totals are reproduced by summing the
    raw entries independently."""
    from ledger.demo import build_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    size, _ = build_demo(url, 3000, 1, None)
    with Ledger.open(url, create=False, replay=False) as ledger:
        export_bundle(ledger, tmp_path / "bundle")
    out = tmp_path / "demo-report.json"
    assert _verify(tmp_path / "bundle", "--report", str(out), "--workers", "2") == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["verification"]["tree_size"] == size == 3000
    want = independent_sums(_lines(tmp_path / "bundle"))
    assert want["funds"] and want["payments"] and want["communities"], "the demo moved nothing"
    assert_report_matches(report, want)
    assert (tmp_path / "demo-report.md").read_text(encoding="utf-8").startswith("# 公信")


def test_scenario_figures_by_hand(report: dict[str, Any]) -> None:
    """The scenario's own arithmetic, as a reader would check it by hand."""
    funds = {f["fund_id"]: f for f in report["funds"]}
    f1, f2 = funds["F-1"], funds["F-2"]
    # F-1: paid = 500 (below the threshold) + 5000 (approved) + 2000 (approved) yuan.
    assert (f1["appropriated_fen"], f1["contracted_fen"], f1["paid_fen"]) == (
        5_000_000,
        3_000_000,
        750_000,
    )
    # F-2: 10000 + 2000 donated; K-2 8000 amended to 9000; PAY-4 900 paid then reversed.
    assert (f2["donated_fen"], f2["contracted_fen"], f2["paid_fen"], f2["reversed_fen"]) == (
        200_000,
        900_000,
        0,
        90_000,
    )
    assert (f2["pending_fen"], f1["pending_fen"]) == (300_000, 0)
    assert (f1["source"], f2["source"]) == ("财政", "社区基金")
    assert report["totals"]["payments"] == {
        "pending": 1,
        "counted": 3,
        "rejected": 1,
        "reversed": 1,
    }
    com = {c["party_id"]: c for c in report["communities"]}
    assert set(com) == set(COMMUNITIES)
    # 春江: 90 min × 10/h = 15, 45 min → 7 (corrected to 120 min → 20), then 60 min × 12/h
    # under policy v2 = 12; 秋月: 100 min × 6/h = 10, then 70 min × 6/h = 7 in July.
    assert com["C-chunjiang"]["awarded_points"] == 15 + 7 + 12
    assert com["C-chunjiang"]["corrected_points"] == 20 - 7
    assert com["C-qiuyue"]["awarded_points"] == 10 + 7
    assert report["totals"]["redeemed_points"] == 20 + 3 + 3
    assert com["C-qiuyue"]["outstanding_points"] == 7 - 3
    assert com["C-chunjiang"]["outstanding_points"] == 0  # all expired in July


def test_report_header_and_markdown(bundle: tuple[Path, SmallLog], report: dict[str, Any]) -> None:
    v = report["verification"]
    assert v["valid"] is True and v["tree_size"] == len(_lines(bundle[0]))
    assert "elapsed_seconds" not in v  # the report depends on the log only
    assert report["format"] == "gongxin-traceability/1"


def test_markdown_next_to_json_and_directory_mode(
    bundle: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    assert _verify(bundle[0], "--report", str(out)) == 0
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    for needle in (
        "# 公信 可追溯报告",
        "## 资金 Funds",
        "## 合同 Contracts",
        "## 服务机构 Providers",
        "## 社区积分 Community credits",
        "| 拨款 Appropriated | 50000.00 |",  # F-1: 5,000,000 fen
        "7500.00",  # F-1 paid
        "杭州春晖养老服务有限公司",
        "驳回 rejected",
    ):
        assert needle in md, needle
    lines = _lines(bundle[0])
    fund_line = next(i for i, raw in enumerate(lines) if b'"fund_id":"F-1","programme"' in raw)
    assert f"| 拨款 Appropriated | 50000.00 | #{fund_line} |" in md
    # Directory mode, and the same bytes on a second run, also with two worker processes.
    d = tmp_path / "dir"
    assert _verify(bundle[0], "--report", str(d), "--workers", "2") == 0
    assert (d / "report.json").read_bytes() == out.read_bytes()
    assert (d / "report.md").read_text(encoding="utf-8") == md


def test_no_report_when_verification_fails(bundle: tuple[Path, SmallLog], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("checkpoint", "log.vkey"):
        (bad / name).write_bytes((bundle[0] / name).read_bytes())
    lines = _lines(bundle[0])
    k = next(i for i, raw in enumerate(lines) if b'"amount_fen":5000000,' in raw)
    lines[k] = lines[k].replace(b'"amount_fen":5000000,', b'"amount_fen":5000001,')
    (bad / "entries.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    assert _verify(bad, "--report", str(out)) == 1
    assert not out.exists()
    assert _verify(bad, "--report", str(tmp_path / "x.json"), "--workers", "2") == 1
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "x.md").exists()


def test_report_to_unwritable_place_is_a_usage_error(
    bundle: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    assert _verify(bundle[0], "--report", str(tmp_path / "missing" / "r.json")) == 2
    (tmp_path / "file").write_text("x")
    assert _verify(bundle[0], "--report", str(tmp_path / "file")) == 2


def test_index_lists_cover_every_domain_entry(
    bundle: tuple[Path, SmallLog], report: dict[str, Any]
) -> None:
    """Every entry that moved money or points is linked from some figure."""
    lines = _lines(bundle[0])
    moving = {
        json.loads(raw)["index"]
        for raw in lines
        if json.loads(raw)["statement"]["kind"].split(".")[0]
        in ("fund", "contract", "payment", "credit")
    }
    linked: set[int] = set()
    for section in ("funds", "contracts", "providers", "communities"):
        for rec in report[section]:
            for ix in rec["entries"].values():
                linked.update(ix)
    assert moving <= linked


def test_yuan_and_refs() -> None:
    from verifier.reports.markdown import refs, yuan

    assert [yuan(v) for v in (0, 5, 123456, -5, -100)] == [
        "0.00",
        "0.05",
        "1234.56",
        "-0.05",
        "-1.00",
    ]
    assert refs([]) == "—"
    assert refs([3, 7]) == "#3, #7"
    long = refs(list(range(100)))
    assert long.startswith("#0, #1, #2, #3, #4, #5, … #98, #99") and "共 100 条" in long
