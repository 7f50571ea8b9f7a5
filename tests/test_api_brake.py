"""Refusals slow down only while the server is busy (api/brake.py), on a real server: a quiet
server refuses at once; with requests in flight it holds each refusal back, never an honest
reply; ``--refusal-delay 0`` turns it off. A client that resends as soon as it is refused then
gets at most one refusal per delay on its connection (the hostile bench's figures:
docs/PERFORMANCE.md)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from api.brake import DEFAULT_BUSY

from .api_server import DemoTemplate, LiveServer, live_server

JSON = {"content-type": "application/json"}
DELAY = 1.0


def _timed(fn: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    t0 = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t0


@contextmanager
def _client(
    demo_log: DemoTemplate, tmp_path: Path, delay: float
) -> Iterator[tuple[LiveServer, httpx.Client]]:
    with (
        live_server(demo_log, tmp_path, "--refusal-delay", str(delay)) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        yield server, c


@contextmanager
def _unfinished_bodies(server: LiveServer, count: int) -> Iterator[None]:
    """``count`` requests whose bodies never finish: each stays in flight in the server until
    its body deadline or the end of the block."""
    host, port = server.url.removeprefix("http://").split(":")
    with ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((host, int(port))))
            sock.sendall(
                b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
        time.sleep(0.5)  # let the server start them
        yield


def test_refusals_wait_only_while_busy(demo_log: DemoTemplate, tmp_path: Path) -> None:
    with _client(demo_log, tmp_path, DELAY) as (server, c):
        bad = lambda: c.post("/v1/statements", content=b"{", headers=JSON)  # noqa: E731
        r, quiet = _timed(bad)
        assert r.status_code == 400 and quiet < DELAY / 2, quiet
        with _unfinished_bodies(server, DEFAULT_BUSY + 2):
            r, busy = _timed(bad)
            assert r.status_code == 400 and busy >= DELAY, busy
            assert r.headers["content-type"] == "application/problem+json"
            ok, honest = _timed(lambda: c.get("/healthz"))
            assert ok.status_code == 200 and honest < DELAY / 2, honest
        r, after = _timed(bad)
        assert r.status_code == 400 and after < DELAY / 2, after


def test_refusal_delay_zero_turns_the_brake_off(demo_log: DemoTemplate, tmp_path: Path) -> None:
    with (
        _client(demo_log, tmp_path, 0) as (server, c),
        _unfinished_bodies(server, DEFAULT_BUSY + 2),
    ):
        r, busy = _timed(lambda: c.post("/v1/statements", content=b"{", headers=JSON))
        assert r.status_code == 400 and busy < 0.5, busy
