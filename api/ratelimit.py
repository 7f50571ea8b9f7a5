"""Throttling residents' look-ups (docs/API.md §5): token buckets per client address and one
for the whole server, so that guessing 40-bit lookup codes is impractical.

With the defaults (10 look-ups a minute per address, 600 a minute in all), an attacker
spread over many addresses gets at most 600 guesses a minute; finding *any* of 10,000
residents' codes (2^40 / 10^4 ≈ 1.1 × 10^8 guesses on average) then takes about 128 days of
continuous guessing, and one particular resident's about 3,500 years. Each look-up also costs
one scrypt on the server (``ledger.residents``), which bounds the rate further.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` says how long to wait
    (0 when a token was taken). Thread-safe."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = burst, clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class LookupLimiter:
    """Per-address buckets (``per_minute`` each, burst of the same) plus a global bucket.
    Keeps at most ``max_clients`` addresses (the oldest are forgotten first)."""

    def __init__(
        self,
        per_minute: int = 10,
        global_per_minute: int = 600,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute, self.max_clients, self.clock = per_minute, max_clients, clock
        self.global_bucket = TokenBucket(global_per_minute / 60, global_per_minute / 6, clock)
        self._clients: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> float:
        """Seconds to wait before ``client`` may look up again (0: go ahead, counted)."""
        with self._lock:
            bucket = self._clients.pop(client, None)
            if bucket is None:
                bucket = TokenBucket(self.per_minute / 60, self.per_minute, self.clock)
                if len(self._clients) >= self.max_clients:
                    del self._clients[next(iter(self._clients))]
            self._clients[client] = bucket  # most recently used last
        wait = bucket.take()
        return wait if wait else self.global_bucket.take()
