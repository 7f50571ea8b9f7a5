"""``python -m witness``: the ``gongxin witness`` commands without the entry point."""

from witness.cli import app

app(prog_name="gongxin witness")
