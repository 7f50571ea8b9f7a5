"""Admission control for residents' look-ups (docs/API.md §5) and full export downloads: who is
asking, how often, and how many key derivations run at once.

- :func:`client_address`: the address a request is throttled under. The TCP peer, unless the
  peer is a trusted proxy (``gongxin serve --trusted-proxy CIDR``): then ``X-Forwarded-For``
  is walked from the *right*, skipping trusted hops, and the first untrusted address is the
  client. Whatever a client writes into the header itself lies to the left of what its
  proxy appended, so it is never reached. IPv6 clients are keyed by their /64 (one host
  usually holds a whole /64).
- :class:`ClientLimiter`: one token bucket per client key (``per_minute`` requests, burst of
  the same), and nothing global: a global bucket lets anyone with many addresses lock every
  resident out. :class:`LookupLimiter` throttles look-ups; another limits full export
  downloads per address (``--exports-per-minute``, :mod:`api.routes_log`). Guessing is made hopeless by the codes' 65 bits (``ledger.residents``), not
  by the throttle. The table keeps at most ``max_clients`` keys (least recently seen are
  forgotten first), so its memory is bounded (~300 bytes a key).
- :class:`DerivationGate`: at most ``slots`` (default: the number of cores) look-ups derive
  their scrypt key (~16 MiB, tens of ms) at once per worker; the others wait up to
  ``max_wait`` seconds (``fresh_wait`` for an address on its first look-up lately)
  without holding a thread, then get 429. Memory for derivations stays below ``slots`` ×
  16 MiB however many requests arrive. Derivations run in the gate's own threads at a lower
  CPU priority (nice +10 on Linux): under load they get what writes leave over, so a flood
  of look-ups cannot slow honest writes down, while a quiet server runs them at full speed.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from api.cpu_priority import low_priority_pool

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: While writes are busy, key derivations a second per worker for repeat addresses.
REPEATS_PER_SECOND = 1.0
T = TypeVar("T")


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values as networks (a bare address is a /32 or /128);
    :class:`ValueError` naming the first one that is not an address or CIDR."""
    out = []
    for text in cidrs:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR: {text!r}") from None
    return tuple(out)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _key(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The throttling key of a request from TCP peer ``peer`` carrying the
    ``X-Forwarded-For`` header values ``forwarded_for`` (in order), behind the ``trusted``
    proxies. O(hops × len(trusted)).

    The chain is the header's addresses left to right, then the peer. Walking it from the
    right, trusted addresses are skipped; the first untrusted one is the client. If every
    hop is trusted, the leftmost is the client. An entry that is not an address ends the
    walk: the client is the trusted hop that wrote it (no client-chosen text becomes a key).
    Without trusted proxies, or when the peer is not one, the header is ignored."""
    peer_ip = _ip(peer)
    if peer_ip is None:
        return peer[:64]
    if not any(peer_ip in net for net in trusted):
        return _key(peer_ip)
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break
        client = ip
        if not any(ip in net for net in trusted):
            break
    return _key(client)


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` says how long to wait
    (0 when a token was taken). Not locked: :class:`LookupLimiter` holds its lock."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, now

    def take(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class ClientLimiter:
    """Per-client buckets (``per_minute`` each, burst of the same), at most ``max_clients``
    of them (least recently seen forgotten first). No global bucket. Thread-safe; O(1).
    ``per_minute`` ≤ 0: no limit (:meth:`check` always 0)."""

    def __init__(
        self,
        per_minute: int = 10,
        max_clients: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute, self.max_clients, self.clock = per_minute, max_clients, clock
        self._clients: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._clients)

    def check(self, client: str) -> float:
        """Seconds to wait before ``client`` may go again (0: go ahead, counted)."""
        if self.per_minute <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            bucket = self._clients.get(client)
            if bucket is None:
                while len(self._clients) >= self.max_clients:
                    self._clients.popitem(last=False)
                bucket = TokenBucket(self.per_minute / 60, self.per_minute, now)
                self._clients[client] = bucket
            else:
                self._clients.move_to_end(client)
            return bucket.take(now)

    def used(self, client: str) -> float:
        """How much of its burst ``client`` has used (0 for an address not seen lately):
        the priority of its key derivations (:class:`DerivationGate`). O(1)."""
        with self._lock:
            bucket = self._clients.get(client)
            return 0.0 if bucket is None else bucket.burst - bucket.tokens


class LookupLimiter(ClientLimiter):
    """The look-up throttle (:class:`ClientLimiter`) and this worker's cap on concurrent
    key derivations (:attr:`derivations`)."""

    def __init__(
        self,
        per_minute: int = 10,
        max_clients: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        derivations: int | None = None,
    ) -> None:
        super().__init__(per_minute, max_clients, clock)
        #: The cap on concurrent key derivations in this worker.
        self.derivations = DerivationGate(derivations)
        self._repeats = TokenBucket(REPEATS_PER_SECOND, REPEATS_PER_SECOND * 2, clock())

    def repeat_may_derive(self, priority: float, writes_busy: bool) -> bool:
        """Whether a look-up of ``priority`` (:meth:`used`) may start its key derivation.
        Always, on a server not writing or for an address on its first look-up lately
        (``priority`` ≤ 1). While writes are busy, repeat addresses share
        :data:`REPEATS_PER_SECOND` derivations a second in this worker: each scrypt thrashes
        the CPU caches for ~80 ms, and 200 guessing addresses could otherwise keep one
        running all the time, slowing every write (issue 13). O(1)."""
        if priority <= 1 or not writes_busy:
            return True
        with self._lock:
            return self._repeats.take(self.clock()) == 0.0


class Busy(Exception):
    """No derivation slot freed up for this caller within ``max_wait`` seconds."""


class DerivationGate:
    """At most ``slots`` (default ``os.cpu_count()``) concurrent runs of :meth:`run` per
    event loop; a caller waits at most ``max_wait`` seconds for a slot (holding no thread,
    only a future), then gets :class:`Busy`. A caller of ``priority`` ≤ 1 (an address on
    its first look-up lately) waits up to ``fresh_wait`` instead: it is served ahead of
    everyone else, so it needs only one slot to free up, but on a starved machine one
    scrypt can take longer than ``max_wait`` (seen: 0.6–1.6 s on 2 busy cores).

    A freed slot goes to the waiter with the lowest ``priority`` (callers pass how many
    look-ups their address has used lately), the newest first among equals: a resident
    from a fresh address goes ahead of addresses that have been guessing, and under a
    burst the oldest waiters, about to give up anyway, are the ones that get 429. O(log w)
    per call for w waiters; w is bounded by the arrival rate × ``max_wait``."""

    def __init__(
        self, slots: int | None = None, max_wait: float = 1.0, fresh_wait: float = 4.0
    ) -> None:
        self.slots = max(1, slots or os.cpu_count() or 1)
        self.max_wait, self.fresh_wait = max_wait, max(max_wait, fresh_wait)
        self._free = self.slots
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._pool: ThreadPoolExecutor | None = None

    async def derive(self, fn: Callable[..., T], *args: object, priority: float = 0.0) -> T:
        """:meth:`run` of ``fn(*args)`` in one of the gate's ``slots`` low-priority threads
        (:mod:`api.cpu_priority`; created on first use, never more than ``slots``)."""
        if self._pool is None:
            self._pool = low_priority_pool(self.slots, "derive")
        pool = self._pool
        loop = asyncio.get_running_loop()
        return await self.run(lambda: loop.run_in_executor(pool, fn, *args), priority)

    async def run(self, work: Callable[[], Awaitable[T]], priority: float = 0.0) -> T:
        """Await ``work()`` holding a slot; :class:`Busy` if none was handed to this caller
        within ``max_wait`` (``fresh_wait`` if ``priority`` ≤ 1) seconds."""
        if self._free > 0:  # then no one is waiting: slots are handed to waiters first
            self._free -= 1
        else:
            await self._wait(priority)
        try:
            return await work()
        finally:
            self._release()

    async def _wait(self, priority: float) -> None:
        """Queue until :meth:`_release` hands this caller a slot; :class:`Busy` after
        ``max_wait``. On time-out or cancellation the entry leaves the queue (O(w))."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (priority, -next(self._seq), waiter)
        heapq.heappush(self._waiters, entry)
        try:
            patience = self.fresh_wait if priority <= 1 else self.max_wait
            await asyncio.wait_for(asyncio.shield(waiter), patience)
        except BaseException as exc:
            if waiter.done():  # handed a slot just as the time ran out or we were cancelled
                if isinstance(exc, TimeoutError):
                    return
                self._release()
                raise
            waiter.cancel()
            self._waiters.remove(entry)
            heapq.heapify(self._waiters)
            if isinstance(exc, TimeoutError):
                raise Busy from None
            raise

    def _release(self) -> None:
        """Hand the slot to the best live waiter, or free it."""
        if self._waiters:
            heapq.heappop(self._waiters)[2].set_result(None)
        else:
            self._free += 1
