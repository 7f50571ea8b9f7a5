"""``gongxin witness init | add-log | serve`` (registered through the ``gongxin.commands``
entry-point group, so ``ledger`` never imports this package)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verifier.core.errors import InputError
from verifier.core.keys import parse_verifier_key

app = typer.Typer(help="见证服务 — a C2SP tlog-witness (docs/WITNESSING.md)", no_args_is_help=True)

KeyOption = Annotated[Path, typer.Option("--key", help="见证私钥文件 witness private key file")]
StateOption = Annotated[
    Path, typer.Option("--state", help="见证状态文件（SQLite）witness state file")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"✗ 输入错误 input error: {message}", err=True)
    return typer.Exit(2)


@app.command("init")
def init(
    name: Annotated[str, typer.Argument(help="见证者名称 witness name, e.g. witness.example/w1")],
    key: KeyOption = Path("witness.key"),
) -> None:
    """生成见证密钥 — generate the witness key (file mode 0600) and print its public key."""
    from witness.keys import WitnessSigner, write_private_key

    try:
        signer = WitnessSigner.generate(name)
        write_private_key(key, signer)
    except InputError as exc:
        raise _fail(exc.message) from None
    typer.echo(str(signer.public))


@app.command("add-log")
def add_log(
    origin: Annotated[str, typer.Argument(help="日志 origin")],
    log_key: Annotated[str, typer.Option("--log-key", help="日志公钥 log verifier key")],
    state: StateOption = Path("witness.db"),
    tiles: Annotated[
        str | None,
        typer.Option("--tiles", help="日志瓦片地址 URL under which the log serves tile/…"),
    ] = None,
    verify_rules: Annotated[
        bool,
        typer.Option(
            "--verify-rules",
            help="副署前通过瓦片重放全部规则 replay the rulebook on new entries (needs --tiles)",
        ),
    ] = False,
    authority_key: Annotated[
        list[str] | None,
        typer.Option("--authority-key", help="主管部门公钥 authority verifier key (repeatable)"),
    ] = None,
) -> None:
    """登记日志 — trust LOG_KEY for ORIGIN (its key name must equal the origin); with
    --verify-rules, cosign only checkpoints whose new entries pass the rulebook."""
    from verifier.follow.fetch import HttpFetcher
    from witness.store import LogConfig, WitnessStore

    try:
        vkey = parse_verifier_key(log_key)
        authorities = tuple(str(parse_verifier_key(k)) for k in authority_key or [])
        if tiles is not None:
            HttpFetcher(tiles)  # checks the URL's form
    except InputError as exc:
        raise _fail(exc.message) from None
    if vkey.name != origin:
        raise _fail(f"the log key's name {vkey.name!r} must equal the origin {origin!r}")
    if verify_rules and tiles is None:
        raise _fail("--verify-rules needs --tiles URL")
    config = LogConfig(str(vkey), tiles, verify_rules, authorities)
    WitnessStore(state).add_log(origin, str(vkey), config)
    typer.echo(f"✓ {origin}" + (" (核验规则 verifying rules)" if verify_rules else ""))


@app.command("serve")
def serve(
    key: KeyOption = Path("witness.key"),
    state: StateOption = Path("witness.db"),
    host: Annotated[str, typer.Option("--host", help="监听地址 address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="端口 port")] = 8090,
) -> None:
    """启动见证服务 — serve POST /add-checkpoint."""
    import uvicorn

    from witness.app import create_app
    from witness.keys import read_private_key
    from witness.protocol import Witness
    from witness.store import WitnessStore

    try:
        signer = read_private_key(key)
    except InputError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"见证 witness {signer.public} on http://{host}:{port}/add-checkpoint", err=True)
    uvicorn.run(create_app(Witness(WitnessStore(state), signer)), host=host, port=port)
