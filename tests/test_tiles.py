"""C2SP tlog-tiles, the pure part (``verifier.tiles``): paths against the spec's examples,
canonical round trips, tiles against a slow reference built from RFC 9162's definition, and
the authenticating reader against honest and tampered tiles."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import merkle_reference as ref
from verifier.core.errors import InputError, VerificationError
from verifier.core.merkle import EMPTY_ROOT
from verifier.tiles.codec import encode_bundle, parse_bundle, split_hashes
from verifier.tiles.paths import Tile, changed_tiles, format_index, parse_path, root_tiles
from verifier.tiles.reader import TileReader

# --- paths ------------------------------------------------------------------------------


def test_spec_path_examples() -> None:
    assert format_index(1234067) == "x001/x234/067"
    assert format_index(5) == "005"
    assert format_index(0) == "000"
    assert format_index(1000) == "x001/000"
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(1, 5, 17).path == "tile/1/005.p/17"
    assert Tile(0, 273, 112, entries=True).path == "tile/entries/273.p/112"
    assert parse_path("tile/entries/x001/x234/067") == Tile(0, 1234067, entries=True)
    assert parse_path("tile/63/000.p/1") == Tile(63, 0, 1)


def test_spec_size_examples() -> None:
    """Spec: 70,000 leaves are 273 full level-0 tiles, a partial of width 112, one full level-1
    tile, a level-1 partial of width 17 and a level-2 partial of width 1; 256 leaves are one
    full level-0 tile and a level-1 partial of width 1."""
    tiles = list(changed_tiles(0, 70_000))
    assert [t for t in tiles if t.level == 0] == [Tile(0, n) for n in range(273)] + [
        Tile(0, 273, 112)
    ]
    assert [t for t in tiles if t.level > 0] == [Tile(1, 0), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert root_tiles(70_000) == [Tile(2, 0, 1), Tile(1, 1, 17), Tile(0, 273, 112)]
    assert list(changed_tiles(0, 256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(changed_tiles(0, 0)) == [] and root_tiles(0) == []


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/005",  # leading zero group
        "tile/0/5",
        "tile/0/0005",
        "tile/00/005",
        "tile/64/000",
        "tile/0/005.p/0",
        "tile/0/005.p/256",
        "tile/0/005.p/017",
        "tile/0/x1/005",
        "tile/0/005/",
        "/tile/0/005",
        "tile/entries/005.p/",
        "tile/entries/1/005",
        "tile/8/0/000",  # Go's tile/H/L/N form is not ours
        "tile/0/x001/x002/x003/x004/x005/x006/x007/008",  # more than 7 groups
        "tile/0/００5",
        "tile/0/005\n",
        "tile/-1/005",
    ],
)
def test_non_canonical_paths_refused(path: str) -> None:
    with pytest.raises(InputError):
        parse_path(path)


tiles = st.builds(
    Tile,
    level=st.integers(0, 63),
    index=st.integers(0, 2**56 - 1),
    width=st.integers(1, 256),
)


@given(tiles, st.booleans())
def test_paths_round_trip(tile: Tile, entries: bool) -> None:
    if entries:
        tile = Tile(0, tile.index, tile.width, entries=True)
    assert parse_path(tile.path) == tile


@given(st.text(alphabet=string.digits + "x/.ptilenrs", max_size=40))
def test_parse_accepts_only_canonical(text: str) -> None:
    try:
        tile = parse_path(text)
    except InputError:
        return
    assert tile.path == text


# --- tile bytes from first principles -------------------------------------------------------


def leaves(n: int, seed: int = 0) -> list[bytes]:
    return [f"entry {seed} {i}".encode() * (1 + i % 3) for i in range(n)]


def reference_tile(data: list[bytes], tile: Tile) -> bytes:
    """Spec formula: hash i of tile (l, n) is MTH(D[(n·256 + i)·256**l : (n·256 + i + 1)·256**l]),
    straight from RFC 9162's recursive definition (tests/merkle_reference.py)."""
    span = 256**tile.level
    first = tile.index * 256
    return b"".join(
        ref.mth(data[(first + i) * span : (first + i + 1) * span]) for i in range(tile.width)
    )


