"""Headers and the operator's surface, on a real server: ``X-Content-Type-Options: nosniff``
on every response of every route family (JSON, problems, /docs and its static files, the
/credits page and its files, the text/plain checkpoint, the export zip), and ``/metrics``
only with ``gongxin serve --metrics`` (404 otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.problems import Problem

from .api_server import DemoTemplate, LiveServer, live_server

#: (method, path, body, expected status): a sample of every route family and every kind of
#: reply — JSON, problem+json, HTML, static files, plain text, a zip download.
SAMPLES: list[tuple[str, str, bytes | None, int]] = [
    ("GET", "/healthz", None, 200),
    ("GET", "/openapi.json", None, 200),
    ("GET", "/docs", None, 200),
    ("GET", "/docs/static/swagger-ui.css", None, 200),
    ("GET", "/credits", None, 200),
    ("GET", "/credits/static/credits.js", None, 200),
    ("GET", "/v1/log/checkpoint", None, 200),
    ("GET", "/v1/log/key", None, 200),
    ("GET", "/v1/log/entries?start=0&end=2", None, 200),
    ("GET", "/v1/log/proof/inclusion?index=1&tree_size=2", None, 200),
    ("GET", "/v1/log/export", None, 200),
    ("GET", "/v1/funds", None, 200),
    ("GET", "/v1/statements/00000000-0000-0000-0000-000000000000", None, 404),
    ("GET", "/no/such/route", None, 404),
    ("DELETE", "/v1/funds", None, 405),
    ("GET", "/v1/log/entries?start=-1", None, 400),
    ("POST", "/v1/statements", b"{not json", 400),
    ("POST", "/v1/statements", b'{"a":1}', 422),
    ("POST", "/v1/residents/lookup", b'{"code":"0000"}', None),  # 400 or 404: either way
    ("GET", "/metrics", None, 404),
]


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path_factory.mktemp("headers")) as s:
        yield s


@pytest.mark.parametrize(("method", "path", "body", "status"), SAMPLES)
def test_every_response_says_nosniff(
    server: LiveServer, method: str, path: str, body: bytes | None, status: int | None
) -> None:
    with server.client() as http:
        headers = {"content-type": "application/json"} if body is not None else {}
        r = http.request(method, path, content=body, headers=headers)
    if status is not None:
        assert r.status_code == status, (path, r.text[:300])
    assert r.headers.get("x-content-type-options") == "nosniff", (path, dict(r.headers))
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_an_internal_error_says_nosniff_too() -> None:
    """A 500 is answered by Starlette's outermost handler, outside every middleware: the
    problem carries the header itself."""
    assert Problem(500, "internal", "x").response().headers["x-content-type-options"] == "nosniff"


def test_metrics_only_when_enabled(
    server: LiveServer, demo_log: DemoTemplate, tmp_path: Path
) -> None:
    with server.client() as http:
        off = http.get("/metrics")
        assert off.status_code == 404
        assert "/metrics" not in http.get("/openapi.json").json()["paths"]
    with live_server(demo_log, tmp_path, "--metrics") as on, on.client() as http:
        r = http.get("/metrics")
        assert r.status_code == 200
        assert "gongxin_tree_size" in r.text
        assert r.headers["x-content-type-options"] == "nosniff"


def test_export_stream_is_not_sniffable(server: LiveServer) -> None:
    """The export (a streamed zip) gets the header on its first bytes, before the body."""
    with server.client() as http, http.stream("GET", "/v1/log/export") as r:
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        assert next(r.iter_bytes())[:2] == b"PK"


def test_header_survives_a_keep_alive_connection(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        for _ in range(3):
            assert http.get("/healthz").headers["x-content-type-options"] == "nosniff"
