"""SIGKILL of a real process while it writes rule-state snapshots (FORMAT.md §12.2) loses
nothing: the ledger's tables are unchanged, at most two snapshots remain, and the next open
gives the state of a full replay — on SQLite and PostgreSQL.

The child alternates a real snapshot (``Ledger.write_snapshot``) and a 48 MB row written
through the same store call (a large snapshot: its data has its digest but does not decode),
so that the kill lands inside a large write as often as not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ledger.log import Ledger
from verifier.rules.snapshot import encode_state

from .ledger_env import standard_ledger

REPO = Path(__file__).resolve().parents[1]
LEDGER_TABLES = {
    "meta": "name",
    "entries": "idx",
    "merkle_nodes": "level, idx",
    "checkpoints": "size",
}

CHILD = """
import hashlib, sys
from ledger.log import Ledger
from ledger.store.contract import SnapshotInfo
from ledger.reads import tree_at
ledger = Ledger.open(sys.argv[1], create=False)
big = b"[" + b"1," * (24 << 20) + b"1]"
n = ledger.size - 1
with ledger.store.reading() as reader:
    root = tree_at(reader, n).root()
while True:
    assert ledger.write_snapshot() is not None
    print("wrote", flush=True)
    info = SnapshotInfo(n, root, 1, hashlib.sha256(big).digest(), "2026-01-01T00:00:00.000000Z")
    with ledger.store.begin_write() as tx:
        tx.put_snapshot(info, big, keep=2)
        tx.commit()
"""


def ledger_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in conn.execute(text(f"SELECT * FROM {t} ORDER BY {k}"))
                ]
                for t, k in LEDGER_TABLES.items()
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_while_writing_a_snapshot_loses_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("pg").create_database(f"kill_{uuid.uuid4().hex[:8]}")
    env = standard_ledger(tmp_path, url=url)
    env.ledger.close()
    with Ledger.open(env.url, snapshots=False) as ledger:
        want = encode_state(ledger.state)
    before = ledger_rows(env.url)
    for delay in (0.0, 0.05, 0.2, 0.5):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, env.url],
            cwd=REPO,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"wrote\n"
            time.sleep(delay)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert ledger_rows(env.url) == before
        with Ledger.open(env.url) as ledger:
            assert encode_state(ledger.state) == want
            with ledger.engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM state_snapshots")).scalar_one()
            assert 1 <= count <= 2
