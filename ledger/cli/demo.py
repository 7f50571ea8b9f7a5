"""``gongxin demo``: a deterministic street-office log in a fresh database (ledger/demo/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption, fail
from verifier.core.errors import GongxinError, InputError


def demo_command(
    entries: Annotated[
        int | None,
        typer.Option(
            "--entries",
            min=1,
            help="条目数 number of entries (default 13000: the whole scenario, ~17 simulated "
            "months; larger N continues it, e.g. 1000000 for benchmarks)",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 seed (same seed → same log)")] = 1,
    keys_dir: Annotated[
        Path, typer.Option("--keys-dir", help="演示密钥目录 where to write the demo keys")
    ] = Path("gongxin-demo-keys"),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="删除已有的 SQLite 数据库文件 delete an existing SQLite file first"
        ),
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """生成演示日志 — build a deterministic street-office (街道) log in a fresh database:
    communities, providers, funds, contracts and payments, volunteer credits; every entry
    valid under the rulebook (FORMAT.md §10)."""
    from ledger.demo import DEFAULT_ENTRIES, build_demo
    from ledger.demo.residents import RESIDENTS_FILE

    if entries is None:
        entries = DEFAULT_ENTRIES

    try:
        _fresh_database(db, force)
        if keys_dir.exists() and any(keys_dir.iterdir()):
            others = [
                p
                for p in keys_dir.iterdir()
                if not p.is_file()
                or (p.suffix not in (".key", ".vkey") and p.name != RESIDENTS_FILE)
            ]
            if not force or others:
                raise InputError(
                    "demo keys directory is not empty; pass --force (only when it holds just "
                    ".key/.vkey files) or choose --keys-dir",
                    field=str(keys_dir),
                )
            for p in keys_dir.iterdir():
                p.unlink()
        size, note = build_demo(db, entries, seed, keys_dir)
    except GongxinError as exc:
        fail(exc)
    except ValueError as exc:
        typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"✓ 演示日志已生成 demo log: {size} entries in {db} (keys in {keys_dir}/)")
    typer.echo(f"示例居民查询码 demo residents' lookup codes: {keys_dir / RESIDENTS_FILE}")
    sys.stdout.write(note)


def _fresh_database(url: str, force: bool) -> None:
    if not url.startswith("sqlite:///"):
        return  # other databases: build_demo refuses a non-empty log itself
    path = Path(url.removeprefix("sqlite:///"))
    if path.exists():
        if not force:
            raise InputError(
                "database file exists; pass --force to replace it or choose --db", field=str(path)
            )
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
