"""Building an RFC 9162 tree one leaf at a time: :class:`CompactRange` and :func:`root_of`.

A compact range is the O(log n) right edge of a tree (its "peaks"): the ledger's append path
and the streaming verifier extend it one leaf at a time and read the root (FORMAT.md §5).
Pure functions over :func:`verifier.core.merkle.node_hash`; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from verifier.core.errors import InputError
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE, node_hash

__all__ = ["CompactRange", "fold", "root_of", "split"]


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold subtree hashes given left to right in decreasing size into one root.

    ``h = hashes[-1]; for p in reversed(hashes[:-1]): h = node_hash(p, h)``. Precondition:
    ``hashes`` is non-empty and is the decomposition of a range (RFC 9162 §2.1.1: the left
    child of a non-power-of-two tree is its largest complete subtree). Cost: ``len - 1``
    hashes.
    """
    h = hashes[-1]
    for p in reversed(hashes[:-1]):
        h = node_hash(p, h)
    return h


def split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (RFC 9162 §2.1.1's ``k``); ``n > 1``."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash_input(name: str, value: bytes) -> None:
    """Raise :class:`InputError` unless ``value`` is exactly :data:`HASH_SIZE` bytes."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise InputError(f"expected a {HASH_SIZE}-byte hash, got {got}", field=name)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return ``MTH`` of a list of leaf hashes (RFC 9162 §2.1.1, FORMAT.md §5).

    Iterative: keeps only the right edge (O(log n) memory) and computes exactly ``n - 1``
    node hashes for ``n`` leaves. :data:`EMPTY_ROOT` for no leaves.

    Raises :class:`InputError` if a leaf hash is not 32 bytes.
    """
    peaks: list[bytes] = []
    for n, leaf in enumerate(leaf_hashes):
        _check_hash_input(f"leaf_hashes[{n}]", leaf)
        h = bytes(leaf)
        carry = n
        while carry & 1:
            h = node_hash(peaks.pop(), h)
            carry >>= 1
        peaks.append(h)
    return fold(peaks) if peaks else EMPTY_ROOT


class CompactRange:
    """Right edge ("peaks") of a tree of ``size`` leaves (RFC 9162 §2.1.1, FORMAT.md §5).

    ``peaks`` holds the hashes of the complete aligned subtrees that make up ``[0, size)``, in
    decreasing size, one per set bit of ``size`` (their positions are
    :func:`peak_nodes` ``(size)``). O(log n) memory. Used by the streaming verifier and by the
    ledger's append path; :meth:`append` reports every node that becomes complete so that
    storage can keep them for proof generation.
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
            _check_hash_input(f"peaks[{i}]", p)
        self.size: int = size
        self.peaks: list[bytes] = [bytes(p) for p in peaks]

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return every node that became complete, as (level, index, hash).

        The first item is ``(0, n, leaf_hash)`` for the new leaf ``n`` (the old size), then
        each merged parent in increasing level: ``(L, k, h)`` covers leaves
        ``[k·2^L, (k+1)·2^L)``. Cost: one node hash per trailing 1-bit of the old size
        (amortised < 1 hash per append). Raises :class:`InputError` if ``leaf_hash`` is not
        32 bytes.
        """
        _check_hash_input("leaf_hash", leaf_hash)
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
        """Return ``MTH`` of the ``size`` leaves: the peaks folded right to left.

        :data:`EMPTY_ROOT` when ``size == 0``. Cost: ``popcount(size) - 1`` node hashes.
        """
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
