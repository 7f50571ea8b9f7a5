"""Tiles served per second by ``gongxin serve`` (C2SP tlog-tiles, FORMAT.md §13).

What it measures: one ``gongxin serve`` (one uvicorn worker) on 127.0.0.1 over a demo log
(``--entries``, default 100,000; cached in ``$GONGXIN_BENCH_CACHE``), then ``--rounds`` passes
of GET requests over every full hash tile (level 0 and 1) and every full entry bundle, from
one keep-alive ``httpx.Client`` and from ``--threads`` clients at once. Reported: requests/s
and MB/s per kind, beside the raw one-core Ed25519 verification rate measured in the same run
(``bench/primitives.py``). A reader check (``TileReader``) first proves the tiles are right.

Run::

    . .venv/bin/activate
    python bench/tiles.py [--entries 100000] [--rounds 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import primitives as P

from tests.api_server import demo_template, live_server
from tests.test_tiles_serving import read_all
from verifier.tiles.paths import changed_tiles

CACHE = Path(os.environ.get("GONGXIN_BENCH_CACHE", "/tmp/gongxin-bench"))


def _pass(url: str, paths: list[str], threads: int) -> float:
    """GET every path once, split over ``threads`` clients; returns requests per second."""

    def run(chunk: list[str]) -> int:
        with httpx.Client(base_url=url, timeout=30) as client:
            for p in chunk:
                r = client.get("/" + p)
                r.raise_for_status()
        return len(chunk)

    chunks = [paths[i::threads] for i in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(run, chunks))
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    P.banner(f"Tiles served per second, demo log of {args.entries:,} entries")
    print(P.machine_line())
    template = demo_template(CACHE / f"tiles-{args.entries}", args.entries)
    with live_server(template, CACHE / f"tiles-{args.entries}-serve", startup_timeout=300) as s:
        t0 = time.perf_counter()
        size, _ = read_all(s.url, template.log_vkey)
        print(f"  whole log read through authenticated tiles: {time.perf_counter() - t0:.2f} s")
        full = [t for t in changed_tiles(0, size) if not t.partial]
        kinds = {
            "hash tiles (8 KiB)": [t.path for t in full],
            "entry bundles": [t.bundle().path for t in full if t.level == 0],
        }
        rows = []
        for name, paths in kinds.items():
            for threads in (1, args.threads):
                rates = [_pass(s.url, paths, threads) for _ in range(args.rounds)]
                rows.append((name, threads, len(paths), f"{statistics.median(rates):,.0f} /s"))
    raw = P.measure_raw(repeats=3, verbose=False)
    P.table(rows, ["kind", "clients", "tiles per pass", "served (median)"])
    print(f"  raw Ed25519 verify, 1 core: {raw.ed25519_1:,.0f} /s")


if __name__ == "__main__":
    main()
