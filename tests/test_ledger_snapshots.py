"""Rule-state snapshots in the ledger's database (FORMAT.md §12.2, ``ledger/snapshots.py``), on
SQLite and PostgreSQL.

- ``Ledger.open`` starts from the newest snapshot and replays only the tail, to the state a
  full replay gives (compared as ``encode_state`` bytes).
- A corrupt (flipped byte), stale (size or root not the log's), foreign (another log's) or
  unknown-version snapshot is ignored with one warning line naming why, and the state is the
  full replay's; an older good snapshot is used when the newest is bad.
- The newest two are kept; ``gongxin db check-state`` exits 0 / 1 / 2.
- SIGKILL of a process while it writes a large snapshot loses nothing (``test_snapshot_kill``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.log import Ledger
from verifier.rules import DomainRules
from verifier.rules.snapshot import encode_state

from .domain_bodies import fund_body
from .ledger_env import LedgerEnv, standard_ledger
from .pg_server import PgServer

MakeEnv = Callable[[str, int], LedgerEnv]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeEnv]:
    """Standard 25-entry ledgers (``tests.ledger_env``) on the parametrised database."""
    made: list[LedgerEnv] = []

    def make(name: str, seed: int = 0) -> LedgerEnv:
        directory = tmp_path / name
        directory.mkdir()
        url = None
        if request.param == "postgresql":
            url = request.getfixturevalue("pg").create_database(f"{name}_{uuid.uuid4().hex[:8]}")
        env = standard_ledger(directory, seed=seed, url=url)
        made.append(env)
        return env

    yield make
    for env in made:
        env.ledger.close()


def grow(env: LedgerEnv, ledger: Ledger, n: int, start: int = 100) -> None:
    """Append ``n`` appropriations (funds ``F-<start>`` …) to ``ledger``."""
    finance = env.keys["finance"]
    for i in range(start, start + n):
        ledger.append(env.sign(finance, "fund.appropriate", fund_body(i)).canonical())


def full_replay(env: LedgerEnv) -> bytes:
    with env.reopen(log_key=None, snapshots=False) as ledger:
        assert ledger.snapshot_size == 0
        return encode_state(ledger.state)


def execute(env: LedgerEnv, sql: str, **params: object) -> None:
    with env.ledger.engine.begin() as conn:
        conn.execute(text(sql), params)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "gongxin.ledger" and r.levelno >= logging.WARNING
    ]


# -- the happy path --------------------------------------------------------------------------


def test_open_starts_from_the_snapshot_and_replays_only_the_tail(
    make_env: MakeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env("tail", 0)
    info = env.ledger.write_snapshot()
    assert info is not None and info.size == 25 and info.root == env.ledger.tree.root()
    grow(env, env.ledger, 5)
    want = encode_state(env.ledger.state)
    env.ledger.close()
    with caplog.at_level(logging.INFO, "gongxin.ledger"), env.reopen() as ledger:
        assert ledger.snapshot_size == 25 and ledger.size == 30
        assert encode_state(ledger.state) == want
        assert ledger.tree.root() == Ledger.open(env.url, replay=False).tree.root()
        grow(env, ledger, 2, start=200)  # and it appends on from there
        assert encode_state(ledger.state) != want
    assert warnings_of(caplog) == []
    assert encode_state(Ledger.open(env.url, snapshots=False).state) == full_replay(env)


def test_keeps_the_newest_two(make_env: MakeEnv) -> None:
    env = make_env("keep", 0)
    for k in range(3):
        grow(env, env.ledger, 1, start=300 + k)
        env.ledger.write_snapshot()
    with env.ledger.engine.connect() as conn:
        sizes = conn.execute(text("SELECT size FROM state_snapshots ORDER BY size")).scalars()
        assert list(sizes) == [27, 28]


def test_an_observer_gets_a_full_replay_unless_snapshots_are_asked_for(make_env: MakeEnv) -> None:
    env = make_env("observer", 0)
    env.ledger.write_snapshot()
    seen: list[object] = []
    with env.reopen(rulebook=lambda: DomainRules(seen.append)) as ledger:
        assert ledger.snapshot_size == 0 and seen  # every posting from entry 0
    seen.clear()
    with env.reopen(rulebook=lambda: DomainRules(seen.append), snapshots=True) as ledger:
        assert ledger.snapshot_size == 25 and not seen


# -- bad snapshots fall back -----------------------------------------------------------------

BAD = {
    "corrupt": (
        "UPDATE state_snapshots SET data = :data",
        "does not match its digest",
    ),
    "stale_size": ("UPDATE state_snapshots SET size = size + 7", "the log holds only 25"),
    "stale_root": ("UPDATE state_snapshots SET root = :zero", "tree root is not this log's"),
    "version": ("UPDATE state_snapshots SET version = 2", "version 2 is not supported"),
    "undecodable": (
        "UPDATE state_snapshots SET data = :half, digest = :half_digest",
        "bad state snapshot: not JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_snapshot_is_ignored_with_one_line(
    make_env: MakeEnv, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    env = make_env(case, 0)
    env.ledger.write_snapshot()
    with env.ledger.engine.connect() as conn:
        data = bytearray(conn.execute(text("SELECT data FROM state_snapshots")).scalar_one())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    sql, reason = BAD[case]
    half = bytes(data[: len(data) // 2])
    execute(
        env,
        sql,
        data=bytes(data),
        zero=bytes(32),
        half=half,
        half_digest=hashlib.sha256(half).digest(),
    )
    want = full_replay(env)
    with caplog.at_level(logging.INFO, "gongxin.ledger"), env.reopen() as ledger:
        assert ledger.snapshot_size == 0
        assert encode_state(ledger.state) == want
    lines = warnings_of(caplog)
    assert len(lines) == 1 and reason in lines[0] and "replaying the whole log" in lines[0]


def test_another_logs_snapshot_is_ignored(
    make_env: MakeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    ours, theirs = make_env("ours", 0), make_env("theirs", 1)
    theirs.ledger.write_snapshot()  # same size (25), another log: keys, ids, root
    with theirs.ledger.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM state_snapshots")).mappings().one()
    execute(
        ours,
        "INSERT INTO state_snapshots VALUES (:size, :root, :version, :digest, :created_at, :data)",
        **{k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()},
    )
    want = full_replay(ours)
    with caplog.at_level(logging.INFO, "gongxin.ledger"), ours.reopen() as ledger:
        assert ledger.snapshot_size == 0 and encode_state(ledger.state) == want
    (line,) = warnings_of(caplog)
    assert "another log's snapshot" in line


def test_an_older_good_snapshot_covers_a_damaged_newest(
    make_env: MakeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env("older", 0)
    env.ledger.write_snapshot()
    grow(env, env.ledger, 3)
    env.ledger.write_snapshot()
    execute(env, "UPDATE state_snapshots SET digest = :zero WHERE size = 28", zero=bytes(32))
    want = full_replay(env)
    with caplog.at_level(logging.INFO, "gongxin.ledger"), env.reopen() as ledger:
        assert ledger.snapshot_size == 25 and encode_state(ledger.state) == want
    (line,) = warnings_of(caplog)
    assert "snapshot at 28" in line and "using the one at 25" in line


def test_a_failed_snapshot_write_only_warns(
    make_env: MakeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env("fail", 0)
    execute(env, "DROP TABLE state_snapshots")
    with caplog.at_level(logging.INFO, "gongxin.ledger"):
        assert env.ledger.write_snapshot() is None
        grow(env, env.ledger, 1)  # appending goes on
    (line,) = warnings_of(caplog)
    assert "not written" in line


# -- gongxin db check-state ------------------------------------------------------------------


def test_check_state_exit_codes(make_env: MakeEnv) -> None:
    env = make_env("check", 0)
    runner = CliRunner()

    def check() -> tuple[int, str]:
        done = runner.invoke(app, ["db", "check-state", "--db", env.url])
        return done.exit_code, done.output

    code, out = check()
    assert code == 2 and "没有状态快照 no state snapshot" in out
    env.ledger.write_snapshot()
    grow(env, env.ledger, 2)  # the check replays up to the snapshot's size only
    code, out = check()
    assert code == 0 and "状态快照一致" in out and "at 25" in out
    execute(env, "UPDATE state_snapshots SET data = :data", data=_other_state(env))
    code, out = check()
    assert code == 1 and "状态快照不一致" in out and "its bytes" in out
    execute(env, "UPDATE state_snapshots SET root = :zero", zero=bytes(32))
    code, out = check()
    assert code == 1 and "its tree root" in out


def _other_state(env: LedgerEnv) -> bytes:
    """The encoding of the log's state with one fund fewer than the log holds."""
    with env.reopen(log_key=None, snapshots=False) as ledger:
        ledger.state.rulebook.funds.funds.popitem()  # type: ignore[attr-defined]
        return encode_state(ledger.state)


