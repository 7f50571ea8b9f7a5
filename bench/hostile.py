"""Hostile load: do attacking clients hurt honest ones? (issue 13)

What it does: a copy of a demo log (``--entries``, default 20,000) is served by a real
``gongxin serve --workers 2`` on 127.0.0.1, with its own temp directory (``TMPDIR``) so the
server's temp disk can be measured. Two phases with the same honest work, alternated
``--rounds`` times (default 2) with each condition's samples pooled — with a single round the
attacked phase always came second, and with no attackers at all (``--attacks none``, the
bench's own noise floor) the second phase measured 1.5–1.6× the first:

1. **unattacked** — ``--honest`` clients each POST ``--writes`` single statements (pre-signed
   ``fund.appropriate``), ``--rate`` a second together (default 100, open loop: each write is
   due on a schedule and its latency counts from then; ``--rate 0`` is the closed loop of
   earlier runs, every client writing as fast as it is answered, which saturates the one
   server core — ~400/s — so that any attack CPU shows up one for one), a prober GETs ``/healthz`` every 50 ms, and a resident looks up
   their balance with the right code from a *fresh* source address (127.0.2.x) every second;
2. **attacked** — the same, while attackers run until the honest writers finish:
   deep JSON (a body nested 1,000 levels, single and in batches), oversize bodies (9 MiB
   against the 8 MiB limit), bad signatures (a valid statement with one signature bit
   flipped), wrong look-up codes (a real code's characters shuffled: well-formed, so each
   costs a key derivation) from 200 source addresses 127.1.0.1 … (Linux lets a client bind
   any 127/8 address), and an export storm (``--exports`` concurrent full downloads, over
   and over).

Printed side by side: honest write success rate and p50/p99 (unattacked vs attacked, and
their ratio), /healthz p99, the fresh-address resident's look-up p99 and status, 5xx counts
(honest, attackers; export-cap 503s with ``Retry-After`` shown apart), what each attack got
back, the server's RSS (both workers) and temp disk before, at peak and after, and the raw
Ed25519 verify rate measured just before and after each phase (bench/primitives.py), so the
figures can be read against how busy this 2-core machine was. Only loopback addresses are
contacted; every loop is bounded by the honest writers' end and ``--max-seconds``.

Run::

    . .venv/bin/activate
    python bench/hostile.py                       # a few minutes, demo log built once
    python bench/hostile.py --entries 100000 --exports 20 --writes 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import tempfile
import time
from pathlib import Path

import primitives as P
from hostile_clients import PROGRAMME, run_phase
from hostile_report import Phase, ms, print_phase_resources, report
from hostile_server import Gauge, disk_mb, pin_for_start, server_rss_mb, split_cores

from tests.api_server import appropriations, demo_template, live_server

# --------------------------------------------------------------------------- report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=20_000, help="demo log size served")
    ap.add_argument("--honest", type=int, default=4, help="honest writing clients")
    ap.add_argument("--writes", type=int, default=300, help="single writes per honest client")
    ap.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="honest writes a second, all clients together, each due on schedule (open loop; "
        "latency from when it was due); 0: closed loop, every client as fast as it is "
        "answered (a saturation test: then any attack CPU shows up one for one)",
    )
    ap.add_argument("--attackers", type=int, default=2, help="clients per body attack")
    ap.add_argument("--exports", type=int, default=8, help="concurrent export downloads")
    ap.add_argument(
        "--attacks",
        default="deep,bad,oversize,codes,exports",
        help="which attacks (comma-separated): deep, bad, oversize, codes, exports",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--attacker-nice",
        type=int,
        default=19,
        help="CPU niceness of the attacking clients' process (0: as the server, as before)",
    )
    ap.add_argument(
        "--shared-cores",
        action="store_true",
        help="let server and clients share every CPU (before: attackers' client work took"
        " the server's CPU)",
    )
    ap.add_argument("--max-seconds", type=float, default=240, help="bound on each phase")
    ap.add_argument(
        "--serve-args",
        default="",
        help="more gongxin serve options, e.g. '--refusal-delay 0' (before/after comparisons)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternate unattacked and attacked phases this many times, pooling each"
        " condition's samples (one round compares a later phase with an earlier one)",
    )
    ap.add_argument("--cache", type=Path, default=Path("/tmp/gongxin-bench/hostile"))
    args = ap.parse_args()

    P.banner(f"Hostile load against gongxin serve --workers {args.workers}")
    print(P.machine_line())
    args.cache.mkdir(parents=True, exist_ok=True)
    template = demo_template(args.cache, args.entries)
    adjacent = P.Adjacent()
    with tempfile.TemporaryDirectory() as tmp:
        server_tmp = Path(tmp) / "server-tmp"
        server_tmp.mkdir()
        saved = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(server_tmp)  # the server inherits it
        cpus = [] if args.shared_cores else pin_for_start()
        try:
            srv_cm = live_server(
                template,
                Path(tmp) / "srv",
                "--workers",
                str(args.workers),
                *shlex.split(args.serve_args),
                startup_timeout=180,
            )
            srv = srv_cm.__enter__()
        finally:
            if saved is None:
                os.environ.pop("TMPDIR")
            else:
                os.environ["TMPDIR"] = saved
        try:
            pid = srv.process.pid
            if not args.shared_cores:
                print("  " + split_cores(pid, cpus))
            results: dict[str, tuple[Phase, float, float, float, float, float]] = {}
            per_round: list[str] = []
            for rnd, name in enumerate(["unattacked", "attacked"] * args.rounds):
                items = appropriations(
                    template,
                    f"F-HOSTILE-{name}-{time.time_ns()}",
                    args.honest * args.writes,
                    programme=PROGRAMME,
                )
                work = [items[k :: args.honest] for k in range(args.honest)]
                rss0, disk0 = server_rss_mb(pid), disk_mb(server_tmp)
                gauge = Gauge(pid, server_tmp, rss0, disk0)
                print(
                    f"  {name}: {len(items)} honest writes …"
                    + (f" (attackers at nice {args.attacker_nice})" if name == "attacked" else ""),
                    flush=True,
                )
                ph, _one, raw = adjacent.around(
                    lambda work=work, gauge=gauge, a=(name == "attacked"): asyncio.run(
                        run_phase(srv.url, template, args, work, gauge, a)
                    )
                )
                time.sleep(2)
                per_round.append(f"{rnd // 2 + 1}:{name} {ms(ph.write_lat, 0.99)}")
                if name in results:  # a later round: pool its samples (module docstring)
                    results[name][0].merge(ph)
                    ph = results[name][0]
                results[name] = (ph, raw, rss0, gauge.rss_peak, server_rss_mb(pid), disk0)
                print_phase_resources(name, rss0, gauge, server_rss_mb(pid), disk_mb(server_tmp))
            report(results)
            print("  honest write p99 ms per round: " + ", ".join(per_round))
        finally:
            srv_cm.__exit__(None, None, None)


if __name__ == "__main__":
    main()
