"""The ledger at 10k, 100k and 1M entries on SQLite and PostgreSQL (docs/PERFORMANCE.md).

For every scale N and database:

1. **Load.** The seed-1 demo log of N entries (cached as a SQLite file, built once by
   ``fixtures.ensure_demo_db``) is copied (SQLite) or restored with ``ledger.backup.restore``
   into a fresh database of a throw-away PostgreSQL server (``tests.pg_server``: initdb in a
   temporary directory, ``fsync=on``). Timed, not a target.
2. **Open.** ``Ledger.open`` replays every entry under the rules (what a server does at start).
3. **Append.** The ``--append`` demo statements that follow the log (pre-signed, not timed)
   are appended with ``append_batch`` in batches of 1,000: durable (SQLite WAL +
   ``synchronous=FULL``; PostgreSQL ``fsync=on``, ``synchronous_commit=on``), every rule
   applied. Reported next to the raw pynacl Ed25519 verification rate on all cores measured
   just before and after. Target: ≥ 10,000 entries/s.
4. **Proofs.** ``--proofs`` inclusion proofs of random entries against the current tree and
   as many consistency proofs from random sizes, each timed alone: median and p99.
   Target: ≤ 1 ms median at 1M.
5. **Memory.** RSS of this process right after the open (the replayed rule state).

Verification throughput and memory do not depend on the database (the verifier reads the
export bundle): ``bench/verify.py`` measures them.

Run::

    . .venv/bin/activate
    python bench/scale.py                                  # 10k,100k,1M × sqlite,postgresql
    python bench/scale.py --entries 10000,100000 --dbs sqlite
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fixtures
import primitives as P

from ledger.backup import restore
from ledger.demo import DEMO_START, DemoClock, derive_keys
from ledger.log import Ledger
from tests.pg_server import PgServer, pg_server

TARGET_APPEND = 10_000
TARGET_PROOF_MS = 1.0


def cache_path(n: int) -> Path:
    return fixtures.CACHE_DIR / ("1m.db" if n == 1_000_000 else f"{n}.db")


@contextmanager
def database(
    kind: str, source: Path, work: Path, pg: PgServer | None
) -> Iterator[tuple[str, float]]:
    """(url, load seconds) of a fresh copy of ``source`` in a ``kind`` database."""
    t0 = time.perf_counter()
    if kind == "sqlite":
        target = work / f"copy-{source.name}"
        fixtures.copy_db(source, target)
        url = fixtures.url_of(target)
    else:
        assert pg is not None
        url = pg.create_database(f"bench_{source.stem}_{int(time.time() * 1000) % 10**9}")
        restore(source, url)
    loaded = time.perf_counter() - t0
    try:
        yield url, loaded
    finally:
        if kind == "sqlite":
            fixtures.remove_db(work / f"copy-{source.name}")


def timed_ms(fn: object, calls: list[tuple[int, ...]]) -> list[float]:
    out = []
    for args in calls:
        t0 = time.perf_counter()
        fn(*args)  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run_one(kind: str, n: int, url: str, loaded: float, args: argparse.Namespace) -> list[str]:
    keys = derive_keys(fixtures.DEFAULT_SEED)
    t0 = time.perf_counter()
    ledger = Ledger.open(url, log_key=keys.log, clock=DemoClock(DEMO_START))
    opened = time.perf_counter() - t0
    rss = P.proc_status_mb("VmRSS") or 0.0  # now, after the replay (not a peak)
    try:
        print(f"    presigning {args.append:,} statements after entry {n:,} …", flush=True)
        pre = fixtures.continuation(n, args.append)
        adjacent = P.Adjacent()
        calls, _, raw_n = adjacent.around(
            lambda: fixtures.append_batches(ledger, pre, 0, args.append, 1000)
        )
        rate = sum(c for c, _ in calls) / sum(t for _, t in calls)
        size = ledger.size
        rng = random.Random(20261122 + n)
        inc = timed_ms(
            ledger.inclusion_proof, [(rng.randrange(size), size) for _ in range(args.proofs)]
        )
        con = timed_ms(
            ledger.consistency_proof, [(rng.randrange(1, size), size) for _ in range(args.proofs)]
        )
    finally:
        ledger.close()
    line = (
        f"| {kind} | {n:,} | {loaded:.1f} s | {opened:.1f} s ({n / opened:,.0f}/s) | "
        f"**{rate:,.0f}**/s | {raw_n:,.0f}/s | {100 * rate / raw_n:.1f} % | "
        f"{statistics.median(inc):.3f} / {P.pct(inc, 0.99):.3f} ms | "
        f"{statistics.median(con):.3f} / {P.pct(con, 0.99):.3f} ms | {rss:,.0f} MiB |"
    )
    print("    " + line, flush=True)
    return [line]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", default="10000,100000,1000000")
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--append", type=int, default=20_000, help="statements appended per run")
    ap.add_argument("--proofs", type=int, default=1000, help="proofs of each kind per run")
    args = ap.parse_args()
    scales = [int(x) for x in args.entries.split(",")]
    kinds = args.dbs.split(",")
    P.banner("Gongxin at scale: SQLite and PostgreSQL")
    print(P.machine_line())
    raw = P.measure_raw(repeats=3)
    print(
        f"  raw Ed25519: {raw.ed25519_1:,.0f}/s on 1 core, {raw.ed25519_n:,.0f}/s on "
        f"{raw.workers} processes"
    )
    rows = [
        "| db | entries | load | open (replay) | append, batches of 1,000 | raw Ed25519 all cores "
        "(around it) | ratio | inclusion proof median / p99 | consistency proof median / p99 "
        "| RSS after open |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="gongxin-scale-") as tmp:
        work = Path(tmp)
        pg_ctx = pg_server() if "postgresql" in kinds else None
        pg = pg_ctx.__enter__() if pg_ctx is not None else None
        try:
            for n in scales:
                source = fixtures.ensure_demo_db(cache_path(n), n)
                for kind in kinds:
                    print(f"  {kind}, {n:,} entries:", flush=True)
                    with database(kind, source, work, pg) as (url, loaded):
                        rows += run_one(kind, n, url, loaded, args)
        finally:
            if pg_ctx is not None:
                pg_ctx.__exit__(None, None, None)
    print("\n".join(rows))
    print(f"  targets: append ≥ {TARGET_APPEND:,}/s; proofs ≤ {TARGET_PROOF_MS} ms median at 1M")


if __name__ == "__main__":
    main()
