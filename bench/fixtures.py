"""Shared fixtures for the benchmarks: cached demo databases, copies, continuation statements.

- :func:`ensure_demo_db` builds (or reuses) a demo log of exactly N entries with
  ``ledger.demo.build_demo``, printing progress; the cache is keyed by path and validated by
  size and log key, so a 1M-entry database is built once and shared by every benchmark.
- :func:`continuation` pre-signs the statements that *follow* a demo log of a given size:
  the demo :class:`~ledger.demo.Scenario` is fast-forwarded (same random stream, no signing)
  and then signed for real, so the statements are exactly the demo's own continuation
  (valid keys, roles, ids) except that simulated time runs 24x faster — one simulated day
  per hour — so that a batch of 1,000 (about 12 simulated days of the office) still lies
  inside the ledger's 7-day statement-time window.
- :func:`copy_db` copies a (checkpointed) SQLite database so that appends never touch the
  shared cache.

Run alone to build a cache::

    python bench/fixtures.py --db /tmp/gongxin-bench/1m.db --entries 1000000

Cost: building is ~2,500 entries/s on this 2-core machine (~7 min for 1M, ~0.9 GB).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
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

import orjson
import primitives  # noqa: F401  (puts the repository on sys.path)

from ledger.demo import DEMO_START, DemoClock, Scenario, build_demo, derive_keys
from ledger.log import Ledger

DEFAULT_SEED = 1
CACHE_DIR = Path(os.environ.get("GONGXIN_BENCH_CACHE", "/tmp/gongxin-bench"))
TIME_COMPRESSION = 24


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


def ensure_demo_db(
    path: Path | str, entries: int, seed: int = DEFAULT_SEED, *, quiet: bool = False
) -> Path:
    """Return ``path`` holding the demo log of exactly ``entries`` entries, building it if
    missing or different (wrong size or log key). Builds into ``path.partial`` and renames,
    so an interrupted build never leaves a bad cache."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    want_vkey = str(derive_keys(seed).log.verifier())
    if path.exists():
        if db_size(path) == entries and db_log_vkey(path) == want_vkey:
            if not quiet:
                print(f"  reusing cached demo log {path} ({entries:,} entries)", flush=True)
            return path
        print(f"  cache {path} is not the {entries:,}-entry seed-{seed} demo; rebuilding")
    tmp = path.with_name(path.name + ".partial")
    remove_db(tmp)
    print(f"  building demo log of {entries:,} entries (seed {seed}) in {tmp} ...", flush=True)
    t0 = time.perf_counter()
    with _Progress(tmp, entries, every=5.0 if entries <= 100_000 else 30.0):
        size, _ = build_demo(url_of(tmp), entries, seed, None)
    dt = time.perf_counter() - t0
    assert size == entries, (size, entries)
    checkpoint_wal(tmp)
    remove_db(path)
    os.replace(tmp, path)
    mb = path.stat().st_size / 2**20
    print(
        f"  built {entries:,} entries in {dt:,.1f} s ({entries / dt:,.0f} entries/s incl. "
        f"signing); {mb:,.0f} MiB",
        flush=True,
    )
    return path


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


class CompressedClock(DemoClock):
    """A DemoClock whose readings, after :meth:`compress`, run ``factor`` times slower than
    what the scenario writes: the scenario sets ``now`` to the start of each simulated day
    and signs at ``now`` minus up to 10 minutes."""

    def __init__(self, start: datetime) -> None:
        self._raw = start
        self._anchor: datetime | None = None
        self._factor = 1
        super().__init__(start)

    @property  # type: ignore[override]
    def now(self) -> datetime:
        if self._anchor is None:
            return self._raw
        return self._anchor + (self._raw - self._anchor) / self._factor

    @now.setter
    def now(self, value: datetime) -> None:
        self._raw = value

    def compress(self, factor: int) -> None:
        self._anchor, self._factor = self._raw, factor


