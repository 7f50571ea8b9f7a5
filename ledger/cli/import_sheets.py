"""``gongxin import FILE.xlsx|FILE.csv --kind payments|credits``: preview, then sign and submit
a spreadsheet of payment proposals or credit awards in batches (docs/OFFICERS.md).

1. Read and check every row (:mod:`ledger.sheets.imports`); print the rows to submit and every
   error by row and column. Any error: nothing is submitted (exit 2).
2. ``--dry-run`` stops here; otherwise ask for confirmation (``--yes`` skips it).
3. Look up each row's deterministic statement id on the server (``GET
   /v1/statements/{id}``): rows already in the log are skipped, so running the same file
   again submits nothing twice. Sign the rest and submit them in atomic batches (``POST
   /v1/statements/batch``), verifying every receipt with the pinned log key.

Exit codes as for the officers' commands (:mod:`ledger.cli.submit`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.submit import (
    DEFAULT_SERVER,
    JsonOption,
    KeyFileOption,
    PinnedLogKeyOption,
    ServerOption,
    connect,
    officer_errors,
    print_json,
    read_signer,
    rejected_line,
)
from ledger.client import MAX_BATCH, ApiError, GongxinClient, Receipt
from ledger.sheets.imports import ImportPlan, PlannedRow, plan_import, sign_rows
from ledger.sheets.read import read_table
from ledger.signing.keys import SignerKey

_BATCH_FIELD = re.compile(r"batch\[(\d+)\]\.?")
#: Statement look-ups sent at once before submitting.
_LOOKUPS = 8


class ImportKindName(StrEnum):
    """What a spreadsheet holds."""

    payments = "payments"
    credits = "credits"


@dataclass
class ImportResult:
    """Rows submitted now and rows the log already held, with their verified receipts."""

    submitted: int = 0
    present: int = 0
    receipts: list[tuple[PlannedRow, Receipt]] = field(default_factory=list)


class RowRejected(Exception):
    """The ledger refused the batch because of ``row``; earlier batches stay logged."""

    def __init__(self, row: PlannedRow, error: ApiError, result: ImportResult) -> None:
        super().__init__(str(error))
        self.row, self.error, self.result = row, error, result


def _present(client: GongxinClient, rows: list[PlannedRow]) -> dict[str, Receipt]:
    """The verified receipts of the rows whose statement ids the log already holds
    (:data:`_LOOKUPS` look-ups in flight at once; the client is thread-safe)."""
    ids = [r.statement_id for r in rows]
    with ThreadPoolExecutor(max_workers=_LOOKUPS) as pool:
        found = pool.map(client.receipt, ids)
        return {sid: receipt for sid, receipt in zip(ids, found, strict=True) if receipt}


def submit_plan(
    client: GongxinClient,
    plan: ImportPlan,
    signer: SignerKey,
    batch_size: int,
    say: Callable[[str], None],
) -> ImportResult:
    """Submit the rows of a valid ``plan`` not yet in the log, in batches of ``batch_size``
    signed now by ``signer``. Raises :class:`RowRejected` when the ledger refuses a batch
    (nothing of that batch is written). Preconditions: ``plan.ok``; the plan was made for
    ``signer``. Cost: one look-up per row, one request per batch."""
    result = ImportResult()
    say(f"… 核对 {len(plan.rows)} 行是否已在账本中 checking which rows the log already holds")
    known = _present(client, plan.rows)
    for r in plan.rows:
        if r.statement_id in known:
            result.present += 1
            result.receipts.append((r, known[r.statement_id]))
    todo = [r for r in plan.rows if r.statement_id not in known]
    at = datetime.now(UTC).replace(microsecond=0)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        receipts = _submit_chunk(client, plan, chunk, signer, at, result)
        for r, receipt in zip(chunk, receipts, strict=True):
            result.receipts.append((r, receipt))
            if receipt.duplicate:
                result.present += 1
            else:
                result.submitted += 1
        last = receipts[-1]
        say(
            f"✓ 批次 batch {start // batch_size + 1}: 第 {chunk[0].row}–{chunk[-1].row} 行 rows, "
            f"{len(chunk)} 条 · 树大小 tree size {last.tree_size} · 已验证 verified"
        )
    result.receipts.sort(key=lambda pair: pair[0].row)
    return result


def _submit_chunk(
    client: GongxinClient,
    plan: ImportPlan,
    chunk: list[PlannedRow],
    signer: SignerKey,
    at: datetime,
    result: ImportResult,
) -> list[Receipt]:
    """Submit one batch. A ``statement.conflict`` means another run logged some of these
    ids meanwhile (signed at another time): those rows are looked up, the rest resent."""
    try:
        return client.submit_batch(sign_rows(plan, chunk, signer, at, client.signing_origin()))
    except ApiError as exc:
        if exc.code == "statement.conflict":
            known = _present(client, chunk)
            rest = [r for r in chunk if r.statement_id not in known]
            origin = client.signing_origin()
            signed = sign_rows(plan, rest, signer, at, origin) if rest else []
            fresh = iter(client.submit_batch(signed) if signed else [])
            return [known.get(r.statement_id) or next(fresh) for r in chunk]
        if exc.rejected:
            match = _BATCH_FIELD.match(exc.field or "")
            row = (
                chunk[int(match.group(1))]
                if match and int(match.group(1)) < len(chunk)
                else chunk[0]
            )
            raise RowRejected(row, exc, result) from None
        raise


def _print_preview(plan: ImportPlan, err: bool) -> None:
    """The preview table (to stderr with ``--json``, so stdout holds only the JSON)."""

    def echo(text: str) -> None:
        typer.echo(text, err=err)

    lines = plan.preview()
    widths = [max(len(line[k]) for line in lines) for k in range(len(lines[0]))]
    bad = f"，{len(plan.errors)} 处错误 errors" if plan.errors else ""
    echo(f"预览 preview: {len(plan.rows)} 行有效 valid rows{bad} ({plan.kind})")
    for line in lines:
        echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    if plan.ignored_headers:
        echo(f"忽略的列 ignored columns: {', '.join(plan.ignored_headers)}")


def import_command(
    file: Annotated[
        Path, typer.Argument(help="表格文件 .xlsx（第一个工作表）或 .csv — the spreadsheet")
    ],
    kind: Annotated[
        ImportKindName,
        typer.Option(
            "--kind", help="内容 what it holds: payments（付款申请）| credits（志愿积分）"
        ),
    ],
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="不再确认 submit without asking")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只预览不提交 preview only, submit nothing")
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, max=MAX_BATCH, help="每批条数 submissions per atomic batch"
        ),
    ] = 200,
    as_json: JsonOption = False,
) -> None:
    """导入表格 — import payment proposals or credit awards from a spreadsheet: preview with
    every error by row and column, then sign with --key and submit in batches. Running the
    same file again submits nothing twice."""
    with officer_errors():
        table = read_table(file)
        signer = read_signer(key)
        plan = plan_import(table, kind.value, signer.key_id_hex)
    _print_preview(plan, as_json)
    if not plan.ok:
        for error in plan.errors:
            typer.echo(f"✗ {error}", err=True)
        typer.echo(
            f"✗ {len(plan.errors)} 处错误，未提交任何内容 — {len(plan.errors)} error(s); "
            "nothing was submitted",
            err=True,
        )
        raise typer.Exit(2)
    if not plan.rows:
        typer.echo("没有数据行 no data rows; nothing to submit", err=as_json)
        return
    if dry_run:
        typer.echo("试运行，未提交 dry run: nothing submitted", err=as_json)
        return
    if not yes and not typer.confirm(
        f"用密钥 {signer.name}（{signer.key_id_hex}）签名并提交这 {len(plan.rows)} 行？— sign and "
        f"submit these {len(plan.rows)} rows?",
        default=False,
        err=as_json,
    ):
        typer.echo("已取消，未提交 cancelled: nothing submitted", err=True)
        raise typer.Exit(1)
    try:
        with officer_errors(), connect(server, log_key) as client:
            result = submit_plan(
                client, plan, signer, batch_size, lambda line: typer.echo(line, err=as_json)
            )
    except RowRejected as exc:
        typer.echo(rejected_line(exc.error, f" (第 {exc.row.row} 行 row {exc.row.row})"), err=True)
        typer.echo(
            f"  此前已提交 submitted before it: {exc.result.submitted}; 该批次未写入 nothing of "
            "its batch was written. 修改该行后重新导入，已记账的行会被跳过 — fix the row and run "
            "again: rows already logged are skipped.",
            err=True,
        )
        raise typer.Exit(1) from None
    if as_json:
        print_json([_row_json(r, receipt) for r, receipt in result.receipts])
    typer.echo(
        f"✓ 完成 done: 已提交 submitted {result.submitted} · 已存在 already present "
        f"{result.present}",
        err=as_json,
    )


def _row_json(row: PlannedRow, receipt: Receipt) -> dict[str, Any]:
    return {"row": row.row, "statement_id": row.statement_id, "receipt": receipt.to_json()}
