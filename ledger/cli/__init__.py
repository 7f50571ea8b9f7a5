"""``gongxin``: the command line, one module per command group (:mod:`ledger.cli.main`
assembles them).

``gongxin`` needs the server stack (``pip install 'gongxin[server]'``); the base install is
the verifier's. On a base install :func:`main` says so in one line instead of a traceback.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Console-script entry point."""
    try:
        from ledger.cli.main import main as run
    except ModuleNotFoundError as exc:
        import sys

        sys.stderr.write(
            f"gongxin: {exc.name} is not installed. `gongxin` needs the server extra: "
            "pip install 'gongxin[server]'; the base install has only `gongxin-verify`. "
            "未安装服务端依赖，请安装 gongxin[server]\n"
        )
        raise SystemExit(2) from None
    run()
