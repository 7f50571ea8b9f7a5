"""Trace latency from the ``postings`` index (``gongxin trace``, the API's trace views) at
10k, 100k and 1M entries, on SQLite and PostgreSQL.

For every scale N:

1. **Index.** The seed-1 demo log of N entries (cached by ``fixtures.ensure_demo_db``) is
   copied once to ``trace-N.db`` beside it, and its postings index is completed there by
   :func:`ledger.postings.backfill` — the one-time replay an upgraded database pays (timed,
   reported, not a target). The cached demo log itself is only read.
2. **Load.** SQLite: that file, opened read-only (``replay=False``). PostgreSQL: a fresh
   database of a throw-away server (``tests.pg_server``) created at the current schema, with
   the ledger tables and the index bulk-copied into it (``COPY``; a restore would replay).
3. **Trace.** Up to ``--targets`` random ids of each kind that the log has — funds,
   contracts, payments, providers, residents — each traced ``--rounds`` times, each call timed
   alone: ``trace_ledger`` (what ``gongxin trace --json`` runs: the indexed postings, their
   context, the entry lines, signers' titles, the summary) for funds, contracts, payments and
   residents; for providers the API's path (``trace_postings`` + ``assemble_trace``).
   Reported: median, p99 and max per kind and overall, and the mean entries per trace.
   Target: ≤ 50 ms at 1M (the issue says: on both databases).

Every figure is printed beside the raw pynacl Ed25519 verification of the same run (1 core,
measured just before and after the traces): "≈ k verifies" is the trace's median expressed in
single-signature verifications on this machine.

Run::

    . .venv/bin/activate
    python bench/trace.py                                  # 10k,100k,1M × sqlite,postgresql
    python bench/trace.py --entries 10000,100000 --dbs sqlite
    GONGXIN_BENCH_CACHE=/tmp/my-copies python bench/trace.py   # other cached demo logs
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import fixtures
import primitives as P

from ledger.log import Ledger
from ledger.postings import backfill, trace_postings
from ledger.store import engine as storage
from ledger.store import migrate, schema
from ledger.trace import assemble_trace, trace_ledger
from tests.pg_server import PgServer, pg_server

TARGET_MS = 50.0
KINDS = ("fund", "contract", "payment", "provider", "resident")
#: Tables a trace reads (and the tree peaks an open reads), copied into PostgreSQL.
COPIED = ("meta", "checkpoints", "merkle_nodes", "entries", "postings", "postings_progress")


def cache_path(n: int) -> Path:
    return fixtures.CACHE_DIR / ("1m.db" if n == 1_000_000 else f"{n}.db")


def indexed_copy(n: int) -> tuple[Path, float]:
    """(the demo log of ``n`` entries with a complete postings index, seconds spent
    back-filling now — 0 if the copy was ready)."""
    source = fixtures.ensure_demo_db(cache_path(n), n)
    path = fixtures.CACHE_DIR / f"trace-{n}.db"
    if not path.exists():
        fixtures.copy_db(source, path.with_suffix(".partial"))
        migrate.upgrade(fixtures.url_of(path.with_suffix(".partial")))
        path.with_suffix(".partial").rename(path)
    t0 = time.perf_counter()
    with Ledger.open(fixtures.url_of(path), create=False, replay=False) as ledger:
        done = backfill(ledger.store, progress=_progress)
    took = time.perf_counter() - t0
    if done:
        print(f"    back-filled the index of {done:,} entries in {took:,.1f} s", flush=True)
    fixtures.checkpoint_wal(path)
    return path, took if done else 0.0


def _progress(done: int, total: int) -> None:
    if done % 100_000 < 10_000:
        print(f"      … {done:,} / {total:,}", flush=True)


def copy_to_postgresql(source: Path, pg: PgServer) -> tuple[str, float]:
    """(url, seconds) of a fresh PostgreSQL database holding ``source``'s tables."""
    t0 = time.perf_counter()
    url = pg.create_database(f"trace_{source.stem.replace('-', '_')}_{int(t0) % 10**6}")
    engine = storage.open_engine(url)
    migrate.create_schema(engine)
    lite = storage.open_engine(fixtures.url_of(source))
    try:
        with lite.connect() as src, engine.connect() as dst:
            raw = dst.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cur:
                for name in COPIED:
                    table = schema.metadata.tables[name]
                    cols = ", ".join(c.name for c in table.c)
                    rows = src.exec_driver_sql(f"SELECT {cols} FROM {name}")
                    with cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(
                                [bytes(v) if isinstance(v, memoryview) else v for v in row]
                            )
                cur.execute("ANALYZE")
            raw.commit()
    finally:
        lite.dispose()
        engine.dispose()
    return url, time.perf_counter() - t0


