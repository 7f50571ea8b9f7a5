"""The OpenAPI page ``/docs`` renders in a real browser with no request leaving the server
(government intranets have no CDN): Swagger UI from local files, the document from
``/openapi.json``, every operation listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .api_server import DemoTemplate, LiveServer, live_server
from .browser import chromium


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path_factory.mktemp("docs-server")) as s:
        yield s


def test_docs_page_renders_offline_with_every_operation(server: LiveServer, tmp_path: Path) -> None:
    requested: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        page.wait_for_selector(".opblock", timeout=20_000)
        title = page.text_content(".swagger-ui .info .title") or ""
        paths = page.eval_on_selector_all(
            ".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))"
        )
        page.screenshot(path=str(tmp_path / "docs.png"))
    assert "公信" in title
    for path in ("/v1/statements", "/v1/log/checkpoint", "/v1/residents/lookup", "/healthz"):
        assert path in paths, paths
    hosts = {urlsplit(u).netloc for u in requested if not u.startswith("data:")}
    assert hosts == {urlsplit(server.url).netloc}, requested
