"""Tile coordinates and their paths (C2SP tlog-tiles, "Merkle Tree" and "Log entries").

The level-``L`` tile ``N`` holds the tree's Merkle Tree Hashes at height ``8·L`` (each covers
``256**L`` leaves) with indices ``N·256 … N·256 + W − 1``; a full tile has ``W = 256``, a
partial tile ``1 ≤ W ≤ 255`` (spec: "Partial Tiles"). Paths are ``tile/<L>/<N>[.p/<W>]`` and
``tile/entries/<N>[.p/<W>]``; ``<N>`` is written in zero-padded 3-digit elements, every one
but the last prefixed with ``x`` (1234067 → ``x001/x234/067``). :func:`parse_path` accepts
exactly the canonical spelling and nothing else (no extra leading zeros, no ``x000/``
prefix, level 0–63, width 1–255).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from verifier.core.errors import InputError

TILE_HEIGHT = 8
"""Levels of the tree one tile spans (spec: "a tile represents the entire subtree of height 8")."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile: 256 (8,192 bytes)."""
MAX_LEVEL = 63
"""Largest tile level the spec allows in a path (``<L>`` between 0 and 63)."""

_N = r"((?:x[0-9]{3}/){0,6}[0-9]{3})"  # < 2**64 leaves: at most 20 digits, 7 groups
_W = r"(?:\.p/([1-9][0-9]{0,2}))?"
_HASH_PATH = re.compile(r"tile/(0|[1-9][0-9]?)/" + _N + _W)
_ENTRIES_PATH = re.compile(r"tile/entries/" + _N + _W)


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile: ``level`` (0 = leaf hashes), ``index`` within the level and ``width`` (number
    of hashes, 256 when full). ``entries`` marks the entry bundle of a level-0 tile rather
    than the hash tile. Invalid coordinates raise ``ValueError`` (a caller's bug)."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL or self.index < 0:
            raise ValueError(f"bad tile coordinates {self.level}/{self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"bad tile width {self.width}")
        if self.entries and self.level != 0:
            raise ValueError("entry bundles exist only for level-0 tiles")

    @property
    def partial(self) -> bool:
        """True for a partial tile (fewer than 256 hashes; spec "Partial Tiles")."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The path under the log's prefix, e.g. ``tile/1/x001/234.p/5``. O(digits)."""
        head = "tile/entries/" if self.entries else f"tile/{self.level}/"
        tail = f".p/{self.width}" if self.partial else ""
        return head + format_index(self.index) + tail

    def hash_tile(self) -> Tile:
        """The level-0 hash tile an entry bundle corresponds to (itself for a hash tile)."""
        return Tile(self.level, self.index, self.width)

    def bundle(self) -> Tile:
        """The entry bundle of this level-0 hash tile."""
        return Tile(0, self.index, self.width, entries=True)


def format_index(n: int) -> str:
    """``<N>`` in the spec's 3-digit path elements: 5 → ``005``, 1234067 → ``x001/x234/067``.
    Precondition ``n >= 0``. O(digits)."""
    digits = str(n)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "".join(f"x{g}/" for g in groups[:-1]) + groups[-1]


def parse_path(path: str) -> Tile:
    """The tile named by a canonical path (without the prefix, no leading ``/``). Raises
    :class:`InputError` (``field="path"``) for anything else: unknown shape, level above 63,
    width 0 or ≥ 256, leading zero groups (``x000/005``), more than 7 index groups.
    Cost: O(len(path)), at most ~60 characters examined by the regular expressions."""
    if len(path) > 64:
        raise InputError("tile path too long; 瓦片路径过长", field="path")
    entries = False
    m = _HASH_PATH.fullmatch(path)
    if m is None:
        m = _ENTRIES_PATH.fullmatch(path)
        entries = m is not None
    if m is None:
        raise InputError(f"not a tile path: {path!r}; 不是瓦片路径", field="path")
    level = 0 if entries else int(m.group(1))
    n_text, w_text = m.groups()[-2:]
    index = int(n_text.replace("x", "").replace("/", ""))
    width = int(w_text) if w_text is not None else TILE_WIDTH
    if level > MAX_LEVEL or (w_text is not None and width >= TILE_WIDTH):
        raise InputError(
            f"tile level or width out of range: {path!r}; 层级或宽度越界", field="path"
        )
    tile = Tile(level, index, width, entries)
    if tile.path != path:  # e.g. x000/005: not the canonical spelling
        raise InputError(f"non-canonical tile path: {path!r}; 瓦片路径不规范", field="path")
    return tile


def level_size(size: int, level: int) -> int:
    """Number of hashes at tile level ``level`` in a tree of ``size`` leaves:
    ``floor(size / 256**level)`` (only complete subtrees have a hash at that height)."""
    return size >> (TILE_HEIGHT * level)


def tile_at(size: int, level: int, index: int) -> Tile | None:
    """The tile ``(level, index)`` as it is in a tree of ``size``, with its width, or ``None``
    when that tree has no hash in it (spec: "Empty tiles MUST NOT be served"). O(1)."""
    width = min(TILE_WIDTH, level_size(size, level) - index * TILE_WIDTH)
    return Tile(level, index, width) if width > 0 else None


def changed_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """Every tile of the tree of ``new_size`` that is new or differs from the tree of
    ``old_size`` (a wider partial, or a full one replacing a partial), level by level,
    lowest level first, by index. ``changed_tiles(0, s)`` is every tile of the tree of size
    ``s``: the spec's example, 70,000 leaves, gives 273 + 1 tiles at level 0, 1 + 1 at level
    1, 1 at level 2. Precondition ``0 <= old_size <= new_size``. Cost: O(tiles yielded)."""
    level = 0
    while level_size(new_size, level) > 0:
        first = level_size(old_size, level) >> TILE_HEIGHT
        last = (level_size(new_size, level) - 1) >> TILE_HEIGHT
        for index in range(first, last + 1):
            tile = tile_at(new_size, level, index)
            before = tile_at(old_size, level, index)
            if tile is not None and tile != before:
                yield tile
        level += 1


def root_tiles(size: int) -> list[Tile]:
    """The partial tiles of a tree of ``size``, highest level first: exactly the tiles whose
    hashes determine the root (each level ``L`` contributes ``floor(size / 256**L) mod 256``
    hashes). Empty for ``size == 0``. O(log size)."""
    tiles = []
    level = 0
    while level_size(size, level) > 0:
        tile = tile_at(size, level, level_size(size, level) >> TILE_HEIGHT)
        if tile is not None:
            tiles.append(tile)
        level += 1
    return tiles[::-1]
