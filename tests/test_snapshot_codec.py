"""The rule-state snapshot codec (FORMAT.md §12.1, ``verifier/rules/snapshot.py``).

- A hypothesis state machine (the rulebook machine of ``test_rules_stateful``: random valid
  and invalid operations against a real ledger) snapshots the ledger's state at random
  points and keeps a *twin* decoded from the snapshot: every later line the ledger accepts
  the twin accepts with the same postings, every rejected candidate the twin rejects with
  the identical error, and at the end the twin encodes to the ledger's bytes.
- The 2,000-entry demo log, snapshotted at random cut points and replayed on from the
  decoded state, ends in the bytes and postings of a straight replay.
- ``decode_state`` is total: mutated, truncated and retyped snapshots give a
  :class:`SnapshotError` or a state, never another exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from ledger.log import Ledger
from ledger.records import entry_bytes, format_log_time
from verifier.core import merkle
from verifier.core.entry import Submission, parse_entry_line
from verifier.core.errors import VerificationError
from verifier.rules import DomainRules, Posting
from verifier.rules.journal import Journal
from verifier.rules.log_state import LogState
from verifier.rules.snapshot import (
    SNAPSHOT_VERSION,
    SnapshotError,
    decode_state,
    encode_state,
    snapshot_digest,
)

from .api_server import DemoTemplate
from .rulebook_builder import LogBuilder
from .rulebook_ops import activity_op, award_op, fund_op, resident
from .test_rules_stateful import RulebookMachine

# -- helpers ---------------------------------------------------------------------------------


def judge(state: LogState, line: bytes) -> tuple[Any, ...] | None:
    """The error ``line`` gets as ``state``'s next entry (``None`` if valid); ``state`` is
    left exactly as it was."""
    journal, position = Journal(), state.snapshot_position()
    try:
        state.check_and_apply(parse_entry_line(line), merkle.leaf_hash(line), journal=journal)
    except VerificationError as exc:
        return (exc.rule, exc.detail, exc.field, exc.index, exc.key_id)
    finally:
        journal.rollback()
        state.restore_position(position)
    return None


def replay(lines: list[bytes], state: LogState | None = None) -> LogState:
    state = state if state is not None else LogState(rulebook=DomainRules())
    for line in lines[state.size :]:
        entry = parse_entry_line(line, state.size)
        state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
    return state


# -- the twin machine ------------------------------------------------------------------------


class SnapshotMachine(RulebookMachine):
    """:class:`RulebookMachine` plus a twin state decoded from a snapshot of the ledger."""

    def __init__(self) -> None:
        self.twin: LogState | None = None
        self.twin_postings: list[Posting] = []
        self.twin_from = 0
        self.last: Submission | None = None
        super().__init__()
        sign = self.d.sign

        def capture(op: Any) -> Submission:
            self.last = sign(op)
            return self.last

        self.d.sign = capture  # type: ignore[method-assign]

    @rule()
    def take_snapshot(self) -> None:
        """Snapshot the ledger's state; the twin restarts from it."""
        self.check_twin()
        data = encode_state(self.d.ledger.state)
        self.twin_postings = []
        self.twin = decode_state(data, observer=self.twin_postings.append)
        self.twin_from = self.d.size
        assert encode_state(self.twin) == data

    def _submit(self, op: Any) -> int | None:
        before = self.d.size
        index = super()._submit(op)
        if self.twin is None:
            return index
        if index is not None:
            for i, line in enumerate(self.d.ledger.iter_lines(before), before):
                self.twin.check_and_apply(parse_entry_line(line, i), merkle.leaf_hash(line))
        else:
            assert self.last is not None
            ledger_state = self.d.ledger.state
            line = entry_bytes(
                self.d.size, format_log_time(self.d.clock.now), ledger_state.prev, self.last
            )
            seen = len(self.twin_postings)
            assert judge(self.twin, line) == judge(ledger_state, line)
            del self.twin_postings[seen:]
        return index

    def check_twin(self) -> None:
        """The twin encodes as the ledger, and posted what a straight replay posts."""
        if self.twin is None:
            return
        assert encode_state(self.twin) == encode_state(self.d.ledger.state)
        straight: list[Posting] = []
        replay(self.d.lines(), LogState(rulebook=DomainRules(straight.append)))
        assert self.twin_postings == [p for p in straight if p.index >= self.twin_from]

    def teardown(self) -> None:
        try:
            if not self.failed:
                self.check_twin()
        finally:
            super().teardown()


SnapshotMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestSnapshotMachine = SnapshotMachine.TestCase


# -- a realistic log: the demo ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_lines(demo_log: DemoTemplate) -> list[bytes]:
    with Ledger.open(demo_log.db_url, create=False, replay=False) as ledger:
        return list(ledger.iter_lines())


@pytest.fixture(scope="module")
def demo_straight(demo_lines: list[bytes]) -> tuple[bytes, list[Posting]]:
    postings: list[Posting] = []
    state = replay(demo_lines, LogState(rulebook=DomainRules(postings.append)))
    return encode_state(state), postings


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(0, 2000), min_size=1, max_size=4))
def test_demo_replayed_through_snapshots_equals_a_straight_replay(
    demo_lines: list[bytes], demo_straight: tuple[bytes, list[Posting]], cuts: list[int]
) -> None:
    want, want_postings = demo_straight
    postings: list[Posting] = []
    state = LogState(rulebook=DomainRules(postings.append))
    for cut in sorted(cuts):
        replay(demo_lines[:cut], state)
        data = encode_state(state)
        state = decode_state(data, observer=postings.append)
        assert encode_state(state) == data
    assert encode_state(replay(demo_lines, state)) == want
    assert postings == want_postings


def test_demo_snapshot_decodes_to_equal_books(demo_lines: list[bytes]) -> None:
    """Field by field (not only through the encoding): the derived parts too."""
    state = replay(demo_lines)
    copy = decode_state(encode_state(state))
    a, b = state.rulebook, copy.rulebook
    assert isinstance(a, DomainRules) and isinstance(b, DomainRules)
    assert (a.policy, a.funds) == (b.policy, b.funds)
    assert a.funds.open_invoices == b.funds.open_invoices and a.funds.usccs == b.funds.usccs
    for name in ("parties", "funds", "contracts", "payments", "donations", "amendments"):
        assert list(getattr(a.funds, name)) == list(getattr(b.funds, name)), name  # log order
    for name in ("activities", "lots", "daily", "expired_through"):
        assert getattr(a.credits, name) == getattr(b.credits, name), name
    assert list(a.credits.lots) == list(b.credits.lots)  # the order credit.expire posts in
    assert sorted(a.credits._open) == sorted(b.credits._open)
    assert state.registry == copy.registry
    assert state.recent_ids == copy.recent_ids
    assert sorted(set(state._expiry)) == sorted(copy._expiry)
    assert state.snapshot_position() == copy.snapshot_position()
    assert (state.format, state.message_origin) == (copy.format, copy.message_origin)


# -- the encoding itself ---------------------------------------------------------------------


def small_snapshot() -> bytes:
    """A log with a policy, parties, a fund and an open activity with an award."""
    b = LogBuilder.standard()
    b.submit(fund_op("F1", 1_000_000))
    b.submit(activity_op("A1", "Q1", "助老", b.today))
    b.advance(hours=2)
    b.submit(award_op(resident(1), "A1", 60))
    return encode_state(b.state)


def test_encoding_is_sorted_compact_json_with_its_version_and_digest() -> None:
    data = small_snapshot()
    doc = orjson.loads(data)
    assert doc["snapshot_version"] == SNAPSHOT_VERSION == 1
    assert data == orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    assert data.startswith(b'{"credits":') and b" " not in data.replace(b"Z", b"")[:20]
    assert snapshot_digest(data) == hashlib.sha256(data).digest()
    assert encode_state(decode_state(data)) == data
    empty = encode_state(LogState())
    assert encode_state(decode_state(empty)) == empty


