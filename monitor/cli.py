"""``gongxin monitor`` (registered through the ``gongxin.commands`` entry-point group).

``gongxin monitor URL --log-key K --dir DIR [--interval S | --once] [--authority-key K…]
[--checkpoint FILE…]``: follow the log at ``URL`` through its tiles, keep a verified copy in
``DIR/log``, remember every accepted checkpoint in ``DIR/checkpoints.jsonl`` and write fork
evidence (FORMAT.md §16) into ``DIR`` when the log contradicts itself. Exit status: see
:mod:`monitor.run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verifier.cli.files import load_verifier_key, read_limited
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey

MAX_CHECKPOINT_BYTES = 1 << 20


def _fail(message: str) -> typer.Exit:
    typer.echo(f"✗ 输入错误 input error: {message}", err=True)
    return typer.Exit(2)


def _say(line: str) -> None:
    typer.echo(line)


def _warn(line: str) -> None:
    typer.echo(line, err=True)


def _outside_checkpoint(path: Path, key: VerifierKey) -> tuple[str, str]:
    """``--checkpoint FILE``: read it and require the log key's signature (else exit 2)."""
    data = read_limited(path, MAX_CHECKPOINT_BYTES, "checkpoint", str(path), "")
    text = data.decode("utf-8", "replace")
    try:
        open_checkpoint(text, key)
    except VerificationError as exc:
        raise InputError(
            f"not a checkpoint signed by the log key: {exc.one_line()}", field=str(path)
        ) from None
    return str(path), text


def monitor(
    url: Annotated[str, typer.Argument(help="the log's base URL (serves /checkpoint, /tile/…)")],
    log_key: Annotated[str, typer.Option("--log-key", help="the log's verifier key or file")],
    directory: Annotated[Path, typer.Option("--dir", help="where the copy and evidence go")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="seconds between checks")
    ] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="check once and exit")] = False,
    authority_key: Annotated[
        list[str] | None, typer.Option("--authority-key", help="authority keys (repeatable)")
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="a checkpoint obtained elsewhere to compare"),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="HTTP timeout, s")] = 30.0,
) -> None:
    """监督一个账本：经瓦片跟踪、核对并保存副本；发现分叉时写出证据。
    Follow a log through its tiles, check every entry, keep a copy; on a fork, write evidence.
    """
    from monitor.run import Monitor, Settings  # here: every `gongxin` command loads this module

    try:
        key = load_verifier_key(log_key)
        authorities = [load_verifier_key(k) for k in authority_key or []]
        others = [_outside_checkpoint(path, key) for path in checkpoint or []]
        settings = Settings(
            url.rstrip("/"), key, directory, authorities, None if once else interval, timeout
        )
        settings.others = others
        status = Monitor(settings, _say, _warn).run()
    except VerificationError as exc:
        typer.echo(f"✗ 日志违规 log broke a rule: {exc.one_line()}", err=True)
        raise typer.Exit(1) from None
    except InputError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo("\n✗ 已中断 interrupted", err=True)
        raise typer.Exit(130) from None
    raise typer.Exit(status)


app = monitor
"""The entry point ``monitor.cli:app``: a plain function, so ``gongxin`` registers it as the
command ``gongxin monitor URL …`` (a Typer app would become a group wanting a subcommand)."""
