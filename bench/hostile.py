"""Hostile load: do attacking clients hurt honest ones? (issue 13)

What it does: a copy of a demo log (``--entries``, default 20,000) is served by a real
``gongxin serve --workers 2`` on 127.0.0.1, with its own temp directory (``TMPDIR``) so the
server's temp disk can be measured. Two phases with the same honest work, alternated
``--rounds`` times (default 2) with each condition's samples pooled — with a single round the
attacked phase always came second, and with no attackers at all (``--attacks none``, the
bench's own noise floor) the second phase measured 1.5–1.6× the first:

1. **unattacked** — ``--honest`` clients each POST ``--writes`` single statements (pre-signed
   ``fund.appropriate``), a prober GETs ``/healthz`` every 50 ms, and a resident looks up
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
import multiprocessing
import os
import random
import shlex
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import primitives as P
from hostile_report import Phase, ms, print_phase_resources, report
from hostile_server import Gauge, disk_mb, pin_for_start, server_rss_mb, split_cores

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement
from tests.api_server import DemoTemplate, demo_template, live_server

JSON = {"content-type": "application/json"}
ATTACK_ADDRESSES = [f"127.1.{n // 250}.{n % 250 + 1}" for n in range(200)]
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


# --------------------------------------------------------------------------- the server


# --------------------------------------------------------------------------- bodies


def presign(template: DemoTemplate, n: int, tag: str) -> list[bytes]:
    finance = template.signer("finance_officer")
    return [
        sign_statement(
            "fund.appropriate",
            {
                "fund_id": f"F-HOSTILE-{tag}-{k}",
                "fiscal_year": 2026,
                "programme": "压力测试 hostile benchmark",
                "source": "财政",
                "amount_fen": 1_000 + k,
            },
            finance,
            origin=DEMO_ORIGIN,
        ).canonical()
        for k in range(n)
    ]


def bad_signature(valid: bytes) -> bytes:
    """``valid`` with one bit of its first signature flipped (still canonical base64)."""
    marker = b'"sig":"'
    at = valid.index(marker) + len(marker) + 2
    flipped = b"A" if valid[at : at + 1] != b"A" else b"B"
    return valid[:at] + flipped + valid[at + 1 :]


DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000
OVERSIZE = b'{"pad":"' + b"x" * (9 * 2**20) + b'"}'


def wrong_code(real: str) -> str:
    chars = [c for c in real if c.isalnum()]
    random.shuffle(chars)
    out, k = [], 0
    for c in real:
        if c.isalnum():
            out.append(chars[k])
            k += 1
        else:
            out.append(c)
    return "".join(out)


# --------------------------------------------------------------------------- clients


def client(url: str, local: str | None = None, timeout: float = 120) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local, socket_options=NODELAY)
    return httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)


async def honest_writer(url: str, items: list[bytes], ph: Phase) -> None:
    async with client(url) as c:
        for body in items:
            t0 = time.perf_counter()
            try:
                r = await c.post("/v1/statements", content=body, headers=JSON)
                ph.write_status[r.status_code] += 1
            except httpx.HTTPError:
                ph.write_status[0] += 1
            ph.write_lat.append(time.perf_counter() - t0)


async def prober(url: str, stop: asyncio.Event, ph: Phase, gauge: Gauge) -> None:
    async with client(url, timeout=30) as c:
        k = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                ph.health_status[(await c.get("/healthz")).status_code] += 1
            except httpx.HTTPError:
                ph.health_status[0] += 1
            ph.health_lat.append(time.perf_counter() - t0)
            if k % 10 == 0:
                await asyncio.to_thread(gauge.sample)
            k += 1
            await asyncio.sleep(0.05)


async def resident(url: str, codes: list[str], stop: asyncio.Event, ph: Phase, base: int) -> None:
    """A resident with the right code, each time from a fresh address 127.2.x.y."""
    k = base
    while not stop.is_set():
        local = f"127.2.{k // 250 % 250}.{k % 250 + 1}"
        k += 1
        async with client(url, local, timeout=30) as c:
            t0 = time.perf_counter()
            try:
                r = await c.post("/v1/residents/lookup", json={"code": codes[k % len(codes)]})
                ph.resident_status[r.status_code] += 1
            except httpx.HTTPError:
                ph.resident_status[0] += 1
            ph.resident_lat.append(time.perf_counter() - t0)
        await asyncio.sleep(1.0)


async def attack(
    name: str,
    ph: Phase,
    stop: asyncio.Event,
    c: httpx.AsyncClient,
    request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    pause: float = 0.0,
) -> None:
    counts = ph.attacks.setdefault(name, Counter())
    while not stop.is_set():
        try:
            r = await request(c)
            code = ""
            if r.status_code >= 500 and "json" in r.headers.get("content-type", ""):
                code = " " + str(r.json().get("code", ""))
            counts[f"{r.status_code}{code}"] += 1
        except httpx.HTTPError as exc:
            counts[type(exc).__name__] += 1
        if pause:
            await asyncio.sleep(pause)


async def export_once(c: httpx.AsyncClient) -> httpx.Response:
    async with c.stream("GET", "/v1/log/export") as r:
        if r.status_code == 200:
            async for _ in r.aiter_raw(1 << 16):
                pass
        else:
            await r.aread()
    return r


def attackers(
    url: str,
    template: DemoTemplate,
    args: argparse.Namespace,
    ph: Phase,
    stop: asyncio.Event,
    clients: list[httpx.AsyncClient],
) -> list[Awaitable[None]]:
    valid = presign(template, 1, f"bad-{time.time_ns()}")[0]
    forged = bad_signature(valid)
    real = [r["lookup_code"] for r in template.residents()]
    tasks: list[Awaitable[None]] = []

    def add(
        name: str,
        fn: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
        local: str | None = None,
        pause: float = 0.0,
    ) -> None:
        c = client(url, local)
        clients.append(c)
        tasks.append(attack(name, ph, stop, c, fn, pause))

    kinds = set(args.attacks.split(","))
    for _ in range(args.attackers if "deep" in kinds else 0):
        add("deep JSON", lambda c: c.post("/v1/statements", content=DEEP, headers=JSON))
        add(
            "deep JSON batch",
            lambda c: c.post("/v1/statements/batch", content=b"[" + DEEP + b"]", headers=JSON),
        )
    for _ in range(args.attackers if "bad" in kinds else 0):
        add("bad signature", lambda c: c.post("/v1/statements", content=forged, headers=JSON))
    for _ in range(args.attackers if "oversize" in kinds else 0):
        add(
            "oversize 9 MiB",
            lambda c: c.post("/v1/statements", content=OVERSIZE, headers=JSON),
            pause=0.2,
        )
    for addr in ATTACK_ADDRESSES if "codes" in kinds else ():
        add(
            "wrong code ×200 addr",
            lambda c: c.post(
                "/v1/residents/lookup", json={"code": wrong_code(random.choice(real))}
            ),
            local=addr,
            pause=0.5,
        )
    for _ in range(args.exports if "exports" in kinds else 0):
        add("export storm", export_once)
    return tasks


async def run_phase(
    url: str,
    template: DemoTemplate,
    args: argparse.Namespace,
    items: list[list[bytes]],
    gauge: Gauge,
    attacked: bool,
) -> Phase:
    ph = Phase()
    stop = asyncio.Event()
    codes = [r["lookup_code"] for r in template.residents()][:20]
    background = [
        prober(url, stop, ph, gauge),
        resident(url, codes, stop, ph, 0 if not attacked else 5000),
    ]
    bg = [asyncio.ensure_future(t) for t in background]
    ctx = multiprocessing.get_context("spawn")
    halt, ready, results = ctx.Event(), ctx.Event(), ctx.Queue()
    attack_proc = ctx.Process(
        target=attack_process, args=(url, template, args, halt, ready, results)
    )
    if attacked:  # in a process of its own, so that it cannot slow the honest clients' loop
        attack_proc.start()
        await asyncio.to_thread(ready.wait, 300)
        await asyncio.sleep(3.0)  # let the attack get going first
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(honest_writer(url, w, ph) for w in items)), args.max_seconds
        )
    except TimeoutError:
        print(f"  ! honest writers stopped at --max-seconds {args.max_seconds}")
    ph.wall = time.perf_counter() - t0
    stop.set()
    await asyncio.wait(bg, timeout=60)
    if attacked:
        halt.set()
        ph.attacks = await asyncio.to_thread(results.get, True, 120)
        attack_proc.join(30)
    return ph


def attack_process(
    url: str,
    template: DemoTemplate,
    args: argparse.Namespace,
    halt: Any,
    ready: Any,
    results: Any,
) -> None:
    """The attackers, until ``halt`` is set; their outcome counts put on ``results``. The
    process runs at ``--attacker-nice``: real attackers' clients run on their own machines,
    but here 200 Python HTTP clients share the server's 2 cores, and no server can defend
    CPU it does not get. The server's own work for every attack is unchanged."""
    os.nice(args.attacker_nice)

    async def run() -> dict[str, Counter[str]]:
        ph, stop = Phase(), asyncio.Event()
        clients: list[httpx.AsyncClient] = []
        tasks = [
            asyncio.ensure_future(t) for t in attackers(url, template, args, ph, stop, clients)
        ]
        ready.set()
        while not halt.is_set():
            await asyncio.sleep(0.1)
        stop.set()
        if tasks:  # --attacks none: both phases unattacked, the bench's own noise floor
            await asyncio.wait(tasks, timeout=60)
        for c in clients:
            await c.aclose()
        return ph.attacks

    results.put(asyncio.run(run()))


# --------------------------------------------------------------------------- report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=20_000, help="demo log size served")
    ap.add_argument("--honest", type=int, default=4, help="honest writing clients")
    ap.add_argument("--writes", type=int, default=300, help="single writes per honest client")
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
        if not args.shared_cores:
            pin_for_start()
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
                print("  " + split_cores(pid))
            results: dict[str, tuple[Phase, float, float, float, float, float]] = {}
            per_round: list[str] = []
            for rnd, name in enumerate(["unattacked", "attacked"] * args.rounds):
                items = presign(template, args.honest * args.writes, f"{name}-{time.time_ns()}")
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
