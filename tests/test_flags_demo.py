"""The demo's planted anomalies (ledger/demo/planted.py) are exactly the red flags its report
shows, with the right entry indices, and its OCDS export is schema-valid with one transaction
per counted payment (issue 16, "Done when")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.demo import DEFAULT_ENTRIES, build_demo
from ledger.demo.planted import (
    AMEND_TITLE,
    LATE_MILESTONE,
    LATE_TITLE,
    SPLIT_DAYS,
    SPLIT_PROVIDER,
    SPLIT_YUAN,
)
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.cli.main import main as verify_main
from verifier.cli.parallel import SignaturePool

from .ocds_check import assert_valid_ocds, counted_payments, transactions

SEED = 11


@dataclass
class Demo:
    objects: list[dict[str, Any]]
    lines: list[bytes]
    report: dict[str, Any]
    ocds: dict[str, Any]

    def indices(self, kind: str, **match: Any) -> list[int]:
        return [
            o["index"]
            for o in self.objects
            if o["statement"]["kind"] == kind
            and all(o["statement"]["body"].get(k) == v for k, v in match.items())
        ]

    def award(self, title: str) -> dict[str, Any]:
        [o] = [o for o in self.objects if o["statement"]["body"].get("title") == title]
        return o


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    tmp = tmp_path_factory.mktemp("demo-flags")
    url = f"sqlite:///{tmp / 'demo.db'}"
    build_demo(url, DEFAULT_ENTRIES, SEED, None)
    with Ledger.open(url, pool=SignaturePool(1)) as ledger:
        export_bundle(ledger, tmp / "bundle")
    vkey = (tmp / "bundle" / "log.vkey").read_text().strip()
    out = ["--report", str(tmp / "report"), "--ocds", str(tmp / "ocds.json"), "-q"]
    assert verify_main([str(tmp / "bundle"), "--log-key", vkey, *out]) == 0
    lines = (tmp / "bundle" / "entries.jsonl").read_bytes().splitlines()
    return Demo(
        [json.loads(line) for line in lines],
        lines,
        json.loads((tmp / "report" / "report.json").read_text(encoding="utf-8")),
        json.loads((tmp / "ocds.json").read_text(encoding="utf-8")),
    )


def _fired(demo: Demo) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in demo.report["red_flags"]:
        if f["computable"]:
            out.setdefault(f["indicator"], []).append(f)
    return out


def test_the_flags_are_exactly_the_planted_ones(demo: Demo) -> None:
    fired = _fired(demo)
    assert sorted(fired) == ["GX01", "GX02", "GX09"]
    assert all(len(flags) == 1 for flags in fired.values()), fired
    # Only the tender-period and bid-count indicators lack data (the demo does not record them).
    missing = {f["indicator"] for f in demo.report["red_flags"] if not f["computable"]}
    assert missing == {"R003", "R018"}


def test_planted_amendment(demo: Demo) -> None:
    [f] = _fired(demo)["GX01"]
    award = demo.award(AMEND_TITLE)
    cid = award["statement"]["body"]["contract_id"]
    assert f["indices"] == [award["index"], *demo.indices("contract.amend", contract_id=cid)]
    assert f["ids"] == [cid, award["statement"]["body"]["provider"]]
    assert f["value"] >= 20 > f["threshold"] == 10


def test_planted_split_purchase(demo: Demo) -> None:
    [f] = _fired(demo)["GX02"]
    planted = [
        o["index"]
        for o in demo.objects
        if o["statement"]["kind"] == "contract.award"
        and "社区适老化改造" in o["statement"]["body"]["title"]
    ]
    assert len(planted) == len(SPLIT_DAYS) and set(planted) <= set(f["indices"])
    assert f["ids"][-1] == SPLIT_PROVIDER
    providers = {demo.objects[i]["statement"]["body"]["provider"] for i in f["indices"]}
    assert providers == {SPLIT_PROVIDER}
    assert f["value"] >= len(SPLIT_DAYS) * SPLIT_YUAN > f["threshold"] == 2_000_000


def test_planted_late_payment(demo: Demo) -> None:
    [f] = _fired(demo)["GX09"]
    cid = demo.award(LATE_TITLE)["statement"]["body"]["contract_id"]
    [propose] = demo.indices("payment.propose", contract_id=cid, milestone_id=LATE_MILESTONE)
    pid = demo.objects[propose]["statement"]["body"]["payment_id"]
    [approve] = demo.indices("payment.approve", payment_id=pid)
    assert f["indices"] == [propose, approve] and f["ids"][:2] == [pid, cid]
    assert f["value"] > f["threshold"] == 30


def test_demo_ocds_is_valid_and_complete(demo: Demo) -> None:
    assert_valid_ocds(demo.ocds)
    assert len(demo.ocds["releases"]) == len(demo.indices("contract.award"))
    want = counted_payments(demo.lines)
    got = transactions(demo.ocds)
    assert {p: amount for p, (_, amount, _) in got.items()} == want
    assert sum(want.values()) == demo.report["totals"]["paid_fen"]
