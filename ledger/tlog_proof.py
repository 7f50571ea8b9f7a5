"""An offline proof of one entry as a C2SP tlog-proof file (FORMAT.md §15): the entry line in
``extra``, its inclusion path, and a checkpoint with the cosignatures the log stored for it.
Used by ``gongxin prove tlog-proof`` and ``GET /v1/entries/{index}/tlog-proof``."""

from __future__ import annotations

from ledger.log import Ledger
from verifier.core.errors import InputError
from verifier.witness.tlog_proof import encode_tlog_proof


def tlog_proof(ledger: Ledger, index: int, size: int, note: str) -> bytes:
    """The ``.tlog-proof`` bytes of entry ``index`` against ``note``, the (cosigned)
    checkpoint of ``size`` entries. :class:`InputError` if ``index`` is not below ``size``.
    Precondition: ``note`` is the log's checkpoint of ``size``. Cost: two indexed reads and
    O(log n) hashing."""
    if not 0 <= index < size:
        raise InputError(f"index must be between 0 and {size - 1}", field="index")
    line = next(ledger.iter_lines(index, index + 1))
    proof = ledger.inclusion_proof(index, size)
    return encode_tlog_proof(index, proof.path, note, extra=line)