@dataclass
class FastForwardScenario(Scenario):
    """The demo scenario, able to skip statements without signing them (the random stream
    advances exactly as :meth:`Scenario._sign` would advance it)."""

    skipping: bool = False

    def _sign(self, kind: str, body: dict[str, Any], key: Any) -> Any:
        if self.skipping:
            self.rng.getrandbits(128)
            self.rng.randint(1, 600)
            return None
        return super()._sign(kind, body, key)


def _scenario(seed: int, clock: DemoClock, scale: int) -> FastForwardScenario:
    keys = derive_keys(seed)
    if scale != 1:  # demos of newer ledger versions are "busier" (Scenario.scale)
        return FastForwardScenario(seed, keys, clock, scale=scale)  # type: ignore[call-arg]
    return FastForwardScenario(seed, keys, clock)


def _stream(
    seed: int, skip: int, compress: int, scale: int = 1
) -> Iterator[tuple[bytes, datetime]]:
    """(canonical submission, simulated time of its day) for the demo statements from
    number ``skip`` on."""
    clock = CompressedClock(DEMO_START)
    sc = _scenario(seed, clock, scale)
    stream = sc.statements()
    sc.skipping = True
    for _ in range(skip):
        next(stream)
    sc.skipping = False
    clock.compress(compress)
    for sub in stream:
        yield sub.canonical(), clock.now


def self_check(seed: int = DEFAULT_SEED) -> None:
    """Fast-forwarding must reproduce the demo stream exactly (guards against a change of
    the demo's random-number use)."""
    plain = Scenario(seed, derive_keys(seed), DemoClock(DEMO_START)).statements()
    want = [next(plain).canonical() for _ in range(300)][200:]
    got = _stream(seed, 200, 1)
    assert [next(got)[0] for _ in range(100)] == want, "fast-forward drifted from the demo"


def detect_scale(path: Path, seed: int = DEFAULT_SEED, tail: int = 20) -> int:
    """The ``Scenario.scale`` the demo log at ``path`` was built with: the one whose
    fast-forwarded stream reproduces the log's last ``tail`` statement ids. (Newer ledger
    versions build larger demos at a larger scale; caches built earlier used scale 1.) This
    also proves that :func:`continuation` continues exactly this log."""
    n = db_size(path)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        rows = c.execute(
            "SELECT statement_id FROM entries WHERE idx >= ? ORDER BY idx", (n - tail,)
        ).fetchall()
    want = [r[0] for r in rows]
    candidates = [1]
    if "scale" in getattr(Scenario, "__dataclass_fields__", {}):
        candidates = list(dict.fromkeys([1 + n // 24_000, 1]))
    for scale in candidates:
        it = _stream(seed, n - len(want), 1, scale)
        got = [orjson.loads(next(it)[0])["statement"]["id"] for _ in want]
        if got == want:
            return scale
    raise RuntimeError(f"{path}: cannot reproduce its demo stream (scales tried: {candidates})")


@dataclass
class Presigned:
    """Statements continuing a log of ``base`` entries; ``times[k]`` is the simulated time
    at which statement ``k`` was made (the log clock for a batch ending at ``k``)."""

    base: int
    subs: list[bytes]
    times: list[datetime]
    sign_seconds: float
    skip_seconds: float


def continuation(
    base: int,
    count: int,
    seed: int = DEFAULT_SEED,
    compress: int = TIME_COMPRESSION,
    scale: int = 1,
) -> Presigned:
    """Pre-sign the ``count`` demo statements that follow a demo log of ``base`` entries
    built at ``scale`` (see :func:`detect_scale`)."""
    t0 = time.perf_counter()
    it = _stream(seed, base, compress, scale)
    first = next(it)
    t1 = time.perf_counter()
    subs, times = [first[0]], [first[1]]
    for _ in range(count - 1):
        s, t = next(it)
        subs.append(s)
        times.append(t)
    t2 = time.perf_counter()
    return Presigned(base, subs, times, t2 - t1, t1 - t0)


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
