"""Reading a log through its tiles, every tile authenticated against a checkpoint's root —
in the spirit of Go's ``golang.org/x/mod/sumdb/tlog.TileHashReader``.

Why it is sound (C2SP tlog-tiles, "Merkle Tree" and "Partial Tiles"):

1. The tree of size ``s`` is the perfect subtrees of the binary digits of ``s``, largest
   first (RFC 9162 §2.1.1). Digits ``8L … 8L+7`` are ``floor(s / 256**L) mod 256``: exactly
   the width of the partial tile at level ``L``. So the partial tiles (:func:`root_tiles`)
   give the root, and every hash in them is used: :meth:`TileReader.verify_root` recomputes
   the root from them and compares it with the checkpoint's.
2. A full tile ``(L, N)`` is the perfect subtree whose root is hash ``N mod 256`` of tile
   ``(L+1, floor(N/256))`` (spec: "each hash in a tile is the Merkle Tree Hash of a full
   tile at the level below"); that parent is a partial tile (step 1) or a full tile checked
   the same way, up to at most ``64/8`` levels.
3. An entry bundle's entries hash (RFC 9162 leaf hash) to its level-0 tile's hashes.

Every failure is a :class:`VerificationError` whose ``field`` names the tile's path.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.core.errors import VerificationError
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash
from verifier.tiles.codec import (
    RULE_HASH,
    fold_right,
    parse_bundle,
    perfect_root,
    perfect_subtrees,
    split_hashes,
)
from verifier.tiles.paths import TILE_HEIGHT, TILE_WIDTH, Tile, root_tiles, tile_at

Fetch = Callable[[str], bytes]
"""Returns the bytes at a tile path (e.g. ``tile/0/x001/234``) or raises; it is untrusted."""


def _mismatch(tile: Tile, what: str) -> VerificationError:
    return VerificationError(
        RULE_HASH, f"tile {tile.path} {what}; 瓦片与检查点不符", field=tile.path
    )


class TileReader:
    """Hashes and entries of the tree of ``size`` leaves with root ``root`` (taken from a
    verified checkpoint), fetched with ``fetch`` and authenticated before they are returned.
    Authenticated tiles are kept (``len(self.cache)`` tiles of ≤ 8 KiB). Not thread-safe."""

    def __init__(self, size: int, root: bytes, fetch: Fetch) -> None:
        if size < 0 or len(root) != HASH_SIZE:
            raise ValueError("size must be >= 0 and root 32 bytes")
        self.size = size
        self.root = root
        self._fetch = fetch
        self.cache: dict[Tile, list[bytes]] = {}
        self._root_checked = False

    def verify_root(self) -> None:
        """Fetch the partial tiles, recompute the root (step 1 of the module docstring) and
        compare it. Raises ``tile.hash`` naming the tiles on a mismatch. Cost: one fetch and
        ≤ 255 node hashes per level, O(log₂₅₆ size) levels; done once."""
        if self._root_checked:
            return
        tiles = root_tiles(self.size)
        loaded = {t: split_hashes(self._fetch(t.path), t) for t in tiles}
        roots = [r for t in tiles for r in perfect_subtrees(loaded[t])]
        computed = fold_right(roots) if roots else EMPTY_ROOT
        if computed != self.root:
            names = ", ".join(t.path for t in tiles) or "(no tiles)"
            first = tiles[0] if tiles else Tile(0, 0, 1)
            raise VerificationError(
                RULE_HASH,
                f"tiles {names} give root {computed[:4].hex()}…, checkpoint has"
                f" {self.root[:4].hex()}…; 瓦片与检查点不符",
                field=first.path,
            )
        self.cache.update(loaded)
        self._root_checked = True

    def tile(self, level: int, index: int) -> list[bytes]:
        """The authenticated hashes of tile ``(level, index)`` as it is at this size (its
        width follows from the size). Raises ``ValueError`` if the tree has no such tile.
        Cost: at most one fetch and 255 node hashes per level above ``level``."""
        tile = tile_at(self.size, level, index)
        if tile is None:
            raise ValueError(f"tree of size {self.size} has no tile {level}/{index}")
        self.verify_root()
        cached = self.cache.get(tile)
        if cached is not None:
            return cached
        # Not a root tile, so full (step 2): its root is one hash of the parent tile.
        hashes = split_hashes(self._fetch(tile.path), tile)
        parent = self.tile(level + 1, index >> TILE_HEIGHT)
        if perfect_root(hashes) != parent[index % TILE_WIDTH]:
            raise _mismatch(tile, f"does not hash to its parent tile {level + 1}")
        self.cache[tile] = hashes
        return hashes

    def hash_at(self, level: int, index: int) -> bytes:
        """The authenticated Merkle hash at height ``8·level``, position ``index`` (level 0:
        the leaf hash of entry ``index``). Precondition: it exists in this tree."""
        return self.tile(level, index >> TILE_HEIGHT)[index % TILE_WIDTH]

    def entries(self, index: int) -> list[bytes]:
        """The authenticated entries of entry bundle ``index`` (step 3): each entry's leaf hash
        must equal the level-0 tile's hash. Raises ``tile.bundle`` or ``tile.hash``. Cost:
        one fetch and one SHA-256 per entry, plus :meth:`tile`."""
        hashes = self.tile(0, index)
        bundle = Tile(0, index, len(hashes), entries=True)
        lines = parse_bundle(self._fetch(bundle.path), bundle)
        for i, (line, h) in enumerate(zip(lines, hashes, strict=True)):
            if leaf_hash(line) != h:
                raise _mismatch(
                    bundle, f"entry {index * TILE_WIDTH + i} does not match its leaf hash"
                )
        return lines
