"""Command-line options shared by the ``gongxin`` sub-commands (one definition each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
