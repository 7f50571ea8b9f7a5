"""``gongxin monitor`` (registered through the ``gongxin.commands`` entry-point group)."""

from __future__ import annotations

import typer

app = typer.Typer(help="监督 — follow and check a log (docs/WITNESSING.md)", no_args_is_help=True)
