"""``gongxin``: the command line, one module per command group (:mod:`ledger.cli.main`
assembles them)."""

from ledger.cli.main import main

__all__ = ["main"]
