"""The receipt: the API's proof that a statement is in the log (docs/API.md §2), defined once.

The API builds it as :class:`Receipt`; clients read it with :func:`parse_receipt` (shape only)
and check it with :func:`verify_receipt`, with nothing but the log's public key.
Rule ids of the failures: ``receipt.checkpoint``, ``receipt.tree_size``, ``receipt.leaf_hash``,
``receipt.entry``, ``receipt.index``, ``receipt.statement_id``, ``receipt.statement``,
``receipt.inclusion``, ``receipt.shape``. Standard library and ``verifier.core`` only; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from verifier.core import merkle
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.entry import Submission, parse_entry_line
from verifier.core.errors import GongxinError, InputError, VerificationError
from verifier.core.keys import VerifierKey

__all__ = [
    "FIELDS",
    "Receipt",
    "ReceiptError",
    "decode_path",
    "parse_receipt",
    "verify_receipt",
]

#: The members of a receipt, in the API's order, with their JSON types.
FIELDS: dict[str, type] = {
    "index": int,
    "statement_id": str,
    "leaf_hash": str,
    "entry": str,
    "tree_size": int,
    "checkpoint": str,
    "inclusion_path": list,
    "duplicate": bool,
}
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ReceiptError(VerificationError):
    """A receipt failed verification: ``rule`` is ``receipt.<what>`` (module docstring),
    ``field`` the member that differed."""


@dataclass(frozen=True)
class Receipt:
    """A receipt as the API returns it; hashes as the API encodes them (``leaf_hash`` hex,
    ``inclusion_path`` standard base64). Not validated: :func:`parse_receipt` checks shapes."""

    index: int
    statement_id: str
    leaf_hash: str
    entry: str
    tree_size: int
    checkpoint: str
    inclusion_path: tuple[str, ...]
    duplicate: bool

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form (members in :data:`FIELDS` order)."""
        return {name: getattr(self, name) for name in FIELDS} | {
            "inclusion_path": list(self.inclusion_path)
        }


def decode_path(items: object, field: str) -> list[bytes]:
    """A JSON list of standard base64 strings as bytes (lengths are checked by the Merkle
    proof). Raises :class:`InputError` naming ``field`` or ``field[k]``. O(total length)."""
    if type(items) is not list:
        raise InputError("must be a list of base64 hashes", field=field)
    out: list[bytes] = []
    for k, item in enumerate(items):
        try:
            if type(item) is not str:
                raise ValueError
            out.append(base64.b64decode(item, validate=True))
        except (ValueError, binascii.Error):
            raise InputError("must be standard base64", field=f"{field}[{k}]") from None
    return out


def parse_receipt(obj: Any) -> Receipt:
    """Check the JSON shape of a receipt strictly (nothing is verified here): every member of
    :data:`FIELDS`, of its JSON type (other members are ignored, so that a newer server may
    add some without breaking older clients); ``index`` ≥ 0, ``tree_size`` ≥ 1,
    ``leaf_hash`` 64 lower-case hex digits, ``inclusion_path`` base64. Raises
    :class:`InputError` naming the member. Cost: O(size)."""
    if type(obj) is not dict:
        raise InputError("a receipt must be a JSON object", field="receipt")
    for name, want in FIELDS.items():
        if name not in obj or type(obj[name]) is not want:
            raise InputError(f"must be a JSON {want.__name__}", field=name)
    if obj["index"] < 0 or obj["tree_size"] < 1:
        bad = "index" if obj["index"] < 0 else "tree_size"
        raise InputError("out of range", field=bad)
    if not _HEX64.fullmatch(obj["leaf_hash"]):
        raise InputError("must be 64 lower-case hex digits", field="leaf_hash")
    decode_path(obj["inclusion_path"], "inclusion_path")
    members = {name: obj[name] for name in FIELDS}
    return Receipt(**members | {"inclusion_path": tuple(obj["inclusion_path"])})


