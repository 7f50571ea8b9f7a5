"""The street-office demo (ledger/demo/): the default log holds the whole scenario the issue
asks for, every entry is valid under the rulebook (FORMAT.md §8–§10, checked by
``gongxin-verify`` on an export), and the log is deterministic, exactly N entries long, and a
prefix of every longer one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import (
    DEFAULT_ENTRIES,
    DEMO_ORIGIN,
    DEMO_START,
    ENTRIES_PER_SCALE,
    SCALE_FROM_DAY,
    THRESHOLD_FEN,
    DemoClock,
    Scenario,
    append_scenario,
    build_demo,
    derive_keys,
    scale_for,
)
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.cli.parallel import SignaturePool
from verifier.core.entry import parse_entry_line
from verifier.core.merkle import leaf_hash
from verifier.rules import DomainRules
from verifier.rules.kinds import KINDS, is_valid_uscc
from verifier.rules.log_state import LogState

from .json_walk import iter_bodies, iter_strings

SEED = 11
BIN = Path(sys.executable).parent
#: Real time when these tests were written: every simulated log time must be before it.
TODAY = "2026-11-22"


@dataclass
class Demo:
    bundle: Path
    lines: list[bytes]
    objects: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["statement"]["kind"] == kind]

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return [o["statement"]["body"] for o in self.of(kind)]


def _build(directory: Path, entries: int, seed: int) -> Demo:
    url = f"sqlite:///{directory / 'demo.db'}"
    size, note = build_demo(url, entries, seed, None)
    assert size == entries
    with Ledger.open(url, pool=SignaturePool(1)) as ledger:
        assert export_bundle(ledger, directory / "out") == entries
    assert (directory / "out" / "checkpoint").read_text(encoding="utf-8") == note
    data = (directory / "out" / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    lines = data[:-1].split(b"\n")
    return Demo(directory / "out", lines, [json.loads(x) for x in lines])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The default demo: ``gongxin demo`` without ``--entries``."""
    return _build(tmp_path_factory.mktemp("demo"), DEFAULT_ENTRIES, SEED)


def _verify_cli(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gongxin-verify"), str(bundle), "--log-key", str(bundle / "log.vkey")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ},
    )


# -- every entry is valid --------------------------------------------------------------------


