"""Fetching a log's tiles and checkpoint over HTTP(S) with hard limits (C2SP tlog-tiles), with
the standard library only (``urllib``; the verifier imports no HTTP client).

Everything fetched is untrusted: :class:`~verifier.tiles.reader.TileReader` authenticates
tiles against a checkpoint, and the checkpoint is opened with the log key by the caller. The
limits are about not being held or flooded by a hostile server:

- every read is bounded while reading: a hash tile ≤ 8,192 bytes (its width × 32), an entry
  bundle ≤ width × 65,537 bytes (256 × 65,537 at most), a checkpoint ≤ 64 KiB; a declared
  ``Content-Length`` above the bound is refused before reading;
- each socket operation times out after ``timeout`` seconds and a whole request after
  ``total`` seconds (checked between reads of at most 64 KiB, each one ``recv``);
- redirects are refused (a 3xx is a :class:`FetchError` like any other non-200 status);
- only ``http`` and ``https`` base URLs, and only canonical tile paths, are accepted.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from verifier.core.errors import InputError
from verifier.tiles.codec import MAX_ENTRY
from verifier.tiles.paths import parse_path

__all__ = ["MAX_CHECKPOINT", "FetchError", "HttpFetcher", "limit_for"]

MAX_CHECKPOINT = 64 * 1024
"""Largest checkpoint read (a note with many cosignature lines fits well within it)."""
_HASH = 32
_CHUNK = 64 * 1024


class FetchError(InputError):
    """A fetch that failed: ``url`` and ``status`` (the HTTP status, ``None`` when there was
    no HTTP answer: refused connection, timeout, too many bytes)."""

    def __init__(self, url: str, status: int | None, reason: str) -> None:
        what = f"HTTP {status}" if status is not None else "failed"
        super().__init__(f"GET {url}: {what}: {reason}; 获取失败", field=url)
        self.url = url
        self.status = status


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def limit_for(path: str) -> int:
    """The largest body accepted for tile ``path`` (its width × 32 for a hash tile, width ×
    65,537 for an entry bundle). Raises :class:`InputError` for a path that is not a
    canonical tile path."""
    tile = parse_path(path)
    return tile.width * ((2 + MAX_ENTRY) if tile.entries else _HASH)


class HttpFetcher:
    """A :data:`~verifier.tiles.reader.Fetch` for the log published at ``base_url`` (the
    prefix under which ``checkpoint`` and ``tile/…`` live). Thread-safe (no shared state
    besides the opener). Cost per call: one HTTP request, O(bytes) bounded as above."""

    def __init__(self, base_url: str, timeout: float = 10.0, total: float | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"not an http(s) URL: {base_url!r}", field="url")
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.total = 3 * timeout if total is None else total
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def __call__(self, path: str) -> bytes:
        """The bytes of tile ``path`` (e.g. ``tile/0/x001/234``), at most :func:`limit_for`."""
        return self.get(path, limit_for(path))

    def checkpoint(self) -> bytes:
        """The log's current ``checkpoint`` (at most 64 KiB), not yet verified."""
        return self.get("checkpoint", MAX_CHECKPOINT)

    def get(self, path: str, limit: int) -> bytes:
        """GET ``base_url + path``: the body of a 200 reply of at most ``limit`` bytes, else
        :class:`FetchError`."""
        url = self.base_url + path
        deadline = time.monotonic() + self.total
        request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                if response.status != 200:
                    raise FetchError(url, response.status, "want 200")
                return _read_bounded(response, url, limit, deadline)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise FetchError(url, exc.code, str(exc.reason)) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, socket.timeout | TimeoutError):
                reason = f"no answer within {self.timeout} s"
            raise FetchError(url, None, str(reason)) from None


def _read_bounded(
    response: http.client.HTTPResponse, url: str, limit: int, deadline: float
) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(url, 200, f"Content-Length {declared} exceeds {limit} bytes")
    out = bytearray()
    while True:
        chunk = response.read1(_CHUNK)
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > limit:
            raise FetchError(url, 200, f"more than {limit} bytes")
        if time.monotonic() > deadline:
            raise FetchError(url, 200, "the reply took too long")
