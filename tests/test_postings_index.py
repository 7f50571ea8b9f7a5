"""The ``postings`` index (ledger/postings.py) gives the answers of a full replay.

Hypothesis draws random logs — funds, donations, contracts, amendments, payments (proposed,
approved, rejected, reversed), activities, credit awards, corrections, redemptions,
transfers, expiry runs and clock jumps, many of them invalid and so rejected, some in
two-statement batches that fail as a whole — and appends them to a real ledger. Then, for
every fund, contract, payment, provider and resident of the log (and an unknown one):

- the index holds exactly the postings a replay of the log reports, each in its place;
- the indexed trace (``trace_ledger``, and the API's ``trace_postings``) equals the trace
  a replay's :class:`~verifier.reports.tracing.Tracer` selects, assembled the same way, and
  a resident's balance equals the replayed one;
- an index emptied (a database upgraded to migration 0004) and back-filled in small
  batches, interrupted and resumed, equals it too.

On SQLite for many logs; on PostgreSQL for one (tests/pg_server.py).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from ledger.log import Ledger
from ledger.postings import backfill, rows_of, trace_postings
from ledger.trace import assemble_trace, trace_ledger
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.core.keys import parse_verifier_key
from verifier.reports.tracing import Tracer
from verifier.rules import DomainRules, Posting
from verifier.rules.log_state import LogState

from .pg_server import PgServer
from .postings_logs import GROUPS, Group, busy_requests, play, prelude
from .rulebook_ledger import LedgerDriver

TARGETS = ("fund", "contract", "payment", "provider", "resident")


# -- the reference: a full replay --------------------------------------------------------------


class Replay:
    """Every posting of the log at ``ledger`` by a fresh replay, and the signers' titles."""

    def __init__(self, ledger: Ledger) -> None:
        self.postings: list[Posting] = []
        self.rules = DomainRules(observer=self.postings.append)
        state = LogState(rulebook=self.rules)
        self.titles: dict[str, str] = {}
        for i, line in enumerate(ledger.iter_lines()):
            entry = parse_entry_line(line, i)
            state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
            body = entry.statement.body
            if entry.statement.kind == "key.grant":
                self.titles[parse_verifier_key(body["key"]).key_id_hex] = body["title"]
            elif entry.statement.kind == "log.genesis":
                for vkey in body["authorities"]:
                    self.titles[parse_verifier_key(vkey).key_id_hex] = "权威 authority (genesis)"
        self.size = state.size

    def ids(self, target: str) -> set[str]:
        return {v for p in self.postings if (v := getattr(p, target)) is not None}

    def trace(self, target: str, ident: str) -> tuple[list[Posting], list[Posting]]:
        """(shown, own) postings: the :class:`Tracer`'s; for a provider, its postings."""
        if target == "provider":
            own = [p for p in self.postings if p.provider == ident]
            return own, own
        tracer = Tracer(target, ident)
        for p in self.postings:
            tracer(p)
        return tracer.result(), tracer.own()


def stored_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM postings ORDER BY entry_idx, position"))
        return [tuple(r) for r in rows]


def through(ledger: Ledger) -> int:
    with ledger.store.reading() as reader:
        return reader.postings_through()


def assert_index_equals_replay(ledger: Ledger) -> None:
    ref = Replay(ledger)
    assert ref.size == ledger.size
    assert stored_rows(ledger) == [tuple(r) for r in rows_of(ref.postings)]
    assert through(ledger) == ledger.size
    for target in TARGETS:
        for ident in [*sorted(ref.ids(target)), "X-404" if target != "resident" else "0" * 32]:
            shown, own = ref.trace(target, ident)
            with ledger.engine.connect() as conn:
                assert trace_postings(conn, target, ident, ledger.size) == (shown, own)
            if target == "provider":
                continue
            if not own:
                with pytest.raises(InputError, match="未找到"):
                    trace_ledger(ledger, target, ident)
                continue
            got = trace_ledger(ledger, target, ident).to_json()
            want = assemble_trace(ledger, target, ident, ledger.size, shown, own, ref.titles.get)
            assert got == want.to_json(), (target, ident)
            if target == "resident":
                assert got["summary"]["balance_points"] == ref.rules.credits.balance(ident)