@lru_cache(maxsize=32)
def _opened(note: str, log_key: VerifierKey) -> Checkpoint:
    """:func:`open_checkpoint`, remembered: a batch's receipts share one checkpoint."""
    return open_checkpoint(note, log_key)


def _bad(rule: str, detail: str, field: str, index: int | None = None) -> ReceiptError:
    return ReceiptError(f"receipt.{rule}", detail, field=field, index=index)


def _compare(statement: dict[str, Any], signatures: list[Any], submission: Submission) -> None:
    """Require the logged statement and signatures to be exactly the submitted ones."""
    mine = submission.to_json()
    for name in ("id", "kind", "signer", "time", "body"):
        if mine["statement"][name] != statement.get(name):
            detail = f"the logged statement's {name} differs from the one submitted"
            raise _bad("statement", detail + "; 回执中的声明与提交的不一致", f"statement.{name}")
    if mine["signatures"] != signatures:
        detail = "the logged signatures differ from the ones submitted; 签名不一致"
        raise _bad("statement", detail, "signatures")


def verify_receipt(
    receipt: Receipt,
    log_key: VerifierKey,
    *,
    statement_id: str | None = None,
    submission: Submission | None = None,
) -> Checkpoint:
    """Check ``receipt`` with nothing but the log's public key; return its checkpoint.

    In order: the checkpoint opens under ``log_key``; its size is ``tree_size``;
    ``SHA-256(0x00 ‖ entry)`` is ``leaf_hash``; ``entry`` is a canonical entry line at
    ``index`` holding ``statement_id`` (the receipt's, and the argument's when given); with
    ``submission``, the entry holds exactly its statement and signatures; the inclusion path
    leads to the checkpoint root (RFC 9162 §2.1.3). Raises :class:`ReceiptError` at the
    first difference. Cost: one Ed25519 verification (cached per checkpoint), O(len(entry)
    + log n) hashing.
    """
    try:
        cp = _opened(receipt.checkpoint, log_key)
    except GongxinError as exc:
        detail = f"the checkpoint does not open under the pinned log key {log_key.key_id_hex}"
        raise _bad("checkpoint", f"{detail}: {exc}", "checkpoint") from None
    if cp.size != receipt.tree_size:
        raise _bad("tree_size", f"tree_size {receipt.tree_size}, checkpoint {cp.size}", "tree_size")
    line = receipt.entry.encode("utf-8")
    leaf = merkle.leaf_hash(line)
    if leaf.hex() != receipt.leaf_hash:
        detail = f"the entry hashes to {leaf.hex()}, not to {receipt.leaf_hash}"
        raise _bad("leaf_hash", detail, "leaf_hash", receipt.index)
    try:
        entry = parse_entry_line(line)
    except GongxinError as exc:
        raise _bad("entry", f"the entry is not a valid entry line: {exc}", "entry") from None
    if entry.index != receipt.index:
        raise _bad("index", f"index {receipt.index}, the entry's {entry.index}", "index")
    if entry.statement.id != receipt.statement_id:
        detail = f"statement_id {receipt.statement_id}, the entry's {entry.statement.id}"
        raise _bad("statement_id", detail, "statement_id")
    if submission is not None:
        _compare(entry.statement.raw, [s.to_json() for s in entry.signatures], submission)
    if statement_id is not None and entry.statement.id != statement_id:
        detail = f"asked for statement {statement_id}, the receipt is for {entry.statement.id}"
        raise _bad("statement", detail, "statement.id")
    try:
        path = decode_path(list(receipt.inclusion_path), "inclusion_path")
    except InputError as exc:
        raise _bad("shape", exc.message, exc.field or "inclusion_path") from None
    try:
        merkle.verify_inclusion(leaf, receipt.index, cp.size, path, cp.root)
    except VerificationError as exc:
        raise _bad("inclusion", exc.detail, "inclusion_path", receipt.index) from None
    return cp
