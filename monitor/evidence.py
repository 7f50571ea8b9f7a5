"""Building and writing fork evidence (FORMAT.md §16) from what the monitor saw.

Two sources of tree 2: the log's new view, read through its tiles (the mirror refused it as
inconsistent: :func:`from_new_view`), or the monitor's own verified copy, when a checkpoint
obtained elsewhere is at or below the size the monitor verified (:func:`from_local_copy`).
Every file is judged by :func:`verifier.witness.fork.check_fork_evidence` before it is
written, so the monitor never writes a file that does not convict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from monitor.localtree import consistency_proof, leaf_hashes, root
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.errors import InputError
from verifier.core.keys import VerifierKey
from verifier.core.merkle import EMPTY_ROOT
from verifier.tiles.codec import perfect_root
from verifier.tiles.paths import TILE_HEIGHT
from verifier.tiles.reader import Fetch, TileReader
from verifier.witness.fork import (
    ForkProof,
    check_fork_evidence,
    encode_fork_evidence,
    evidence_proof,
)


def _checked(
    old_note: str, new_note: str, proof: Sequence[bytes], log_key: VerifierKey
) -> tuple[bytes, ForkProof]:
    data = encode_fork_evidence(old_note, new_note, proof)
    return data, check_fork_evidence(data, log_key)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def old_subtree_from_tiles(size1: int, new: Checkpoint, fetch: Fetch) -> bytes:
    """``MTH`` of the first ``size1`` entries of ``new``'s tree, a power of two below
    ``new.size``, from its authenticated tiles: the first ``2**(k mod 8)`` hashes of tile
    ``(k div 8, 0)``. Raises what :class:`TileReader` raises. Cost: ≤ 9 tile fetches."""
    k = size1.bit_length() - 1
    reader = TileReader(new.size, new.root, fetch)
    hashes = reader.tile(k // TILE_HEIGHT, 0)[: 1 << (k % TILE_HEIGHT)]
    return perfect_root(hashes)


def from_new_view(
    old_note: str, new_note: str, rfc_proof: Sequence[bytes], log_key: VerifierKey, fetch: Fetch
) -> tuple[bytes, ForkProof]:
    """Evidence that ``new_note`` (read through ``fetch``) contradicts ``old_note``, which the
    monitor accepted: ``rfc_proof`` is the RFC 9162 proof from tree 2's tiles. Raises
    ``VerificationError`` (``fork.*``) if the result does not convict, or what the tile
    reader raises. Cost: two Ed25519 verifications, a few tile fetches, ~130 hashes."""
    old = open_checkpoint(old_note, log_key)
    new = open_checkpoint(new_note, log_key)
    seed = None
    if 0 < old.size < new.size and _is_power_of_two(old.size):
        seed = old_subtree_from_tiles(old.size, new, fetch)
    proof = evidence_proof(old.size, new.size, rfc_proof, seed)
    return _checked(old_note, new_note, proof, log_key)


def from_local_copy(
    other_note: str, own_note: str, entries: Path, log_key: VerifierKey
) -> tuple[bytes, ForkProof] | None:
    """Compare a checkpoint obtained elsewhere (``other_note``), at most as large as the
    monitor's own verified checkpoint ``own_note`` over ``entries``, with that copy: ``None``
    when consistent, else the evidence (``other_note`` is checkpoint 1). Raises
    :class:`InputError` if ``other_note`` is larger or the copy is short. Cost: one SHA-256
    per entry of the copy and fewer node hashes than entries."""
    other = open_checkpoint(other_note, log_key)
    own = open_checkpoint(own_note, log_key)
    if other.size > own.size:
        raise InputError(f"checkpoint of size {other.size} is ahead of the copy ({own.size})")
    if other.size == 0:
        return None if other.root == EMPTY_ROOT else _checked(other_note, own_note, [], log_key)
    hashes = leaf_hashes(entries, own.size)
    prefix = root(hashes, 0, other.size)
    if prefix == other.root:
        return None
    if other.size == own.size:
        return _checked(other_note, own_note, [], log_key)
    rfc = consistency_proof(other.size, hashes)
    proof = evidence_proof(other.size, own.size, rfc, prefix)
    return _checked(other_note, own_note, proof, log_key)


def write_evidence(directory: Path, data: bytes, fork: ForkProof) -> Path:
    """Write ``data`` as ``fork-<size1>-<size2>.txt`` in ``directory`` (a temporary name,
    fsync'd, renamed into place; a second fork between the same sizes gets ``-2`` …).
    :class:`InputError` if it cannot be written. Returns the path."""
    stem = f"fork-{fork.old.size}-{fork.new.size}"
    path = directory / f"{stem}.txt"
    n = 1
    while path.exists():
        if path.read_bytes() == data:
            return path
        n += 1
        path = directory / f"{stem}-{n}.txt"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write fork evidence {path}: {exc.strerror}") from None
    return path
