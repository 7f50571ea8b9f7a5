"""Residents' look-ups that no one can jam (issue 13), against a real ``gongxin serve``.

Guessers spread over 200 loopback source addresses (Linux routes all of 127.0.0.0/8 to
``lo``, so a client may bind any of them) do not stop a resident from a fresh address; a
forged ``X-Forwarded-For`` changes nothing unless the peer is a ``--trusted-proxy``, and then
the right-most untrusted address counts; concurrent look-ups beyond the derivation cap get
429 with ``Retry-After`` while the server's memory stays bounded; 8-digit codes are retired.
Only loopback addresses are contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from api.ratelimit import DerivationGate, client_address, parse_networks
from ledger.demo.cast import DEMO_ORIGIN
from ledger.residents import CROCKFORD
from ledger.signing.statements import sign_statement
from tests.api_server import GONGXIN, DemoTemplate, LiveServer, demo_template, live_server

LOOKUP = "/v1/residents/lookup"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    return demo_template(tmp_path_factory.mktemp("admission-demo"), 300)


def _resident(template: DemoTemplate) -> dict[str, str]:
    return max(template.residents(), key=lambda r: int(r["balance_points"]))


def _guess() -> str:
    return "".join(random.choice(CROCKFORD) for _ in range(13))


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


# ------------------------------------------------------------------ the client's address


def test_client_address_walks_forwarded_for_from_the_right() -> None:
    proxies = parse_networks(["127.0.0.1/32", "192.0.2.0/24"])
    # without trusted proxies, or from an untrusted peer, the header is ignored
    assert client_address("198.51.100.7", ["1.2.3.4"], ()) == "198.51.100.7"
    assert client_address("198.51.100.7", ["1.2.3.4"], proxies) == "198.51.100.7"
    # behind the proxy: its appended address, whatever the client wrote to the left
    assert client_address("127.0.0.1", ["6.6.6.6, 203.0.113.9"], proxies) == "203.0.113.9"
    assert client_address("127.0.0.1", ["6.6.6.6", "203.0.113.9"], proxies) == "203.0.113.9"
    # trusted hops are skipped; the first untrusted one from the right is the client
    chain = ["203.0.113.1, 198.51.100.4, 192.0.2.10"]
    assert client_address("127.0.0.1", chain, proxies) == "198.51.100.4"
    # a client claiming to be a trusted proxy only moves the walk to its own address
    assert client_address("127.0.0.1", ["192.0.2.5, 203.0.113.9"], proxies) == "203.0.113.9"
    # text that is no address ends the walk at the trusted hop that wrote it
    assert client_address("127.0.0.1", ["evil, 192.0.2.10"], proxies) == "192.0.2.10"
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"
    # IPv6 clients count per /64; IPv4-mapped addresses as IPv4
    v6 = parse_networks(["::1/128"])
    assert client_address("::1", ["2001:db8:1:2::5"], v6) == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:2::99", [], ()) == "2001:db8:1:2::/64"
    assert client_address("::ffff:198.51.100.7", [], ()) == "198.51.100.7"
    with pytest.raises(ValueError, match="CIDR"):
        parse_networks(["10.0.0.0/33"])


def test_gate_caps_concurrency_and_prefers_fresh_clients() -> None:
    """Two slots: never more than two runs at once; waiters past max_wait get Busy; a
    freed slot goes to the lowest priority value (a fresh address) first."""

    async def main() -> tuple[int, int, list[str]]:
        gate = DerivationGate(slots=2, max_wait=0.3)
        running = peak = busy = 0
        order: list[str] = []

        queued = asyncio.Event()  # the holders keep their slots until "fresh" is queued

        async def work(name: str, seconds: float) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            order.append(name)
            if name.startswith("hold"):
                await queued.wait()  # however slow the machine, "fresh" waits behind them
            await asyncio.sleep(seconds)
            running -= 1

        async def call(name: str, seconds: float, priority: float) -> None:
            nonlocal busy
            try:
                await gate.run(lambda: work(name, seconds), priority=priority)
            except Exception:
                busy += 1

        holders = [asyncio.create_task(call(f"hold{k}", 0.1, 10)) for k in range(2)]
        await asyncio.sleep(0.01)
        guessers = [asyncio.create_task(call(f"guess{k}", 0.1, 10)) for k in range(20)]
        await asyncio.sleep(0.01)
        fresh = asyncio.create_task(call("fresh", 0.01, 0))
        await asyncio.sleep(0.01)
        queued.set()
        await asyncio.gather(*holders, *guessers, fresh)
        return peak, busy, order

    peak, busy, order = asyncio.run(main())
    assert peak == 2
    assert order.index("fresh") == 2  # first after the two holders, ahead of 20 guessers
    assert busy >= 10  # the guessers who waited past max_wait were told so


def test_derivations_run_at_a_lower_cpu_priority() -> None:
    """The gate's derivation threads run at nice +10 relative to the server (Linux), so a
    flood of look-ups only gets the CPU that writes leave idle; at most ``slots`` threads."""
    import os
    import threading

    gate = DerivationGate(slots=2)

    def niceness() -> tuple[int, str]:
        me = threading.get_native_id()
        return os.getpriority(os.PRIO_PROCESS, me), threading.current_thread().name

    async def main() -> list[tuple[int, str]]:
        return list(await asyncio.gather(*(gate.derive(niceness) for _ in range(6))))

    server_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    results = asyncio.run(main())
    assert {nice for nice, _ in results} == {min(server_nice + 10, 19)}
    assert len({name for _, name in results}) <= 2


# ------------------------------------------------------------------ real server


async def _guessers(url: str, addresses: list[str], seconds: float) -> dict[int, int]:
    """Each address guesses codes back to back for ``seconds``; status counts."""
    counts: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def one(address: str) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=10) as c:
            for _ in range(200):
                if time.monotonic() > deadline:
                    return
                r = await c.post(LOOKUP, json={"code": _guess()})
                counts[r.status_code] = counts.get(r.status_code, 0) + 1
                if r.status_code == 429:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one(a) for a in addresses))
    return counts


async def _resident_lookup(url: str, address: str, code: str, after: float) -> tuple[int, float]:
    await asyncio.sleep(after)
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=10) as c:
        started = time.monotonic()
        r = await c.post(LOOKUP, json={"code": code})
        elapsed = time.monotonic() - started
    assert r.status_code != 200 or r.headers["cache-control"] == "no-store"
    return r.status_code, elapsed


def test_200_guessing_addresses_do_not_lock_out_a_resident(
    template: DemoTemplate, tmp_path: Path
) -> None:
    """At the default throttle, 200 source addresses guess codes back to back for 6 s; a
    resident from a fresh address, at 1 s and at 4 s into the attack, gets the balance in
    ≤ 2 s each time (0.3–0.9 s on a quiet machine, up to 1.6 s with both cores busy
    elsewhere, where 0.6–1.6 s once meant 429 before fresh addresses waited longer than
    guessers). No reply is 5xx."""
    code = _resident(template)["lookup_code"]
    attackers = [f"127.0.{1 + k // 100}.{1 + k % 100}" for k in range(200)]

    async def main(url: str) -> tuple[dict[int, int], list[tuple[int, float]]]:
        attack = asyncio.create_task(_guessers(url, attackers, 6.0))
        honest = await asyncio.gather(
            _resident_lookup(url, "127.0.9.1", code, 1.0),
            _resident_lookup(url, "127.0.9.2", code, 4.0),
        )
        return await attack, list(honest)

    with live_server(template, tmp_path) as server:
        counts, honest = asyncio.run(main(server.url))
    assert all(status == 200 and elapsed <= 2.0 for status, elapsed in honest), honest
    # A real attack: it kept the derivation slots busy (≥ 10 derivations in 6 s; 44–60 seen
    # on this 2-core machine when quiet, 19 with both cores busy elsewhere) and was throttled.
    assert counts.get(404, 0) >= 10 and counts.get(429, 0) > 0, counts
    assert not any(status >= 500 for status in counts), counts


def _post(server: LiveServer, code: str, xff: str | None = None, address: str = "127.0.0.1"):
    headers = {"X-Forwarded-For": xff} if xff is not None else {}
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as c:
        return c.post(LOOKUP, json={"code": code}, headers=headers)


def test_forwarded_for_changes_nothing_without_a_trusted_proxy(
    template: DemoTemplate, tmp_path: Path
) -> None:
    """Two look-ups a minute: a new X-Forwarded-For on every request still gets 429 on the
    third; every reply, 404 or 429, is ``Cache-Control: no-store``."""
    with live_server(template, tmp_path, "--lookups-per-minute", "2") as server:
        replies = [_post(server, _guess(), xff=f"203.0.113.{k}") for k in range(3)]
        assert [r.status_code for r in replies] == [404, 404, 429]
        assert all(r.headers["cache-control"] == "no-store" for r in replies)
        assert int(replies[2].headers["retry-after"]) >= 1
        assert _post(server, _guess(), address="127.0.0.2").status_code == 404  # own bucket


def test_trusted_proxy_means_the_right_most_untrusted_address(
    template: DemoTemplate, tmp_path: Path
) -> None:
    """With --trusted-proxy 127.0.0.1/32 (and a second hop 192.0.2.0/24), the client is the
    right-most untrusted X-Forwarded-For address: what the client writes to its left does
    not give it a new bucket, another real client has its own, and a peer that is not a
    trusted proxy is throttled as itself whatever it claims."""
    args = ("--lookups-per-minute", "2", "--trusted-proxy", "127.0.0.1/32")
    args += ("--trusted-proxy", "192.0.2.0/24")
    with live_server(template, tmp_path, *args) as server:
        spoofed = [
            _post(server, _guess(), xff=f"198.51.100.{k}, 203.0.113.9, 192.0.2.1") for k in range(3)
        ]
        assert [r.status_code for r in spoofed] == [404, 404, 429]
        assert _post(server, _guess(), xff="203.0.113.10, 192.0.2.1").status_code == 404
        untrusted = [
            _post(server, _guess(), xff=f"203.0.113.{50 + k}", address="127.0.0.3")
            for k in range(3)
        ]
        assert [r.status_code for r in untrusted] == [404, 404, 429]


def test_serve_refuses_the_old_option_and_bad_cidrs(template: DemoTemplate) -> None:
    for args, words in (
        (["--trust-forwarded-for"], "--trusted-proxy CIDR"),
        (["--trusted-proxy", "10.0.0.0/33"], "not an IP address or CIDR"),
    ):
        out = subprocess.run(
            [GONGXIN, "serve", "--db", template.db_url, "--read-only", "--port", "1", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and words in out.stderr, out.stderr


def test_lookups_beyond_the_derivation_cap_get_429_and_memory_stays_bounded(
    template: DemoTemplate, tmp_path: Path
) -> None:
    """400 concurrent look-ups of well-formed codes (each an scrypt of ~16 MiB) from 400
    addresses: those that find no free slot within 1 s get 429 with Retry-After, none is
    5xx, and the server's peak RSS grows by far less than 400 × 16 MiB (≤ 100 MiB)."""
    addresses = [f"127.1.{k // 200}.{1 + k % 200}" for k in range(400)]

    async def main(url: str) -> list[httpx.Response]:
        async def one(address: str) -> httpx.Response:
            transport = httpx.AsyncHTTPTransport(local_address=address)
            async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as c:
                return await c.post(LOOKUP, json={"code": _guess()})

        return list(await asyncio.gather(*(one(a) for a in addresses)))

    with live_server(template, tmp_path) as server:
        pid = server.process.pid
        _post(server, _guess())  # warm up: one derivation, the register's pool
        before = _rss_kib(pid, "VmHWM")
        replies = asyncio.run(main(server.url))
        peak = _rss_kib(pid, "VmHWM")
    statuses = [r.status_code for r in replies]
    assert set(statuses) <= {404, 429}, statuses
    busy = [r for r in replies if r.status_code == 429]
    assert busy and all(r.headers["retry-after"] == "1" for r in busy)
    # The slots kept working meanwhile (17–40 seen, depending on the machine's load).
    assert statuses.count(404) >= 10, statuses
    assert (peak - before) / 1024 <= 100, (before, peak)


