"""RFC 9162 proofs and roots computed from a log's tiles (C2SP tlog-tiles), every hash taken
from an authenticated :class:`~verifier.tiles.reader.TileReader`.

A node ``(height h, index i)`` — the Merkle Tree Hash of leaves ``[i·2^h, (i+1)·2^h)`` — is
the perfect root of the ``2^(h mod 8)`` hashes ``i·2^(h mod 8) …`` of tile level ``h // 8``
(all inside one tile, since they are aligned and at most 128). A proof element that is not a
complete subtree (the right edge of a tree) is the fold of complete ones
(:func:`verifier.tiles.ranges.range_nodes`), exactly as the log computes it from its stored
nodes (:mod:`ledger.reads`): the ranges are :mod:`verifier.tiles.ranges`'s.

Every node of a tree of size ``s`` is a node of every larger tree, so a reader for the tree
of size ``s'`` gives roots and proofs for any size ``≤ s'``. Cost: each node needs at most one
tile per level above it (cached by the reader) and ``2^(h mod 8) − 1`` node hashes; a proof
needs O(log size) nodes.
"""

from __future__ import annotations

from verifier.core.compact_range import fold
from verifier.core.errors import InputError
from verifier.core.merkle import EMPTY_ROOT
from verifier.tiles.codec import perfect_root
from verifier.tiles.paths import TILE_HEIGHT
from verifier.tiles.ranges import (
    Range,
    consistency_ranges,
    inclusion_ranges,
    peak_nodes,
    range_nodes,
)
from verifier.tiles.reader import TileReader

__all__ = ["consistency_proof", "inclusion_proof", "node_at", "root_at"]


def node_at(reader: TileReader, height: int, index: int) -> bytes:
    """The authenticated hash of the complete node ``(height, index)``. Precondition: the node
    is complete in the reader's tree (``(index + 1)·2^height <= reader.size``), else
    :class:`InputError`. Cost: one tile (fetched and authenticated once) and
    ``2^(height mod 8) − 1`` node hashes."""
    if height < 0 or index < 0 or (index + 1) << height > reader.size:
        raise InputError(
            f"node (height {height}, index {index}) is not complete in a tree of "
            f"{reader.size} leaves",
            field="size",
        )
    level, below = divmod(height, TILE_HEIGHT)
    count = 1 << below
    first = index * count
    hashes = reader.tile(level, first >> TILE_HEIGHT)
    offset = first % (1 << TILE_HEIGHT)
    return perfect_root(hashes[offset : offset + count])


def _hash_ranges(reader: TileReader, ranges: list[Range]) -> list[bytes]:
    return [
        fold([node_at(reader, h, i) for h, i in range_nodes(start, end)]) for start, end in ranges
    ]


def root_at(reader: TileReader, size: int) -> bytes:
    """The root of the tree of the first ``size`` leaves (``0 <= size <= reader.size``;
    :data:`~verifier.core.merkle.EMPTY_ROOT` for 0). Cost: O(log size) nodes."""
    if not 0 <= size <= reader.size:
        raise InputError(f"size {size} outside 0…{reader.size}", field="size")
    if size == 0:
        return EMPTY_ROOT
    return fold([node_at(reader, h, i) for h, i in peak_nodes(size)])


def inclusion_proof(reader: TileReader, index: int, size: int | None = None) -> list[bytes]:
    """The RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size`` leaves
    (default: the reader's). Raises :class:`InputError` unless ``0 <= index < size <=
    reader.size``. Cost: O(log size) nodes."""
    size = reader.size if size is None else size
    if size > reader.size:
        raise InputError(f"size {size} exceeds the tiles' tree ({reader.size})", field="size")
    return _hash_ranges(reader, inclusion_ranges(index, size))


def consistency_proof(reader: TileReader, size1: int, size2: int | None = None) -> list[bytes]:
    """The RFC 9162 §2.1.4.1 consistency proof from ``size1`` to ``size2`` (default: the
    reader's size); ``[]`` when they are equal. Raises :class:`InputError` unless
    ``0 < size1 <= size2 <= reader.size``. Cost: O(log size2) nodes."""
    size2 = reader.size if size2 is None else size2
    if size2 > reader.size:
        raise InputError(f"size {size2} exceeds the tiles' tree ({reader.size})", field="size")
    return _hash_ranges(reader, consistency_ranges(size1, size2))
