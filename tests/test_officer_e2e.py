"""End to end over real HTTP: finance officers' tooling against ``gongxin serve`` on loopback,
on a copy of the demo log. An officer appropriates a fund and awards a contract with the
officer commands, imports a payments CSV (preview, then submit), re-runs it (nothing twice),
recovers from a rejected row, an approver approves, an organiser imports a credits xlsx; every
receipt is verified by the client and again here by the tests' independent check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner, Result

from ledger.cli.main import app
from verifier.core.keys import parse_verifier_key

from .api_server import DemoTemplate, LiveServer, demo_template, live_server
from .receipt_check import check_receipt

RUN = "e2e"  # id prefix of everything this module creates


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    return demo_template(tmp_path_factory.mktemp("officer-template"), 2000)


@pytest.fixture(scope="module")
def server(
    template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(template, tmp_path_factory.mktemp("officer-server")) as s:
        yield s


def gongxin(
    server: LiveServer, key: str, *args: str, code: int = 0, stdin: str | None = None
) -> Result:
    """Run ``gongxin ARGS`` signing with the demo key ``key``, against ``server``."""
    env = {
        "GONGXIN_SERVER": server.url,
        "GONGXIN_LOG_KEY": server.template.log_vkey,
        "GONGXIN_KEY_FILE": str(server.template.keys / f"{key}.key"),
    }
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"gongxin {' '.join(args)} crashed") from result.exception
    assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
    return result


def size(server: LiveServer) -> int:
    return int(httpx.get(f"{server.url}/healthz").json()["tree_size"])


def receipts(result: Result) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def contract(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fund of 1,000,000.00 yuan and a contract of two milestones (60,000.00 and 90,000.50
    yuan) awarded with the officer commands."""
    finance = "jiedao-001-finance-1"
    out = gongxin(
        server,
        finance,
        "fund",
        "appropriate",
        "--fund-id",
        f"F-{RUN}",
        "--fiscal-year",
        "2026",
        "--programme",
        "端到端测试项目",
        "--source",
        "财政",
        "--amount-yuan",
        "1,000,000.00",
    )
    assert "fund.appropriate #2000" in out.stdout and "tree size 2001" in out.stdout
    evidence = tmp_path_factory.mktemp("evidence") / "contract.pdf"
    evidence.write_bytes(b"%PDF- contract scan")
    out = gongxin(
        server,
        finance,
        "contract",
        "award",
        "--contract-id",
        f"HT-{RUN}",
        "--fund-id",
        f"F-{RUN}",
        "--provider",
        "chunhui-sw",
        "--title",
        "端到端助老服务",
        "--method",
        "询价",
        "--milestone",
        "M1;60,000.00;2026-12-31;首期服务",
        "--milestone",
        "M2;90000.5;2027-06-30;二期服务; 含验收",
        "--evidence-file",
        str(evidence),
        "--json",
    )
    body = json.loads(json.loads(out.stdout)["entry"])["statement"]["body"]
    assert body["total_fen"] == 15_000_050
    assert body["evidence"] == [hashlib.sha256(b"%PDF- contract scan").hexdigest()]
    return f"HT-{RUN}"


