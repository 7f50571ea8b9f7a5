"""Dates at the edges of years 0001–9999 (FORMAT.md §8 step 4, §10): every date the format
allows is judged by the rules, and date arithmetic that would leave those years fails the
rule it belongs to — in the verifier's replay (exit 1 naming the entry and rule, never 3), in
the ledger (:class:`InvalidEntry`, nothing written) — never an ``OverflowError``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.records import InvalidEntry, entry_bytes, format_log_time
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import VerificationError
from verifier.rules.log_state import LogState

from .rulebook_builder import LogBuilder
from .rulebook_ledger import LedgerDriver, run_verify
from .rulebook_ops import (
    activity_op,
    award_op,
    expire_op,
    genesis_op,
    resident,
    rule_keys,
    sign_op,
    statement_id,
)

FIRST = datetime(1, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
KEYS = rule_keys()


def genesis_error(logged: datetime, signed: datetime) -> VerificationError | None:
    """Judge a genesis logged at ``logged`` and signed at ``signed`` (None: valid)."""
    sub = sign_op(KEYS, genesis_op(KEYS), statement_id("edge", 0), signed)
    line = entry_bytes(0, format_log_time(logged), "0" * 64, sub)
    try:
        LogState().check_and_apply(parse_entry_line(line, 0), merkle.leaf_hash(line))
    except VerificationError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    ("logged", "signed", "valid"),
    [
        (FIRST, FIRST, False),  # log_time − 7 days is before 0001-01-01
        (datetime(1, 1, 7, 23, 59, 59, tzinfo=UTC), FIRST, False),
        (datetime(1, 1, 8, tzinfo=UTC), FIRST, True),  # the first log time that can judge
        (LAST, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), False),  # + 5 min is past 9999
        (datetime(9999, 12, 31, 23, 54, 59, 999999, tzinfo=UTC), LAST.replace(microsecond=0), True),
        (datetime(9999, 12, 31, 23, 55, tzinfo=UTC), LAST.replace(microsecond=0), False),
    ],
)
def test_replay_window_at_the_edges_of_the_calendar(
    logged: datetime, signed: datetime, valid: bool
) -> None:
    error = genesis_error(logged, signed)
    if valid:
        assert error is None
    else:
        assert error is not None and (error.rule, error.index) == ("statement.time", 0)
        assert "0001–9999" in error.detail


def micros(t: datetime) -> int:
    """Microseconds since 0001-01-01 (exact integers: the model needs no date arithmetic)."""
    return ((t.toordinal() - 1) * 86400 + t.hour * 3600 + t.minute * 60 + t.second) * 10**6 + (
        t.microsecond
    )


EDGES = st.one_of(
    st.datetimes(datetime(1, 1, 1), datetime(1, 1, 10)),
    st.datetimes(datetime(9999, 12, 30), datetime(9999, 12, 31, 23, 59, 59, 999999)),
)


@settings(max_examples=150, deadline=None)
@given(EDGES, st.integers(-8 * 86400, 6 * 60))
def test_replay_window_matches_integer_arithmetic(logged: datetime, offset: int) -> None:
    """Property: at either edge of the calendar, the verdict is FORMAT.md §8 step 4 computed
    in integers — the window [log_time − 7 d, log_time + 5 min] must lie within 0001–9999 and
    hold the statement time — and nothing but ``statement.time`` is ever raised."""
    logged = logged.replace(tzinfo=UTC)
    lo, hi = micros(logged) - 7 * 86400 * 10**6, micros(logged) + 5 * 60 * 10**6
    signed_us = (micros(logged) // 10**6 + offset) * 10**6  # statements have whole seconds
    if not micros(FIRST) <= signed_us <= micros(LAST):
        return  # not a time the format can write
    signed = FIRST + timedelta(microseconds=signed_us)
    expected = micros(FIRST) <= lo and hi <= micros(LAST) and lo <= signed_us <= hi
    error = genesis_error(logged, signed)
    assert (error is None) == expected, (logged, signed, error)
    assert error is None or error.rule == "statement.time"


# -- the rulebook's date arithmetic ------------------------------------------------------------


def late_log() -> LogBuilder:
    """A standard log whose time is late in 9999."""
    return LogBuilder.standard(start=datetime(9999, 10, 1, 8, tzinfo=UTC))


def test_award_window_reaching_past_9999() -> None:
    b = late_log()
    b.submit(activity_op("A-LAST", "Q1", "助老", "9999-11-01"))  # window ends 9999-12-31
    b.submit(activity_op("A-OVER", "Q1", "助老", "9999-11-02"))  # ... would end in 10000
    b.submit(activity_op("A-END", "Q1", "助老", "9999-12-31"))
    b.at("9999-12-31")
    b.submit(award_op(resident(1), "A-LAST", 60))
    for activity in ("A-OVER", "A-END"):
        error = b.error(award_op(resident(2), activity, 60))
        assert (error.rule, error.index) == ("credit.too_late", b.size)
        assert "after 9999-12-31" in error.detail


def test_expiry_reaching_past_9999() -> None:
    b = late_log()
    b.at("9999-12-31")
    error = b.error(expire_op("9999-12"))
    assert error.rule == "credit.expire_early"
    error = b.error(expire_op("0000-12"))  # no year 0000
    assert (error.rule, error.field) == ("entry.body", "statement.body.through_month")


def test_verifier_names_the_entry_and_rule(tmp_path: Path) -> None:
    """Exit 1 (invalid, entry and rule named), never 3 (a crash), for entries the rules
    forbid at the edges of the calendar."""
    b = late_log()
    b.submit(activity_op("A-END", "Q1", "助老", "9999-12-31"))
    b.at("9999-12-31")
    bad = b.forge(award_op(resident(1), "A-END", 60))
    result = run_verify(b.write_bundle(tmp_path / "late"), KEYS)
    assert result.returncode == 1, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "credit.too_late" in said and f"entry {bad}" in said, said

    early = LogBuilder(start=FIRST + timedelta(seconds=1))
    early.forge(genesis_op(early.keys))
    result = run_verify(early.write_bundle(tmp_path / "early"), KEYS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "statement.time" in result.stdout + result.stderr


def test_ledger_refuses_with_the_rule(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "last").mkdir()
    with pytest.raises(InvalidEntry) as failure:
        LedgerDriver(tmp_path / "first", start=datetime(1, 1, 1, 8, tzinfo=UTC))
    assert failure.value.rule == "statement.time"

    d = LedgerDriver.standard(tmp_path / "last", start=datetime(9999, 10, 1, 8, tzinfo=UTC))
    try:
        d.submit(activity_op("A-END", "Q1", "助老", "9999-12-31"))
        d.at("9999-12-31")
        size = d.size
        assert d.error(award_op(resident(1), "A-END", 60)).rule == "credit.too_late"
        assert d.error(expire_op("9999-12")).rule == "credit.expire_early"
        assert d.size == size
        d.at(datetime(9999, 12, 31, 23, 58, tzinfo=UTC))
        assert d.error(award_op(resident(1), "A-END", 60)).rule == "statement.time"
    finally:
        d.close()
