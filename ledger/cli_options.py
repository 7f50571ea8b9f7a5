"""Command-line options shared by the ``gongxin`` sub-commands (one definition each)."""

from __future__ import annotations

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
