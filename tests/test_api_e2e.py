"""End to end over real HTTP: ``gongxin serve`` (uvicorn) on loopback, on a demo log in
SQLite (a copy) and in a real PostgreSQL server. An officer's flow with dual approval, a rejected overspend, idempotent retries, a
resident's look-up, and an evaluator's export download verified by ``gongxin-verify``."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import VerifierKey, parse_verifier_key

from .api_server import DemoTemplate, LiveServer, live_server
from .receipt_check import check_receipt

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def template(request: pytest.FixtureRequest) -> DemoTemplate:
    """The demo log on each database: every test here runs on SQLite and on PostgreSQL."""
    fixture = "demo_log" if request.param == "sqlite" else "demo_log_pg"
    template: DemoTemplate = request.getfixturevalue(fixture)
    return template


@pytest.fixture(scope="module")
def server(
    template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("server")
    with live_server(template, workdir, "--lookups-per-minute", "1000") as s:
        yield s


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def key(template: DemoTemplate, name: str) -> SignerKey:
    """An active demo key: ``finance-1`` / ``finance-2`` (two different finance officers) or
    ``approver``."""
    if name.startswith("finance-"):
        return template.signer("finance_officer", int(name[-1]) - 1)
    return template.signer(name)


def log_key(template: DemoTemplate) -> VerifierKey:
    return parse_verifier_key(template.log_vkey)


def signed(kind: str, body: dict[str, Any], signer: SignerKey) -> tuple[str, bytes]:
    sub = sign_statement(kind, body, signer, origin=DEMO_ORIGIN)
    return sub.statement.id, sub.canonical()


def post(http: httpx.Client, data: bytes) -> httpx.Response:
    return http.post("/v1/statements", content=data, headers=JSON)


def digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_officer_flow_with_dual_approval(http: httpx.Client, template: DemoTemplate) -> None:
    finance, approver = key(template, "finance-1"), key(template, "approver")
    vkey = log_key(template)
    steps = [
        (
            "fund.appropriate",
            {
                "fund_id": "F-E2E-1",
                "fiscal_year": 2026,
                "programme": "端到端测试项目",
                "source": "财政",
                "amount_fen": 20_000_000,
            },
            finance,
        ),
        (
            "contract.award",
            {
                "contract_id": "HT-E2E-1",
                "fund_id": "F-E2E-1",
                "provider": "chunhui-sw",
                "title": "测试服务",
                "method": "询价",
                "total_fen": 12_000_000,
                "milestones": [
                    {
                        "milestone_id": "M1",
                        "amount_fen": 12_000_000,
                        "due": "2026-12-31",
                        "deliverable": "全部服务",
                    }
                ],
                "evidence": [digest("contract")],
            },
            finance,
        ),
        (
            "payment.propose",
            {
                "payment_id": "P-E2E-1",
                "contract_id": "HT-E2E-1",
                "milestone_id": "M1",
                "amount_fen": 8_000_000,
                "invoice_no": "INV-E2E-1",
                "invoice_sha256": digest("invoice"),
            },
            finance,
        ),
    ]
    for kind, body, signer in steps:
        sid, data = signed(kind, body, signer)
        r = post(http, data)
        assert r.status_code == 201, r.text
        check_receipt(r.json(), vkey, sid)
    # Above the threshold: pending until a *different* key approves.
    assert http.get("/v1/payments/P-E2E-1").json()["state"] == "pending"
    sid, self_approval = signed("payment.approve", {"payment_id": "P-E2E-1"}, finance)
    r = post(http, self_approval)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "role.forbidden"  # a finance officer holds no approver role
    sid, approval = signed("payment.approve", {"payment_id": "P-E2E-1"}, approver)
    r = post(http, approval)
    assert r.status_code == 201, r.text
    check_receipt(r.json(), vkey, sid)
    assert http.get("/v1/payments/P-E2E-1").json()["state"] == "counted"
    fund = http.get("/v1/funds/F-E2E-1").json()
    assert (fund["appropriated_fen"], fund["contracted_fen"], fund["paid_fen"]) == (
        20_000_000,
        12_000_000,
        8_000_000,
    )
    trace = http.get("/v1/trace/payment/P-E2E-1").json()
    kinds = [e["kind"] for e in trace["entries"]]
    assert kinds == ["fund.appropriate", "contract.award", "payment.propose", "payment.approve"]
    assert trace["summary"]["state"] == "counted"
    assert trace["page"] == {"after": -1, "limit": 200, "entries_total": 4, "next_after": None}
    # paged (issue 13: no listing is unbounded): one entry a page, the same chain
    paged, after = [], -1
    while after is not None:
        page = http.get("/v1/trace/payment/P-E2E-1", params={"after": after, "limit": 1}).json()
        assert len(page["entries"]) <= 1 and page["summary"] == trace["summary"]
        paged += page["entries"]
        after = page["page"]["next_after"]
    assert paged == trace["entries"]
    too_many = http.get("/v1/trace/payment/P-E2E-1", params={"limit": 1001})
    assert too_many.status_code == 400 and "limit" in too_many.text
    provider = http.get("/v1/providers/chunhui-sw").json()
    assert "HT-E2E-1" in provider["contracts"]


def test_overspend_is_rejected_and_nothing_is_written(
    http: httpx.Client, template: DemoTemplate
) -> None:
    finance = key(template, "finance-1")
    sid, data = signed(
        "fund.appropriate",
        {
            "fund_id": "F-E2E-2",
            "fiscal_year": 2026,
            "programme": "小额资金",
            "source": "财政",
            "amount_fen": 1_000_000,
        },
        finance,
    )
    assert post(http, data).status_code == 201
    before = http.get("/v1/log/checkpoint").text
    sid, data = signed(
        "contract.award",
        {
            "contract_id": "HT-E2E-2",
            "fund_id": "F-E2E-2",
            "provider": "chunhui-sw",
            "title": "超支合同",
            "method": "询价",
            "total_fen": 1_000_001,
            "milestones": [
                {
                    "milestone_id": "M1",
                    "amount_fen": 1_000_001,
                    "due": "2026-12-31",
                    "deliverable": "服务",
                }
            ],
            "evidence": [digest("x")],
        },
        finance,
    )
    r = post(http, data)
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "fund.insufficient"
    assert problem["type"] == "urn:gongxin:problem:fund.insufficient"
    assert problem["title"] and problem["title_en"] and problem["status"] == 422
    assert problem["field"] == "statement.body.total_fen"
    assert http.get("/v1/log/checkpoint").text == before
    assert http.get(f"/v1/statements/{sid}").status_code == 404
    assert http.get("/v1/contracts/HT-E2E-2").status_code == 404


def test_retries_are_idempotent_and_conflicts_refused(
    http: httpx.Client, template: DemoTemplate
) -> None:
    finance = key(template, "finance-2")
    body = {
        "fund_id": "F-E2E-3",
        "fiscal_year": 2026,
        "programme": "重试测试",
        "source": "社区基金",
        "amount_fen": 5_000,
    }
    sub = sign_statement("fund.appropriate", body, finance, origin=DEMO_ORIGIN)
    first = post(http, sub.canonical())
    assert first.status_code == 201
    again = post(http, sub.canonical())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["index"] == first.json()["index"]
    assert again.json()["leaf_hash"] == first.json()["leaf_hash"]
    looked_up = http.get(f"/v1/statements/{sub.statement.id}").json()
    assert looked_up["index"] == first.json()["index"]
    other = sign_statement(
        "fund.appropriate",
        {**body, "amount_fen": 6_000},
        finance,
        origin=DEMO_ORIGIN,
        statement_id=sub.statement.id,
    )
    r = post(http, other.canonical())
    assert r.status_code == 409 and r.json()["code"] == "statement.conflict"


def test_batch_is_atomic(http: httpx.Client, template: DemoTemplate) -> None:
    finance = key(template, "finance-1")
    good = [
        sign_statement(
            "fund.appropriate",
            {
                "fund_id": f"F-B-{k}",
                "fiscal_year": 2026,
                "programme": "批量",
                "source": "财政",
                "amount_fen": 100 + k,
            },
            finance,
            origin=DEMO_ORIGIN,
        )
        for k in range(5)
    ]
    bad = sign_statement(
        "fund.appropriate",
        {
            "fund_id": "F-B-0",
            "fiscal_year": 2026,
            "programme": "重复编号",
            "source": "财政",
            "amount_fen": 1,
        },
        finance,
        origin=DEMO_ORIGIN,
    )
    size = http.get("/healthz").json()["tree_size"]
    body = b"[" + b",".join(s.canonical() for s in [*good, bad]) + b"]"
    r = http.post("/v1/statements/batch", content=body, headers=JSON)
    assert r.status_code == 422 and r.json()["field"].startswith("batch[5]")
    assert http.get("/healthz").json()["tree_size"] == size
    body = b"[" + b",".join(s.canonical() for s in good) + b"]"
    r = http.post("/v1/statements/batch", content=body, headers=JSON)
    assert r.status_code == 201
    receipts = r.json()["receipts"]
    assert [x["index"] for x in receipts] == list(range(size, size + 5))
    assert len({x["checkpoint"] for x in receipts}) == 1
    for sub, receipt in zip(good, receipts, strict=True):
        check_receipt(receipt, log_key(template), sub.statement.id)


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"a":1,"a":2}', JSON, 400, "entry.canonical"),
        (b'{"statement": {}, "signatures": []}', JSON, 400, "entry.canonical"),
        (b'{"amount":1.5}', JSON, 400, "entry.canonical"),
        (b"not json", JSON, 400, "entry.canonical"),
        (b"[" * 300 + b"]" * 300, JSON, 400, "entry.canonical"),  # deeper than FORMAT.md §2
        (b'{"a":' * 1000 + b"1" + b"}" * 1000, JSON, 400, "entry.canonical"),
        (b'{"statement":"' + b"x" * 70_000 + b'"}', JSON, 413, "entry.too_long"),
        (b"{}", {"content-type": "text/plain"}, 415, "request.media_type"),
        (b"[" + b"1," * 5_000_000 + b"1]", JSON, 413, "request.too_large"),
    ],
)
def test_bad_bodies_are_problems(
    http: httpx.Client, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    r = http.post("/v1/statements", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code and r.json()["status"] == status


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
