"""C2SP tlog-proof v1: an offline proof that one entry is in a (cosigned) log (FORMAT.md §15).

The file (https://c2sp.org/tlog-proof, extension ``.tlog-proof``) is newline-separated::

    c2sp.org/tlog-proof@v1
    extra <base64 of opaque data>            (optional)
    index <decimal, no leading zeros>
    <base64 of a 32-byte hash>               (0..63 lines: the RFC 6962 inclusion path)

    <the checkpoint verbatim, signature and cosignature lines included>

Gongxin puts the entry line (FORMAT.md §4, without its newline) in ``extra``: the spec
allows extra data "necessary to reconstruct the record hash", and the leaf hash is
``SHA-256(0x00 ‖ line)``. ``extra`` is not authenticated by itself; the inclusion proof
against the signed checkpoint is what binds it.

Parsing is strict (canonical base64, no leading zeros, exact first line, the empty line
before the checkpoint) and bounded: at most :data:`MAX_PROOF_LINES` proof lines, ``extra``
at most :data:`MAX_EXTRA_BYTES` decoded, the file at most :data:`MAX_FILE_BYTES`. Every
fault is an :class:`InputError` naming the line. Pure functions; no I/O. The checkpoint is
not opened here (that needs the log key: :mod:`verifier.cli.proof`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.core.errors import InputError
from verifier.core.keys import b64decode_canonical

HEADER = b"c2sp.org/tlog-proof@v1"
"""The first line of every proof."""
MAX_PROOF_LINES = 63
"""Most inclusion-path lines (a tree of up to 2**63 leaves)."""
MAX_EXTRA_BYTES = 65_535
"""Largest decoded ``extra``: one entry line (FORMAT.md §4)."""
MAX_CHECKPOINT_BYTES = 64 * 1024
"""Room for the header, index, path and the checkpoint with its cosignatures."""
_EXTRA_PREFIX = b"extra "
_INDEX_PREFIX = b"index "
MAX_FILE_BYTES = MAX_CHECKPOINT_BYTES + len(_EXTRA_PREFIX) + 4 * ((MAX_EXTRA_BYTES + 2) // 3) + 1
"""Largest proof file: 64 KiB plus one ``extra`` line holding a maximal entry line."""
MAX_INDEX = 2**63 - 1
_HASH_SIZE = 32
_HASH_B64_LEN = 44


@dataclass(frozen=True)
class TlogProof:
    """A parsed proof: the leaf ``index``, the inclusion ``path`` (leaf's sibling first),
    the ``checkpoint`` bytes verbatim and the ``extra`` data (``None`` when absent)."""

    index: int
    path: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


def encode_tlog_proof(
    index: int,
    path: Sequence[bytes],
    checkpoint: str | bytes,
    extra: bytes | None = None,
) -> bytes:
    """The proof file's bytes. Preconditions (else :class:`InputError`): ``0 ≤ index ≤
    2**63-1``; at most 63 path hashes of 32 bytes; ``extra`` absent or 1..65,535 bytes;
    ``checkpoint`` a note ending in a newline. The result parses back to the same values
    (:func:`parse_tlog_proof`). Cost: O(size of the result)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise InputError(f"index {index!r} out of range 0..2**63-1", field="index")
    if len(path) > MAX_PROOF_LINES or any(len(h) != _HASH_SIZE for h in path):
        raise InputError("the path must be at most 63 hashes of 32 bytes", field="path")
    note = checkpoint.encode("utf-8") if isinstance(checkpoint, str) else bytes(checkpoint)
    if not note.endswith(b"\n") or note.startswith(b"\n"):
        raise InputError("the checkpoint must be a signed note ending in a newline")
    lines = [HEADER]
    if extra is not None:
        if not 1 <= len(extra) <= MAX_EXTRA_BYTES:
            raise InputError(f"extra must be 1..{MAX_EXTRA_BYTES} bytes", field="extra")
        lines.append(_EXTRA_PREFIX + base64.b64encode(extra))
    lines.append(_INDEX_PREFIX + str(index).encode("ascii"))
    lines.extend(base64.b64encode(h) for h in path)
    out = b"\n".join(lines) + b"\n\n" + note
    if len(out) > MAX_FILE_BYTES:
        raise InputError(f"the proof would exceed {MAX_FILE_BYTES} bytes (checkpoint too big)")
    return out


class _Lines:
    """The header lines of a proof, one at a time, numbered from 1."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.where = where
        self.pos = 0
        self.number = 0

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.where} line {self.number}: {message}", field="proof")

    def next(self) -> bytes:
        self.number += 1
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise self.fail("the proof ends without the empty line and the checkpoint; 证明不完整")
        line = self.data[self.pos : end]
        self.pos = end + 1
        return line


def _parse_index(lines: _Lines, line: bytes) -> int:
    if not line.startswith(_INDEX_PREFIX):
        raise lines.fail("expected `index N` (or `extra …` before it)")
    digits = line[len(_INDEX_PREFIX) :]
    if not (1 <= len(digits) <= 19 and digits.isdigit() and digits.isascii()):
        raise lines.fail("the index must be a decimal number")
    if digits != b"0" and digits.startswith(b"0"):
        raise lines.fail("the index must not have leading zeros")
    index = int(digits)
    if index > MAX_INDEX:
        raise lines.fail("the index is beyond 2**63-1")
    return index


def _parse_extra(lines: _Lines, line: bytes) -> bytes:
    text = line[len(_EXTRA_PREFIX) :]
    if len(text) > 4 * ((MAX_EXTRA_BYTES + 2) // 3):
        raise lines.fail(f"extra is longer than {MAX_EXTRA_BYTES} bytes")
    raw = b64decode_canonical(text.decode("ascii")) if text.isascii() else None
    if not raw:
        raise lines.fail("extra must be non-empty canonical base64 (RFC 4648 §4, padded)")
    return raw


def parse_tlog_proof(data: bytes, where: str = "proof") -> TlogProof:
    """Parse a proof file's bytes strictly (see the module docstring). :class:`InputError`
    naming ``where`` and the line for any fault: size, first line, ``extra``, ``index``, a
    path line that is not canonical base64 of 32 bytes, more than 63 of them, no empty line,
    no checkpoint. Cost: O(len(data))."""
    if not isinstance(data, bytes):
        raise InputError("a proof is bytes", field="proof")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{where} is larger than {MAX_FILE_BYTES} bytes", field="proof")
    lines = _Lines(data, where)
    if lines.next() != HEADER:
        raise lines.fail(f"the first line must be {HEADER.decode()}; 不是 tlog-proof 文件")
    line = lines.next()
    extra = None
    if line.startswith(_EXTRA_PREFIX):
        extra = _parse_extra(lines, line)
        line = lines.next()
    index = _parse_index(lines, line)
    path: list[bytes] = []
    while (line := lines.next()) != b"":
        if len(path) == MAX_PROOF_LINES:
            raise lines.fail(f"more than {MAX_PROOF_LINES} inclusion-proof lines")
        raw = None
        if len(line) == _HASH_B64_LEN and line.isascii():
            raw = b64decode_canonical(line.decode("ascii"))
        if raw is None or len(raw) != _HASH_SIZE:
            raise lines.fail("a proof line must be canonical base64 of a 32-byte hash")
        path.append(raw)
    checkpoint = data[lines.pos :]
    if not checkpoint:
        lines.number += 1
        raise lines.fail("no checkpoint after the empty line")
    return TlogProof(index, tuple(path), checkpoint, extra)
