"""HTTP append throughput and write-to-receipt latency through ``gongxin serve``.

What it measures: a copy of a demo log (``--entries``, default 10,000) is served by a real
``gongxin serve`` (uvicorn, one worker) on 127.0.0.1. Valid statements are pre-signed by the
demo's finance officer (``fund.appropriate`` with fresh fund ids, so every one is accepted
under the rulebook; not timed). Then several concurrent clients (one asyncio process,
``httpx``, one connection each) submit them:

1. **single** — ``--clients`` clients each POST one statement at a time to
   ``/v1/statements``;
2. **batch** — ``--clients`` clients each POST batches of ``--batch`` statements to
   ``/v1/statements/batch``.

Timed per request: from sending the submission to holding the receipt with its inclusion
proof (the server replies only after the group's transaction committed with fsync). Reported:
entries/s, requests/s, latency p50/p99, and the raw pynacl Ed25519 rate measured just before
and after each run on this machine (the clients share its 2 cores with the server).
At the end, a sample of receipts is checked against the log key (leaf, entry, proof,
signed checkpoint). Targets (issue 4): ≥ 3,000 entries/s in batches; p99 ≤ 300 ms.

Run::

    . .venv/bin/activate
    python bench/http_append.py                 # ~1 minute after the demo log is built
    python bench/http_append.py --runs 1x16,200x8 --entries 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import tempfile
import time
from pathlib import Path

import httpx
import primitives as P

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement
from tests.api_server import DemoTemplate, demo_template, live_server
from tests.receipt_check import check_receipt
from verifier.core.keys import parse_verifier_key

TARGET_BATCH_RATE = 3_000
TARGET_P99_MS = 300
JSON = {"content-type": "application/json"}


def presign(template: DemoTemplate, n: int, tag: str) -> list[tuple[str, bytes]]:
    """``n`` valid ``fund.appropriate`` submissions (statement id, canonical bytes)."""
    finance = template.signer("finance_officer")
    out = []
    for k in range(n):
        sub = sign_statement(
            "fund.appropriate",
            {
                "fund_id": f"F-BENCH-{tag}-{k}",
                "fiscal_year": 2026,
                "programme": "压力测试资金 benchmark fund",
                "source": "财政",
                "amount_fen": 1_000 + k,
            },
            finance,
            origin=DEMO_ORIGIN,
        )
        out.append((sub.statement.id, sub.canonical()))
    return out


async def run_clients(
    url: str, work: list[list[tuple[str, bytes]]], batch: bool
) -> tuple[float, list[float], list[tuple[str, dict]]]:
    """Each list in ``work`` is one client's requests (one item each, or a batch). Returns
    (wall seconds, per-request latencies in s, a sample of (statement id, receipt))."""
    latencies: list[float] = []
    sample: list[tuple[str, dict]] = []
    timings.clear()

    async def client(requests: list[list[tuple[str, bytes]]]) -> None:
        # TCP_NODELAY: httpx writes headers and body separately; without it Nagle's
        # algorithm and the server's delayed ACK add ~40 ms to every small request.
        transport = httpx.AsyncHTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        async with httpx.AsyncClient(base_url=url, timeout=120, transport=transport) as c:
            for items in requests:
                if batch:
                    body = b"[" + b",".join(data for _, data in items) + b"]"
                    t0 = time.perf_counter()
                    r = await c.post("/v1/statements/batch", content=body, headers=JSON)
                    latencies.append(time.perf_counter() - t0)
                    receipts = r.json()["receipts"] if r.status_code == 201 else None
                else:
                    t0 = time.perf_counter()
                    r = await c.post("/v1/statements", content=items[0][1], headers=JSON)
                    latencies.append(time.perf_counter() - t0)
                    receipts = [r.json()] if r.status_code == 201 else None
                timings.append(_server_timing(r.headers.get("server-timing", "")))
                if receipts is None:
                    raise RuntimeError(f"request failed: {r.status_code} {r.text[:300]}")
                if random.random() < 0.05:
                    sample.append((items[0][0], receipts[0]))

    t0 = time.perf_counter()
    await asyncio.gather(*(client(w) for w in work))  # type: ignore[arg-type]
    return time.perf_counter() - t0, latencies, sample


#: (append ms, proof ms) per request of the last run, from the Server-Timing header.
timings: list[tuple[float, float]] = []


def _server_timing(header: str) -> tuple[float, float]:
    parts = dict(p.strip().split(";dur=") for p in header.split(",") if ";dur=" in p)
    return float(parts.get("append", "nan")), float(parts.get("proof", "nan"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def split(items: list[tuple[str, bytes]], clients: int, per_request: int) -> list:
    requests = [items[k : k + per_request] for k in range(0, len(items), per_request)]
    return [requests[c::clients] for c in range(clients)]


def parse_config(text: str) -> tuple[int, int]:
    """``BATCHxCLIENTS`` (``1x8``: single statements, 8 clients)."""
    batch, clients = text.lower().split("x")
    return int(batch), int(clients)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10_000, help="demo log size served")
    ap.add_argument(
        "--runs",
        default="1x8,100x4,500x8",
        help="comma-separated BATCHxCLIENTS runs (1 = single statements); default: single "
        "statements from 8 clients, batches of 100 from 4, batches of 500 from 8 (saturation)",
    )
    ap.add_argument("--single", type=int, default=4_000, help="statements per single run")
    ap.add_argument("--batched", type=int, default=30_000, help="statements per batch run")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/gongxin-bench/http"))
    args = ap.parse_args()
    runs = [parse_config(r) for r in args.runs.split(",")]

    P.banner("HTTP append through gongxin serve (uvicorn, 1 worker, SQLite WAL, fsync)")
    print(P.machine_line())
    args.cache.mkdir(parents=True, exist_ok=True)
    template = demo_template(args.cache, args.entries)
    log_key = parse_verifier_key(template.log_vkey)
    adjacent = P.Adjacent()
    rows = []
    notes: list[str] = []
    verdicts: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, live_server(template, Path(tmp) / "srv") as srv:
        for k, (per, clients) in enumerate(runs):
            batch = per > 1
            n = args.batched if batch else args.single
            name = f"batch of {per}, {clients} clients" if batch else f"single, {clients} clients"
            print(f"  presigning {n:,} statements for: {name} …")
            items = presign(template, n, f"{k}")
            work = split(items, clients, per)
            server_cpu0, client_cpu0 = cpu_seconds(srv.process.pid), time.process_time()
            (wall, lat, sample), _raw1, rawn = adjacent.around(
                lambda work=work, batch=batch: asyncio.run(run_clients(srv.url, work, batch))
            )
            server_cpu = cpu_seconds(srv.process.pid) - server_cpu0
            client_cpu = time.process_time() - client_cpu0
            for sid, receipt in sample:
                check_receipt(receipt, log_key, sid)
            rate = n / wall
            p99 = P.pct(lat, 0.99) * 1000
            rows.append(
                (
                    name,
                    f"{rate:,.0f}",
                    f"{len(lat) / wall:,.0f}",
                    f"{P.pct(lat, 0.50) * 1000:.1f}",
                    f"{p99:.1f}",
                    f"{rawn:,.0f}",
                    P.fmt_ratio(rate, rawn),
                    f"{len(sample)} ok",
                )
            )
            if batch:
                verdicts.append((name, rate, p99))
            appends = [a for a, _ in timings]
            proofs = [p for _, p in timings]
            notes.append(
                f"  {name}: in the server, queue+append p50 {P.pct(appends, 0.5):.1f} ms "
                f"p99 {P.pct(appends, 0.99):.1f} ms; proofs p50 {P.pct(proofs, 0.5):.1f} ms "
                f"p99 {P.pct(proofs, 0.99):.1f} ms; server CPU {server_cpu / wall:.0%} of one "
                f"core (main process), clients and raw measurements {client_cpu / wall:.0%}"
            )
    P.table(
        rows,
        (
            "run",
            "entries/s",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "raw Ed25519 2p /s",
            "ratio",
            "receipts checked",
        ),
    )
    print("\n".join(notes))
    for name, rate, p99 in verdicts:
        both = rate >= TARGET_BATCH_RATE and p99 <= TARGET_P99_MS
        print(
            f"  {name}: ≥ {TARGET_BATCH_RATE:,} entries/s "
            f"{'MET' if rate >= TARGET_BATCH_RATE else 'MISSED'} ({rate:,.0f}); p99 ≤ "
            f"{TARGET_P99_MS} ms {'MET' if p99 <= TARGET_P99_MS else 'MISSED'} ({p99:.0f} ms)"
            f"{'  ← both targets at once' if both else ''}"
        )


if __name__ == "__main__":
    main()
