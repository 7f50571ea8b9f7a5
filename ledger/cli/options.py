"""Command-line options shared by the ``gongxin`` sub-commands (one definition each)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from verifier.core.errors import GongxinError, VerificationError

if TYPE_CHECKING:
    from ledger.log import Ledger

DEFAULT_DB = "sqlite:///gongxin.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="GONGXIN_DATABASE_URL",
        help="数据库 URL (SQLAlchemy), e.g. sqlite:///gongxin.db",
    ),
]

DEFAULT_LOG_KEY = "gongxin-log.key"

LogKeyOption = Annotated[
    Path,
    typer.Option(
        "--log-key-file",
        envvar="GONGXIN_LOG_KEY_FILE",
        help="日志签名私钥文件 — the log's private key file (signs checkpoints).",
    ),
]


def fail(exc: GongxinError) -> NoReturn:
    """Print ``exc`` as one line and exit: 1 for a rejected (invalid) input, 2 otherwise."""
    if isinstance(exc, VerificationError):
        typer.echo(f"✗ 拒绝 rejected: {exc.one_line()}", err=True)
        raise typer.Exit(1)
    typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
    raise typer.Exit(2)


@contextmanager
def reading(db: str) -> Iterator[Ledger]:
    """Open the log read-only (no replay, nothing created); errors become one line + exit."""
    from ledger.log import Ledger

    try:
        with Ledger.open(db, create=False, replay=False) as ledger:
            yield ledger
    except GongxinError as exc:
        fail(exc)


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))