def test_retired_8_digit_codes_say_so_without_a_derivation(
    template: DemoTemplate, tmp_path: Path
) -> None:
    with live_server(template, tmp_path) as server:
        r = _post(server, "abcd-1234")
        assert r.status_code == 404 and r.json()["code"] == "lookup.code_retired"
        assert "13" in r.json()["detail"] and r.headers["cache-control"] == "no-store"
        ok = _post(server, _resident(template)["lookup_code"].replace("-", " ").lower())
        assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"


def test_addresses_used_are_loopback_only() -> None:
    """Guard: every address these tests bind or contact is in 127.0.0.0/8."""
    loop = ipaddress.ip_network("127.0.0.0/8")
    for a in ["127.0.9.1", "127.0.2.100", "127.1.1.200", "127.0.0.3"]:
        assert ipaddress.ip_address(a) in loop


def _keep_writing(
    server: LiveServer, template: DemoTemplate, stop: threading.Event, writing: threading.Event
) -> None:
    """POST one valid statement again and again (duplicates: each still goes through the
    writer) until ``stop``: the server is busy writing. ``writing`` is set once the first
    write has been answered."""
    body = sign_statement(
        "fund.appropriate",
        {
            "fund_id": "F-LOOKUP-YIELD",
            "fiscal_year": 2026,
            "programme": "查询让写 look-ups yield to writes",
            "source": "财政",
            "amount_fen": 100,
        },
        template.signer("finance_officer"),
        origin=DEMO_ORIGIN,
    ).canonical()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        while not stop.is_set():
            r = c.post("/v1/statements", content=body, headers={"content-type": "application/json"})
            assert r.status_code in (200, 201), r.text[:300]
            writing.set()


