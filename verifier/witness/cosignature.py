"""C2SP tlog-cosignature v1 (Ed25519), opening only (FORMAT.md §14).

A witness (cosigner) key is a named Ed25519 public key whose key id uses the signature type
byte 0x04: ``SHA-256(name ‖ "\\n" ‖ 0x04 ‖ public key)[:4]``; its verifier key string is
``<name>+<8 hex key id>+<base64(0x04 ‖ public key)>``. A cosignature is a note signature line
whose signature is ``timestamp (8 bytes, big-endian) ‖ Ed25519 signature`` over
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint body. This follows the
spec and Go's ``transparency-dev/formats/note`` (``NewVerifierForCosignatureV1``), except that
only type-0x04 keys are accepted here (Go also converts a type-0x01 key). Signing lives in
the ``witness`` package; private keys never enter ``verifier``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.core.checkpoint import Checkpoint, parse_checkpoint_body
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import (
    HEX_ANY,
    KEY_ID_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    VerifierKey,
    b64decode_canonical,
    check_key_name,
    compute_key_id,
    verify_ed25519,
)
from verifier.core.note import DASH, open_note

COSIGNATURE_TYPE = 0x04
"""Signature type byte of Ed25519 cosignature/v1 (C2SP tlog-cosignature)."""
TIMESTAMP_SIZE = 8
COSIGNATURE_SIZE = TIMESTAMP_SIZE + SIGNATURE_SIZE
MAX_TIMESTAMP = 2**63 - 1
"""Largest cosignature timestamp the spec allows."""


@dataclass(frozen=True, repr=False)
class WitnessKey:
    """A witness's named Ed25519 public key (type 0x04). Construction checks (else
    :class:`InputError`) the name, the key length and that ``key_id`` matches. Cost: one
    SHA-256."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise InputError("Ed25519 public key must be exactly 32 bytes")
        expected = compute_key_id(self.name, self.public_key, COSIGNATURE_TYPE)
        if not isinstance(self.key_id, bytes) or self.key_id != expected:
            raise InputError(
                f"witness key id does not match name {self.name!r} and public key "
                f"(expected {expected.hex()})"
            )

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> WitnessKey:
        """The witness key named ``name`` for ``public_key`` (its key id computed)."""
        return cls(name, compute_key_id(name, public_key, COSIGNATURE_TYPE), public_key)

    @property
    def key_id_hex(self) -> str:
        """The key id as 8 lowercase hex digits."""
        return self.key_id.hex()

    def __str__(self) -> str:
        """The verifier key string ``name+keyidhex+base64(0x04 ‖ public key)``."""
        encoded = base64.b64encode(bytes((COSIGNATURE_TYPE,)) + self.public_key).decode()
        return f"{self.name}+{self.key_id_hex}+{encoded}"

    def __repr__(self) -> str:
        return f"WitnessKey({str(self)!r})"

    def verify(self, body: bytes, cosignature: bytes) -> int | None:
        """The timestamp of ``cosignature`` if it is this key's valid cosignature over the
        checkpoint ``body`` (bytes with final newline), else ``None``. Never raises. Cost:
        one Ed25519 verification plus a copy of ``body``."""
        if len(cosignature) != COSIGNATURE_SIZE:
            return None
        timestamp = int.from_bytes(cosignature[:TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return None
        message = cosigned_message(timestamp, body)
        if not verify_ed25519(self.public_key, message, cosignature[TIMESTAMP_SIZE:]):
            return None
        return timestamp


def parse_witness_key(text: str) -> WitnessKey:
    """Parse ``name+keyidhex+base64(0x04 ‖ public key)`` (split on the first two ``+``;
    canonical padded base64; key id matching). Raises :class:`InputError` naming the fault.
    Cost: O(len(text)) plus one SHA-256."""
    if not isinstance(text, str):
        raise InputError(f"witness key must be a string, not {type(text).__name__}")
    parts = text.split("+", 2)
    if text != text.strip() or len(parts) != 3:
        raise InputError("witness key must have the form name+keyid+base64key")
    name, id_hex, key64 = parts
    check_key_name(name)
    if len(id_hex) != 2 * KEY_ID_SIZE or not set(id_hex) <= HEX_ANY:
        raise InputError(f"key id {id_hex!r} in witness key must be 8 hex digits")
    raw = b64decode_canonical(key64)
    if raw is None or len(raw) != 1 + PUBLIC_KEY_SIZE:
        raise InputError("witness key material must be canonical base64 of 33 bytes")
    if raw[0] != COSIGNATURE_TYPE:
        raise InputError(
            f"witness key has signature type 0x{raw[0]:02x}; a cosignature/v1 key has 0x04"
        )
    return WitnessKey(name, bytes.fromhex(id_hex), raw[1:])


def cosigned_message(timestamp: int, body: bytes) -> bytes:
    """The bytes a cosignature signs: ``cosignature/v1\\ntime <timestamp>\\n`` ‖ ``body``.
    Precondition: ``body`` is a checkpoint body with its final newline; :class:`InputError`
    if ``timestamp`` is outside 0..2**63-1. Cost: O(len(body))."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InputError(f"cosignature timestamp {timestamp} out of range 0..2**63-1")
    return b"cosignature/v1\ntime %d\n" % timestamp + body


def cosignature_line(key: WitnessKey, cosignature: bytes) -> str:
    """The note signature line ``— <name> base64(key id ‖ cosignature)\\n``."""
    blob = base64.b64encode(key.key_id + cosignature).decode("ascii")
    return f"{DASH}{key.name} {blob}\n"


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, and the time (POSIX seconds) it states."""

    witness: WitnessKey
    timestamp: int


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A checkpoint opened with the log key, and the valid cosignatures by known witnesses
    (one per witness, in line order)."""

    checkpoint: Checkpoint
    cosignatures: tuple[Cosignature, ...]

    def count(self) -> int:
        """How many distinct known witnesses cosigned."""
        return len({c.witness for c in self.cosignatures})


def _index_witnesses(witnesses: Sequence[WitnessKey]) -> dict[tuple[str, bytes], WitnessKey]:
    """Witness keys by (name, key id); :class:`InputError` if two different keys share one."""
    by_ident: dict[tuple[str, bytes], WitnessKey] = {}
    for key in witnesses:
        prior = by_ident.setdefault((key.name, key.key_id), key)
        if prior != key:
            raise InputError(
                f"ambiguous witness keys: two different keys {key.name}+{key.key_id_hex}"
            )
    return by_ident


def open_cosigned_checkpoint(
    note: str | bytes, log_key: VerifierKey, witnesses: Sequence[WitnessKey]
) -> CosignedCheckpoint:
    """Open a checkpoint signed by ``log_key`` (as ``open_checkpoint``) and verify the
    cosignature lines by ``witnesses`` in it.

    Lines by other keys are ignored; a witness's repeated lines are checked once (the first),
    as Go's ``note.Open``. A line naming a known witness whose cosignature is not 72 bytes,
    states a time beyond 2**63-1 or does not verify raises ``cosignature.signature`` (key id
    set). Other failures: ``note.*``, ``checkpoint.*``; :class:`InputError` for ambiguous
    witness keys. Cost: O(len(note)) plus one Ed25519 verification per signer present.
    """
    by_ident = _index_witnesses(witnesses)
    opened = open_note(note, [log_key])
    checkpoint = parse_checkpoint_body(opened.text)
    if checkpoint.origin != log_key.name:
        raise VerificationError(
            "checkpoint.origin",
            f"checkpoint origin {checkpoint.origin!r} differs from the log key name "
            f"{log_key.name!r}",
            key_id=log_key.key_id_hex,
        )
    body = opened.text.encode("utf-8")
    found: list[Cosignature] = []
    seen: set[WitnessKey] = set()
    for line in opened.unverified_lines:
        name, _, b64 = line[len(DASH) :].partition(" ")
        blob = binascii.a2b_base64(b64)  # open_note checked the syntax already
        witness = by_ident.get((name, blob[:KEY_ID_SIZE]))
        if witness is None or witness in seen:
            continue
        seen.add(witness)
        timestamp = witness.verify(body, blob[KEY_ID_SIZE:])
        if timestamp is None:
            raise VerificationError(
                "cosignature.signature",
                f"cosignature by witness {witness.name}+{witness.key_id_hex} "
                f"({len(blob) - KEY_ID_SIZE} bytes) does not verify over checkpoint "
                f"{checkpoint.origin} size {checkpoint.size}",
                key_id=witness.key_id_hex,
            )
        found.append(Cosignature(witness, timestamp))
    return CosignedCheckpoint(checkpoint, tuple(found))


def require_quorum(
    note: str | bytes, log_key: VerifierKey, witnesses: Sequence[WitnessKey], quorum: int
) -> CosignedCheckpoint:
    """:func:`open_cosigned_checkpoint`, then ``cosignature.quorum`` unless at least
    ``quorum`` distinct ``witnesses`` cosigned. :class:`InputError` if ``quorum`` is negative
    or larger than the number of distinct witnesses. Cost: as that function."""
    distinct = len(_index_witnesses(witnesses))
    if isinstance(quorum, bool) or not 0 <= quorum <= distinct:
        raise InputError(f"quorum {quorum} out of range 0..{distinct} (distinct witnesses)")
    opened = open_cosigned_checkpoint(note, log_key, witnesses)
    if opened.count() < quorum:
        have = ", ".join(f"{c.witness.name}+{c.witness.key_id_hex}" for c in opened.cosignatures)
        raise VerificationError(
            "cosignature.quorum",
            f"{opened.count()} of the required {quorum} witnesses cosigned checkpoint "
            f"{opened.checkpoint.origin} size {opened.checkpoint.size} (valid: {have or 'none'})",
        )
    return opened
