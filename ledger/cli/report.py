"""``gongxin report --xlsx OUT.xlsx``: the funds, contracts, payments, providers and credits
figures of the log as a workbook (:mod:`ledger.sheets.report_xlsx`). Read-only; exit 2 for an
unusable database or output path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from verifier.core.errors import GongxinError


def report_command(
    xlsx: Annotated[
        Path,
        typer.Option("--xlsx", help="输出的 Excel 文件 the workbook to write, e.g. report.xlsx"),
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """报表 — write the traceability figures (资金 funds, 合同 contracts, 付款 payments, 服务商
    providers, 积分 credits by community, 说明 about) to an .xlsx workbook: yuan and fen, every
    row with its entry indices. Replays the log read-only (O(n))."""
    from ledger.log import Ledger
    from ledger.sheets.report_xlsx import replay_report, write_xlsx

    try:
        with Ledger.open(db, create=False, replay=False) as ledger:
            report = replay_report(ledger)
        write_xlsx(report, xlsx)
    except GongxinError as exc:
        typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
        raise typer.Exit(2) from None
    v, t = report["verification"], report["totals"]
    typer.echo(
        f"✓ 已生成报表 wrote {xlsx}: {v['origin']} · 条目 tree size {v['tree_size']} · "
        f"资金 {t['funds']} funds · 合同 {t['contracts']} contracts · 社区 {t['communities']} "
        "communities"
    )
