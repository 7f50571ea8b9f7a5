"""Debian's Chromium, headless, through Playwright — for the real-browser tests.

Chromium is never downloaded: ``scripts/setup`` installs Debian's ``chromium`` (override the
path with ``GONGXIN_CHROMIUM``). Without it the browser tests FAIL, never skip, so CI proves
them. The flags keep Chromium off the network (this machine has none but loopback).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("GONGXIN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; fails the test (never skips) when it is not installed."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run scripts/setup (installs Debian's "
            "chromium with apt-get); the browser tests must run, they are not optional"
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
