"""End to end over real HTTP, reading: ``gongxin serve`` (uvicorn) on loopback, on a demo log
in SQLite (a copy) and in a real PostgreSQL server. A resident's look-up, an evaluator's export
download verified by ``gongxin-verify``, the log routes against the checkpoint, the docs page
without internet, and look-ups rate-limited. Writing: tests/test_api_e2e.py."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint

from .api_e2e import VERIFY, demo_log_on, e2e_client, log_key
from .api_server import DemoTemplate, live_server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def template(request: pytest.FixtureRequest) -> DemoTemplate:
    """The demo log on each database: every test here runs on SQLite and on PostgreSQL."""
    return demo_log_on(request)


@pytest.fixture(scope="module")
def http(
    template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    with e2e_client(template, tmp_path_factory) as c:
        yield c


def test_resident_lookup_proves_every_entry(http: httpx.Client, template: DemoTemplate) -> None:
    resident = template.residents()[0]
    r = http.post("/v1/residents/lookup", json={"code": resident["lookup_code"].lower()})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["resident_ref"] == resident["resident_ref"]
    assert view["balance_points"] == int(resident["balance_points"]) > 0
    assert sum(lot["points"] for lot in view["lots"]) == view["balance_points"]
    cp = open_checkpoint(view["checkpoint"], log_key(template))
    assert cp.size == view["tree_size"] and view["log_key"] == template.log_vkey
    running = 0
    for item in view["history"]:
        line = item["entry"].encode()
        assert resident["resident_ref"].encode() in line
        leaf = merkle.leaf_hash(line)
        assert leaf.hex() == item["leaf_hash"]
        path = [base64.b64decode(h) for h in item["inclusion_path"]]
        merkle.verify_inclusion(leaf, item["index"], cp.size, path, cp.root)
        running += item["change_points"]
        assert item["balance_after"] == running
    text = r.text
    assert resident["register_no"] not in text and "示例居民" not in text
    missing = http.post("/v1/residents/lookup", json={"code": "0000-0000-00000"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_evaluator_downloads_the_export_and_verifies_it(
    http: httpx.Client, template: DemoTemplate, tmp_path: Path
) -> None:
    r = http.get("/v1/log/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path)
    bundle = tmp_path / "gongxin-export"
    pinned = tmp_path / "log.vkey"
    pinned.write_text(template.log_vkey + "\n")
    done = subprocess.run(
        [VERIFY, str(bundle), "--log-key", str(pinned)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The downloaded zip itself verifies too, and a damaged copy does not.
    archive = tmp_path / "export.zip"
    archive.write_bytes(r.content)
    done = subprocess.run([VERIFY, str(archive), "--log-key", str(pinned)], capture_output=True)
    assert done.returncode == 0, done.stderr
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("entries.jsonl"):
                data = data.replace(b'"fiscal_year":2025', b'"fiscal_year":2024', 1)
            dst.writestr(info, data)
    done = subprocess.run([VERIFY, str(tampered), "--log-key", str(pinned)], capture_output=True)
    assert done.returncode == 1, done.stderr
    # The entries route streams the same bytes as the export's entries.jsonl.
    size = int((bundle / "checkpoint").read_text().split("\n")[1])
    streamed = http.get("/v1/log/entries", params={"end": size}).content
    assert streamed == (bundle / "entries.jsonl").read_bytes()
    part = http.get("/v1/log/entries", params={"start": 3, "end": 7}).content.splitlines()
    assert part == (bundle / "entries.jsonl").read_bytes().splitlines()[3:7]


def test_log_routes_agree_with_the_checkpoint(http: httpx.Client, template: DemoTemplate) -> None:
    note = http.get("/v1/log/checkpoint")
    assert note.headers["content-type"] == "text/plain; charset=utf-8"
    cp = open_checkpoint(note.text, log_key(template))
    assert http.get("/v1/log/key").text.strip() == template.log_vkey
    line = http.get("/v1/log/entries", params={"start": 10, "end": 11}).content.rstrip(b"\n")
    proof = http.get("/v1/log/proof/inclusion", params={"index": 10, "size": cp.size}).json()
    assert base64.b64decode(proof["root"]) == cp.root
    merkle.verify_inclusion(
        merkle.leaf_hash(line),
        10,
        cp.size,
        [base64.b64decode(h) for h in proof["inclusion_path"]],
        cp.root,
    )
    c = http.get("/v1/log/proof/consistency", params={"size1": 100, "size2": cp.size}).json()
    merkle.verify_consistency(
        100,
        cp.size,
        [base64.b64decode(h) for h in c["consistency_path"]],
        base64.b64decode(c["root_1"]),
        cp.root,
    )
    assert http.get("/v1/log/proof/inclusion", params={"index": cp.size + 5}).status_code == 400
    assert http.get("/v1/log/entries", params={"end": cp.size + 1}).status_code == 400


def test_docs_page_is_served_without_internet(http: httpx.Client) -> None:
    page = http.get("/docs").text
    assert "/docs/static/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page.replace("https://fastapi", "")
    assert http.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert json.loads(http.get("/openapi.json").text)["openapi"].startswith("3.1")


def test_lookups_are_rate_limited(template: DemoTemplate, tmp_path: Path) -> None:
    with live_server(template, tmp_path, "--lookups-per-minute", "3") as s, s.client() as c:
        codes = [c.post("/v1/residents/lookup", json={"code": "ZZZZZZZZZZZZZ"}) for _ in range(5)]
        assert [r.status_code for r in codes[:3]] == [404, 404, 404]
        assert codes[4].status_code == 429
        assert int(codes[4].headers["retry-after"]) >= 1
        assert codes[4].json()["code"] == "rate_limited"
