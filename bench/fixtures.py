"""Shared fixtures for the benchmarks: cached demo databases, copies, continuation statements.

- :func:`ensure_demo_db` builds (or reuses) a demo log of exactly N entries with
  ``ledger.demo.build_demo``, printing progress. The cache is keyed by path and validated
  (:func:`check_stream`): its size and log key, its first entries regenerated and compared,
  and its last entries too — by fast-forwarding the demo stream, or, when the stamp file
  ``<db>.stream`` written after such a check still matches ``ledger/demo/`` and the
  database, by the stamp. A cache built by an older demo is therefore rebuilt, and a
  1M-entry database is built once and shared by every benchmark.
- :func:`continuation` pre-signs the statements that *follow* a demo log of a given size:
  the demo :class:`~ledger.demo.Scenario` is fast-forwarded (same random stream and rule
  bookkeeping, no signing) and then signed for real, so the statements are the demo's own
  continuation — valid under every rule of the rulebook (FORMAT.md §10), with the demo's
  keys, roles and ids. From the next simulated day on the office works at
  :data:`BENCH_SCALE` (the 1M demo's scale, ~9,000 statements per simulated day), so that
  a batch of 1,000 spans well under a day of simulated time — inside the ledger's 7-day
  statement-time window — and the statement mix after a small and after a large log is the
  same (mostly credit awards).
- :func:`copy_db` copies a (checkpointed) SQLite database so that appends never touch the
  shared cache.

Run alone to build a cache::

    python bench/fixtures.py --db /tmp/gongxin-bench/1m.db --entries 1000000

Cost: see the build line it prints (entries/s including signing).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import inspect
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import primitives  # noqa: F401  (puts the repository on sys.path)

import ledger.demo as demo
from ledger.demo import DEMO_START, DemoClock, Scenario, build_demo, derive_keys, scale_for
from ledger.log import Ledger
from verifier.core.entry import Submission

DEFAULT_SEED = 1
CACHE_DIR = Path(os.environ.get("GONGXIN_BENCH_CACHE", "/tmp/gongxin-bench"))
#: The scale of the office in continuations (the 1M demo's own scale).
BENCH_SCALE = scale_for(1_000_000)
#: Entries compared at each end of a cached log by :func:`check_stream`.
HEAD, TAIL = 300, 20


def url_of(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"


# --------------------------------------------------------------------------- databases


def db_size(path: Path) -> int:
    """Entries in the database (max index + 1), read with plain sqlite3; 0 if none."""
    if not Path(path).exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        try:
            row = c.execute("SELECT max(idx) FROM entries").fetchone()
        except sqlite3.OperationalError:
            return 0
    return 0 if row[0] is None else int(row[0]) + 1


def db_log_vkey(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        row = c.execute("SELECT value FROM meta WHERE name = 'log_vkey'").fetchone()
    return None if row is None else str(row[0])


def checkpoint_wal(path: Path) -> None:
    """Fold the WAL into the main file so that the single file is a complete copy."""
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        if p.exists() and p.stat().st_size == 0:
            p.unlink()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_db(src: Path, dst: Path) -> float:
    """Copy the database file ``src`` to ``dst``; returns seconds taken."""
    t0 = time.perf_counter()
    checkpoint_wal(src)
    remove_db(dst)
    shutil.copyfile(src, dst)
    return time.perf_counter() - t0


class _Progress:
    """Prints the size of a database being built every ``every`` seconds (reads the WAL
    database concurrently with plain sqlite3, which WAL mode allows)."""

    def __init__(self, path: Path, target: int, every: float = 20.0) -> None:
        self.path, self.target, self.every = path, target, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                n = db_size(self.path)
            except sqlite3.Error:
                continue
            dt = time.perf_counter() - self.t0
            rate = n / dt if dt else 0.0
            eta = (self.target - n) / rate if rate else float("nan")
            print(
                f"    build: {n:>10,} / {self.target:,} entries, {dt:6.0f} s, "
                f"{rate:,.0f} entries/s, ETA {eta:,.0f} s",
                flush=True,
            )

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _submission_hashes(path: Path, start: int, stop: int) -> list[bytes]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        rows = c.execute(
            "SELECT submission_sha256 FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, stop),
        ).fetchall()
    return [bytes(r[0]) for r in rows]


def _stream_hashes(seed: int, entries: int, start: int, stop: int) -> list[bytes]:
    """SHA-256 of the demo submissions ``start … stop−1`` of an ``entries``-entry demo."""
    sc = Scenario(seed, derive_keys(seed), DemoClock(DEMO_START), scale=scale_for(entries))
    sc.skip(start)
    subs = sc.statements()
    return [hashlib.sha256(next(subs).canonical()).digest() for _ in range(start, stop)]


def _demo_source_sha256() -> str:
    """SHA-256 over the sources of the ``ledger.demo`` package (names and contents)."""
    h = hashlib.sha256()
    for source in sorted(Path(demo.__file__).parent.glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes())
    return h.hexdigest()


def _stamp(path: Path, entries: int, seed: int) -> dict[str, Any]:
    """What ``<path>.stream`` records of a cache checked against (or built by) this demo."""
    tail = _submission_hashes(path, max(0, entries - TAIL), entries)
    return {
        "demo_sha256": _demo_source_sha256(),
        "seed": seed,
        "entries": entries,
        "tail_sha256": hashlib.sha256(b"".join(tail)).hexdigest(),
    }


def check_stream(path: Path, entries: int, seed: int = DEFAULT_SEED) -> str | None:
    """Why the database at ``path`` is not the ``entries``-entry seed-``seed`` demo of the
    current code, or ``None`` when it is. Checks the size, the log key, the first
    :data:`HEAD` submissions (regenerated and signed) and the last :data:`TAIL`: from the
    stamp ``<path>.stream`` when it names the current ``ledger/demo/`` and these very
    entries, else by fast-forwarding the stream (O(entries), ~45 µs each) and then writing
    the stamp."""
    if db_size(path) != entries:
        return f"it holds {db_size(path):,} entries"
    if db_log_vkey(path) != str(derive_keys(seed).log.verifier()):
        return "its log key is not the seed's"
    head = min(HEAD, entries)
    if _submission_hashes(path, 0, head) != _stream_hashes(seed, entries, 0, head):
        return "its first entries differ from the current demo stream"
    stamp_file = Path(f"{path}.stream")
    stamp = _stamp(path, entries, seed)
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return None
    t0 = time.perf_counter()
    start = max(head, entries - TAIL)
    if _submission_hashes(path, start, entries) != _stream_hashes(seed, entries, start, entries):
        return "its last entries differ from the current demo stream"
    stamp_file.write_text(json.dumps(stamp) + "\n")
    print(f"  checked the cache's last entries by fast-forward ({time.perf_counter() - t0:.0f} s)")
    return None


def ensure_demo_db(
    path: Path | str, entries: int, seed: int = DEFAULT_SEED, *, quiet: bool = False
) -> Path:
    """Return ``path`` holding the demo log of exactly ``entries`` entries, building it if
    missing or different (:func:`check_stream`). Builds into ``path.partial`` and renames,
    so an interrupted build never leaves a bad cache."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        problem = check_stream(path, entries, seed)
        if problem is None:
            if not quiet:
                print(f"  reusing cached demo log {path} ({entries:,} entries)", flush=True)
            _upgrade_schema(path)
            return path
        print(
            f"  cache {path} is not the {entries:,}-entry seed-{seed} demo ({problem}); rebuilding"
        )
    tmp = path.with_name(path.name + ".partial")
    remove_db(tmp)
    Path(f"{path}.stream").unlink(missing_ok=True)
    print(f"  building demo log of {entries:,} entries (seed {seed}) in {tmp} ...", flush=True)
    t0 = time.perf_counter()
    with _Progress(tmp, entries, every=5.0 if entries <= 100_000 else 30.0):
        size, _ = build_demo(url_of(tmp), entries, seed, None)
    dt = time.perf_counter() - t0
    assert size == entries, (size, entries)
    checkpoint_wal(tmp)
    remove_db(path)
    os.replace(tmp, path)
    Path(f"{path}.stream").write_text(json.dumps(_stamp(path, entries, seed)) + "\n")
    mb = path.stat().st_size / 2**20
    print(
        f"  built {entries:,} entries in {dt:,.1f} s ({entries / dt:,.0f} entries/s incl. "
        f"signing); {mb:,.0f} MiB",
        flush=True,
    )
    return path


