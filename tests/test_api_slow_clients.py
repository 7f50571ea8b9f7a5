"""Slow clients cannot starve honest ones, on a real server (api/http_guard.py): 200
slowloris connections — request headers sent one byte at a time, never finished — and slow
request bodies are cut off at their deadline although each keeps sending, while honest
reads and writes on other connections succeed promptly throughout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement

from .api_server import DemoTemplate, LiveServer, live_server

JSON = {"content-type": "application/json"}
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(
        demo_log,
        tmp_path_factory.mktemp("slow"),
        "--header-timeout",
        str(HEADER_TIMEOUT),
        "--body-timeout",
        str(BODY_TIMEOUT),
    ) as s:
        yield s


def _address(server: LiveServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


class Dribbler:
    """``count`` connections that each send ``payload`` one byte every ``pause`` seconds
    until ``seconds`` pass; records how long each lasted before the server closed it."""

    def __init__(self, server: LiveServer, count: int, payload: bytes, pause: float) -> None:
        self.socks = []
        for _ in range(count):
            s = socket.create_connection(_address(server))
            s.setblocking(False)
            self.socks.append(s)
        self.payload, self.pause = payload, pause
        self.lasted: dict[int, float] = {}
        self.started = time.monotonic()

    def run(self, seconds: float) -> None:
        k = 0
        while time.monotonic() - self.started < seconds and len(self.lasted) < len(self.socks):
            for n, s in enumerate(self.socks):
                if n in self.lasted:
                    continue
                if _closed(s):
                    self.lasted[n] = time.monotonic() - self.started
                    continue
                try:
                    s.send(self.payload[k % len(self.payload) : k % len(self.payload) + 1])
                except OSError:
                    self.lasted[n] = time.monotonic() - self.started
            k += 1
            time.sleep(self.pause)
        for s in self.socks:
            s.close()


def _closed(s: socket.socket) -> bool:
    try:
        data = s.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 4")


def _honest(server: LiveServer, template: DemoTemplate, rounds: int) -> list[float]:
    """Honest traffic on fresh connections: a write and two reads per round; each round's
    seconds. Every reply must be a success."""
    signer = template.signer("finance_officer")
    took = []
    for k in range(rounds):
        t0 = time.monotonic()
        with server.client(timeout=10) as http:
            body = sign_statement(
                "fund.appropriate",
                {
                    "fund_id": f"F-SLOW-{k}-{time.time_ns()}",
                    "fiscal_year": 2026,
                    "programme": "运维",
                    "source": "财政",
                    "amount_fen": 10,
                },
                signer,
                origin=DEMO_ORIGIN,
            ).canonical()
            assert http.post("/v1/statements", content=body, headers=JSON).status_code == 201
            assert http.get("/healthz").status_code == 200
            assert http.get("/v1/log/checkpoint").status_code == 200
        took.append(time.monotonic() - t0)
        time.sleep(0.1)
    return took


def test_slowloris_does_not_stop_honest_requests(
    server: LiveServer, demo_log: DemoTemplate
) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
    attack = Dribbler(server, 200, head, pause=0.2)
    thread = threading.Thread(target=attack.run, args=(HEADER_TIMEOUT * 4,))
    thread.start()
    try:
        took = _honest(server, demo_log, 15)
    finally:
        thread.join(30)
    assert max(took) < 2.0, took
    # Every dribbling connection was cut off near the header deadline, though it kept sending.
    assert len(attack.lasted) == 200
    assert all(HEADER_TIMEOUT - 0.5 <= t <= HEADER_TIMEOUT + 2.0 for t in attack.lasted.values())


def test_slow_body_is_cut_off(server: LiveServer, demo_log: DemoTemplate) -> None:
    head = (
        b"POST /v1/statements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    attack = Dribbler(server, 50, b"", pause=0.2)
    for s in attack.socks:
        s.sendall(head)
    attack.payload = b"{" * 100000
    thread = threading.Thread(target=attack.run, args=(BODY_TIMEOUT * 3,))
    thread.start()
    try:
        took = _honest(server, demo_log, 10)
    finally:
        thread.join(30)
    assert max(took) < 2.0, took
    assert len(attack.lasted) == 50
    assert all(t <= BODY_TIMEOUT + 2.0 for t in attack.lasted.values()), attack.lasted


def test_idle_connection_is_closed_after_keep_alive(server: LiveServer) -> None:
    """A connection that sends nothing at all is closed at the header deadline too (uvicorn
    alone would keep it until the client leaves)."""
    s = socket.create_connection(_address(server))
    s.settimeout(HEADER_TIMEOUT + 5)
    t0 = time.monotonic()
    assert s.recv(10) == b""
    assert time.monotonic() - t0 <= HEADER_TIMEOUT + 1.5
    s.close()
