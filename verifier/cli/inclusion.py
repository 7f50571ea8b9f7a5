"""Light mode: one entry line is in the log a signed checkpoint covers (FORMAT.md §5, §9).

``gongxin-verify inclusion`` checks a single entry against a checkpoint with an RFC 9162
inclusion proof, without the rest of the log. It proves the entry is in the log; unlike
:func:`verifier.audit.verify_bundle` it does not replay the keys and rules that made it valid.
An API receipt (:mod:`verifier.core.receipt`) carries the same three things plus the leaf
hash and statement id; it is checked there with the same primitives (checkpoint opening,
path decoding, RFC 9162 inclusion) under ``receipt.*`` rule ids, while light mode keeps the
ids FORMAT.md §9 gives it.
"""

from __future__ import annotations

from typing import Any

from verifier.audit.verdict import InclusionReport
from verifier.core.checkpoint import Checkpoint, open_checkpoint_as
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.core.merkle import leaf_hash, verify_inclusion
from verifier.core.receipt import decode_path

__all__ = ["check_entry_inclusion", "parse_inclusion_proof", "verify_inclusion_file"]


def parse_inclusion_proof(proof: Any) -> tuple[int, int, list[bytes]]:
    """Check the shape of an inclusion proof object
    ``{"leaf_index": int, "tree_size": int, "inclusion_path": [base64, …]}`` (RFC 9162 §4.12
    names; other members are ignored). Returns (leaf index, tree size, path). The path is
    decoded as a receipt's is (:func:`verifier.core.receipt.decode_path`).
    Raises :class:`InputError` naming the field."""
    if type(proof) is not dict:
        raise InputError("the proof must be a JSON object", field="proof")
    out: list[int] = []
    for name in ("leaf_index", "tree_size"):
        value = proof.get(name)
        if type(value) is not int or value < 0:
            raise InputError("must be a non-negative integer", field=f"proof.{name}")
        out.append(value)
    return out[0], out[1], decode_path(proof.get("inclusion_path"), "proof.inclusion_path")


def verify_inclusion_file(
    entry_line: bytes,
    proof: dict[str, Any],
    checkpoint_note: str | bytes,
    log_key: VerifierKey,
) -> InclusionReport:
    """Light mode: check that one entry line is in the log the checkpoint covers.

    ``entry_line`` is the entry's line (one trailing newline is allowed); ``proof`` is
    ``{"leaf_index", "tree_size", "inclusion_path"}`` (see :func:`parse_inclusion_proof`);
    ``checkpoint_note`` is the signed checkpoint. Steps: open the checkpoint under
    ``log_key``; the proof's tree size must be the checkpoint's; the line must parse
    strictly and carry ``index == leaf_index``; then RFC 9162 inclusion against the
    checkpoint root. Raises :class:`VerificationError` (or :class:`InputError` for a
    malformed proof object). Cost: one Ed25519 verification and O(log n) hashes.

    Note: this proves the entry is in the log; unlike :func:`verifier.audit.verify_bundle`
    it does not replay the keys and rules that made it valid.
    """
    cp = open_checkpoint_as(checkpoint_note, log_key, "checkpoint")
    leaf_index, tree_size, path = parse_inclusion_proof(proof)
    if tree_size != cp.size:
        raise VerificationError(
            "inclusion.tree_size",
            f"the proof is for a tree of {tree_size} entries, the checkpoint covers "
            f"{cp.size}; 证明与检查点大小不符",
            field="proof.tree_size",
        )
    return check_entry_inclusion(entry_line, leaf_index, path, cp)


def check_entry_inclusion(
    entry_line: bytes, leaf_index: int, path: list[bytes], cp: Checkpoint
) -> InclusionReport:
    """The entry-line part of light mode (also used by ``gongxin-verify proof``): the line
    (one trailing newline allowed) must parse strictly with ``index == leaf_index``
    (``inclusion.index``), and its leaf hash must lead along ``path`` to the root of the
    opened checkpoint ``cp`` (``merkle.inclusion``). Cost: O(len(line) + log n)."""
    tree_size = cp.size
    if entry_line.endswith(b"\n"):
        entry_line = entry_line[:-1]
    entry = parse_entry_line(entry_line, leaf_index)
    if entry.index != leaf_index:
        raise VerificationError(
            "inclusion.index",
            f"the entry line has index {entry.index}, the proof is for leaf {leaf_index}; 序号不符",
            index=leaf_index,
            field="proof.leaf_index",
        )
    leaf = leaf_hash(entry_line)
    verify_inclusion(leaf, leaf_index, tree_size, path, cp.root)
    return InclusionReport(
        origin=cp.origin,
        tree_size=cp.size,
        root=cp.root.hex(),
        leaf_index=leaf_index,
        leaf_hash=leaf.hex(),
        kind=entry.statement.kind,
        statement_id=entry.statement.id,
    )