def test_default_demo_verifies_with_gongxin_verify(demo: Demo) -> None:
    result = _verify_cli(demo.bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{DEFAULT_ENTRIES} entries" in result.stdout
    assert DEMO_ORIGIN in result.stdout


def test_scenario_bookkeeping_matches_the_rulebook(demo: Demo) -> None:
    """The scenario plans with its own mirror of the rules' state; after the same entries it
    must agree with the rulebook's replayed state exactly (so it never proposes an invalid
    entry by luck)."""
    state = LogState()
    for i, line in enumerate(demo.lines):
        state.check_and_apply(parse_entry_line(line, i), leaf_hash(line), check_signatures=False)
    rules = state.rulebook
    assert isinstance(rules, DomainRules)
    sc = Scenario(SEED, derive_keys(SEED), DemoClock(DEMO_START))
    sc.skip(DEFAULT_ENTRIES)
    assert sc.count == DEFAULT_ENTRIES
    assert sc.balance and {r: rules.credits.balance(r) for r in sc.balance} == sc.balance
    assert sum(sc.balance.values()) > 0
    assert rules.credits.expired_through == sc.expired_through != ""
    for (_, _), fund in sc.funds.items():
        f = rules.funds.funds[fund.fund_id]
        assert (f.appropriated, f.contracted) == (fund.appropriated, fund.contracted)
        assert 0 <= f.paid <= f.contracted <= f.appropriated
    for contract in sc.contracts:
        c = rules.funds.contracts[contract.contract_id]
        assert c.total == contract.total
        assert {m.milestone_id: m.committed for m in contract.milestones} == {
            k: m.committed for k, m in c.milestones.items()
        }
    assert rules.policy is not None and rules.policy.version == 2


# -- the scenario the issue asks for ------------------------------------------------------------


def _acceptance_parties(demo: Demo) -> set[str]:
    """Valid 统一社会信用代码, at least 3 communities and 6 providers; the communities."""
    parties = {b["party_id"]: b for b in demo.bodies("party.register")}
    assert all(is_valid_uscc(b["uscc"]) for b in parties.values())
    communities = {p for p, b in parties.items() if b["type"] == "community"}
    assert len(communities) >= 3
    assert len({p for p, b in parties.items() if b["type"] != "community"}) >= 6
    return communities


def _acceptance_funds_and_contracts(demo: Demo, kinds: Counter[str]) -> None:
    funds = demo.bodies("fund.appropriate")
    assert len(funds) >= 3 and {f["source"] for f in funds} == {"财政", "社区基金", "捐赠"}
    assert kinds["fund.donate"] >= 1
    awards = demo.bodies("contract.award")
    assert len(awards) >= 8
    assert len({a["provider"] for a in awards}) >= 5
    assert all(2 <= len(a["milestones"]) <= 4 for a in awards)
    assert kinds["contract.amend"] >= 1


def _acceptance_payments(demo: Demo, kinds: Counter[str]) -> None:
    """Milestone payments below the threshold (counted at once) and above it (dual
    control: approved by another key), a rejection and a reversal."""
    proposals = {o["statement"]["body"]["payment_id"]: o for o in demo.of("payment.propose")}
    amounts = [o["statement"]["body"]["amount_fen"] for o in proposals.values()]
    assert min(amounts) < THRESHOLD_FEN <= max(amounts)
    approvals = demo.of("payment.approve")
    assert len(approvals) >= 5
    for o in approvals:
        proposal = proposals[o["statement"]["body"]["payment_id"]]
        assert proposal["statement"]["body"]["amount_fen"] >= THRESHOLD_FEN
        assert o["statement"]["signer"] != proposal["statement"]["signer"]
    assert kinds["payment.reject"] >= 1
    assert kinds["payment.reverse"] >= 1


def _acceptance_volunteers(demo: Demo, kinds: Counter[str], communities: set[str]) -> None:
    acts = demo.bodies("activity.register")
    assert len(acts) >= 40
    assert {a["community"] for a in acts} == communities
    refs = {r for o in demo.objects for r in iter_bodies(o["statement"]["body"], "resident_ref")}
    assert len(refs) >= 200
    for kind in ("credit.award", "credit.correct", "credit.redeem", "credit.transfer"):
        assert kinds[kind] >= 1, kind
    assert kinds["credit.expire"] >= 1


def test_default_demo_has_the_acceptance_scenario(demo: Demo) -> None:
    kinds = Counter(o["statement"]["kind"] for o in demo.objects)
    assert set(kinds) == set(KINDS), set(KINDS) - set(kinds)
    communities = _acceptance_parties(demo)
    _acceptance_funds_and_contracts(demo, kinds)
    _acceptance_payments(demo, kinds)
    _acceptance_volunteers(demo, kinds, communities)
    assert [b["version"] for b in demo.bodies("policy.set")] == [1, 2]
    assert kinds["log.genesis"] == 1


def test_residents_earn_in_their_own_community(demo: Demo) -> None:
    community = {b["activity_id"]: b["community"] for b in demo.bodies("activity.register")}
    where: defaultdict[str, set[str]] = defaultdict(set)
    for b in demo.bodies("credit.award"):
        where[b["resident_ref"]].add(community[b["activity_id"]])
    assert len(where) >= 200
    assert all(len(c) == 1 for c in where.values())


def test_one_key_is_revoked_and_signs_nothing_after(demo: Demo) -> None:
    revokes = demo.of("key.revoke")
    assert len(revokes) == 1
    revoked = revokes[0]["statement"]["body"]["key_id"]
    assert revoked == derive_keys(SEED).retired.key_id_hex
    signed_by = [
        o["index"] for o in demo.objects if any(s["key_id"] == revoked for s in o["signatures"])
    ]
    assert signed_by and max(signed_by) < revokes[0]["index"]


def test_demo_genesis_names_the_seeded_keys(demo: Demo) -> None:
    keys = derive_keys(SEED)
    assert demo.objects[0]["statement"]["body"] == {
        "authorities": [str(keys.authority.verifier())],
        "format": 2,
        "log_key": str(keys.log.verifier()),
        "origin": DEMO_ORIGIN,
    }


def test_demo_entries_are_well_formed_and_in_the_past(demo: Demo) -> None:
    ids = [o["statement"]["id"] for o in demo.objects]
    assert len(set(ids)) == len(ids)
    assert [o["index"] for o in demo.objects] == list(range(DEFAULT_ENTRIES))
    times = [o["log_time"] for o in demo.objects]
    assert times == sorted(times)
    assert times[0].startswith("2025-01-06") and times[-1] < TODAY
    # about 18 simulated months, all before the office gets busier
    last = date.fromisoformat(times[-1][:10])
    assert date(2026, 4, 1) <= last < DEMO_START.date() + timedelta(days=SCALE_FROM_DAY)


RESIDENT_REF = re.compile(r"[0-9a-f]{32}")
#: things that would identify a person: an 18-character resident identity number,
#: a mainland mobile number
IDENTITY_NUMBER = re.compile(r"[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])\d{2}\d{3}[\dXx]")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def test_demo_residents_are_pseudonyms_only(demo: Demo) -> None:
    refs = [
        ref
        for o in demo.objects
        for name in ("resident_ref", "from_ref", "to_ref")
        for ref in iter_bodies(o["statement"]["body"], name)
    ]
    assert all(isinstance(r, str) and RESIDENT_REF.fullmatch(r) for r in refs)
    # pseudonyms are stable: residents recur
    assert 200 <= len(set(refs)) < len(refs) / 10
    for o in demo.objects:
        for s in iter_strings(o["statement"]["body"]):
            assert not IDENTITY_NUMBER.search(s), s
            assert not MOBILE.search(s), s


# -- determinism, exactly N, prefixes ---------------------------------------------------------


@pytest.mark.parametrize("n", [1, 15, 2500])
def test_exactly_n_entries_are_a_prefix_of_the_default_demo(
    demo: Demo, tmp_path: Path, n: int
) -> None:
    """Same seed → the same bytes; a shorter log (even inside the day-0 opening script) is a
    prefix of the default one, so it is valid too."""
    small = _build(tmp_path, n, SEED)
    assert len(small.lines) == n
    assert small.lines == demo.lines[:n]


def test_another_seed_gives_another_valid_log(demo: Demo, tmp_path: Path) -> None:
    other = _build(tmp_path, 400, SEED + 1)
    assert other.lines != demo.lines[:400]
    assert _verify_cli(other.bundle).returncode == 0


# -- longer logs: a busier office, still valid and in the past -----------------------------------


def test_scale_grows_with_n() -> None:
    assert scale_for(1) == scale_for(DEFAULT_ENTRIES) == 1
    assert scale_for(DEFAULT_ENTRIES + ENTRIES_PER_SCALE) == 2
    assert 300 <= scale_for(1_000_000) <= 500


def test_a_busy_office_is_valid(tmp_path: Path) -> None:
    """The continuation at a large scale (many activities a day, a larger resident pool),
    switched on early so that it is cheap to test: every entry is accepted by the ledger's
    rules, and the export verifies."""
    keys = derive_keys(SEED)
    clock = DemoClock(DEMO_START)
    scenario = Scenario(SEED, keys, clock, scale=12, scale_from_day=20)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    with Ledger.open(url, log_key=keys.log, clock=clock, pool=SignaturePool(1)) as ledger:
        append_scenario(ledger, scenario, 5000)
        assert ledger.size == 5000
        export_bundle(ledger, tmp_path / "out")
    assert scenario.day < 60  # ~300 entries a day from day 20
    assert _verify_cli(tmp_path / "out").returncode == 0


def test_large_logs_stay_in_the_past() -> None:
    """Planned (not signed) for a log 5 scale steps past the default: the busier office
    needs no more simulated days per scale step than the default one, so 10^6 entries end
    about as early (mid-October 2026; `bench/fixtures.py` builds that one)."""
    n = DEFAULT_ENTRIES + 5 * ENTRIES_PER_SCALE
    clock = DemoClock(DEMO_START)
    sc = Scenario(SEED, derive_keys(SEED), clock, scale=scale_for(n))
    sc.skip(n)
    assert sc.day - SCALE_FROM_DAY < 110
    assert clock.now.date().isoformat() < "2026-10-25"


def test_fast_uuid7_is_the_uuid_module_text() -> None:
    """The demo's ids come from :func:`ledger.signing.statements.uuid7`, which formats the hex itself."""
    import uuid
    from datetime import UTC, datetime

    from ledger.signing.statements import uuid7

    cases = [(datetime(2025, 1, 6, 0, 59, 1, tzinfo=UTC), 0), (DEMO_START, 2**128 - 1)]
    for t, r in [*cases, (DEMO_START, 12345 << 70)]:
        text = uuid7(t, r)
        u = uuid.UUID(text)
        assert text == str(u) and u.version == 7 and u.variant == uuid.RFC_4122
        assert u.int >> 80 == int(t.timestamp() * 1000)
        assert u.int & ((1 << 62) - 1) == r & ((1 << 62) - 1)


def test_cli_default_matches_the_demo_default() -> None:
    from typer.testing import CliRunner

    from ledger.cli.main import app

    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert f"default {DEFAULT_ENTRIES}" in result.stdout