def _upgrade_schema(path: Path) -> None:
    """Bring a cache built by an older version to the current schema (migrations add, never
    rewrite: the cached entries stay as they are)."""
    from ledger.store import engine as storage
    from ledger.store import migrate

    engine = storage.open_engine(url_of(path), must_exist=True)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    if current != migrate.HEAD:
        migrate.upgrade(url_of(path))
        print(f"  upgraded the cache's schema from revision {current} to {migrate.HEAD}")


def open_ledger(path: Path | str, seed: int = DEFAULT_SEED, **kwargs: Any) -> Ledger:
    """Open the demo log at ``path`` with its log key (for appending) and a settable
    :class:`DemoClock` (``ledger.clock.now = ...``). Replays the whole log: O(n)."""
    keys = derive_keys(seed)
    return Ledger.open(url_of(path), log_key=keys.log, clock=DemoClock(DEMO_START), **kwargs)


def open_reader(path: Path | str) -> tuple[Ledger, bool]:
    """Open the log at ``path`` for reading only: ``Ledger.open(url, replay=False)`` where
    the library offers it (O(log n)), else a full replaying open. Returns (ledger, replayed)."""
    if "replay" in inspect.signature(Ledger.open).parameters:
        return Ledger.open(url_of(path), replay=False), False
    return open_ledger(path), True