def test_the_server_role_may_write_snapshots(pg: PgServer, tmp_path: Path) -> None:
    """``gongxin db setup-roles`` grants SELECT, INSERT and DELETE on state_snapshots."""
    env = standard_ledger(tmp_path, url=pg.create_database(f"roles_{uuid.uuid4().hex[:8]}"))
    env.ledger.close()
    done = CliRunner().invoke(app, ["db", "setup-roles", "--db", env.url, "--apply"])
    assert done.exit_code == 0, done.output
    app_url = env.url.replace("postgres@", "gongxin_app@")
    with Ledger.open(app_url, log_key=env.keys.log, clock=env.clock) as ledger:
        for n in range(3):  # the third write deletes the oldest
            grow(env, ledger, 1, start=400 + n)
            assert ledger.write_snapshot() is not None
    with Ledger.open(app_url) as ledger:
        assert ledger.snapshot_size == 28


def test_the_servers_writer_snapshots_every_k_entries_and_when_it_stops(tmp_path: Path) -> None:
    """``api.sequencer.Sequencer`` (``gongxin serve --snapshot-every K``)."""
    from api.sequencer import Sequencer

    env = standard_ledger(tmp_path)
    finance = env.keys["finance"]
    sequencer = Sequencer(env.ledger, snapshot_every=3)

    async def append(start: int, n: int) -> None:
        for i in range(start, start + n):
            line = env.sign(finance, "fund.appropriate", fund_body(i)).canonical()
            await sequencer.submit([line])

    def sizes() -> list[int]:
        with env.ledger.engine.connect() as conn:
            return list(
                conn.execute(text("SELECT size FROM state_snapshots ORDER BY size")).scalars()
            )

    try:
        asyncio.run(append(500, 4))  # 26 (26 since none), 27, 28, 29 (3 since 26)
        deadline = time.monotonic() + 10  # written after the receipts are handed out
        while sizes() != [26, 29] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sizes() == [26, 29]
        asyncio.run(append(600, 1))
    finally:
        sequencer.close()
    assert sizes() == [29, 30]  # the one at stop
    env.ledger.close()
    with env.reopen() as ledger:
        assert ledger.snapshot_size == 30
