"""OCDS 1.1.5 export (issue 16; verifier/reports/ocds.py): ``gongxin-verify DIR --ocds`` and
``gongxin export --ocds`` write the same schema-valid release package, one compiled release
per contract, with one transaction per counted payment (count and sum checked against the raw
lines), parties identified by CN-USCI, and money converted exactly from fen."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.export import export_bundle
from verifier.cli.main import main as verify_main
from verifier.reports.ocds import METHODS, PLACEHOLDER_PREFIX

from .ocds_check import assert_valid_ocds, codes, counted_payments, fen, transactions
from .report_log import SmallLog, build_small_log

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SmallLog]]:
    tmp = tmp_path_factory.mktemp("ocds")
    log = build_small_log(tmp)
    export_bundle(log.ledger, tmp / "bundle")
    yield tmp / "bundle", log
    log.ledger.close()


def _verify(bundle: Path, *extra: str) -> int:
    vkey = (bundle / "log.vkey").read_text().strip()
    return verify_main([str(bundle), "--log-key", vkey, "--quiet", *extra])


@pytest.fixture(scope="module")
def package(
    small: tuple[Path, SmallLog], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out") / "ocds.json"
    report = out.with_name("report.json")
    assert (
        _verify(
            small[0], "--ocds", str(out), "--ocid-prefix", "ocds-a1b2c3", "--report", str(report)
        )
        == 0
    )
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    doc["_report"] = json.loads(report.read_text(encoding="utf-8"))
    return doc


def _lines(bundle: Path) -> list[bytes]:
    return (bundle / "entries.jsonl").read_bytes().splitlines()


def test_schema_valid_with_codelists(package: dict[str, Any]) -> None:
    doc = {k: v for k, v in package.items() if k != "_report"}
    assert_valid_ocds(doc)
    assert set(METHODS.values()) <= codes("method.csv")


def test_one_compiled_release_per_contract(
    package: dict[str, Any], small: tuple[Path, SmallLog]
) -> None:
    awards = [
        json.loads(line)["statement"]["body"]
        for line in _lines(small[0])
        if json.loads(line)["statement"]["kind"] == "contract.award"
    ]
    releases = package["releases"]
    assert [r["ocid"] for r in releases] == [f"ocds-a1b2c3-{a['contract_id']}" for a in awards]
    for r, a in zip(releases, awards, strict=True):
        assert r["tag"] == ["compiled"] and r["initiationType"] == "tender"
        assert r["tender"]["procurementMethodDetails"] == a["method"]
        assert r["tender"]["procurementMethod"] == METHODS[a["method"]]
        assert r["planning"]["budget"]["id"] == a["fund_id"]
        supplier = next(p for p in r["parties"] if "supplier" in p["roles"])
        assert supplier["identifier"]["scheme"] == "CN-USCI"
        assert supplier["id"] == f"CN-USCI-{supplier['identifier']['id']}"
        buyer = next(p for p in r["parties"] if "buyer" in p["roles"])
        assert {"procuringEntity", "payer"} <= set(buyer["roles"])
        assert fen(r["awards"][0]["value"]["amount"]) == a["total_fen"]
        assert [m["id"] for m in r["contracts"][0]["milestones"]][: len(a["milestones"])] == [
            m["milestone_id"] for m in a["milestones"]
        ]


def test_every_counted_payment_is_one_transaction(
    package: dict[str, Any], small: tuple[Path, SmallLog]
) -> None:
    want = counted_payments(_lines(small[0]))
    got = transactions(package)
    assert {pid: amount for pid, (_, amount, _) in got.items()} == want
    assert len(got) == len(want) > 0
    assert (
        sum(a for _, a, _ in got.values())
        == sum(want.values())
        == package["_report"]["totals"]["paid_fen"]
    )
    by_contract = {c["contract_id"]: c["paid_fen"] for c in package["_report"]["contracts"]}
    for release in package["releases"]:
        c = release["contracts"][0]
        paid = sum(fen(t["value"]["amount"]) for t in c["implementation"]["transactions"])
        assert paid == by_contract[c["id"]]


def test_links_back_to_entries(package: dict[str, Any], small: tuple[Path, SmallLog]) -> None:
    lines = _lines(small[0])
    for pid, (_, _, indices) in transactions(package).items():
        kinds = [json.loads(lines[i])["statement"] for i in indices]
        assert kinds[0]["kind"] == "payment.propose" and kinds[0]["body"]["payment_id"] == pid
    for release in package["releases"]:
        [i] = release["awards"][0]["gongxinEntries"]
        assert (
            json.loads(lines[i])["statement"]["body"]["contract_id"]
            == release["contracts"][0]["id"]
        )
        for a in release["contracts"][0].get("amendments", []):
            st = json.loads(lines[a["gongxinEntries"][0]])["statement"]
            assert st["kind"] == "contract.amend" and st["body"]["amendment_id"] == a["id"]


def test_ledger_export_writes_the_same_package(
    small: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    bundle, log = small
    mine, theirs = tmp_path / "ledger.json", tmp_path / "verifier.json"
    assert _verify(bundle, "--ocds", str(theirs)) == 0
    run = subprocess.run(
        [str(BIN / "gongxin"), "export", "--db", log.url, "--ocds", str(mine)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert PLACEHOLDER_PREFIX in run.stderr and "placeholder" in run.stderr
    assert json.loads(mine.read_text()) == json.loads(theirs.read_text())


def test_placeholder_prefix_warns(
    small: tuple[Path, SmallLog], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vkey = (small[0] / "log.vkey").read_text().strip()
    assert verify_main([str(small[0]), "--log-key", vkey, "--ocds", str(tmp_path / "o.json")]) == 0
    assert "placeholder" in capsys.readouterr().err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert all(r["ocid"].startswith(f"{PLACEHOLDER_PREFIX}-") for r in doc["releases"])


@pytest.mark.parametrize("prefix", ["ocds-ABCDEF", "ocds-12345", "xyz-123456", "ocds-123456-"])
def test_bad_prefix_exits_2_before_verifying(
    prefix: str, small: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    assert _verify(small[0], "--ocds", str(out), "--ocid-prefix", prefix) == 2
    assert not out.exists()


def test_ocds_not_written_when_verification_fails(
    small: tuple[Path, SmallLog], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("checkpoint", "log.vkey"):
        (broken / name).write_bytes((small[0] / name).read_bytes())
    lines = _lines(small[0])
    (broken / "entries.jsonl").write_bytes(b"\n".join(lines[:-1]) + b"\n")
    out = tmp_path / "o.json"
    assert _verify(broken, "--ocds", str(out)) == 1
    assert not out.exists()


def test_yuan_conversion_is_exact() -> None:
    from verifier.reports.flag_facts import yuan

    for value in (1, 10, 99, 100, 12345, 10**13, 10**13 - 1, 123456789012):
        assert fen(yuan(value)) == value
        assert json.loads(json.dumps(yuan(value))) == yuan(value)