# --------------------------------------------------------------------------- statements


def _continuation_stream(seed: int, base: int, scale: int) -> tuple[Scenario, Iterator[Submission]]:
    """The demo scenario of a ``base``-entry log, fast-forwarded past its ``base``
    statements and working at ``scale`` from the next simulated day; and its signed stream."""
    clock = DemoClock(DEMO_START)
    sc = Scenario(seed, derive_keys(seed), clock, scale=scale_for(base))
    sc.skip(base)
    sc.rescale(max(scale, scale_for(base)))
    return sc, sc.statements()


def self_check(seed: int = DEFAULT_SEED) -> None:
    """Fast-forwarding must reproduce the demo stream exactly (guards against a change of
    the demo's random-number use that only signing would make)."""
    plain = Scenario(seed, derive_keys(seed), DemoClock(DEMO_START)).statements()
    want = [next(plain).canonical() for _ in range(300)][200:]
    sc = Scenario(seed, derive_keys(seed), DemoClock(DEMO_START))
    sc.skip(200)
    got = sc.statements()
    assert [next(got).canonical() for _ in range(100)] == want, "fast-forward drifted"


@dataclass
class Presigned:
    """Statements continuing a log of ``base`` entries; ``times[k]`` is the simulated time
    at which statement ``k`` was made (the log clock for a batch ending at ``k``)."""

    base: int
    subs: list[bytes]
    times: list[datetime]
    sign_seconds: float
    skip_seconds: float
    scale: int = BENCH_SCALE


def continuation(
    base: int, count: int, seed: int = DEFAULT_SEED, scale: int = BENCH_SCALE
) -> Presigned:
    """Pre-sign the ``count`` demo statements that follow the ``base``-entry demo log, the
    office working at ``scale`` (at least the log's own) from the next simulated day."""
    t0 = time.perf_counter()
    sc, it = _continuation_stream(seed, base, scale)
    t1 = time.perf_counter()
    subs: list[bytes] = []
    times: list[datetime] = []
    for _ in range(count):
        subs.append(next(it).canonical())
        times.append(sc.clock.now)
    t2 = time.perf_counter()
    return Presigned(base, subs, times, t2 - t1, t1 - t0, sc.scale)


def append_batches(
    ledger: Ledger, pre: Presigned, start: int, stop: int, batch: int
) -> list[tuple[int, float]]:
    """Append ``pre.subs[start:stop]`` in batches of ``batch``; returns (entries, seconds)
    of each :meth:`Ledger.append_batch` call (only the call is timed). The log clock of a
    batch is the simulated time of its newest statement."""
    out: list[tuple[int, float]] = []
    clock = ledger.clock
    for k in range(start, stop, batch):
        end = min(stop, k + batch)
        clock.now = pre.times[end - 1] + timedelta(seconds=1)  # type: ignore[attr-defined]
        chunk = pre.subs[k:end]
        t0 = time.perf_counter()
        receipts = ledger.append_batch(chunk)
        out.append((len(chunk), time.perf_counter() - t0))
        if receipts[-1].duplicate:
            raise RuntimeError("benchmark statements were already in the log")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Build or validate a cached demo database.")
    ap.add_argument("--db", type=Path, default=CACHE_DIR / "1m.db")
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    self_check(args.seed)
    ensure_demo_db(args.db, args.entries, args.seed)


if __name__ == "__main__":
    main()
