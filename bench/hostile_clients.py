"""The clients of ``bench/hostile.py``: the honest writers, the /healthz prober, the resident
looking up a balance from fresh addresses, the attackers (in a process of their own) and one
phase that runs them all against a live server. The bench's options, the server and the report
are ``bench/hostile.py``, ``bench/hostile_server.py`` and ``bench/hostile_report.py``."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hostile_report import Phase
from hostile_server import Gauge

from tests.api_server import DemoTemplate, appropriations

JSON = {"content-type": "application/json"}
#: The ``programme`` of the honest (and the forged) appropriations.
PROGRAMME = "压力测试 hostile benchmark"
ATTACK_ADDRESSES = [f"127.1.{n // 250}.{n % 250 + 1}" for n in range(200)]
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


# --------------------------------------------------------------------------- bodies


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


async def honest_writer(url: str, items: list[bytes], ph: Phase, interval: float) -> None:
    """POST ``items`` one after another. ``interval`` > 0 (``--rate``): open loop, write k is
    due at start + k × interval whatever happened before, and its latency counts from when it
    was due (a late start is the server's delay too: no coordinated omission); several may
    be in flight. ``interval`` 0: closed loop, each write as soon as the last one answered."""

    async def one(c: httpx.AsyncClient, body: bytes, due: float) -> None:
        if due:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        t0 = due or time.perf_counter()
        try:
            r = await c.post("/v1/statements", content=body, headers=JSON)
            ph.write_status[r.status_code] += 1
        except httpx.HTTPError:
            ph.write_status[0] += 1
        ph.write_lat.append(time.perf_counter() - t0)

    async with client(url) as c:
        if interval <= 0:
            for body in items:
                await one(c, body, 0.0)
            return
        start = time.perf_counter() + random.uniform(0, interval)  # clients out of step
        await asyncio.gather(*(one(c, b, start + k * interval) for k, b in enumerate(items)))


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
    valid = appropriations(template, f"F-HOSTILE-bad-{time.time_ns()}", 1, programme=PROGRAMME)[0]
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
    interval = len(items) / args.rate if args.rate > 0 else 0.0
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(honest_writer(url, w, ph, interval) for w in items)),
            args.max_seconds,
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
