"""Bytes of hash tiles and entry bundles (C2SP tlog-tiles), and the hashes they imply.

- A hash tile of width ``W`` is exactly ``W`` 32-byte hashes concatenated (spec: "Full tiles
  MUST be exactly 256 hashes wide, or 8,192 bytes").
- An entry bundle of width ``W`` is ``W`` entries, each a big-endian uint16 length followed
  by that many bytes, and nothing else (spec: "Log entries"); our entries are lines of at
  most 65,535 bytes (FORMAT.md §4), so every line fits.

Failures raise :class:`VerificationError` naming the tile's path in ``field``: rule
``tile.width`` (wrong length for its width) or ``tile.bundle`` (malformed bundle).
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.core.errors import VerificationError
from verifier.core.merkle import HASH_SIZE, node_hash
from verifier.tiles.paths import TILE_WIDTH, Tile

RULE_WIDTH = "tile.width"
RULE_BUNDLE = "tile.bundle"
RULE_HASH = "tile.hash"
MAX_ENTRY = 0xFFFF
"""Largest entry a bundle can hold: its length is a uint16."""


def split_hashes(data: bytes, tile: Tile) -> list[bytes]:
    """The ``tile.width`` hashes of a hash tile's bytes. Raises ``tile.width`` unless the
    length is exactly ``32 · width`` (a truncated or padded tile, or the wrong width).
    Cost: O(len(data))."""
    want = tile.width * HASH_SIZE
    if len(data) != want:
        raise VerificationError(
            RULE_WIDTH,
            f"tile {tile.path} has {len(data)} bytes, want {want}; 瓦片长度错误",
            field=tile.path,
        )
    return [bytes(data[i : i + HASH_SIZE]) for i in range(0, want, HASH_SIZE)]


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash above ``2**k`` consecutive same-height hashes (a perfect subtree:
    RFC 9162 §2.1.1 splits it in halves). Precondition: ``len(hashes)`` a power of two,
    each 32 bytes. Cost: ``len − 1`` node hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def perfect_subtrees(hashes: Sequence[bytes]) -> list[bytes]:
    """The roots of the perfect subtrees that ``len(hashes)`` consecutive hashes (starting at
    a multiple of 256 of their height) form, largest first: one per set bit of the count,
    as RFC 9162's split at the largest power of two makes them. Cost: ``len − popcount``."""
    roots = []
    start = 0
    for bit in range(TILE_WIDTH.bit_length() - 1, -1, -1):
        if len(hashes) >> bit & 1:
            roots.append(perfect_root(hashes[start : start + (1 << bit)]))
            start += 1 << bit
    return roots


def fold_right(roots: Sequence[bytes]) -> bytes:
    """``H(r0, H(r1, … H(r_{m−2}, r_{m−1})))``: the root of a tree whose perfect subtrees,
    largest first, are ``roots`` (RFC 9162 §2.1.1 applied to a size's binary digits).
    Precondition: ``roots`` non-empty. Cost: ``m − 1`` node hashes."""
    acc = roots[-1]
    for r in reversed(roots[:-1]):
        acc = node_hash(r, acc)
    return acc


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes. Raises
    ``ValueError`` for an entry over 65,535 bytes (the log refuses such lines, FORMAT.md §4).
    Cost: O(total bytes)."""
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY:
            raise ValueError(f"entry of {len(e)} bytes does not fit a bundle")
        out += len(e).to_bytes(2, "big")
        out += e
    return bytes(out)


def parse_bundle(data: bytes, tile: Tile) -> list[bytes]:
    """The ``tile.width`` entries of an entry bundle. Raises ``tile.bundle`` when a length runs
    past the end, bytes are left over, or the count is not the width. Bounded: reads at most
    ``len(data)`` bytes and stops after ``width`` entries. Cost: O(len(data))."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data) and len(entries) < tile.width:
        if pos + 2 > len(data):
            break
        n = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + n > len(data):
            break
        entries.append(bytes(data[pos + 2 : pos + 2 + n]))
        pos += 2 + n
    if pos != len(data) or len(entries) != tile.width:
        raise VerificationError(
            RULE_BUNDLE,
            f"bundle {tile.path}: {len(entries)} whole entries in {pos} of {len(data)} bytes,"
            f" want {tile.width} filling it; 条目包格式错误",
            field=tile.path,
        )
    return entries
