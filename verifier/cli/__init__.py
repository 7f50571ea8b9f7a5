"""``gongxin-verify``: argument parsing, reading bundles (directories and zips), the worker
pool and progress. :func:`main` is the entry point (exit 0 valid, 1 invalid, 2 usage)."""

from verifier.cli.main import main

__all__ = ["main"]
