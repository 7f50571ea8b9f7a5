"""``gongxin serve``: the HTTP API (docs/API.md) under uvicorn on the configured database."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.options import DEFAULT_DB, DEFAULT_LOG_KEY, DbOption, LogKeyOption


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 address to listen on")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="端口 port")] = 8080,
    db: DbOption = DEFAULT_DB,
    log_key_file: LogKeyOption = Path(DEFAULT_LOG_KEY),
    read_only: Annotated[
        bool,
        typer.Option("--read-only", help="只读：不接受写入 serve reads only (no log key needed)"),
    ] = False,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1024, help="请求体上限（字节）largest request body")
    ] = 8 * 1024 * 1024,
    lookups_per_minute: Annotated[
        int,
        typer.Option("--lookups-per-minute", min=1, help="每个地址每分钟查询次数 per address"),
    ] = 10,
    trust_forwarded_for: Annotated[
        bool,
        typer.Option(
            "--trust-forwarded-for",
            help="按 X-Forwarded-For 限流（仅在反向代理之后）behind a reverse proxy only",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="工作进程数 server processes; appends from all of them serialise on the "
            "database (SQLite's write lock, PostgreSQL's advisory lock)",
        ),
    ] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="日志级别")] = "info",
    log_format: Annotated[
        str,
        typer.Option("--log-format", help="日志格式 json (one object per line, default) or text"),
    ] = "json",
) -> None:
    """启动接口服务 — serve the HTTP API (docs/API.md): writes, the log and its proofs,
    public fund information, residents' credits and the /credits page. Ctrl-C stops it
    after the queued writes are committed."""
    import uvicorn

    from api.app import SETTINGS_ENV, create_app
    from api.logs import log_config
    from api.settings import Settings

    if not read_only and not log_key_file.exists():
        typer.echo(
            f"✗ 找不到日志私钥 no log key file {log_key_file}; pass --log-key-file, or "
            "--read-only to serve reads only",
            err=True,
        )
        raise typer.Exit(2)
    settings = Settings(
        database_url=db,
        log_key_file=None if read_only else log_key_file,
        key_passphrase=os.environ.get("GONGXIN_KEY_PASSPHRASE"),
        max_body=max_body,
        lookups_per_minute=lookups_per_minute,
        trust_forwarded_for=trust_forwarded_for,
    )
    typer.echo(f"公信接口 Gongxin API on http://{host}:{port}/ (docs: /docs, residents: /credits)")
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": trust_forwarded_for,
        "timeout_graceful_shutdown": 30,
    }
    if log_format == "json":
        common["log_config"] = log_config(log_level)
    elif log_format != "text":
        typer.echo("✗ --log-format must be json or text", err=True)
        raise typer.Exit(2)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (stops accepting, finishes requests,
    # the app's shutdown commits the queued writes), then re-raises the signal to the handler
    # it found: make that a no-op, so a graceful stop exits 0 rather than "killed by signal".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    if workers == 1:
        uvicorn.run(create_app(settings), **common)
    else:
        os.environ[SETTINGS_ENV] = settings.to_json()
        uvicorn.run("api.app:app_from_env", factory=True, workers=workers, **common)
