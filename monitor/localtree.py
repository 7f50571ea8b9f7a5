"""The monitor's own copy of a tree: leaf hashes read from its verified ``entries.jsonl``, and
RFC 9162 roots and consistency proofs computed from them (FORMAT.md §5).

Used when a checkpoint obtained elsewhere (``--checkpoint``, a witness) is at or below the
size the monitor has verified: the monitor's tree is then tree 2 of the fork evidence and the
proof comes from its own entries, not from the log. Plain RFC 9162 §2.1 definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from verifier.core.errors import InputError
from verifier.core.merkle import EMPTY_ROOT, leaf_hash, node_hash

MAX_LINE = 65_536
"""A line is at most 65,535 bytes plus its newline (FORMAT.md §4)."""


def leaf_hashes(entries: Path, count: int) -> list[bytes]:
    """The leaf hashes of the first ``count`` lines of ``entries`` (each ending in ``\\n``).
    :class:`InputError` if the file has fewer lines or a longer one. Cost: one read of those
    lines and one SHA-256 each; 32 bytes of memory per entry."""
    hashes: list[bytes] = []
    try:
        with entries.open("rb") as fh:
            while len(hashes) < count:
                line = fh.readline(MAX_LINE + 1)
                if not line.endswith(b"\n"):
                    raise InputError(f"{entries} has {len(hashes)} complete lines, need {count}")
                hashes.append(leaf_hash(line[:-1]))
    except OSError as exc:
        raise InputError(f"cannot read {entries}: {exc.strerror}") from None
    return hashes


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(hashes: Sequence[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """``MTH`` of leaves ``[lo, hi)`` given their leaf hashes (RFC 9162 §2.1.1). Cost:
    ``hi − lo − 1`` node hashes, recursion depth log₂ of the range."""
    hi = len(hashes) if hi is None else hi
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(root(hashes, lo, lo + k), root(hashes, lo + k, hi))


def consistency_proof(size1: int, hashes: Sequence[bytes]) -> list[bytes]:
    """``PROOF(size1, D[n])`` of RFC 9162 §2.1.4.1 for the tree of ``hashes``. Precondition:
    ``0 < size1 <= len(hashes)``. Cost: fewer than ``len(hashes)`` node hashes."""
    out: list[bytes] = []
    lo, hi, m, complete = 0, len(hashes), size1, True
    while m != hi - lo:  # SUBPROOF(m, D[lo:hi], complete), unrolled from the top
        k = _split(hi - lo)
        if m <= k:
            out.append(root(hashes, lo + k, hi))
            hi = lo + k
        else:
            out.append(root(hashes, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        out.append(root(hashes, lo, hi))
    out.reverse()
    return out
