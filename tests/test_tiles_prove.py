"""RFC 9162 proofs computed from authenticated tiles (``verifier.tiles.prove``) against the
log's proofs from stored nodes (``ledger.proofs``) and the verifier's checks, on random sizes
including sizes that cross tile (256) and level (65,536) boundaries; and ``ledger.proofs``
still re-exports the range math moved to ``verifier.tiles.ranges``."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import proofs
from verifier.core.errors import InputError, VerificationError
from verifier.core.merkle import EMPTY_ROOT, node_hash, verify_consistency, verify_inclusion
from verifier.tiles import ranges
from verifier.tiles.paths import TILE_WIDTH, parse_path, tile_at
from verifier.tiles.prove import consistency_proof, inclusion_proof, node_at, root_at
from verifier.tiles.reader import TileReader

N = 65_536 + 700
"""Leaves in the test tree: tiles at levels 0, 1 and 2."""


def _levels() -> list[list[bytes]]:
    """Every node hash of the tree of N leaves: ``levels[h][i]`` is node (h, i)."""
    level = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(N)]
    out = [level]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        out.append(level)
    return out


LEVELS = _levels()
NODES = {(h, i): x for h, level in enumerate(LEVELS) for i, x in enumerate(level)}


def reader_for(size: int) -> TileReader:
    """A reader of the tree of the first ``size`` leaves, its tiles cut from LEVELS on
    demand (exactly the tiles that tree has, at their widths)."""

    def fetch(path: str) -> bytes:
        tile = parse_path(path)
        if tile_at(size, tile.level, tile.index) != tile:
            raise KeyError(path)
        first = tile.index * TILE_WIDTH
        return b"".join(LEVELS[8 * tile.level][first : first + tile.width])

    return TileReader(size, root(size), fetch)


def root(size: int) -> bytes:
    return proofs.hash_ranges([(0, size)], NODES)[0] if size else EMPTY_ROOT


BOUNDARY = st.sampled_from([1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, N])
SIZES = st.integers(1, N) | BOUNDARY


@settings(max_examples=60, deadline=None)
@given(SIZES, st.data())
def test_consistency_from_tiles(size2: int, data: st.DataObject) -> None:
    size1 = data.draw(st.integers(1, size2) | BOUNDARY.filter(lambda s: s <= size2))
    reader = reader_for(size2)
    proof = consistency_proof(reader, size1)
    assert proof == proofs.consistency_proof(size1, size2, NODES)
    verify_consistency(size1, size2, proof, root(size1), root(size2))
    assert root_at(reader, size1) == root(size1)


@settings(max_examples=60, deadline=None)
@given(SIZES, st.data())
def test_inclusion_from_tiles(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    reader = reader_for(size)
    proof = inclusion_proof(reader, index)
    assert proof == proofs.inclusion_proof(index, size, NODES)
    verify_inclusion(LEVELS[0][index], index, size, proof, root(size))


def test_proofs_for_smaller_trees_from_a_larger_one() -> None:
    reader = reader_for(N)
    for size1, size2 in [(300, 65_537), (256, 512), (1, 65_536), (65_536, N)]:
        assert consistency_proof(reader, size1, size2) == proofs.consistency_proof(
            size1, size2, NODES
        )
    assert inclusion_proof(reader, 5, 257) == proofs.inclusion_proof(5, 257, NODES)
    assert node_at(reader, 16, 0) == LEVELS[16][0]
    assert node_at(reader, 11, 31) == LEVELS[11][31]


def test_preconditions() -> None:
    reader = reader_for(1000)
    with pytest.raises(InputError):
        node_at(reader, 10, 0)  # 1024 leaves: not complete in a tree of 1000
    with pytest.raises(InputError):
        consistency_proof(reader, 0)
    with pytest.raises(InputError):
        consistency_proof(reader, 10, 1001)
    with pytest.raises(InputError):
        inclusion_proof(reader, 1000)
    with pytest.raises(InputError):
        root_at(reader, 1001)
    assert root_at(reader, 0) == EMPTY_ROOT
    assert consistency_proof(reader, 1000) == []


def test_lying_tiles_are_caught() -> None:
    honest = reader_for(70_000 - 4000)

    def fetch(path: str) -> bytes:
        data = honest._fetch(path)
        return bytes(32) + data[32:] if path == "tile/0/002" else data

    liar = TileReader(honest.size, honest.root, fetch)
    with pytest.raises(VerificationError) as caught:
        consistency_proof(liar, 600)
    assert caught.value.rule == "tile.hash"


def test_ledger_proofs_reexports_the_moved_functions() -> None:
    for name in proofs.__all__:
        assert getattr(proofs, name) is getattr(ranges, name)
