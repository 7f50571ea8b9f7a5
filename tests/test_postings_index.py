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
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger.log import Ledger
from ledger.postings import backfill, rows_of, trace_postings
from ledger.records import InvalidEntry
from ledger.trace import assemble_trace, trace_ledger
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.core.keys import parse_verifier_key
from verifier.reports.tracing import Tracer
from verifier.rules import DomainRules, Posting
from verifier.rules.log_state import LogState

from .pg_server import PgServer
from .rulebook_builder import LedgerDriver
from .rulebook_ops import (
    Op,
    activity_op,
    add_months,
    amend_op,
    approve_op,
    award_op,
    contract_op,
    correct_op,
    donate_op,
    expire_op,
    fund_op,
    propose_op,
    redeem_op,
    reject_op,
    resident,
    reverse_op,
    transfer_op,
)

FUNDS = ("F1", "F2")
CONTRACTS = ("K1", "K2", "K3")
PAYMENTS = tuple(f"PAY{k}" for k in range(5))
RESIDENTS = tuple(resident(k) for k in range(4))
ACTIVITIES = ("A1", "A2", "A3")
TARGETS = ("fund", "contract", "payment", "provider", "resident")

#: An action: the driver → the statement to submit, or ``None`` (the clock moved).
Action = Callable[[LedgerDriver], Op | None]


def _const(op: Op) -> Action:
    return lambda d: op


def _advance(days: int) -> Action:
    def go(d: LedgerDriver) -> None:
        d.advance(days=days)

    return go


def _activity(aid: str, community: str, category: str) -> Action:
    return lambda d: activity_op(aid, community, category, d.today)


def _expire(back: int) -> Action:
    return lambda d: expire_op(add_months(d.month, -back))


def _correct(nth: int, ref: str, aid: str, minutes: int) -> Action:
    """A correction of the ``nth`` credit.award in the log so far (or of entry 0)."""

    def go(d: LedgerDriver) -> Op:
        awards = [i for i, line in enumerate(d.ledger.iter_lines()) if b'"credit.award"' in line]
        return correct_op(awards[nth % len(awards)] if awards else 0, ref, aid, minutes)

    return go


_amount = st.integers(1, 300_000)
_money = st.one_of(
    st.builds(
        fund_op,
        st.sampled_from(FUNDS),
        st.integers(100_000, 2_000_000),
        st.sampled_from(("财政", "社区基金")),
    ),
    st.builds(donate_op, st.sampled_from(("D1", "D2")), st.sampled_from(FUNDS), _amount),
    st.builds(
        lambda k, f, p, a, b: contract_op(k, f, p, [("M1", a), ("M2", b)]),
        st.sampled_from(CONTRACTS),
        st.sampled_from(FUNDS),
        st.sampled_from(("P1", "P2", "Q1")),
        _amount,
        _amount,
    ),
    st.builds(
        lambda m, k, a: amend_op(m, k, [("M1", a), ("M2", 50_000)]),
        st.sampled_from(("AM1", "AM2")),
        st.sampled_from(CONTRACTS),
        _amount,
    ),
    st.builds(
        lambda p, k, m, a, s: propose_op(p, k, m, a, signer=s),
        st.sampled_from(PAYMENTS),
        st.sampled_from(CONTRACTS),
        st.sampled_from(("M1", "M2")),
        st.integers(1, 200_000),
        st.sampled_from(("finance", "dual")),
    ),
    st.builds(approve_op, st.sampled_from(PAYMENTS), signer=st.sampled_from(("approver", "dual"))),
    st.builds(reject_op, st.sampled_from(PAYMENTS)),
    st.builds(reverse_op, st.sampled_from(PAYMENTS)),
).map(_const)
_credits = st.one_of(
    st.builds(
        _activity,
        st.sampled_from(ACTIVITIES),
        st.sampled_from(("Q1", "Q2")),
        st.sampled_from(("助老", "环保")),
    ),
    st.builds(
        lambda r, a, m: _const(award_op(r, a, m)),
        st.sampled_from(RESIDENTS),
        st.sampled_from(ACTIVITIES),
        st.integers(10, 120),
    ),
    st.builds(
        _correct,
        st.integers(0, 5),
        st.sampled_from(RESIDENTS),
        st.sampled_from(ACTIVITIES),
        st.integers(10, 90),
    ),
    st.builds(
        lambda r, item: _const(redeem_op(r, item[0], item[1])),
        st.sampled_from(RESIDENTS),
        st.sampled_from((("鸡蛋", 5), ("理发券", 20))),
    ),
    st.builds(
        lambda a, b, n: _const(transfer_op(a, b, n)),
        st.sampled_from(RESIDENTS),
        st.sampled_from(RESIDENTS),
        st.integers(1, 15),
    ),
    st.builds(_expire, st.integers(0, 3)),
    st.builds(_advance, st.sampled_from((0, 1, 20, 45))),
)
#: A request: one action, or two submitted as one batch (all or nothing); a group: up to
#: three requests appended in one transaction (group commit: a rejected one is undone alone).
_request = st.lists(st.one_of(_money, _credits), min_size=1, max_size=2)
_groups = st.lists(st.lists(_request, min_size=1, max_size=3), min_size=1, max_size=25)
Group = list[list[Action]]


