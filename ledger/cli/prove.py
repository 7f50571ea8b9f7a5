"""``gongxin prove``: RFC 9162 inclusion and consistency proofs, and C2SP tlog-proof files."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import typer

from ledger.cli.options import DEFAULT_DB, DbOption, print_json, reading
from ledger.cli.tlog_proof import tlog_proof_command

prove_app = typer.Typer(
    help="生成证明 — RFC 9162 inclusion and consistency proofs.", no_args_is_help=True
)
prove_app.command("tlog-proof")(tlog_proof_command)


def proof_json(index: int, size: int, path: list[bytes]) -> dict[str, Any]:
    return {
        "leaf_index": index,
        "tree_size": size,
        "inclusion_path": [base64.b64encode(h).decode() for h in path],
    }


@prove_app.command("inclusion")
def prove_inclusion(
    index: Annotated[int, typer.Argument(help="条目序号 entry index")],
    size: Annotated[
        int | None, typer.Option("--size", help="树大小 tree size (default: current)")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """包含证明 — inclusion proof of entry INDEX in the tree of --size entries (JSON)."""
    with reading(db) as ledger:
        p = ledger.inclusion_proof(index, size)
    out = proof_json(p.leaf_index, p.tree_size, p.path)
    out["root"] = base64.b64encode(p.root).decode()
    print_json(out)


@prove_app.command("consistency")
def prove_consistency(
    size1: Annotated[int, typer.Argument(help="较早的树大小 older tree size")],
    size2: Annotated[
        int | None, typer.Argument(help="较新的树大小 newer tree size (default: current)")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """一致性证明 — consistency proof between trees of SIZE1 and SIZE2 entries (JSON)."""
    with reading(db) as ledger:
        p = ledger.consistency_proof(size1, size2)
    b64 = base64.b64encode
    print_json(
        {
            "tree_size_1": p.size1,
            "tree_size_2": p.size2,
            "root_1": b64(p.root1).decode(),
            "root_2": b64(p.root2).decode(),
            "consistency_path": [b64(h).decode() for h in p.path],
        }
    )
