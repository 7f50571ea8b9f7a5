"""What the officers' commands (``gongxin fund|contract|payment|activity|credit``, ``gongxin
import``) share: the server, log-key and signing-key options, opening a client that pins the
log key, printing verified receipts, and turning errors into one line and an exit code.

Exit codes: 0 done and every receipt verified; 1 the ledger refused the statement (the rule
code, field and detail are printed), or a receipt failed verification (the server is not to
be believed); 2 usage, input or connection error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.client import ApiError, GongxinClient, Receipt, ReceiptError, ServerUnavailable
from ledger.signing.keyfile import read_private_key
from ledger.signing.keys import SignerKey
from verifier.cli.files import load_verifier_key
from verifier.core.errors import GongxinError, InputError, VerificationError

DEFAULT_SERVER = "http://127.0.0.1:8080"

ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="GONGXIN_SERVER",
        help="服务器地址 the Gongxin API's base URL",
    ),
]
PinnedLogKeyOption = Annotated[
    str | None,
    typer.Option(
        "--log-key",
        envvar="GONGXIN_LOG_KEY",
        help="日志公钥（字符串或文件），用来核验回执 — the log's public key (vkey string or "
        "file) every receipt is checked with; without it the server's key is trusted on "
        "first use",
        show_default=False,
    ),
]
KeyFileOption = Annotated[
    Path,
    typer.Option(
        "--key",
        envvar="GONGXIN_KEY_FILE",
        help="签名人私钥文件 your private key file (passphrase: GONGXIN_KEY_PASSPHRASE)",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="输出完整回执 JSON print the full receipt(s) as JSON")
]


def read_signer(path: Path) -> SignerKey:
    """The officer's private key; encrypted files use ``GONGXIN_KEY_PASSPHRASE``."""
    if not path.exists():
        raise InputError(
            "no such key file; pass --key (or GONGXIN_KEY_FILE) with your .key file",
            field=str(path),
        )
    return read_private_key(path, os.environ.get("GONGXIN_KEY_PASSPHRASE") or None)


@contextmanager
def connect(server: str, log_key: str | None) -> Iterator[GongxinClient]:
    """A client of ``server`` pinning ``log_key`` (a vkey string or file). Without one, the
    server's key is fetched now and a warning says it was trusted on first use."""
    pinned = load_verifier_key(log_key) if log_key else None
    with GongxinClient(server, pinned) as client:
        if pinned is None:
            key = client.pinned_key()
            typer.echo(
                f"⚠ 未指定日志公钥，首次使用即信任服务器提供的 {key} — no --log-key given: "
                "trusting the server's key on first use; compare it with the published one "
                "and pass --log-key (or GONGXIN_LOG_KEY) next time",
                err=True,
            )
        yield client


def receipt_line(kind: str, r: Receipt) -> str:
    """One readable line for a verified receipt: index, leaf hash, tree size."""
    dup = " · 重复提交，原条目 duplicate: already logged" if r.duplicate else ""
    return (
        f"✓ 已记账并验证 logged and verified: {kind} #{r.index} · 叶哈希 leaf {r.leaf_hash} · "
        f"树大小 tree size {r.tree_size}{dup}"
    )


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def rejected_line(exc: ApiError, where: str = "") -> str:
    """The line for a refusal by the ledger: rule code, field and detail."""
    field = f" · 字段 field {exc.field}" if exc.field else ""
    return f"✗ 账本拒绝 rejected by the ledger{where}: [{exc.code}]{field} · {exc.detail}"


@contextmanager
def officer_errors() -> Iterator[None]:
    """Turn the errors of an officer command into one line on stderr and an exit code."""
    try:
        yield
    except ApiError as exc:
        if exc.rejected:
            typer.echo(rejected_line(exc), err=True)
            raise typer.Exit(1) from None
        typer.echo(f"✗ 服务器错误 server error: {exc}", err=True)
        raise typer.Exit(2) from None
    except ReceiptError as exc:
        typer.echo(
            f"✗ 回执验证失败，不要相信该服务器 receipt failed verification: {exc.one_line()}",
            err=True,
        )
        raise typer.Exit(1) from None
    except ServerUnavailable as exc:
        typer.echo(f"✗ 连接错误 connection error: {exc}", err=True)
        raise typer.Exit(2) from None
    except VerificationError as exc:  # a local check of the statement
        typer.echo(f"✗ 输入错误 input error: {exc.one_line()}", err=True)
        raise typer.Exit(2) from None
    except GongxinError as exc:
        typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
        raise typer.Exit(2) from None
