"""Write latency when server workers contend for the database's write lock (issue 13).

``gongxin serve --workers 2`` started on one CPU core and kept there (as ``bench/hostile.py``
does; the writers run on the other cores), a 2,000-entry demo log on SQLite, and
``--clients`` closed-loop writers (each sends its next
``fund.appropriate`` as soon as the previous one is answered) for ``--seconds`` after one
second of warm-up. Every write is a 201. Prints writes/s, p50/p90/p99/max latency, and the
raw 1-core Ed25519 rate measured around each run (the machine swings 2×).

What it shows: each worker appends in its own transaction, so the two take turns on SQLite's
write lock. With SQLite's own busy handler (sleeps of 1, 2, 5, … up to 100 ms between tries)
a worker could lose every try while the other kept writing: worst write 1.0–1.7 s. The
ledger polls for the lock every 0.1–1 ms instead (``ledger/store/engine.py``
``_begin_immediate``; docs/PERFORMANCE.md "Issue 13: workers taking turns").

Run::

    . .venv/bin/activate
    python bench/worker_contention.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
import primitives as P
from hostile_server import pin_for_start, split_cores

from tests.api_server import appropriations, demo_template, live_server

JSON = {"content-type": "application/json"}


def one_run(work: Path, run: int, clients: int, seconds: float) -> list[float]:
    """Latencies (s) of the writes answered after the warm-up second of one run."""
    template = demo_template(work / "template", entries=2000)
    bodies = appropriations(template, f"F-CONTEND-{run}-{time.time_ns()}", clients * 4000)
    latencies: list[float] = []
    lock = threading.Lock()
    cpus = pin_for_start()
    with live_server(template, work / f"run{run}", "--workers", "2") as server:
        where = split_cores(server.process.pid, cpus)
        start = time.monotonic() + 1.0
        end = start + seconds

        def client(k: int) -> None:
            mine = bodies[k::clients]
            with httpx.Client(base_url=server.url, timeout=60) as c:
                for body in mine:
                    t0 = time.monotonic()
                    if t0 >= end:
                        return
                    r = c.post("/v1/statements", content=body, headers=JSON)
                    if r.status_code != 201:
                        raise RuntimeError(f"write answered {r.status_code}: {r.text[:200]}")
                    if t0 >= start:
                        with lock:
                            latencies.append(time.monotonic() - t0)

        print(f"  {where}")
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    os.sched_setaffinity(0, set(cpus))
    return sorted(latencies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=8, help="closed-loop writers")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    args = ap.parse_args()
    adjacent = P.Adjacent()
    print(f"== {args.clients} closed-loop writers against gongxin serve --workers 2 on one core ==")
    with tempfile.TemporaryDirectory(prefix="gongxin-contend-") as tmp:
        for run in range(args.runs):
            lat, raw1, _ = adjacent.around(
                lambda run=run: one_run(Path(tmp), run, args.clients, args.seconds)
            )

            def q(p: float, lat: list[float] = lat) -> float:
                return 1000 * lat[int(p * (len(lat) - 1))]

            print(
                f"  run {run + 1}: {len(lat) / args.seconds:,.0f} writes/s, p50 {q(0.5):.1f}, "
                f"p90 {q(0.9):.1f}, p99 {q(0.99):.1f}, max {1000 * lat[-1]:.1f} ms "
                f"(raw Ed25519 1 core around it: {raw1:,.0f}/s)"
            )


if __name__ == "__main__":
    main()
