"""Waiting for the SQLite write lock (ledger/store/engine.py ``_begin_immediate``).

SQLite's own busy handler sleeps 1, 2, 5, … up to 100 ms between tries, so a server worker
whose write meets another worker's transaction could wait far past its end (seconds, while the
other kept writing). The ledger polls for the lock instead. These tests hold the lock from a
plain ``sqlite3`` connection (another process's writer, as far as SQLite can tell) and check
that a writer gets it soon after its release, fails as SQLite's time-out does when it never
comes, and leaves its connection as it found it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ledger.store import engine as storage


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "lock.db"
    eng = storage.open_engine(f"sqlite:///{path}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield eng, path
    eng.dispose()


def _hold_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _write(eng: Engine, value: int) -> float:
    """Insert ``value`` in a write transaction; the ``perf_counter`` at which it had the lock."""
    with eng.connect() as conn:
        conn = conn.execution_options(**{storage.WRITE_OPTION: True})
        with conn.begin():
            locked = time.perf_counter()
            conn.exec_driver_sql(f"INSERT INTO t VALUES ({value})")
    return locked


def test_a_waiting_writer_gets_the_lock_soon_after_it_is_released(
    db: tuple[Engine, Path],
) -> None:
    """Held for 0.24 s: SQLite's sleeps (…, 128, 178, 228, 328 ms in all) would let the
    writer in at ~0.33 s; polling lets it in within a few ms of the release."""
    eng, path = db
    other = _hold_lock(path)
    released = 0.0

    def release() -> None:
        nonlocal released
        time.sleep(0.24)
        released = time.perf_counter()
        other.execute("ROLLBACK")

    t = threading.Thread(target=release)
    t.start()
    late = _write(eng, 1) - released  # when it had the lock: the commit's fsync not counted
    t.join()
    other.close()
    assert released > 0, "the write went in while the lock was held"
    assert late < 0.05, f"the writer came {late * 1000:.0f} ms after the lock was released"


def test_a_writer_that_never_gets_the_lock_fails_as_sqlite_does_and_stays_usable(
    db: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, path = db
    monkeypatch.setattr(storage, "SQLITE_BUSY_TIMEOUT", 0.2)
    other = _hold_lock(path)
    started = time.perf_counter()
    with eng.connect() as conn:
        writer = conn.execution_options(**{storage.WRITE_OPTION: True})
        with pytest.raises(OperationalError, match="database is locked"):
            writer.begin()
        waited = time.perf_counter() - started
        assert 0.2 <= waited < 5
        assert not writer.in_transaction()
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # SQLite's own time-out is back for everything else on this connection.
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (200,)
        other.execute("ROLLBACK")
        other.close()
        with writer.begin():
            writer.exec_driver_sql("INSERT INTO t VALUES (2)")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [2]


def test_other_sqlite_errors_at_begin_are_not_retried(db: tuple[Engine, Path]) -> None:
    """Only "busy" is waited for: a connection that may not write fails its first try."""
    eng, _ = db
    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA query_only=ON")
        writer = conn.execution_options(**{storage.WRITE_OPTION: True})
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="readonly"):
            writer.begin()
        assert time.perf_counter() - started < 5  # not the 30 s of a busy wait
        raw.execute("PRAGMA query_only=OFF")


def test_the_server_counts_as_writing_while_a_group_waits_for_the_lock(tmp_path: Path) -> None:
    """``api.sequencer.Sequencer.recently_busy`` (what makes repeat look-ups yield to writes)
    stays true for as long as a group is being appended — here held up by another
    connection's write lock well past the busy window — not only when it was submitted."""
    import asyncio

    from api.sequencer import Sequencer

    from .domain_bodies import fund_body
    from .ledger_env import standard_ledger

    env = standard_ledger(tmp_path)
    sequencer = Sequencer(env.ledger, snapshot_every=0)
    line = env.sign(env.keys["finance"], "fund.appropriate", fund_body(900)).canonical()
    other = _hold_lock(env.path)
    try:
        thread = threading.Thread(target=lambda: asyncio.run(sequencer.submit([line])))
        thread.start()
        time.sleep(0.3)  # the group is in the writer thread, polling for the lock
        assert sequencer.recently_busy(window=0.05)
        other.execute("ROLLBACK")
        thread.join(30)
        assert not thread.is_alive()
        time.sleep(0.1)
        assert not sequencer.recently_busy(window=0.05)
    finally:
        other.close()
        sequencer.close()
        env.ledger.close()
    with env.reopen() as ledger:
        assert ledger.size == 26  # the held-up group was appended once the lock came
