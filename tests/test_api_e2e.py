"""End to end over real HTTP, writing: ``gongxin serve`` (uvicorn) on loopback, on a demo log
in SQLite (a copy) and in a real PostgreSQL server. An officer's flow with dual approval, a
rejected overspend, idempotent retries, an atomic batch, and bad bodies as problems. Reading
(a resident's look-up, an evaluator's export download verified by ``gongxin-verify``, the log
routes): tests/test_api_e2e_reads.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement

from .api_e2e import JSON, demo_log_on, digest, e2e_client, key, log_key, post, signed
from .api_server import DemoTemplate
from .receipt_check import check_receipt


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
