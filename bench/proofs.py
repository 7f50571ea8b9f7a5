"""Inclusion- and consistency-proof latency through ``Ledger.inclusion_proof`` /
``Ledger.consistency_proof`` on a log of 1,000,000 entries.

What it measures: ``--requests`` (default 1,000) random requests of each kind, repeated
``--rounds`` times, each request timed alone (one ``engine.connect()``, one SELECT of
O(log n) Merkle nodes, O(log n) hashing) on the cached demo log (``--db``, default
/tmp/gongxin-bench/1m.db, built with ``build_demo`` if missing; ``--quick`` = 100k):

- inclusion of a random entry in the current tree, and in a random earlier tree;
- consistency from a random earlier size to the current tree, and between two random sizes.

Reported: median, p90, p99 and max per kind (median over rounds of each statistic), next to
the raw primitives measured in the same run: the same node lookup done with plain ``sqlite3``
(one ``SELECT ... WHERE (level, idx) IN (VALUES ...)`` on a kept-open connection) and the
SHA-256 node-hash rate; ratios are proof latency / raw lookup latency. ``Ledger.open`` time
is reported too (read-only ``replay=False`` where the library has it, else a full replay;
``--replay`` forces the replay). A sample of proofs is checked with
``verifier.core.merkle.verify_inclusion`` / ``verify_consistency`` (not timed).

On PostgreSQL (``--url`` of a copy of ``--db``, e.g. made with ``ledger.backup.restore``; or
``--pg``: a private server started as the tests do, ``--db`` restored into it — minutes at
1M) the same requests are timed there, every sampled proof must equal the SQLite log's, and a
third raw primitive is measured: the same nodes fetched with plain psycopg on a kept-open
autocommit connection (the library's query, prepared): one round trip.

Target: median latency <= 1 ms (issue 14: on PostgreSQL too).

Run::

    . .venv/bin/activate
    python bench/proofs.py --db /tmp/gongxin-bench/1m.db     # or --quick
    python bench/proofs.py --quick --pg                      # the same log on PostgreSQL
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import fixtures
import primitives as P

from ledger import proofs
from ledger.backup import restore
from ledger.log import Ledger
from ledger.store.pg_nodes import NODES_SQL
from verifier.core import merkle

TARGET_MEDIAN_S = 1e-3
T = TypeVar("T")
Args = list[tuple[int, int]]
Nodes = Callable[[tuple[int, int]], list[tuple[int, int]]]


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "p90": P.pct(samples, 0.90),
        "p99": P.pct(samples, 0.99),
        "max": max(samples),
    }


def _time_each(
    fn: Callable[[T], object], args: list[T], budget: float = 1e9, min_n: int = 20
) -> list[float]:
    """Time ``fn(a)`` for each ``a``; stop early (after at least ``min_n``) once ``budget`` seconds
    have been spent, so that a pathologically slow path cannot stall the suite."""
    out: list[float] = []
    pc = time.perf_counter
    spent = 0.0
    for a in args:
        t0 = pc()
        fn(a)
        dt = pc() - t0
        out.append(dt)
        spent += dt
        if spent > budget and len(out) >= min_n:
            break
    return out


def _raw_lookups(
    db: Path,
) -> tuple[sqlite3.Connection, dict[str, Callable[[list[tuple[int, int]]], int]]]:
    """The raw primitive: fetch a set of (level, idx) node hashes with plain sqlite3, on a
    kept-open connection, in two ways:

    - ``indexed``: ``(level=? AND idx=?) OR ...`` — SQLite plans one primary-key search per
      node (MULTI-INDEX OR): what the database can do;
    - ``row-value IN``: ``(level, idx) IN (VALUES (?,?), ...)`` — the SQL that SQLAlchemy's
      ``tuple_(level, idx).in_(keys)`` compiles to on SQLite, which the library used before
      57dc372; SQLite answers it with a full table scan (kept to show that cost).
    """
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)

    def indexed(keys: list[tuple[int, int]]) -> int:
        where = " OR ".join(["(level=? AND idx=?)"] * len(keys))
        flat = [x for k in keys for x in k]
        sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}"
        return len(conn.execute(sql, flat).fetchall())

    def row_in(keys: list[tuple[int, int]]) -> int:
        values = ",".join(["(?,?)"] * len(keys))
        flat = [x for k in keys for x in k]
        sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE (level, idx) IN (VALUES {values})"
        return len(conn.execute(sql, flat).fetchall())

    return conn, {"indexed": indexed, "row-value IN": row_in}


def _raw_pg(url: str) -> tuple[Any, Callable[[list[tuple[int, int]]], int]]:
    """The raw PostgreSQL primitive: the library's node query (:data:`NODES_SQL`) with plain
    psycopg on a kept-open autocommit connection, prepared on the server: one round trip."""
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

    def lookup(keys: list[tuple[int, int]]) -> int:
        params = ([k[0] for k in keys], [k[1] for k in keys])
        return len(conn.execute(NODES_SQL, params, prepare=True).fetchall())

    return conn, lookup


@contextlib.contextmanager
def _private_pg(db: Path) -> Iterator[str]:
    """URL of a private PostgreSQL server's copy of ``db`` (``ledger.backup.restore``)."""
    from tests.pg_server import pg_server

    with pg_server() as pg:
        url = pg.create_database("proofs")
        t0 = time.perf_counter()
        restore(db, url)
        print(f"  restored {db.name} into PostgreSQL in {time.perf_counter() - t0:.0f} s")
        yield url