def empty_index(ledger: Ledger) -> None:
    """What migration 0004 leaves: the tables, no rows."""
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM postings"))
        conn.execute(text("DELETE FROM postings_progress"))


class Interrupted(Exception):
    pass


def assert_backfill_restores(ledger: Ledger) -> None:
    want = stored_rows(ledger)
    empty_index(ledger)
    assert through(ledger) == 0

    def stop(done: int, total: int) -> None:
        raise Interrupted  # after the first batch committed

    with pytest.raises(Interrupted):
        backfill(ledger.store, batch=7, progress=stop)
    assert 0 < through(ledger) < ledger.size or ledger.size <= 7
    backfill(ledger.store, batch=5)
    assert through(ledger) == ledger.size
    assert stored_rows(ledger) == want
    assert backfill(ledger.store) == 0  # complete: nothing to do


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(groups=GROUPS)
def test_index_equals_replay_on_random_logs(groups: list[Group]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="postings-"))
    try:
        driver = LedgerDriver.standard(tmp)
        try:
            play(driver, prelude() + groups)
            assert_index_equals_replay(driver.ledger)
            assert_backfill_restores(driver.ledger)
        finally:
            driver.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_index_equals_replay_on_a_fixed_busy_log(tmp_path: Path) -> None:
    """Every kind at least once, with rejections in between (a deterministic example)."""
    driver = LedgerDriver.standard(tmp_path)
    try:
        rejected = play(driver, busy_requests())
        assert rejected >= 2
        assert_index_equals_replay(driver.ledger)
        # Reopening (the back-fill check on open) changes nothing.
        driver.ledger.close()
        with Ledger.open(driver.url, create=False) as again:
            assert_index_equals_replay(again)
            assert_backfill_restores(again)
    finally:
        driver.close()


def test_a_trace_fills_an_incomplete_index_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After an upgrade (index empty), the first read-only trace back-fills, then answers as
    before; a database without the tables is told to upgrade."""
    driver = LedgerDriver.standard(tmp_path)
    play(driver, busy_requests())
    driver.close()
    with Ledger.open(driver.url, create=False, replay=False) as ledger:
        want = trace_ledger(ledger, "fund", "F1").to_json()
        capsys.readouterr()
        empty_index(ledger)
        assert trace_ledger(ledger, "fund", "F1").to_json() == want
        assert "indexing" in capsys.readouterr().err
        assert through(ledger) == ledger.size
        assert trace_ledger(ledger, "fund", "F1").to_json() == want
        assert "indexing" not in capsys.readouterr().err
        with ledger.engine.begin() as conn:
            conn.execute(text("DROP TABLE postings_progress"))
        with pytest.raises(InputError, match="gongxin db upgrade"):
            trace_ledger(ledger, "fund", "F1")
    with pytest.raises(InputError, match="gongxin db upgrade"):
        Ledger.open(driver.url, create=False)


class UrlDriver(LedgerDriver):
    """A :class:`LedgerDriver` on any database URL (here PostgreSQL)."""

    def __init__(self, url: str) -> None:
        from verifier.cli.parallel import SignaturePool

        from .keyring import StepClock
        from .rulebook_ops import START, genesis_op, rule_keys

        self.keys = rule_keys()
        self.clock = StepClock(START, timedelta(milliseconds=1))
        self.url = url
        self.ledger = Ledger.open(
            url, log_key=self.keys.log, clock=self.clock, pool=SignaturePool(1)
        )
        self._ids = 0
        self.ledger.initialize(self.sign(genesis_op(self.keys)).canonical())


def test_index_equals_replay_on_postgresql(pg: PgServer) -> None:
    from .rulebook_ops import standard_setup

    driver = UrlDriver(pg.create_database("postings_index"))
    try:
        driver.submit_batch(standard_setup(driver.keys))
        assert play(driver, busy_requests()) >= 2
        assert_index_equals_replay(driver.ledger)
        assert_backfill_restores(driver.ledger)
    finally:
        driver.close()
