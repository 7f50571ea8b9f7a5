"""Durable append on PostgreSQL, COPY (today's code) against INSERT (before), alternating.

A throw-away PostgreSQL server (``tests.pg_server``) receives a fresh copy of the cached 10k
demo log (``bench/scale.py``'s ``database``) for each run; 10,000 pre-signed demo statements
that follow it are appended with ``Ledger.append_batch`` in batches of 1,000 (only those calls
are timed, as in ``bench/append.py``). The "INSERT" runs raise
``ledger.store.sql._COPY_MIN_ROWS`` so that every row goes by ``executemany`` / multi-row
INSERT as before COPY was used. Each rate is printed beside the raw 2-process Ed25519 rate
measured just before and after it. Target (issue 14): >= 35 % of that rate.

Run::

    python bench/append_pg.py --repeats 3      # ~1 min of both cores
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from functools import partial
from pathlib import Path

import fixtures
import primitives as P
import scale
from append import _warm_pool

import ledger.store.sql as sql
from ledger.demo import DEMO_START, DemoClock, derive_keys
from ledger.log import Ledger
from tests.pg_server import pg_server

VARIANTS = (("INSERT (before)", 10**9), ("COPY", sql._COPY_MIN_ROWS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--small", type=int, default=10_000, help="entries in the base log")
    args = ap.parse_args()
    source = fixtures.ensure_demo_db(fixtures.CACHE_DIR / f"{args.small}.db", args.small)
    pre = fixtures.continuation(args.small, args.entries)
    key = derive_keys(fixtures.DEFAULT_SEED).log
    adjacent = P.Adjacent()
    results: dict[str, list[tuple[float, float]]] = {}
    with pg_server() as pg, tempfile.TemporaryDirectory() as work:
        for r in range(args.repeats):
            for name, copy_min in VARIANTS:
                sql._COPY_MIN_ROWS = copy_min
                with (
                    scale.database("postgresql", source, Path(work), pg) as (url, _),
                    Ledger.open(url, log_key=key, clock=DemoClock(DEMO_START)) as ledger,
                ):
                    _warm_pool(ledger, pre)
                    calls, _, raw = adjacent.around(
                        partial(fixtures.append_batches, ledger, pre, 0, args.entries, 1000)
                    )
                rate = sum(n for n, _ in calls) / sum(t for _, t in calls)
                results.setdefault(name, []).append((rate, raw))
                print(
                    f"  run {r + 1} {name:>15}: {rate:>7,.0f} entries/s; raw Ed25519 "
                    f"{adjacent.workers} procs around it {raw:,.0f}/s -> {100 * rate / raw:.1f} %",
                    flush=True,
                )
    sql._COPY_MIN_ROWS = VARIANTS[1][1]
    for name, runs in results.items():
        rate = statistics.median(x for x, _ in runs)
        share = statistics.median(x / y for x, y in runs)
        print(f"  {name:>15}: median {rate:,.0f} entries/s, {100 * share:.1f} % of raw 2 procs")


if __name__ == "__main__":
    main()