def payments_csv(
    path: Path, rows: list[tuple[str, str, str, str]], encoding: str = "utf-8-sig"
) -> Path:
    lines = ["付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希,备注"]
    lines += [f'{pid},HT-{RUN},{m},"{amount}",{inv},{digest(inv)},' for pid, m, amount, inv in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_payments_import_preview_submit_and_rerun(
    server: LiveServer, contract: str, tmp_path: Path
) -> None:
    finance = "jiedao-001-finance-1"
    csv = payments_csv(
        tmp_path / "付款.csv",
        [
            ("P-e2e-1", "M1", "10,000.00", "INV-1"),
            ("P-e2e-2", "M1", "50,000.00", "INV-2"),  # at the 50,000 yuan threshold: pending
            ("P-e2e-3", "M2", "0.50", "INV-3"),
        ],
        encoding="gb18030",
    )
    before = size(server)
    preview = gongxin(server, finance, "import", str(csv), "--kind", "payments", "--dry-run")
    assert "3 行有效 valid rows" in preview.stdout and "dry run" in preview.stdout
    assert "1000000 (10,000.00 元)" in preview.stdout
    declined = gongxin(
        server, finance, "import", str(csv), "--kind", "payments", code=1, stdin="n\n"
    )
    assert "nothing submitted" in declined.stderr
    assert size(server) == before

    first = gongxin(server, finance, "import", str(csv), "--kind", "payments", stdin="y\n")
    assert "submitted 3 · 已存在 already present 0" in first.stdout
    assert "已验证 verified" in first.stdout
    assert size(server) == before + 3

    again = gongxin(server, finance, "import", str(csv), "--kind", "payments", "--yes", "--json")
    assert "submitted 0 · 已存在 already present 3" in again.stderr
    assert size(server) == before + 3
    vkey = parse_verifier_key(server.template.log_vkey)
    got = receipts(again)
    assert [r["row"] for r in got] == [2, 3, 4]
    assert [r["receipt"]["index"] for r in got] == [before, before + 1, before + 2]
    for r in got:
        check_receipt(r["receipt"], vkey, r["statement_id"])
        body = json.loads(r["receipt"]["entry"])["statement"]["body"]
        assert body["payment_id"] == f"P-e2e-{r['row'] - 1}"
    amounts = [json.loads(r["receipt"]["entry"])["statement"]["body"]["amount_fen"] for r in got]
    assert amounts == [1_000_000, 5_000_000, 50]

    states = {
        p: httpx.get(f"{server.url}/v1/payments/{p}").json()["state"]
        for p in ("P-e2e-1", "P-e2e-2")
    }
    assert states == {"P-e2e-1": "counted", "P-e2e-2": "pending"}
    # the approver approves the pending one; the proposer may not
    gongxin(server, finance, "payment", "approve", "--payment-id", "P-e2e-2", code=1)
    out = gongxin(server, "jiedao-001-approver", "payment", "approve", "--payment-id", "P-e2e-2")
    assert "payment.approve" in out.stdout and "verified" in out.stdout
    assert httpx.get(f"{server.url}/v1/payments/P-e2e-2").json()["state"] == "counted"


def test_invalid_rows_submit_nothing_and_a_rejected_row_is_resumable(
    server: LiveServer, contract: str, tmp_path: Path
) -> None:
    finance = "jiedao-001-finance-1"
    before = size(server)
    bad = payments_csv(
        tmp_path / "bad.csv",
        [("P-e2e-10", "M2", "100.00", "INV-10"), ("P-e2e-11", "M2", "1.005", "INV-11")],
    )
    out = gongxin(server, finance, "import", str(bad), "--kind", "payments", "--yes", code=2)
    assert "第 3 行 D 列「金额（元）」" in out.stderr and "nothing was submitted" in out.stderr
    assert size(server) == before

    # row 4 asks more than milestone M2 has left: batches of one, so rows 2–3 are logged
    rows = [
        ("P-e2e-20", "M2", "100.00", "INV-20"),
        ("P-e2e-21", "M2", "200.00", "INV-21"),
        ("P-e2e-22", "M2", "999,999.00", "INV-22"),
    ]
    csv = payments_csv(tmp_path / "pay.csv", rows)
    args = ("import", str(csv), "--kind", "payments", "--yes", "--batch-size", "1")
    out = gongxin(server, finance, *args, code=1)
    assert "第 4 行 row 4" in out.stderr and "payment.exceeds_milestone" in out.stderr
    assert "amount_fen" in out.stderr
    assert size(server) == before + 2
    rows[2] = ("P-e2e-22", "M2", "300.00", "INV-22")
    payments_csv(csv, rows)
    out = gongxin(server, finance, *args)
    assert "submitted 1 · 已存在 already present 2" in out.stdout
    assert size(server) == before + 3


def test_credits_xlsx_import(server: LiveServer, tmp_path: Path) -> None:
    organiser = "chunjiang-organiser"
    today = datetime.now(UTC).date().isoformat()
    gongxin(
        server,
        organiser,
        "activity",
        "register",
        "--activity-id",
        f"A-{RUN}",
        "--community",
        "chunjiang",
        "--category",
        "助老服务",
        "--date",
        today,
        "--title",
        "端到端陪护",
    )
    refs = [hashlib.md5(f"{RUN}/{n}".encode()).hexdigest() for n in range(3)]
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["居民化名", "活动编号", "服务时长（分钟）", "备注"])
    for n, ref in enumerate(refs):
        ws.append([ref.upper() if n == 0 else ref, f"A-{RUN}", 60 + 30 * n, "陪护"])
    path = tmp_path / "积分.xlsx"
    book.save(path)
    before = size(server)
    out = gongxin(server, organiser, "import", str(path), "--kind", "credits", "--yes", "--json")
    vkey = parse_verifier_key(server.template.log_vkey)
    got = receipts(out)
    assert len(got) == 3 and size(server) == before + 3
    for r in got:
        check_receipt(r["receipt"], vkey, r["statement_id"])
        body = json.loads(r["receipt"]["entry"])["statement"]["body"]
        assert body["resident_ref"] == refs[r["row"] - 2] and body["minutes"] == 60 + 30 * (
            r["row"] - 2
        )
    again = gongxin(server, organiser, "import", str(path), "--kind", "credits", "--yes")
    assert "submitted 0 · 已存在 already present 3" in again.stdout
    assert size(server) == before + 3
    # the wrong key: a finance officer's rows get other ids, and the ledger refuses the role
    out = gongxin(
        server, "jiedao-001-finance-1", "import", str(path), "--kind", "credits", "--yes", code=1
    )
    assert "role.forbidden" in out.stderr


def test_trust_on_first_use_warns_and_a_wrong_pinned_key_fails(server: LiveServer) -> None:
    env = {
        "GONGXIN_SERVER": server.url,
        "GONGXIN_KEY_FILE": str(server.template.keys / "jiedao-001-finance-1.key"),
    }
    args = ["fund", "appropriate", "--fund-id", f"F-{RUN}-tofu", "--fiscal-year", "2026"]
    args += ["--programme", "首次信任", "--source", "社区基金", "--amount-fen", "100"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert "trusting the server's key on first use" in result.stderr
    wrong = str(
        parse_verifier_key((server.template.keys / "jiedao-001-auditor.vkey").read_text().strip())
    )
    result = CliRunner().invoke(
        app, [*args[:2], "--fund-id", f"F-{RUN}-wrong", *args[4:], "--log-key", wrong], env=env
    )
    assert result.exit_code == 1 and "receipt failed verification" in result.stderr
