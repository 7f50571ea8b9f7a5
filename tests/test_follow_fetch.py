"""``verifier.follow.fetch.HttpFetcher`` against real HTTP servers in subprocesses: Python's
static file server (``python -m http.server``) and a hostile one that redirects, lies about
lengths, sends too much and dribbles. Also :func:`static_server`, used by the other
``test_follow_*`` and verifying-witness tests to publish tiles."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.api_server import free_port
from verifier.core.errors import InputError
from verifier.follow.fetch import MAX_CHECKPOINT, FetchError, HttpFetcher, limit_for


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as exc:
            if getattr(exc, "code", None) is not None:  # an HTTP answer: it is up
                return
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def _serve(args: list[str], cwd: Path | None = None) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *args, str(port)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` with ``python -m http.server`` on a free loopback port; yields the
    base URL (ending in ``/``)."""
    with _serve(["-m", "http.server", "--bind", "127.0.0.1"], cwd=directory) as url:
        yield url


HOSTILE = textwrap.dedent(
    """
    import sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        def log_message(self, *a): pass
        def do_GET(self):
            p = self.path
            if p == "/":
                self.send_response(204); self.end_headers(); return
            if p.startswith("/redirect/"):
                self.send_response(302); self.send_header("Location", "/tile/0/000")
                self.end_headers(); return
            if p.startswith("/big/"):  # no Content-Length, more bytes than allowed
                self.send_response(200); self.end_headers()
                self.wfile.write(b"x" * 10000); return
            if p.startswith("/declared/"):
                self.send_response(200); self.send_header("Content-Length", "999999")
                self.end_headers(); return
            if p.startswith("/slow/"):  # one byte at a time, forever
                self.send_response(200); self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"x"); self.wfile.flush(); time.sleep(0.2)
                return
            self.send_response(500); self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with _serve(["-c", HOSTILE]) as url:
        yield url


def test_limits_per_path() -> None:
    assert limit_for("tile/0/000") == 8192
    assert limit_for("tile/3/x001/000.p/5") == 160
    assert limit_for("tile/entries/000") == 256 * 65_537
    assert MAX_CHECKPOINT == 65_536
    with pytest.raises(InputError):
        limit_for("../etc/passwd")
    with pytest.raises(InputError):
        HttpFetcher("file:///etc/")


def test_static_server(tmp_path: Path) -> None:
    (tmp_path / "tile" / "0").mkdir(parents=True)
    (tmp_path / "tile" / "0" / "000.p" / "2").parent.mkdir()
    (tmp_path / "tile" / "0" / "000.p" / "2").write_bytes(b"h" * 64)
    (tmp_path / "checkpoint").write_bytes(b"origin\n2\nroot\n")
    with static_server(tmp_path) as url:
        fetch = HttpFetcher(url)
        assert fetch("tile/0/000.p/2") == b"h" * 64
        assert fetch.checkpoint() == b"origin\n2\nroot\n"
        with pytest.raises(FetchError) as missing:
            fetch("tile/0/001")
        assert missing.value.status == 404 and missing.value.url == url + "tile/0/001"
        assert "404" in missing.value.message
        (tmp_path / "checkpoint").write_bytes(b"c" * (MAX_CHECKPOINT + 1))
        with pytest.raises(FetchError, match="exceeds"):
            fetch.checkpoint()
    with pytest.raises(FetchError) as refused:  # the server is gone
        HttpFetcher(url, timeout=2)("tile/0/000")
    assert refused.value.status is None


def test_hostile_server(hostile: str) -> None:
    fetch = HttpFetcher(hostile, timeout=1.0, total=2.0)
    with pytest.raises(FetchError) as redirect:
        fetch.get("redirect/x", 100)
    assert redirect.value.status == 302
    with pytest.raises(FetchError, match="more than 8192 bytes"):
        fetch.get("big/x", 8192)
    with pytest.raises(FetchError, match="Content-Length 999999"):
        fetch.get("declared/x", 8192)
    with pytest.raises(FetchError) as error:
        fetch("tile/0/000")  # the hostile server answers 500 to a tile path
    assert error.value.status == 500
    started = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        fetch.get("slow/x", 8192)
    assert time.monotonic() - started < 4