def fast_tiles(data: list[bytes]) -> dict[str, bytes]:
    """The tiles the quick way: leaf hashes, then one node level at a time, cut in tiles."""
    level_hashes = [hashlib.sha256(b"\x00" + d).digest() for d in data]
    out: dict[str, bytes] = {}
    level = 0
    while level_hashes:
        for start in range(0, len(level_hashes), 256):
            chunk = level_hashes[start : start + 256]
            out[Tile(level, start // 256, len(chunk)).path] = b"".join(chunk)
        for _ in range(8):
            level_hashes = [
                hashlib.sha256(b"\x01" + level_hashes[i] + level_hashes[i + 1]).digest()
                for i in range(0, len(level_hashes) - 1, 2)
            ]
        level += 1
    return out


def serve(data: list[bytes]) -> tuple[dict[str, bytes], Callable[[str], bytes]]:
    files = fast_tiles(data)
    for start in range(0, len(data), 256):
        chunk = data[start : start + 256]
        files[Tile(0, start // 256, len(chunk), entries=True).path] = encode_bundle(chunk)
    return files, files.__getitem__


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1400) | st.sampled_from([255, 256, 257, 511, 512, 513, 768]))
def test_fast_tiles_equal_reference(n: int) -> None:
    data = leaves(n, n)
    fast = fast_tiles(data)
    wanted = list(changed_tiles(0, n))
    assert sorted(fast) == sorted(t.path for t in wanted)
    for t in wanted:
        assert fast[t.path] == reference_tile(data, t), t.path


def test_level_two_tiles_against_reference() -> None:
    """A tree with level-2 hashes (65,536 + 300 leaves) checked through the reader against
    the reference root; the level-1 full tile against the reference formula."""
    n = 65_536 + 300
    data = leaves(n)
    files, fetch = serve(data)
    assert files["tile/1/000"] == reference_tile(data, Tile(1, 0))
    reader = TileReader(n, ref.mth(data), fetch)
    reader.verify_root()
    assert reader.hash_at(2, 0) == ref.mth(data[:65_536])
    assert reader.entries(256) == data[65_536 : 65_536 + 256]


# --- the reader -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2000), st.data())
def test_reader_reproduces_root_and_entries(n: int, draw: st.DataObject) -> None:
    data = leaves(n, 7)
    _, fetch = serve(data)
    reader = TileReader(n, ref.mth(data), fetch)
    reader.verify_root()
    if n:
        i = draw.draw(st.integers(0, n - 1))
        assert reader.hash_at(0, i) == ref.leaf(data[i])
        assert reader.entries(i // 256) == data[i // 256 * 256 : i // 256 * 256 + 256]


def test_empty_tree() -> None:
    nothing: dict[str, bytes] = {}
    TileReader(0, EMPTY_ROOT, nothing.__getitem__).verify_root()
    with pytest.raises(VerificationError):
        TileReader(0, b"\x01" * 32, nothing.__getitem__).verify_root()


def tampered(files: dict[str, bytes], path: str, new: bytes) -> Callable[[str], bytes]:
    return {**files, path: new}.__getitem__


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 1500), st.data())
def test_reader_rejects_tampered_tiles(n: int, draw: st.DataObject) -> None:
    data = leaves(n, 3)
    files, _ = serve(data)
    root = ref.mth(data)
    path = draw.draw(st.sampled_from(sorted(files)))
    tile = parse_path(path)
    body = files[path]
    pos = draw.draw(st.integers(0, len(body) - 1))
    flipped = body[:pos] + bytes([body[pos] ^ 1]) + body[pos + 1 :]
    reader = TileReader(n, root, tampered(files, path, flipped))
    with pytest.raises(VerificationError) as err:
        reader.verify_root()
        if tile.entries:
            reader.entries(tile.index)
        else:
            reader.tile(tile.level, tile.index)
    assert err.value.field == path or path in err.value.detail  # root tiles: named together


def test_reader_rejects_wrong_width_and_truncation() -> None:
    n = 600  # tiles 0/000, 0/001, 0/002.p/88, 1/000.p/2
    data = leaves(n)
    files, _ = serve(data)
    root = ref.mth(data)
    for path, body in [
        ("tile/0/002.p/88", files["tile/0/002.p/88"][:-1]),  # truncated
        ("tile/0/002.p/88", files["tile/0/002.p/88"] + bytes(32)),  # one hash too many
        ("tile/1/000.p/2", files["tile/1/000.p/2"][:32]),  # served at a smaller width
        ("tile/0/001", files["tile/0/001"][:-32]),
    ]:
        reader = TileReader(n, root, tampered(files, path, body))
        with pytest.raises(VerificationError) as err:
            reader.tile(0, 1)
        assert err.value.rule == "tile.width" and err.value.field == path
    # A tile of another (older) tree: honest bytes, wrong root.
    old_files, _ = serve(data[:590])
    reader = TileReader(
        n, root, tampered(files, "tile/0/002.p/88", old_files["tile/0/002.p/78"] + bytes(320))
    )
    with pytest.raises(VerificationError) as err:
        reader.verify_root()
    assert err.value.rule == "tile.hash"
    # A swapped full tile: well formed, does not hash to its parent.
    reader = TileReader(n, root, tampered(files, "tile/0/000", files["tile/0/001"]))
    with pytest.raises(VerificationError) as err:
        reader.tile(0, 0)
    assert err.value.rule == "tile.hash" and err.value.field == "tile/0/000"


def test_bundle_codec() -> None:
    t = Tile(0, 0, 3, entries=True)
    entries = [b"", b"a" * 65_535, b"xyz"]
    assert parse_bundle(encode_bundle(entries), t) == entries
    with pytest.raises(ValueError):
        encode_bundle([b"a" * 65_536])
    good = encode_bundle(entries)
    for bad in [good[:-1], good + b"\x00", good + b"\x00\x00", encode_bundle(entries[:2])]:
        with pytest.raises(VerificationError) as err:
            parse_bundle(bad, t)
        assert err.value.rule == "tile.bundle" and err.value.field == t.path
    with pytest.raises(VerificationError):
        split_hashes(bytes(31), Tile(0, 0, 1))
