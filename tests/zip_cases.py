"""Export zips built by hand for the verifier's input tests: well-formed ones, ones with edited
headers (method, flags, names, sizes), and zip bombs — for ``tests/test_zip_bundles.py``,
``tests/test_fuzz_verifier.py``, ``tests/test_verifier_limits.py`` and ``tests/corpus``."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from verifier.core.bundle import BUNDLE_FILES

REPO = Path(__file__).resolve().parents[1]
GOOD = REPO / "tests" / "bundles" / "good"
LOG_VKEY = REPO / "tests" / "bundles" / "keys" / "log.vkey"
FOLDER = "gongxin-export/"

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"


def good_files() -> dict[str, bytes]:
    """The committed known-good bundle's files, by base name."""
    return {name: (GOOD / name).read_bytes() for name in BUNDLE_FILES}


def make_zip(
    members: Iterable[tuple[str, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
    mode: int | None = None,
) -> bytes:
    """A zip of ``(name, data)`` members written by :mod:`zipfile` (``mode``: the Unix file
    mode stored for every member, e.g. ``stat.S_IFLNK | 0o777``)."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression=method) as zf:
        warnings.simplefilter("ignore")  # duplicate names are what some tests want
        for name, data in members:
            info = zipfile.ZipInfo(name, (2026, 3, 1, 8, 0, 0))
            info.compress_type = method
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644 if mode is None else mode) << 16
            zf.writestr(info, data)
    return out.getvalue()


def bundle_zip(files: dict[str, bytes] | None = None, folder: str = FOLDER) -> bytes:
    """The export zip as ``GET /v1/log/export`` writes it (deflate, one folder)."""
    files = good_files() if files is None else files
    return make_zip((folder + name, data) for name, data in files.items())


def headers(data: bytes) -> Iterator[tuple[int, bool]]:
    """Offsets of every local (``False``) and central (``True``) header signature."""
    for sig, central in ((_LOCAL, False), (_CENTRAL, True)):
        at = data.find(sig)
        while at >= 0:
            yield at, central
            at = data.find(sig, at + 1)


def set_field(data: bytes, name: str, value: int) -> bytes:
    """Every header's ``method``, ``flags``, ``size`` (uncompressed) or ``csize`` field set to
    ``value`` (local and central headers alike)."""
    local = {"flags": (6, "<H"), "method": (8, "<H"), "csize": (18, "<L"), "size": (22, "<L")}
    central = {"flags": (8, "<H"), "method": (10, "<H"), "csize": (20, "<L"), "size": (24, "<L")}
    out = bytearray(data)
    for at, is_central in headers(data):
        offset, fmt = (central if is_central else local)[name]
        if at + offset + struct.calcsize(fmt) <= len(out):
            struct.pack_into(fmt, out, at + offset, value)
    return bytes(out)


def deflate_bomb(total: int, declared: int | None = None, name: str = "entries.jsonl") -> bytes:
    """A bundle zip whose ``name`` member inflates to ``total`` zero bytes (streamed, never
    held in memory), declaring ``declared`` bytes (default: the truth)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc, parts, block = 0, [], bytes(1 << 20)
    for _ in range(total // len(block)):
        parts.append(comp.compress(block))
        crc = zlib.crc32(block, crc)
    parts.append(comp.flush())
    body = b"".join(parts)
    files = good_files()
    files.pop(name, None)
    head = bundle_zip(files)
    # Append the bomb as one more member by hand: local header, data, then a new directory.
    with zipfile.ZipFile(io.BytesIO(head)) as zf:
        infos = zf.infolist()
    cd_start = struct.unpack_from("<L", head, len(head) - 6)[0]
    arc = (FOLDER + name).encode()
    size = total if declared is None else declared
    local = struct.pack("<4s5H3L2H", _LOCAL, 20, 0, 8, 0, 0x21, crc, len(body), size, len(arc), 0)
    new_offset = cd_start
    central_old = head[cd_start : len(head) - 22]
    central_new = struct.pack(
        "<4s6H3L5H2L",
        _CENTRAL,
        0x031E,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(body),
        size,
        len(arc),
        0,
        0,
        0,
        0,
        (stat.S_IFREG | 0o644) << 16,
        new_offset,
    )
    data = head[:cd_start] + local + arc + body
    cd = central_old + central_new + arc
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(infos) + 1, len(infos) + 1, len(cd), len(data), 0
    )
    return data + cd + end


def bzip2_bomb(total: int) -> bytes:
    """A bundle zip whose ``entries.jsonl`` is ``total`` zero bytes compressed with bzip2."""
    files = good_files()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for name in ("checkpoint", "log.vkey"):
            zf.writestr(FOLDER + name, files[name])
        with zf.open(FOLDER + "entries.jsonl", "w", force_zip64=False) as dst:
            block = bytes(1 << 20)
            for _ in range(total // len(block)):
                dst.write(block)
    return out.getvalue()
