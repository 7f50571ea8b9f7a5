"""The server's parts on their own: the postings index under rejected batches, group commit
isolating a bad request, the look-up throttle, body parsing and expiry dates."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.jsonbody import batch_items, strict_json
from api.problems import Problem
from api.ratelimit import LookupLimiter, TokenBucket
from api.routes_residents import expires_after
from api.settings import Settings
from api.state import ServerState
from ledger.demo.cast import DEMO_ORIGIN
from ledger.postings import postings_of, rows_of
from ledger.records import InvalidEntry
from ledger.signing.statements import sign_statement
from verifier.rules import Posting
from verifier.rules.postings import EVENTS

from .api_server import DemoTemplate


@pytest.fixture
def state(demo_log: DemoTemplate, tmp_path: Path) -> Iterator[ServerState]:
    db = tmp_path / "copy.db"
    shutil.copyfile(demo_log.db, db)
    s = ServerState.open(Settings(f"sqlite:///{db}", demo_log.log_key))
    yield s
    s.close()


def appropriation(template: DemoTemplate, fund_id: str, amount: int = 1000) -> bytes:
    body = {
        "fund_id": fund_id,
        "fiscal_year": 2026,
        "programme": "单元测试",
        "source": "财政",
        "amount_fen": amount,
    }
    return sign_statement(
        "fund.appropriate", body, template.signer("finance_officer"), origin=DEMO_ORIGIN
    ).canonical()


def overspend(template: DemoTemplate, fund_id: str) -> bytes:
    body = {
        "contract_id": f"HT-{fund_id}",
        "fund_id": fund_id,
        "provider": "chunhui-sw",
        "title": "超支",
        "method": "询价",
        "total_fen": 10**12,
        "milestones": [
            {"milestone_id": "M1", "amount_fen": 10**12, "due": "2026-12-31", "deliverable": "x"}
        ],
        "evidence": ["0" * 64],
    }
    return sign_statement(
        "contract.award", body, template.signer("finance_officer"), origin=DEMO_ORIGIN
    ).canonical()


def snapshot(state: ServerState) -> tuple[int, list[Posting]]:
    """How far the postings index is complete, and its last 50 rows."""
    with state.ledger.store.reading() as reader:
        through = reader.postings_through()
    with state.ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT entry_idx, event, amount, fund, contract, payment, provider, community, "
            "resident, activity FROM postings ORDER BY entry_idx DESC, position DESC LIMIT 50"
        )
        return through, [Posting(*row) for row in rows]


def fund_postings(state: ServerState, fund_id: str) -> list[Posting]:
    with state.ledger.engine.connect() as conn:
        return postings_of(conn, "fund", fund_id, state.ledger.size)


def test_rejected_batch_leaves_the_postings_index_unchanged(
    state: ServerState, demo_log: DemoTemplate
) -> None:
    before = snapshot(state)
    assert before[0] == state.ledger.size  # complete
    with pytest.raises(InvalidEntry) as failure:
        state.ledger.append_batch([appropriation(demo_log, "F-U-1"), overspend(demo_log, "F-U-1")])
    assert failure.value.rule == "fund.insufficient"
    assert snapshot(state) == before
    assert fund_postings(state, "F-U-1") == []
    # The same statements, accepted one by one later, are indexed exactly once.
    state.ledger.append_batch([appropriation(demo_log, "F-U-1")])
    assert [p.event for p in fund_postings(state, "F-U-1")] == ["fund.appropriated"]
    assert snapshot(state)[0] == state.ledger.size


def test_group_commit_isolates_a_bad_request(state: ServerState, demo_log: DemoTemplate) -> None:
    seq = state.sequencer
    assert seq is not None
    good = [[appropriation(demo_log, f"F-G-{k}")] for k in range(6)]
    bad = [appropriation(demo_log, "F-G-bad"), overspend(demo_log, "F-G-bad")]

    async def run() -> list[object]:
        return await asyncio.gather(
            *(seq.submit(g) for g in good[:3]),
            seq.submit(bad),
            *(seq.submit(g) for g in good[3:]),
            return_exceptions=True,
        )

    size = state.ledger.size
    results = asyncio.run(run())
    assert isinstance(results[3], InvalidEntry) and results[3].field.startswith("batch[1]")
    ok = [r for k, r in enumerate(results) if k != 3]
    assert all(isinstance(r, list) and len(r) == 1 for r in ok)
    assert sorted(r[0].index for r in ok) == list(range(size, size + 6))  # type: ignore[index]
    assert state.ledger.size == size + 6
    assert state.ledger.published()[0] == size + 6
    assert "F-G-bad" not in state.ledger.state.rulebook.funds.funds  # type: ignore[attr-defined]


@given(
    index=st.integers(0, 2**40),
    event=st.sampled_from(sorted(EVENTS)),
    amount=st.integers(-(2**34), 2**34),
)
def test_postings_rows_round_trip(index: int, event: str, amount: int) -> None:
    p = Posting(index, event, amount, fund="F", resident="0" * 32)
    assert rows_of([p, p]) == [
        (index, k, event, amount, "F", None, None, None, None, "0" * 32, None) for k in (0, 1)
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(1.0) == 0.0


def test_limiter_throttles_each_address_and_nothing_else() -> None:
    clock = FakeClock()
    limiter = LookupLimiter(per_minute=2, clock=clock)
    assert [limiter.check("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.check("a") == pytest.approx(30.0)
    assert limiter.check("b") == 0.0  # another address has its own bucket
    # no global bucket: 10,000 addresses guessing leave a new one its full burst
    assert all(limiter.check(f"10.{k // 256}.{k % 256}.1") == 0.0 for k in range(10_000))
    assert limiter.check("192.0.2.7") == 0.0


def test_limiter_forgets_the_oldest_addresses() -> None:
    limiter = LookupLimiter(per_minute=1, max_clients=2, clock=FakeClock())
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")  # "a" is forgotten
    assert limiter.check("a") == 0.0
    assert limiter.check("c") > 0
    big = LookupLimiter(per_minute=1, max_clients=1000, clock=FakeClock())
    for k in range(5000):
        big.check(f"addr-{k}")
    assert len(big) == 1000  # bounded memory


def test_repeat_addresses_share_one_derivation_a_second_while_writes_are_busy() -> None:
    """Issue 13: 200 guessing addresses must not keep a scrypt running beside every write.
    A fresh address (priority ≤ 1) and any address on a server not writing always derive."""
    clock = FakeClock()
    limiter = LookupLimiter(per_minute=10, clock=clock)
    assert all(limiter.repeat_may_derive(9, writes_busy=False) for _ in range(100))
    assert all(limiter.repeat_may_derive(1, writes_busy=True) for _ in range(100))
    busy = [limiter.repeat_may_derive(5, writes_busy=True) for _ in range(10)]
    assert busy == [True, True] + [False] * 8  # a burst of two, then one a second
    clock.now = 1.0
    assert [limiter.repeat_may_derive(5, writes_busy=True) for _ in range(2)] == [True, False]
    assert limiter.repeat_may_derive(0, writes_busy=True)  # a fresh resident is never held


@pytest.mark.parametrize(
    ("month", "months", "last_day"),
    [
        ("2025-01", 12, "2025-12-31"),
        ("2025-03", 1, "2025-03-31"),
        ("2024-02", 1, "2024-02-29"),
        ("2025-11", 3, "2026-01-31"),
        ("2025-12", 120, "2035-11-30"),
    ],
)
def test_points_expire_at_the_end_of_month_m_plus_n_minus_1(
    month: str, months: int, last_day: str
) -> None:
    assert expires_after(month, months) == last_day


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (b'{"a":1,"a":2}', "request.json", "a"),
        (b'{"code":1.0}', "request.json", None),
        (b"\xff", "request.json", None),
        (b'{"code":NaN}', "request.json", None),
    ],
)
def test_strict_json_refuses_duplicates_floats_and_bad_bytes(
    body: bytes, code: str, field: str | None
) -> None:
    with pytest.raises(Problem) as failure:
        strict_json(body)
    assert (failure.value.status, failure.value.code, failure.value.field) == (400, code, field)


def test_batch_body_must_be_a_canonical_array_of_objects() -> None:
    assert batch_items(b'[{"a":1},{"b":[2]}]') == [b'{"a":1}', b'{"b":[2]}']
    for body, status in [
        (b"[]", 400),
        (b'{"a":1}', 400),
        (b"[1]", 400),
        (b'[{"b":1,"a":2}]', 400),
        (b"[" + b",".join([b"{}"] * 1001) + b"]", 413),
    ]:
        with pytest.raises(Problem) as failure:
            batch_items(body)
        assert failure.value.status == status