def test_another_version_is_refused_by_name() -> None:
    doc = orjson.loads(small_snapshot())
    for version in (2, 0, True, "1", None):
        doc["snapshot_version"] = version
        with pytest.raises(SnapshotError, match="unsupported snapshot_version"):
            decode_state(orjson.dumps(doc))


def test_dangling_references_are_refused() -> None:
    doc = orjson.loads(small_snapshot())
    doc["funds"]["contracts"]["C9"] = ["F9", "P1", 1, 0, 9, [["M1", 1, 0, 0]]]
    with pytest.raises(SnapshotError, match="fund or provider is missing"):
        decode_state(orjson.dumps(doc))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


SNAPSHOT = small_snapshot()
PATHS = [p for p in _paths(orjson.loads(SNAPSHOT)) if p]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _decodes_or_refuses(data: bytes) -> None:
    try:
        state = decode_state(data)
    except SnapshotError:
        return
    assert isinstance(state, LogState)
    encode_state(state)  # whatever decodes, encodes


@settings(max_examples=400, deadline=None)
@given(path=st.sampled_from(PATHS), value=JSON_VALUES, delete=st.booleans())
def test_decode_of_a_retyped_member_is_total(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    doc = orjson.loads(SNAPSHOT)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _decodes_or_refuses(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS))


@settings(max_examples=400, deadline=None)
@given(
    cut=st.integers(0, len(SNAPSHOT)),
    at=st.integers(0, len(SNAPSHOT) - 1),
    byte=st.integers(0, 255),
    junk=st.binary(max_size=8),
)
def test_decode_of_damaged_bytes_is_total(cut: int, at: int, byte: int, junk: bytes) -> None:
    _decodes_or_refuses(SNAPSHOT[:cut])
    _decodes_or_refuses(SNAPSHOT[:at] + bytes([byte]) + SNAPSHOT[at + 1 :])
    _decodes_or_refuses(SNAPSHOT[:at] + junk + SNAPSHOT[at:])


@given(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_decode_of_any_bytes_is_total(data: bytes) -> None:
    _decodes_or_refuses(data)


def test_format_md_example_is_the_empty_state() -> None:
    """FORMAT.md §12.1's worked example: bytes, length and digest."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text("utf-8")
    data = encode_state(LogState())
    assert f"\n{data.decode()}\n" in text
    assert f"these {len(data)} bytes, digest\n`{snapshot_digest(data).hex()}`" in text
    doc = orjson.loads(small_snapshot())
    credits = orjson.dumps(doc["credits"], option=orjson.OPT_SORT_KEYS).decode()
    assert f'"credits":{credits}' in text


def test_daily_totals_are_rebuilt_across_activities_of_one_date() -> None:
    """``daily`` is not stored: it is the sum of each resident's awards in the open
    activities of a date (two activities, one resident in both, one in one)."""
    b = LogBuilder.standard()
    b.submit(activity_op("A1", "Q1", "助老", b.today))
    b.submit(activity_op("A2", "Q2", "环保", b.today))
    b.advance(hours=2)
    b.submit(award_op(resident(1), "A1", 60))
    b.submit(award_op(resident(1), "A2", 30))
    b.submit(award_op(resident(2), "A2", 60))
    copy = decode_state(encode_state(b.state))
    assert b.rules.credits.daily == {b.today: {resident(1): 20, resident(2): 20}}
    assert copy.rulebook.credits.daily == b.rules.credits.daily  # type: ignore[attr-defined]
    error = judge(copy, b.line(award_op(resident(1), "A1", 60)))
    assert error is not None and error[0] == "credit.duplicate"
