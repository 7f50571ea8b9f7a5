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
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            metavar="CIDR",
            help="可信反向代理（可重复）：仅对其按 X-Forwarded-For 从右向左取客户端地址 "
            "a reverse proxy whose X-Forwarded-For is believed (repeatable; walked from the right)",
        ),
    ] = None,
    trust_forwarded_for: Annotated[
        bool, typer.Option("--trust-forwarded-for", hidden=True, help="removed")
    ] = False,
    export_streams: Annotated[
        int,
        typer.Option(
            "--export-streams",
            min=1,
            max=64,
            help="每个工作进程同时导出下载数上限 concurrent GET /v1/log/export downloads per "
            "server process; the excess gets 503 with Retry-After",
        ),
    ] = 2,
    export_cache_seconds: Annotated[
        float,
        typer.Option(
            "--export-cache-seconds",
            min=0,
            max=86_400,
            help="导出包缓存秒数 serve one built export zip to every download for this long "
            "(0: build one per download)",
        ),
    ] = 60.0,
    exports_per_minute: Annotated[
        int,
        typer.Option(
            "--exports-per-minute",
            min=0,
            max=10_000,
            help="每个地址每分钟导出下载数上限 full export downloads per client address per "
            "minute and server process (burst of the same; the excess gets 429 with "
            "Retry-After; 0: no limit)",
        ),
    ] = 6,
    refusal_delay: Annotated[
        float,
        typer.Option(
            "--refusal-delay",
            min=0,
            max=10,
            help="拒绝应答延迟秒数 while busy, hold refusals (4xx, 503) back this long, so a "
            "client resending at once cannot take the CPU (0: never; api/brake.py)",
        ),
    ] = 0.25,
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
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics", help="提供 /metrics（默认关闭，否则 404）serve /metrics (off: 404)"
        ),
    ] = False,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=1,
            help="请求头须在此秒数内收齐 seconds a client has to send a request's headers",
        ),
    ] = 10.0,  # = api.http_guard.DEFAULT_HEADER_TIMEOUT (not imported: it loads uvicorn)
    body_timeout: Annotated[
        float,
        typer.Option(
            "--body-timeout", min=1, help="请求体须在此秒数内收齐 seconds to send a request body"
        ),
    ] = 60.0,  # = api.http_guard.DEFAULT_BODY_TIMEOUT
    keep_alive: Annotated[
        float,
        typer.Option("--keep-alive", min=0.1, help="空闲连接保持秒数 idle keep-alive seconds"),
    ] = 5.0,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=16,
            help="每个工作进程的连接上限，超出答 503 open connections per server process",
        ),
    ] = 2048,
    snapshot_every: Annotated[
        int,
        typer.Option(
            "--snapshot-every",
            min=0,
            help="每写入这么多条目（及停止时）保存一次状态快照，0 为不保存 store a rule-state "
            "snapshot after this many entries and at shutdown (0: never)",
        ),
    ] = 100_000,  # = ledger.snapshots.DEFAULT_EVERY (not imported: keep the CLI light)
    witness_policy: Annotated[
        Path | None,
        typer.Option(
            "--witness-policy",
            metavar="FILE",
            help="见证策略文件：向其中的见证者收集副署，/checkpoint 只发布达到法定数的检查点 "
            "witness policy (Sigsum format, docs/API.md): ask its witnesses to cosign and "
            "serve the newest checkpoint its quorum cosigned",
        ),
    ] = None,
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
    from api.ratelimit import parse_networks
    from api.settings import Settings

    if trust_forwarded_for:
        typer.echo(
            "✗ --trust-forwarded-for 已移除 was removed (it believed the left-most address, which "
            "the client writes): pass --trusted-proxy CIDR for each reverse proxy instead",
            err=True,
        )
        raise typer.Exit(2)
    try:
        parse_networks(trusted_proxy or ())
    except ValueError as exc:
        typer.echo(f"✗ --trusted-proxy: {exc}", err=True)
        raise typer.Exit(2) from None
    if witness_policy is not None:
        from verifier.core.errors import InputError
        from verifier.witness.policy import load_policy

        try:
            load_policy(witness_policy)
        except InputError as exc:
            typer.echo(f"✗ --witness-policy: {exc.message}", err=True)
            raise typer.Exit(2) from None
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
        trusted_proxies=tuple(trusted_proxy or ()),
        export_streams=export_streams,
        export_cache_seconds=export_cache_seconds,
        exports_per_minute=exports_per_minute,
        refusal_delay=refusal_delay,
        metrics=metrics,
        snapshot_every=snapshot_every,
        witness_policy=None if witness_policy is None else str(witness_policy.resolve()),
    )
    typer.echo(f"公信接口 Gongxin API on http://{host}:{port}/ (docs: /docs, residents: /credits)")
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": False,  # the look-up reads X-Forwarded-For itself (api/ratelimit.py)
        "timeout_graceful_shutdown": 30,
        **_slow_client_limits(header_timeout, body_timeout, keep_alive, max_connections),
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


def _slow_client_limits(
    header_timeout: float, body_timeout: float, keep_alive: float, max_connections: int
) -> dict[str, Any]:
    """uvicorn's settings against slow and many clients (docs/OPERATIONS.md "Slow clients"):
    the guarded h11 protocol (header and body deadlines, :mod:`api.http_guard`), the idle
    keep-alive, a 16 KiB cap on a request's head (h11's incomplete-event size: longer is
    400), ``limit_concurrency`` (connections or requests beyond it per process get 503) and
    the listen backlog."""
    from api.http_guard import TIMEOUTS_ENV, GuardedH11Protocol

    os.environ[TIMEOUTS_ENV] = f"{header_timeout},{body_timeout}"  # inherited by workers
    GuardedH11Protocol.header_timeout, GuardedH11Protocol.body_timeout = (
        header_timeout,
        body_timeout,
    )
    return {
        "http": GuardedH11Protocol,
        "timeout_keep_alive": keep_alive,
        "h11_max_incomplete_event_size": 16 * 1024,
        "limit_concurrency": max_connections,
        "backlog": 2048,
    }
