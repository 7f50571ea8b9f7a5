"""C2SP tlog-tiles read from the stored tree (FORMAT.md §13): the bytes of a hash tile or an
entry bundle, for ``api.routes_tiles`` and ``gongxin tiles``.

The level-``L`` tile ``N`` is the stored nodes ``(8·L, N·256 + i)`` (the ledger keeps every
complete aligned subtree, FORMAT.md §5.3), so a tile is one indexed read of ≤ 256 nodes and an
entry bundle one range read of ≤ 256 lines. Coordinates, paths and the bundle encoding are the
verifier's (:mod:`verifier.tiles`), so that what is served is what clients check.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger.store.contract import LedgerReader
from verifier.tiles.codec import encode_bundle
from verifier.tiles.paths import TILE_HEIGHT, TILE_WIDTH, Tile, changed_tiles, level_size


def exists(tile: Tile, size: int) -> bool:
    """Whether the tree of ``size`` leaves has every hash of ``tile``: a full tile once its
    256 hashes exist, a partial tile ``.p/W`` once its first ``W`` do (its bytes never change
    after that: the first ``W`` hashes of a tile are fixed once they exist). O(1)."""
    return tile.index * TILE_WIDTH + tile.width <= level_size(size, tile.level)


def tile_bytes(reader: LedgerReader, tile: Tile, size: int) -> bytes | None:
    """The bytes of ``tile`` (a hash tile: its hashes concatenated; an entry bundle: its
    lines, each with a uint16 length) in the tree of ``size`` leaves, or ``None`` when that
    tree does not have it. Precondition: ``size`` is committed. Cost: one read of ``width``
    nodes or lines."""
    if not exists(tile, size):
        return None
    first = tile.index * TILE_WIDTH
    if tile.entries:
        return encode_bundle([line for _, line in reader.lines(first, first + tile.width)])
    height = TILE_HEIGHT * tile.level
    keys = [(height, first + i) for i in range(tile.width)]
    nodes = reader.nodes(keys)
    return b"".join(nodes[k] for k in keys)


def changed_files(
    reader: LedgerReader, old_size: int, new_size: int
) -> Iterator[tuple[Tile, bytes]]:
    """Every hash tile and entry bundle of the tree of ``new_size`` that is new or differs
    from the tree of ``old_size`` (:func:`verifier.tiles.paths.changed_tiles`), each level-0
    tile followed by its bundle. Precondition ``0 <= old_size <= new_size``, committed.
    Cost: one read per tile; O(new − old) for appends."""
    for tile in changed_tiles(old_size, new_size):
        tiles = [tile, tile.bundle()] if tile.level == 0 else [tile]
        for t in tiles:
            data = tile_bytes(reader, t, new_size)
            assert data is not None  # changed_tiles yields tiles of this tree only
            yield t, data
