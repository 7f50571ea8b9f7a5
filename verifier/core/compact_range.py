"""A tree's right edge, extended one leaf at a time (FORMAT.md §5): :class:`CompactRange`,
used by the streaming verifier and the ledger's append path. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.core.errors import InputError
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE, node_hash


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold subtree hashes, given left to right in decreasing size, right to left into one root.

    Precondition: ``hashes`` is non-empty and is the decomposition of a range (RFC 9162
    §2.1.1: the left child is the largest complete subtree). Cost: ``len - 1`` node hashes.
    """
    h = hashes[-1]
    for p in reversed(hashes[:-1]):
        h = node_hash(p, h)
    return h


def check_hash_input(name: str, value: bytes) -> None:
    """Raise :class:`InputError` (``field=name``) unless ``value`` is exactly 32 bytes."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise InputError(f"expected a {HASH_SIZE}-byte hash, got {got}", field=name)


class CompactRange:
    """Right edge ("peaks") of a tree of ``size`` leaves (RFC 9162 §2.1.1, FORMAT.md §5.3).

    ``peaks`` holds the hashes of the complete aligned subtrees that make up ``[0, size)``, in
    decreasing size, one per set bit of ``size``. O(log n) memory. :meth:`append` reports
    every node that becomes complete, so that storage can keep them for proofs.
    """

    __slots__ = ("peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        """Start from a known right edge (default: the empty tree).

        Raises :class:`InputError` unless ``size >= 0``, ``len(peaks) == popcount(size)`` and
        every peak is 32 bytes. Cost: O(log size).
        """
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"tree size must be a non-negative integer, got {size!r}")
        if len(peaks) != size.bit_count():
            raise InputError(
                f"a tree of size {size} has {size.bit_count()} peaks, got {len(peaks)}",
                field="peaks",
            )
        for i, p in enumerate(peaks):
            check_hash_input(f"peaks[{i}]", p)
        self.size: int = size
        self.peaks: list[bytes] = [bytes(p) for p in peaks]

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return every node that became complete, as (level, index, hash).

        First ``(0, n, leaf_hash)`` for the new leaf ``n``, then each merged parent by
        increasing level (``(L, k, h)`` covers leaves ``[k·2^L, (k+1)·2^L)``). Raises
        :class:`InputError` unless 32 bytes. Cost: one node hash per trailing 1-bit of ``n``.
        """
        check_hash_input("leaf_hash", leaf_hash)
        h = bytes(leaf_hash)
        index = self.size
        completed = [(0, index, h)]
        level = 0
        while index & 1:
            h = node_hash(self.peaks.pop(), h)
            level += 1
            index >>= 1
            completed.append((level, index, h))
        self.peaks.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """``MTH`` of the leaves (:data:`EMPTY_ROOT` for none). Cost: popcount(size) - 1 hashes."""
        return fold(self.peaks) if self.peaks else EMPTY_ROOT

    def copy(self) -> CompactRange:
        """Return an independent copy (the peak list is copied, hashes are immutable)."""
        return CompactRange(self.size, self.peaks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self.size == other.size and self.peaks == other.peaks

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        peaks = ", ".join(p.hex()[:8] for p in self.peaks)
        return f"CompactRange(size={self.size}, peaks=[{peaks}])"
