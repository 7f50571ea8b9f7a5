"""``gongxin backup`` and ``gongxin restore`` (:mod:`ledger.backup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from verifier.core.errors import GongxinError, VerificationError


def backup(
    file: Annotated[Path, typer.Argument(help="备份文件 backup file to write (SQLite)")],
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件 overwrite")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """备份 — a consistent snapshot of the ledger and the resident register into one file,
    while the server keeps running. The file holds personal data (the register): keep it
    encrypted."""
    from ledger.backup import backup as run

    try:
        info = run(db, file, force=force)
    except GongxinError as exc:
        typer.echo(f"✗ 备份失败 backup failed: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"✓ 已备份 backed up {info.size} entries ({info.rows} rows) to {file}")


def restore(
    file: Annotated[Path, typer.Argument(help="备份文件 backup file")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """恢复 — copy a backup into an empty database (--db) and check it: every entry replayed
    under the rules and the Merkle root against the last signed checkpoint."""
    from ledger.backup import restore as run

    try:
        info = run(file, db)
    except VerificationError as exc:
        typer.echo(f"✗ 恢复的日志无效 restored log is invalid: {exc}", err=True)
        raise typer.Exit(1) from None
    except GongxinError as exc:
        typer.echo(f"✗ 恢复失败 restore failed: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"✓ 已恢复并核验 restored and checked {info.size} entries into {db}")
    typer.echo("  继续服务 serve it: gongxin serve --db … --log-key-file <the same log key>")


__all__ = ["DEFAULT_DB", "backup", "restore"]
