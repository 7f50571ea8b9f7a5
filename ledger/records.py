"""What the ledger hands back: receipts and proofs (FORMAT.md §4–§6), and the log clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from verifier.core.entry import Submission
from verifier.core.errors import VerificationError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_log_time(t: datetime) -> str:
    """FORMAT.md §4: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (four-digit years from 0001 on,
    which ``strftime("%Y")`` does not give on every platform)."""
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class Receipt:
    """Proof of acceptance: where the entry is and the signed checkpoint that covers it."""

    index: int
    statement_id: str
    leaf_hash: bytes
    checkpoint: str
    tree_size: int
    duplicate: bool = False
    #: The entry line as logged (FORMAT.md §4), when the ledger had it at hand.
    line: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "statement_id": self.statement_id,
            "leaf_hash": self.leaf_hash.hex(),
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 §4.? style inclusion proof of leaf ``leaf_index`` in the tree of ``tree_size``."""

    leaf_index: int
    tree_size: int
    root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between trees of ``size1`` and ``size2`` leaves."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    path: list[bytes]


def entry_bytes(index: int, log_time: str, prev: str, submission: Submission) -> bytes:
    """The canonical line (without newline) of a new entry, the Merkle leaf data (FORMAT.md
    §4, §5). Preconditions: arguments validated. Members sort as ``index < log_time < prev <
    signatures < statement``: the log fields, then the canonical submission's members. O(len).
    """
    head = f'{{"index":{index},"log_time":"{log_time}","prev":"{prev}",'.encode()
    return head + submission.canonical()[1:]


class InvalidEntry(VerificationError):
    """A submission the ledger refuses, nothing written: a ``VerificationError`` because the
    same pure check rejects the same entry when the verifier replays the log."""