def query_plans(db: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of both raw lookups for two nodes."""
    out = []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        for sql in (
            "SELECT hash FROM merkle_nodes WHERE (level=? AND idx=?) OR (level=? AND idx=?)",
            "SELECT hash FROM merkle_nodes WHERE (level, idx) IN (VALUES (?,?),(?,?))",
        ):
            plan = c.execute("EXPLAIN QUERY PLAN " + sql, (0, 1, 1, 0)).fetchall()
            where = sql.split("WHERE ")[1]
            out.append(f"{where:<45} -> {'; '.join(str(r[3]) for r in plan)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=None, help="demo log (built if absent)")
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="--entries 100000")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261122, help="seed of the random requests")
    ap.add_argument(
        "--replay", action="store_true", help="open with a full replay (as an appender does)"
    )
    ap.add_argument("--url", help="measure this copy of --db (e.g. on PostgreSQL) instead")
    ap.add_argument(
        "--pg", action="store_true", help="restore --db into a private PostgreSQL server first"
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=20.0,
        help="max seconds per kind and round (fewer requests are timed if proofs are slow)",
    )
    args = ap.parse_args()
    if args.quick:
        args.entries = 100_000
    db = args.db or fixtures.CACHE_DIR / (
        "1m.db" if args.entries == 1_000_000 else f"{args.entries}.db"
    )

    P.banner("proofs: setup")
    print(f"  {P.machine_line()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  code: {P.code_fingerprint()}")
    fixtures.ensure_demo_db(db, args.entries)
    if args.pg:
        with _private_pg(db) as url:
            run(args, db, url)
    else:
        run(args, db, args.url)


def run(args: argparse.Namespace, db: Path, url: str | None) -> None:
    """Time the proofs of the log at ``url`` (default: the SQLite file ``db``)."""
    t0 = time.perf_counter()
    if url is not None:
        ledger, replayed = Ledger.open(url, replay=False), False
    elif args.replay:
        ledger, replayed = fixtures.open_ledger(db), True
    else:
        ledger, replayed = fixtures.open_reader(db)
    t_open = time.perf_counter() - t0
    n = ledger.size
    how = "replaying every entry" if replayed else "read-only, replay=False"
    where = "SQLite" if url is None else url.split(":", 1)[0].split("+")[0]
    print(f"  Ledger.open on {where} ({how}): {n:,} entries in {t_open:.2f} s")
    rng = random.Random(args.seed)
    raw_conn, raw_fetch = _raw_lookups(db)
    pg_conn = None
    if url is not None and url.startswith("postgresql"):
        pg_conn, raw_fetch["psycopg"] = _raw_pg(url)
    for line in query_plans(db):
        print(f"  plan: {line}")

    def incl_args() -> list[tuple[int, int]]:
        return [(rng.randrange(n), n) for _ in range(args.requests)]

    def incl_hist_args() -> list[tuple[int, int]]:
        out = []
        for _ in range(args.requests):
            size = rng.randint(1, n)
            out.append((rng.randrange(size), size))
        return out

    def cons_args() -> list[tuple[int, int]]:
        return [(rng.randint(1, n), n) for _ in range(args.requests)]

    def cons_pair_args() -> list[tuple[int, int]]:
        out = []
        for _ in range(args.requests):
            a, b = rng.randint(1, n), rng.randint(1, n)
            out.append((min(a, b), max(a, b)))
        return out

    def incl_nodes(a: tuple[int, int]) -> list[tuple[int, int]]:
        i, size = a
        ranges = proofs.inclusion_ranges(i, size)
        return proofs.nodes_needed([*ranges, (0, size)]) + proofs.peak_nodes(size)

    def cons_nodes(a: tuple[int, int]) -> list[tuple[int, int]]:
        s1, s2 = a
        ranges = proofs.consistency_ranges(s1, s2)
        return list({*proofs.nodes_needed(ranges), *proofs.peak_nodes(s1), *proofs.peak_nodes(s2)})

    kinds: list[tuple[str, Callable[[], Args], Callable[[tuple[int, int]], object], Nodes]] = [
        (
            "inclusion (current tree)",
            incl_args,
            lambda a: ledger.inclusion_proof(a[0], a[1]),
            incl_nodes,
        ),
        (
            "inclusion (earlier tree)",
            incl_hist_args,
            lambda a: ledger.inclusion_proof(a[0], a[1]),
            incl_nodes,
        ),
        (
            "consistency (to current)",
            cons_args,
            lambda a: ledger.consistency_proof(a[0], a[1]),
            cons_nodes,
        ),
        (
            "consistency (two sizes)",
            cons_pair_args,
            lambda a: ledger.consistency_proof(a[0], a[1]),
            cons_nodes,
        ),
    ]

    # Correctness sample (not timed): proofs must verify against the stored hashes, and a
    # copy's proofs must equal the SQLite log's.
    lite = fixtures.open_reader(db)[0] if url is not None else ledger
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        for i, size in incl_hist_args()[:50]:
            leaf = bytes(c.execute("SELECT leaf_hash FROM entries WHERE idx=?", (i,)).fetchone()[0])
            p = ledger.inclusion_proof(i, size)
            merkle.verify_inclusion(leaf, i, size, p.path, p.root)
            assert p == lite.inclusion_proof(i, size)
        for s1, s2 in cons_pair_args()[:50]:
            cp = ledger.consistency_proof(s1, s2)
            merkle.verify_consistency(s1, s2, cp.path, cp.root1, cp.root2)
            assert cp == lite.consistency_proof(s1, s2)
    if lite is not ledger:
        lite.close()
    same = "; equal to the SQLite log's" if url is not None else ""
    print(f"  correctness: 50 inclusion + 50 consistency proofs verified{same}")

    # Warm up (page cache, SQLAlchemy statement cache).
    for _, gen, fn, _nodes in kinds:
        _time_each(fn, gen()[:100], args.budget / 10)

    sha = P.sha256_leaf_rate(P.make_samples(32).lines, 100_000)
    results: dict[str, list[dict[str, float]]] = {k[0]: [] for k in kinds}
    raw: dict[str, dict[str, list[dict[str, float]]]] = {
        k[0]: {how: [] for how in raw_fetch} for k in kinds
    }
    lens: dict[str, list[int]] = {k[0]: [] for k in kinds}
    counts: dict[str, list[int]] = {k[0]: [] for k in kinds}
    for r in range(args.rounds):
        for name, gen, fn, nodes in kinds:
            reqs = gen()
            samples = _time_each(fn, reqs, args.budget)
            counts[name].append(len(samples))
            results[name].append(_stats(samples))
            reqs = reqs[: len(samples)]
            keysets = [nodes(a) for a in reqs]
            lens[name].extend(len(k) for k in keysets)
            for how, fetch in raw_fetch.items():
                if how != "row-value IN":
                    samples = _time_each(fetch, keysets, args.budget)
                else:  # the full-scan query: a few samples suffice
                    samples = _time_each(fetch, keysets, args.budget / 10, min_n=5)
                raw[name][how].append(_stats(samples))
        print(f"    round {r + 1}/{args.rounds} done", flush=True)
    raw_conn.close()
    if pg_conn is not None:
        pg_conn.close()
    ledger.close()

    P.banner(f"proofs on {where}: {n:,} entries, {args.requests:,} requests x {args.rounds} rounds")
    base = "psycopg" if "psycopg" in raw_fetch else "indexed"
    print(
        f"  raw SHA-256 node/leaf hash: {sha:,.0f}/s ({1e6 / sha:.2f} µs); "
        "raw = the same nodes fetched with plain sqlite3 (median ms)"
        + (" or plain psycopg (raw pg)" if base == "psycopg" else "")
        + f"; ratio = proof / raw {base}"
    )
    rows = []
    for name, *_ in kinds:
        m = {k: statistics.median(s[k] for s in results[name]) for k in results[name][0]}
        ri = statistics.median(s["median"] for s in raw[name]["indexed"])
        rl = statistics.median(s["median"] for s in raw[name]["row-value IN"])
        rb = statistics.median(s["median"] for s in raw[name][base])
        rp = f"{rb * 1e3:.3f}" if base == "psycopg" else "-"
        rows.append(
            (
                name,
                f"{m['median'] * 1e3:.3f}",
                f"{m['p90'] * 1e3:.3f}",
                f"{m['p99'] * 1e3:.3f}",
                f"{m['max'] * 1e3:.2f}",
                f"{statistics.mean(lens[name]):.0f}",
                "+".join(str(c) for c in counts[name]),
                f"{ri * 1e3:.3f}",
                f"{rl * 1e3:.3f}",
                rp,
                f"{m['median'] / rb:.1f}x",
                "PASS" if m["median"] <= TARGET_MEDIAN_S else "FAIL",
            )
        )
    P.table(
        rows,
        header=(
            "proof (ms)",
            "median",
            "p90",
            "p99",
            "max",
            "nodes",
            "timed",
            "raw indexed",
            "raw row-IN",
            "raw pg",
            "ratio",
            "≤1ms",
        ),
    )
    print(f"  peak RSS of this process: {P.peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