def test_repeat_lookups_yield_to_writes_and_a_fresh_address_does_not(
    template: DemoTemplate, tmp_path: Path
) -> None:
    """While the server writes, an address that has looked up lately shares one key
    derivation a second (a burst of two) with the other repeat addresses: 5 concurrent
    look-ups from one address — the first (fresh) and two more derive, the rest get 429
    "查询繁忙" with ``Retry-After: 2`` at once. A fresh address still derives; with no writes
    an address's repeat look-ups all derive (api/ratelimit.py ``repeat_may_derive``)."""

    async def burst(url: str, address: str, n: int) -> list[httpx.Response]:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as c:
            return list(
                await asyncio.gather(*(c.post(LOOKUP, json={"code": _guess()}) for _ in range(n)))
            )

    with live_server(template, tmp_path) as server:
        quiet = [_post(server, _guess(), address="127.4.0.1") for _ in range(4)]
        assert [r.status_code for r in quiet] == [404] * 4
        stop, writing = threading.Event(), threading.Event()
        writer = threading.Thread(target=_keep_writing, args=(server, template, stop, writing))
        writer.start()
        try:
            # Not a fixed sleep: signing the first statement opens the demo log, which on a
            # loaded machine took longer than 0.5 s, and the burst then met an idle server.
            assert writing.wait(60), "the writer thread never got a write answered"
            busy = asyncio.run(burst(server.url, "127.4.0.2", 5))
            fresh = _post(server, _guess(), address="127.4.0.3")
        finally:
            stop.set()
            writer.join(30)
    statuses = sorted(r.status_code for r in busy)
    assert statuses == [404, 404, 404, 429, 429], statuses
    for r in busy:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "2" and "查询繁忙" in r.json()["detail"]
            assert r.headers["cache-control"] == "no-store"
    assert fresh.status_code == 404
