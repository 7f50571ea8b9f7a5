"""The ledger at 10k, 100k and 1M entries on SQLite and PostgreSQL (docs/PERFORMANCE.md).

For every scale N and database:

1. **Load.** The seed-1 demo log of N entries (cached as a SQLite file, built once by
   ``fixtures.ensure_demo_db``) is copied (SQLite) or restored with ``ledger.backup.restore``
   into a fresh database of a throw-away PostgreSQL server (``tests.pg_server``: initdb in a
   temporary directory, ``fsync=on``), and its postings index completed (the one-time
   back-fill). Timed, not a target.
2. **Open** (``bench/open.py``'s child, each in a fresh process): ``Ledger.open`` by full
   replay with the snapshots deleted (then a snapshot is written), and from that snapshot.
   Beside each: the raw 1-core Ed25519 rate around it ("≈ k verifies"); the peak RSS of
   the open's own process. Target: from a snapshot at 1M ≤ 2 s and ≤ 3× the 10k figure.
3. **Trace** (``bench/trace.py``): ``--targets`` random funds, contracts, payments,
   providers and residents, each traced ``--rounds`` times through the postings index by a
   ledger opened for appending (from the snapshot); median and p99 over all. Target: ≤ 50 ms.
4. **Append.** The ``--append`` demo statements that follow the log (pre-signed, not timed)
   are appended with ``append_batch`` in batches of 1,000: durable (SQLite WAL +
   ``synchronous=FULL``; PostgreSQL ``fsync=on``, ``synchronous_commit=on``), every rule
   applied; beside the raw Ed25519 rate on all cores just before and after. Targets: ≥ 50 %
   of it on SQLite, ≥ 35 % on PostgreSQL.
5. **Proofs.** ``--proofs`` inclusion proofs of random entries against the current tree and
   as many consistency proofs from random sizes, each timed alone: median and p99. Target:
   ≤ 1 ms median at 1M on PostgreSQL.
6. **Incremental re-verification** (``bench/incremental.py``): the verifier reads the export
   bundle, not the database, so it is measured once per scale (``scale_parts``) and printed
   in both rows: a state from the bundle 10,000 entries (N/10 below 100k) before the end,
   then the whole bundle re-verified from it with 2 workers.

Run::

    . .venv/bin/activate
    python bench/scale.py                                  # 10k,100k,1M × sqlite,postgresql
    python bench/scale.py --entries 10000,100000 --dbs sqlite
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import fixtures
import primitives as P
import scale_parts as parts

from ledger.backup import restore
from ledger.demo import DEMO_START, DemoClock, derive_keys
from ledger.log import Ledger
from tests.pg_server import PgServer, pg_server
from verifier.cli.runtime import tune_for_long_lived_heap

TARGET_APPEND_FRACTION = {"sqlite": 0.50, "postgresql": 0.35}
TARGET_PROOF_MS = 1.0
TARGET_TRACE_MS = 50.0
TARGET_OPEN_S, TARGET_OPEN_RATIO = 2.0, 3.0
HEADER = [
    "| db | entries | load (+ index) | open, full replay | open, snapshot | ≈ verifies, "
    "snapshot open (raw 1 core) | peak RSS of the open, full / snapshot | trace median / p99 "
    "(≈ verifies, raw 1 core) | append, batches of 1,000 | raw Ed25519 2 procs (around it) | "
    "ratio | inclusion proof median / p99 | consistency proof median / p99 | raw 1 core around "
    "proofs | incremental re-verify (db-independent, same in both rows) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def cache_path(n: int) -> Path:
    return fixtures.CACHE_DIR / ("1m.db" if n == 1_000_000 else f"{n}.db")


@contextmanager
def database(
    kind: str, source: Path, work: Path, pg: PgServer | None
) -> Iterator[tuple[str, float]]:
    """(url, load seconds) of a fresh copy of ``source`` in a ``kind`` database, its
    postings index complete."""
    t0 = time.perf_counter()
    if kind == "sqlite":
        target = work / f"copy-{source.name}"
        fixtures.copy_db(source, target)
        url = fixtures.url_of(target)
    else:
        assert pg is not None
        url = pg.create_database(f"bench_{source.stem}_{int(time.time() * 1000) % 10**9}")
        restore(source, url)
    parts.index_postings(url)
    loaded = time.perf_counter() - t0
    try:
        yield url, loaded
    finally:
        if kind == "sqlite":
            fixtures.remove_db(work / f"copy-{source.name}")


def timed_ms(fn: Callable[..., object], calls: list[tuple[int, ...]]) -> list[float]:
    out = []
    for args in calls:
        t0 = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def proof_times(ledger: Ledger, count: int, seed: int) -> tuple[list[float], list[float]]:
    """(inclusion, consistency) latencies in ms of ``count`` random proofs each."""
    size = ledger.size
    rng = random.Random(seed)
    inc = timed_ms(ledger.inclusion_proof, [(rng.randrange(size), size) for _ in range(count)])
    con = timed_ms(ledger.consistency_proof, [(rng.randrange(1, size), size) for _ in range(count)])
    return inc, con


def run_one(
    kind: str, n: int, url: str, loaded: float, args: argparse.Namespace, inc_cell: str
) -> tuple[str, dict[str, float]]:
    """One row of the table, and the figures the targets are judged on."""
    adjacent = P.Adjacent()
    opens = parts.measure_opens(url, n, adjacent)
    print(f"    opens: full {opens.full['open_s']:.2f} s, snapshot {opens.snap['open_s']:.3f} s")
    keys = derive_keys(fixtures.DEFAULT_SEED)
    ledger = Ledger.open(url, log_key=keys.log, clock=DemoClock(DEMO_START))
    if not args.no_gc_tuning:
        tune_for_long_lived_heap()  # as every server worker does once open (api/app.py)
    try:
        tr = parts.measure_traces(ledger, n, args.targets, args.rounds, adjacent)
        print(f"    traces: median {tr.median:.2f} ms, p99 {tr.p99:.2f} ms", flush=True)
        print(f"    presigning {args.append:,} statements after entry {n:,} …", flush=True)
        pre = fixtures.continuation(n, args.append)
        calls, _, raw_n = adjacent.around(
            partial(fixtures.append_batches, ledger, pre, 0, args.append, 1000)
        )
        rate = sum(c for c, _ in calls) / sum(t for _, t in calls)
        (inc, con), raw_p, _ = adjacent.around(
            partial(proof_times, ledger, args.proofs, 20261122 + n)
        )
    finally:
        ledger.close()
    snap_s = opens.snap["open_s"]
    line = (
        f"| {kind} | {n:,} | {loaded:.1f} s | {opens.full['open_s']:.2f} s "
        f"(≈ {opens.full['open_s'] * opens.raw_full:,.0f} verifies) | **{snap_s:.3f} s** | "
        f"≈ {snap_s * opens.raw_snap:,.0f} ({opens.raw_snap:,.0f}/s) | "
        f"{opens.full['rss_mb']:.0f} / {opens.snap['rss_mb']:.0f} MiB | "
        f"**{tr.median:.2f}** / {tr.p99:.2f} ms (≈ {tr.median / 1000 * tr.raw_1core:.0f}; "
        f"{tr.raw_1core:,.0f}/s; {tr.entries:.1f} entries per trace) | **{rate:,.0f}**/s | "
        f"{raw_n:,.0f}/s | {100 * rate / raw_n:.1f} % | "
        f"**{statistics.median(inc):.3f}** / {P.pct(inc, 0.99):.3f} ms | "
        f"**{statistics.median(con):.3f}** / {P.pct(con, 0.99):.3f} ms | {raw_p:,.0f}/s | "
        f"{inc_cell} |"
    )
    print("    " + line, flush=True)
    figures = {
        "open": snap_s,
        "trace_p99": tr.p99,
        "append_fraction": rate / raw_n,
        "proof_median": max(statistics.median(inc), statistics.median(con)),
    }
    return line, figures


def verdicts(results: dict[tuple[str, int], dict[str, float]]) -> list[str]:
    """One PASS/FAIL line per target that the measured scales allow judging."""
    out = []
    for (kind, n), f in sorted(results.items()):
        ok = f["trace_p99"] <= TARGET_TRACE_MS
        out.append(f"  {kind} {n:,}: trace p99 ≤ {TARGET_TRACE_MS:.0f} ms {_pf(ok)}")
        want = TARGET_APPEND_FRACTION[kind]
        ok = f["append_fraction"] >= want
        out.append(f"  {kind} {n:,}: append ≥ {want:.0%} of raw 2-proc Ed25519 {_pf(ok)}")
    for kind in TARGET_APPEND_FRACTION:
        top = results.get((kind, 1_000_000))
        if top is None:
            continue
        ok = top["open"] <= TARGET_OPEN_S
        out.append(f"  {kind} 1M: open from snapshot ≤ {TARGET_OPEN_S:.0f} s {_pf(ok)}")
        base = results.get((kind, 10_000))
        if base is not None:
            ratio = top["open"] / base["open"]
            out.append(f"  {kind} 1M: open {ratio:.1f}× the 10k one (≤ 3×) {_pf(ratio <= 3)}")
        if kind == "postgresql":
            ok = top["proof_median"] <= TARGET_PROOF_MS
            out.append(f"  postgresql 1M: proofs ≤ {TARGET_PROOF_MS} ms median {_pf(ok)}")
    return out


def load() -> str:
    """The 1, 5 and 15-minute load averages (other helpers share the cores)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", default="10000,100000,1000000")
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--append", type=int, default=20_000, help="statements appended per run")
    ap.add_argument(
        "--no-gc-tuning",
        action="store_true",
        help="leave the collector at CPython's defaults (before/after comparisons; the server "
        "tunes it: verifier/cli/runtime.py)",
    )
    ap.add_argument("--proofs", type=int, default=1000, help="proofs of each kind per run")
    ap.add_argument("--targets", type=int, default=50, help="ids of each kind traced")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of traces")
    ap.add_argument("--no-incremental", action="store_true", help="skip re-verification")
    args = ap.parse_args()
    scales = [int(x) for x in args.entries.split(",")]
    kinds = args.dbs.split(",")
    P.banner("Gongxin at scale: SQLite and PostgreSQL")
    print(P.machine_line())
    print(f"  code: {P.code_fingerprint()}; load average {load()}")
    raw = P.measure_raw(repeats=3)
    print(
        f"  raw Ed25519: {raw.ed25519_1:,.0f}/s on 1 core, {raw.ed25519_n:,.0f}/s on "
        f"{raw.workers} processes"
    )
    rows, notes = list(HEADER), []
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="gongxin-scale-") as tmp:
        pg_ctx = pg_server() if "postgresql" in kinds else None
        pg = pg_ctx.__enter__() if pg_ctx is not None else None
        try:
            for n in scales:
                source = fixtures.ensure_demo_db(cache_path(n), n)
                inc_cell = "not measured"
                if not args.no_incremental:
                    print(f"  incremental re-verification at {n:,} …", flush=True)
                    res: dict[str, Any] = parts.measure_incremental(source, P.Adjacent())
                    inc_cell = parts.incremental_cell(res)
                for kind in kinds:
                    print(f"  {kind}, {n:,} entries (load {load()}):", flush=True)
                    with database(kind, source, Path(tmp), pg) as (url, loaded):
                        line, results[kind, n] = run_one(kind, n, url, loaded, args, inc_cell)
                    rows.append(line)
                    notes.append(f"  load average after {kind} {n:,}: {load()}")
        finally:
            if pg_ctx is not None:
                pg_ctx.__exit__(None, None, None)
    P.banner("results")
    print("\n".join(rows))
    print("\n".join(notes))
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    main()
