"""RFC 9162 proof ranges (FORMAT.md §5): which leaf ranges a proof's elements hash, which
complete aligned subtrees ("nodes") make them up, and how they fold — moved here from
``ledger.proofs`` (which re-exports every name) so that proofs can be produced from any source
of node hashes: the log's stored nodes (:mod:`ledger.reads`) or a log's authenticated tiles
(:mod:`verifier.tiles.prove`).

A node ``(level, index)`` is the hash of leaves ``[index·2^level, (index+1)·2^level)``; it
never changes once complete. Every proof element is ``MTH(D[start:end])`` for some range;
:func:`inclusion_ranges` and :func:`consistency_ranges` name the ranges (RFC 9162 §2.1.3.1,
§2.1.4.1), :func:`nodes_needed` lists the nodes to read in one batch and :func:`hash_ranges`
folds them. Checking proofs is :mod:`verifier.core.merkle`'s.

Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from verifier.core.compact_range import check_hash_input, fold
from verifier.core.errors import InputError
from verifier.core.merkle import EMPTY_ROOT, node_hash

__all__ = [
    "Node",
    "Range",
    "consistency_proof",
    "consistency_ranges",
    "hash_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "nodes_needed",
    "peak_nodes",
    "range_nodes",
    "root_of",
    "split",
]

Node = tuple[int, int]
"""A complete aligned subtree ``(level, index)``: leaves ``[index·2^level, (index+1)·2^level)``."""

Range = tuple[int, int]
"""A half-open leaf range ``(start, end)``."""


def split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (RFC 9162 §2.1.1's ``k``); ``n > 1``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return ``MTH`` of a list of leaf hashes (RFC 9162 §2.1.1, FORMAT.md §5).

    Iterative: keeps only the right edge (O(log n) memory) and computes exactly ``n - 1``
    node hashes for ``n`` leaves. :data:`EMPTY_ROOT` for no leaves.

    Raises :class:`InputError` if a leaf hash is not 32 bytes.
    """
    peaks: list[bytes] = []
    for n, leaf in enumerate(leaf_hashes):
        check_hash_input(f"leaf_hashes[{n}]", leaf)
        h = bytes(leaf)
        carry = n
        while carry & 1:
            h = node_hash(peaks.pop(), h)
            carry >>= 1
        peaks.append(h)
    return fold(peaks) if peaks else EMPTY_ROOT


def peak_nodes(size: int) -> list[Node]:
    """Return the ``(level, index)`` of the peaks of a tree of ``size`` leaves, left to right.

    One per set bit of ``size``, in decreasing level; these are the nodes whose hashes
    :attr:`CompactRange.peaks` holds (RFC 9162 §2.1.1, FORMAT.md §5). ``[]`` for size 0.
    Raises :class:`InputError` if ``size < 0``. Cost: O(log size).
    """
    if size < 0:
        raise InputError(f"tree size must be non-negative, got {size}")
    return range_nodes(0, size) if size else []


# --------------------------------------------------------------------------------------------
# Proof generation over stored nodes
# --------------------------------------------------------------------------------------------


def range_nodes(start: int, end: int) -> list[Node]:
    """Decompose the leaf range ``[start, end)`` into complete aligned subtrees.

    Returns ``(level, index)`` pairs left to right in decreasing size, one per set bit of
    ``end - start``; ``MTH(D[start:end])`` is their hashes folded right to left (RFC 9162
    §2.1.1: the left child is the largest complete subtree). A range that is itself a
    complete aligned subtree yields one node; otherwise it is "right-ragged".

    Precondition (checked, :class:`InputError` otherwise): ``0 <= start < end`` and ``start``
    is a multiple of the largest power of two ``<= end - start``, so that every part is
    aligned. Every range produced by the RFC 9162 §2.1.3.1/§2.1.4.1 recursion satisfies it.
    Cost: O(log(end - start)).
    """
    if not 0 <= start < end:
        raise InputError(f"invalid leaf range [{start}, {end})")
    width = end - start
    top = width.bit_length() - 1
    if start & ((1 << top) - 1):
        raise InputError(f"leaf range [{start}, {end}) is not aligned to complete subtrees")
    nodes: list[Node] = []
    pos = start
    for level in range(top, -1, -1):
        if width >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Return the ranges whose ``MTH`` form the inclusion path of leaf ``index`` in ``size``.

    This is ``PATH(m, D[n])`` of RFC 9162 §2.1.3.1 with each element named by its leaf range,
    in proof order (the leaf's sibling first, the root's child last). ``[]`` for a tree of one
    leaf. Raises :class:`InputError` unless ``0 <= index < size``. Cost: O(log size).
    """
    if not 0 <= index < size:
        raise InputError(f"leaf index {index} is out of range for tree size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """Return the ranges whose ``MTH`` form the consistency proof from ``size1`` to ``size2``.

    This is ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` of RFC 9162 §2.1.4.1, each element
    named by its leaf range, in proof order. ``[]`` when ``size1 == size2``.

    Raises :class:`InputError` unless ``0 < size1 <= size2``: the empty tree is trivially
    consistent with every tree and has no proof (callers handle ``size1 == 0`` without one,
    see :func:`verify_consistency`). Cost: O(log size2).
    """
    if not 0 < size1 <= size2:
        raise InputError(f"no consistency proof from tree size {size1} to {size2}")
    ranges: list[Range] = []
    start, end, m, whole = 0, size2, size1, True
    while True:
        if m == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def nodes_needed(ranges: Iterable[Range]) -> list[Node]:
    """Return the stored nodes needed to hash ``ranges``, deduplicated, for one batched read.

    The union of :func:`range_nodes` over the ranges, in first-use order. Raises
    :class:`InputError` for a range :func:`range_nodes` rejects. Cost: O(Σ log width).
    """
    needed: dict[Node, None] = {}
    for start, end in ranges:
        for node in range_nodes(start, end):
            needed[node] = None
    return list(needed)


def hash_ranges(ranges: Iterable[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return ``MTH(D[start:end])`` of each range, computed from stored nodes.

    ``nodes`` maps ``(level, index)`` to the node's hash and must contain
    :func:`nodes_needed` ``(ranges)`` (extra entries are ignored). Raises :class:`InputError`
    naming the first missing node. Cost: O(log width) lookups and hashes per range
    (FORMAT.md §5).
    """
    out: list[bytes] = []
    for start, end in ranges:
        parts: list[bytes] = []
        for node in range_nodes(start, end):
            try:
                parts.append(nodes[node])
            except KeyError:
                raise InputError(
                    f"node (level {node[0]}, index {node[1]}) needed for range "
                    f"[{start}, {end}) is not stored",
                    field="nodes",
                ) from None
        out.append(fold(parts))
    return out


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``.

    ``nodes`` holds the complete nodes of a tree of at least ``size`` leaves (the proof is for
    the prefix of ``size`` leaves). Raises :class:`InputError` for ``index >= size`` or a
    missing node. Cost: O(log² size) hashes at worst, usually O(log size).
    """
    return hash_ranges(inclusion_ranges(index, size), nodes)


def consistency_proof(size1: int, size2: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof from ``size1`` to ``size2``.

    ``nodes`` holds the complete nodes of a tree of at least ``size2`` leaves. ``[]`` when
    ``size1 == size2``. Raises :class:`InputError` unless ``0 < size1 <= size2``, or for a
    missing node. Cost: O(log² size2) hashes at worst.
    """
    return hash_ranges(consistency_ranges(size1, size2), nodes)
