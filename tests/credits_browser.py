"""Shared pieces of the Chromium tests of the residents' page's JavaScript
(``tests/test_browser_credits_*.py``, ``tests/test_receipt_browser.py``): the page served
by just the ``api.credits_page`` routes, and small encoders."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from api import credits_page

#: The origin (log key name) of the logs the unit tests build.
ORIGIN = "gongxin.test/credits"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def flip_b64_char(text: str, pos: int) -> str:
    """``text`` with the base64 character at ``pos`` replaced by another one."""
    return text[:pos] + ("B" if text[pos] == "A" else "A") + text[pos + 1 :]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def open_unit_page(browser: Browser, log_vkey: str) -> Iterator[Page]:
    """The page ``/credits`` served by just the ``api.credits_page`` routes with ``log_vkey``
    pinned, loaded with its scripts (``self.GongxinVerify`` …) and no console error, for
    running the page's JavaScript on crafted inputs."""
    app = FastAPI()
    credits_page.mount(app)
    app.state.log_vkey = log_vkey
    with serve(app) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/credits")
        page.wait_for_function("() => self.GongxinVerify && self.nacl && self.GongxinCredits")
        assert errors == [], f"console errors (CSP?) loading the page: {errors}"
        try:
            yield page
        finally:
            page.close()
