"""The monitor's parts (``monitor/``): its own tree (roots and RFC 9162 consistency proofs
from its copy, against the reference code), the checkpoint journal, and fork evidence built
from the copy or from tiles. The whole monitor against real servers: tests/test_split_view.py.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement
from monitor.evidence import (
    from_local_copy,
    from_new_view,
    old_subtree_from_tiles,
    write_evidence,
)
from monitor.journal import JOURNAL_FILE, Journal
from monitor.localtree import consistency_proof, leaf_hashes, root
from tests import merkle_reference as ref
from tests.api_server import GONGXIN, demo_template, live_server
from tests.logfactory import make_key, sign_checkpoint_over
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.merkle import leaf_hash
from verifier.tiles.paths import TILE_HEIGHT, tile_at
from verifier.witness.fork import check_fork_evidence

ORIGIN = "gongxin.example/monitor-test"
LOG_KEY = make_key(11, "log", key_name=ORIGIN)
VKEY = LOG_KEY.verifier()
JSON = {"content-type": "application/json"}


def lines(n: int, tag: bytes = b"a", diverge: int | None = None) -> list[bytes]:
    cut = n if diverge is None else diverge
    return [b"a%d" % i if i < cut else tag + b"%d" % i for i in range(n)]


def write_entries(path: Path, data: list[bytes]) -> Path:
    path.write_bytes(b"".join(d + b"\n" for d in data))
    return path


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_own_tree_matches_rfc_9162(n: int, data: st.DataObject) -> None:
    d = lines(n)
    hashes = [leaf_hash(x) for x in d]
    m = data.draw(st.integers(1, n))
    assert root(hashes) == ref.mth(d)
    assert root(hashes, 0, m) == ref.mth(d[:m])
    assert consistency_proof(m, hashes) == ref.proof(m, d)


def test_leaf_hashes_reads_only_complete_lines(tmp_path: Path) -> None:
    path = write_entries(tmp_path / "entries.jsonl", lines(5))
    assert leaf_hashes(path, 5) == [leaf_hash(x) for x in lines(5)]
    assert len(leaf_hashes(path, 3)) == 3
    with pytest.raises(InputError):
        leaf_hashes(path, 6)
    path.write_bytes(path.read_bytes()[:-1])  # a torn last line
    with pytest.raises(InputError):
        leaf_hashes(path, 5)


def test_journal_appends_each_new_checkpoint_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    notes = [sign_checkpoint_over(lines(n), LOG_KEY) for n in (3, 3, 7)]
    for note in notes:
        journal.append(open_checkpoint(note, VKEY), note)
    Journal(tmp_path).append(open_checkpoint(notes[2], VKEY), notes[2])  # after a restart
    records = [json.loads(x) for x in (tmp_path / JOURNAL_FILE).read_text().splitlines()]
    assert [r["size"] for r in records] == [3, 7]
    assert [r["note"] for r in records] == [notes[0], notes[2]]
    assert open_checkpoint(records[1]["note"], VKEY).size == 7


@pytest.mark.parametrize(("size1", "size2", "diverge"), [(5, 12, 2), (8, 12, 0), (7, 7, 3)])
def test_evidence_from_the_own_copy(tmp_path: Path, size1: int, size2: int, diverge: int) -> None:
    own = lines(size2, b"b", diverge)
    entries = write_entries(tmp_path / "entries.jsonl", own)
    own_note = sign_checkpoint_over(own, LOG_KEY)
    other_note = sign_checkpoint_over(lines(size1), LOG_KEY)  # another view
    found = from_local_copy(other_note, own_note, entries, VKEY)
    assert found is not None
    data, fork = found
    assert check_fork_evidence(data, VKEY) == fork
    assert (fork.old.size, fork.new.size) == (size1, size2)
    path = write_evidence(tmp_path, data, fork)
    assert path.name == f"fork-{size1}-{size2}.txt" and path.read_bytes() == data
    assert write_evidence(tmp_path, data, fork) == path  # the same evidence: one file
    consistent = sign_checkpoint_over(own[:size1], LOG_KEY)
    assert from_local_copy(consistent, own_note, entries, VKEY) is None
    with pytest.raises(InputError):
        from_local_copy(sign_checkpoint_over(lines(size2 + 1), LOG_KEY), own_note, entries, VKEY)


def tiles_of(data: list[bytes]) -> dict[str, bytes]:
    """Every hash tile of the tree of ``data`` (FORMAT.md §13), by path: what a log serves."""
    hashes = [leaf_hash(x) for x in data]
    out = {}
    for level in range(3):
        span = 1 << (TILE_HEIGHT * level)
        count = len(hashes) // span
        for index in range((count + 255) // 256):
            tile = tile_at(len(hashes), level, index)
            assert tile is not None
            first = index * 256
            out[tile.path] = b"".join(
                root(hashes, (first + i) * span, (first + i + 1) * span) for i in range(tile.width)
            )
    return out


@pytest.mark.parametrize(("size1", "size2"), [(1, 3), (4, 9), (256, 300), (512, 700)])
def test_evidence_from_the_new_view_power_of_two(size1: int, size2: int) -> None:
    new = lines(size2, b"b", 0)
    tiles = tiles_of(new)
    new_note = sign_checkpoint_over(new, LOG_KEY)
    assert old_subtree_from_tiles(size1, open_checkpoint(new_note, VKEY), tiles.__getitem__) == (
        ref.mth(new[:size1])
    )
    old_note = sign_checkpoint_over(lines(size1), LOG_KEY)
    data, fork = from_new_view(old_note, new_note, ref.proof(size1, new), VKEY, tiles.__getitem__)
    assert check_fork_evidence(data, VKEY) == fork
    assert fork.old_root_in_new == ref.mth(new[:size1])
    # a consistent pair is not turned into evidence
    with pytest.raises(VerificationError):
        from_new_view(
            sign_checkpoint_over(new[:size1], LOG_KEY),
            new_note,
            ref.proof(size1, new),
            VKEY,
            tiles.__getitem__,
        )


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))


def _next(into: queue.Queue[str], timeout: float = 60) -> str:
    return into.get(timeout=timeout)


def test_interval_mode_follows_growth_and_retries(tmp_path: Path) -> None:
    """``gongxin monitor --interval``: one line per update, the new entries replayed; when the
    log goes away it retries instead of exiting; SIGINT ends it."""
    template = demo_template(tmp_path / "demo", 40)
    with live_server(template, tmp_path / "server") as server:
        args = ["monitor", server.url, "--log-key", template.log_vkey, "--interval", "0.2"]
        proc = subprocess.Popen(
            [GONGXIN, *args, "--dir", str(tmp_path / "m")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        out: queue.Queue[str] = queue.Queue()
        err: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
        threading.Thread(target=_lines, args=(proc.stderr, err), daemon=True).start()
        try:
            assert _next(out).startswith("✓ 已核对 checked: size 40 (+40 entries replayed)")
            finance = template.signer("finance_officer")
            with server.client() as http:
                for i in range(3):
                    body = {
                        "fund_id": f"F-MON-{i}",
                        "fiscal_year": 2026,
                        "programme": "监督",
                        "source": "财政",
                        "amount_fen": 100,
                    }
                    sub = sign_statement("fund.appropriate", body, finance, origin=DEMO_ORIGIN)
                    r = http.post("/v1/statements", content=sub.canonical(), headers=JSON)
                    assert r.status_code == 201, r.text
            line = _next(out)
            while "size 40 " in line:
                line = _next(out)
            assert line.startswith("✓ 已核对 checked: size 43 (+3 entries replayed)"), line
        except BaseException:
            proc.kill()
            raise
    assert "无法访问 log unreachable" in _next(err) and proc.poll() is None  # retrying
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    sizes = [
        json.loads(x)["size"] for x in (tmp_path / "m" / JOURNAL_FILE).read_text().split("\n") if x
    ]
    assert sizes[0] == 40 and sizes[-1] == 43
