"""``gongxin prove tlog-proof INDEX``: an offline proof of one entry (C2SP tlog-proof,
FORMAT.md §15), checked by ``gongxin-verify proof FILE``.

The proof holds the entry line (in ``extra``), its RFC 9162 inclusion path and the
checkpoint with every cosignature the log has stored for it (:func:`ledger.cosigning.
cosigned_note`): by default the newest checkpoint, ``--size N`` an earlier one, or with
``--witness-policy FILE`` the newest checkpoint whose cosignatures satisfy that policy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from verifier.core.errors import GongxinError, InputError


def make_tlog_proof(
    db: str, index: int, size: int | None = None, policy_file: Path | None = None
) -> tuple[bytes, int]:
    """The ``.tlog-proof`` bytes for entry ``index`` and the tree size they prove against.
    :class:`InputError` for an unusable database, an index outside the tree, a size the log
    issued no checkpoint for, or a policy none of whose recent checkpoints satisfies. Cost:
    a few indexed reads and O(log n) hashing."""
    from ledger.cosigning import cosigned_note, newest_witnessed
    from ledger.log import Ledger
    from ledger.tlog_proof import tlog_proof
    from verifier.witness.policy import load_policy

    with Ledger.open(db, create=False, replay=False) as ledger:
        if policy_file is not None:
            if size is not None:
                raise InputError("give --size or --witness-policy, not both", field="--size")
            found = newest_witnessed(ledger, load_policy(policy_file))
            if found is None:
                raise InputError(
                    "没有满足该策略的已见证检查点 no recent checkpoint is cosigned by the "
                    "policy's quorum yet; try again later",
                    field="--witness-policy",
                )
            size, note = found
        else:
            size = ledger.published()[0] if size is None else size
            stored = cosigned_note(ledger, size) if 0 < size <= ledger.size else None
            if stored is None:
                raise InputError(f"the log issued no checkpoint of size {size}", field="--size")
            note = stored
        if not 0 <= index < size:
            raise InputError(f"index must be between 0 and {size - 1}", field="INDEX")
        return tlog_proof(ledger, index, size, note), size


def tlog_proof_command(
    index: Annotated[int, typer.Argument(help="条目序号 entry index")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="输出文件 write to FILE (default: stdout)"),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option("--size", help="较早检查点的树大小 prove against an earlier checkpoint"),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--witness-policy",
            help="用满足此见证策略的最新检查点 use the newest checkpoint this policy's quorum "
            "has cosigned",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """离线证明 — a C2SP tlog-proof of entry INDEX (entry line, inclusion path, cosigned
    checkpoint), to check offline with `gongxin-verify proof FILE --log-key K`."""
    try:
        data, proved = make_tlog_proof(db, index, size, policy)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, output)
    except GongxinError as exc:
        typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"✗ 无法写入 cannot write {output}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"✓ 已写证明 wrote the proof of entry {index} (tree size {proved}) to {output}")