def pick_targets(ledger: Ledger, count: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    out: dict[str, list[str]] = {}
    with ledger.engine.connect() as conn:
        for kind in KINDS:
            ids = sorted(
                r[0]
                for r in conn.exec_driver_sql(
                    f"SELECT DISTINCT {kind} FROM postings WHERE {kind} IS NOT NULL"
                )
            )
            out[kind] = rng.sample(ids, min(count, len(ids)))
    return out


def tracer_of(ledger: Ledger, kind: str) -> Callable[[str], int]:
    """One trace of ``kind`` as the product runs it; returns its number of entries."""
    if kind != "provider":
        return lambda ident: len(trace_ledger(ledger, kind, ident).entries)

    def api_provider(ident: str) -> int:  # api/routes_domain.py's trace view
        size = ledger.size
        with ledger.engine.connect() as conn:
            postings, own = trace_postings(conn, kind, ident, size)
            result = assemble_trace(ledger, kind, ident, size, postings, own, conn=conn)
        return len(result.entries)

    return api_provider


def run_traces(
    ledger: Ledger, targets: dict[str, list[str]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    sizes: dict[str, list[int]] = {k: [] for k in KINDS}
    for kind in KINDS:  # warm-up: page cache, statement caches
        fn = tracer_of(ledger, kind)
        for ident in targets[kind][:10]:
            fn(ident)
    for _ in range(rounds):
        for kind in KINDS:
            fn = tracer_of(ledger, kind)
            for ident in targets[kind]:
                t0 = time.perf_counter()
                k = fn(ident)
                times[kind].append((time.perf_counter() - t0) * 1000)
                sizes[kind].append(k)
    return times, sizes


@contextmanager
def opened(kind: str, path: Path, pg: PgServer | None) -> Iterator[tuple[Ledger, float]]:
    if kind == "sqlite":
        url, loaded = fixtures.url_of(path), 0.0
    else:
        assert pg is not None
        url, loaded = copy_to_postgresql(path, pg)
    with Ledger.open(url, create=False, replay=False) as ledger:
        yield ledger, loaded


def report(
    kind: str,
    n: int,
    times: dict[str, list[float]],
    sizes: dict[str, list[int]],
    verify_us: float,
) -> list[str]:
    rows = []
    every = [t for k in KINDS for t in times[k]]
    for label, samples, ks in [
        *((k, times[k], sizes[k]) for k in KINDS),
        ("all", every, [s for k in KINDS for s in sizes[k]]),
    ]:
        if not samples:
            continue
        med = statistics.median(samples)
        rows.append(
            f"| {kind} | {n:,} | {label} | {len(samples):,} | {statistics.mean(ks):.1f} | "
            f"{med:.2f} ms | {P.pct(samples, 0.99):.2f} ms | {max(samples):.2f} ms | "
            f"≈ {med * 1000 / verify_us:.0f} verifies | "
            f"{'PASS' if P.pct(samples, 0.99) <= TARGET_MS else 'FAIL'} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", default="10000,100000,1000000")
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--targets", type=int, default=200, help="ids of each kind traced")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    scales = [int(x) for x in args.entries.split(",")]
    kinds = args.dbs.split(",")
    P.banner("trace latency from the postings index")
    print(f"  {P.machine_line()}")
    print(f"  code: {P.code_fingerprint()}")
    adjacent = P.Adjacent()
    rows = [
        "| db | entries | target | traces | entries per trace | median | p99 | max | "
        "median in raw Ed25519 verifies (1 core) | p99 ≤ 50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    pg_ctx = pg_server() if "postgresql" in kinds else None
    pg = pg_ctx.__enter__() if pg_ctx is not None else None
    try:
        for n in scales:
            path, took = indexed_copy(n)
            if took:
                notes.append(f"  one-time back-fill of the index at {n:,}: {took:,.1f} s")
            for kind in kinds:
                with opened(kind, path, pg) as (ledger, loaded):
                    if loaded:
                        notes.append(f"  {kind} load of {n:,} (COPY): {loaded:,.1f} s")
                    targets = pick_targets(ledger, args.targets, seed=20261204 + n)
                    (times, sizes), one, _ = adjacent.around(
                        partial(run_traces, ledger, targets, args.rounds)
                    )
                    verify_us = 1e6 / one
                    notes.append(
                        f"  raw Ed25519 around {kind} {n:,}: {one:,.0f}/s on 1 core "
                        f"({verify_us:.0f} µs per verify)"
                    )
                    lines = report(kind, n, times, sizes, verify_us)
                    print("\n".join("    " + line for line in lines), flush=True)
                    rows += lines
    finally:
        if pg_ctx is not None:
            pg_ctx.__exit__(None, None, None)
    P.banner("results")
    print("\n".join(rows))
    print("\n".join(notes))
    print(f"  target: p99 ≤ {TARGET_MS:.0f} ms per trace at 1M, SQLite and PostgreSQL")


if __name__ == "__main__":
    main()