def play(driver: LedgerDriver, groups: list[Group]) -> int:
    """Append each group of requests in one transaction; returns how many were rejected."""
    rejected = 0
    for group in groups:
        requests = []
        for actions in group:
            ops = [op for op in (a(driver) for a in actions) if op is not None]
            if ops:
                requests.append([driver.sign(op).canonical() for op in ops])
        if requests:
            outcomes = driver.ledger.append_requests(requests)
            rejected += sum(isinstance(o, InvalidEntry) for o in outcomes)
    return rejected


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
@given(groups=_groups)
def test_index_equals_replay_on_random_logs(groups: list[Group]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="postings-"))
    try:
        driver = LedgerDriver.standard(tmp)
        try:
            play(driver, _prelude() + groups)
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
        rejected = play(driver, _busy_requests())
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
    play(driver, _busy_requests())
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


def _prelude() -> list[Group]:
    """Funds, contracts and activities for the random requests to use (so that fewer are
    rejected)."""
    c = _const
    return [
        [
            [c(fund_op("F1", 2_000_000, "社区基金")), c(fund_op("F2", 1_000_000))],
            [c(contract_op("K1", "F1", "P1", [("M1", 400_000), ("M2", 300_000)]))],
            [c(contract_op("K2", "F2", "P2", [("M1", 200_000), ("M2", 200_000)]))],
            [_activity("A1", "Q1", "助老"), _activity("A2", "Q2", "环保")],
        ]
    ]


def _busy_requests() -> list[Group]:
    """Every kind at least once; one group holds a rejected request between accepted ones."""
    r0, r1 = RESIDENTS[:2]
    c = _const
    requests: list[list[Action]] = [
        [c(fund_op("F1", 1_000_000, "社区基金"))],
        [c(donate_op("D1", "F1", 50_000))],
        [c(contract_op("K1", "F1", "P1", [("M1", 300_000), ("M2", 200_000)]))],
        [c(propose_op("PAY1", "K1", "M1", 50_000))],
        [c(propose_op("PAY2", "K1", "M1", 150_000))],
        [c(approve_op("PAY2"))],
    ]
    mixed: Group = [
        [c(propose_op("PAY3", "K1", "M2", 120_000)), c(reject_op("PAY3"))],
        [c(fund_op("F2", 10)), c(contract_op("K9", "F2", "P1", [("M1", 99)]))],  # rejected
        [c(reverse_op("PAY1"))],
    ]
    requests_after: list[list[Action]] = [
        [c(amend_op("AM1", "K1", [("M1", 300_000), ("M2", 250_000)]))],
        [_activity("A1", "Q1", "助老")],
        [c(award_op(r0, "A1", 60))],
        [c(award_op(r1, "A1", 120))],
        [_correct(0, r0, "A1", 90)],
        [c(redeem_op(r1, "鸡蛋", 5))],
        [c(redeem_op(r1, "鸡蛋", 500))],  # rejected
        [c(transfer_op(r1, r0, 3))],
        [_advance(95)],
        [_expire(2)],
    ]
    return [[r] for r in requests] + [mixed] + [[r] for r in requests_after]


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
        assert play(driver, _busy_requests()) >= 2
        assert_index_equals_replay(driver.ledger)
        assert_backfill_restores(driver.ledger)
    finally:
        driver.close()
