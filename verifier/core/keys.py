"""Ed25519 keys as named and identified by C2SP signed-note (FORMAT.md §1).

- key id = ``SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]``;
- verifier key string ``name+<8 hex key id>+base64(0x01 || public key)``; the base64 part can
  itself contain ``+``, so the string is split on its first two ``+`` only;
- key names are non-empty and contain no Unicode whitespace, no ``+`` and (a Gongxin
  restriction when *creating* keys) no control characters.

Signed notes are opened with these keys in :mod:`verifier.core.note`. Private keys and signing
are not part of the verifier: they are in :mod:`ledger.signing.keys`.

This module is pure: it uses only the standard library and ``pynacl`` (libsodium). Note that
libsodium's Ed25519 verification is slightly stricter than Go's ``crypto/ed25519`` (it also
refuses small-order public keys and points); honest signers are never affected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from verifier.core.errors import InputError

__all__ = [
    "ED25519_TYPE",
    "KEY_ID_SIZE",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "VerifierKey",
    "check_key_name",
    "compute_key_id",
    "parse_verifier_key",
    "verify_ed25519",
]

ED25519_TYPE = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note."""

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4

PRIVATE_PREFIX = "PRIVATE+KEY+"
"""How a private key string begins; a verifier never accepts one (FORMAT.md §1)."""
HEX_ANY = frozenset("0123456789abcdefABCDEF")


# --------------------------------------------------------------------------- helpers


def b64decode_canonical(text: str) -> bytes | None:
    """Decode standard padded base64 (RFC 4648 §4) and require the canonical encoding.

    Returns ``None`` when ``text`` is not exactly the encoding ``base64.b64encode`` would
    produce for the decoded bytes (bad alphabet, bad padding, stray bits, whitespace).
    Cost: O(len(text)).
    """
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII str
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def _encodable(text: str) -> bool:
    """True iff ``text`` can be encoded as UTF-8 (i.e. has no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --------------------------------------------------------------------------- key ids


def compute_key_id(name: str, public_key: bytes, type_byte: int = ED25519_TYPE) -> bytes:
    """Return the 4-byte signed-note key id of ``public_key`` under ``name``.

    ``key id = SHA-256(name || "\\n" || type_byte || public_key)[:4]`` (FORMAT.md §1).

    Preconditions: ``name`` is UTF-8 encodable; ``0 <= type_byte <= 255``. No validation of
    the name or key length is done here. Cost: one SHA-256 over ~len(name)+34 bytes.
    """
    if not 0 <= type_byte <= 0xFF:
        raise InputError(f"signature type byte out of range: {type_byte}")
    h = hashlib.sha256()
    h.update(name.encode("utf-8"))
    h.update(b"\n")
    h.update(bytes((type_byte,)))
    h.update(public_key)
    return h.digest()[:KEY_ID_SIZE]


def check_key_name(name: str) -> None:
    """Raise :class:`InputError` unless ``name`` is a valid Gongxin key name.

    Valid: a non-empty ``str`` with no Unicode whitespace, no ``+``, no control characters
    (Unicode category ``Cc``) and no lone surrogates. This is the signed-note rule plus the
    control-character ban, applied when keys are created or parsed. Cost: O(len(name)).
    """
    if not isinstance(name, str):
        raise InputError(f"key name must be a string, not {type(name).__name__}")
    if not name:
        raise InputError("key name must not be empty")
    if "+" in name:
        raise InputError(f"key name {name!r} must not contain '+'")
    for ch in name:
        if ch.isspace():
            raise InputError(f"key name {name!r} must not contain whitespace")
        if unicodedata.category(ch) == "Cc":
            raise InputError(f"key name {name!r} must not contain control characters")
    if not _encodable(name):
        raise InputError(f"key name {name!r} is not valid Unicode (lone surrogate)")


# --------------------------------------------------------------------------- Ed25519


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether ``signature`` is a valid Ed25519 signature of ``message``.

    Never raises for bad input: a key that is not 32 bytes or a signature that is not 64
    bytes simply yields ``False``. Uses libsodium's ``crypto_sign_open`` directly (no
    object construction). Cost: one Ed25519 verification (~50 µs) plus a copy of
    ``message``.
    """
    if len(signature) != SIGNATURE_SIZE or len(public_key) != PUBLIC_KEY_SIZE:
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        return False
    return True


@dataclass(frozen=True, repr=False)
class VerifierKey:
    """A named Ed25519 public key, as published in a verifier key string (FORMAT.md §1).

    Invariants (checked at construction, raising :class:`InputError`): the name is a valid
    key name, ``public_key`` is 32 bytes and ``key_id`` is the 4-byte id computed by
    :func:`compute_key_id` from the name and key. Construction costs one SHA-256.
    """

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise InputError("Ed25519 public key must be exactly 32 bytes")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise InputError("key id must be exactly 4 bytes")
        if compute_key_id(self.name, self.public_key) != self.key_id:
            raise InputError(
                f"key id {self.key_id.hex()} does not match key name {self.name!r} and public key"
            )

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> VerifierKey:
        """Build the verifier key for ``public_key`` under ``name``, computing its key id."""
        return cls(name, compute_key_id(name, public_key), public_key)

    @property
    def key_id_hex(self) -> str:
        """The key id as 8 lowercase hex digits."""
        return self.key_id.hex()

    def __str__(self) -> str:
        """The verifier key string ``name+keyidhex+base64(0x01 || public key)``."""
        encoded = base64.b64encode(bytes((ED25519_TYPE,)) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id_hex}+{encoded}"

    def __repr__(self) -> str:
        return f"VerifierKey({str(self)!r})"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (64 bytes) is this key's signature of ``message``.

        Never raises for a bad signature; a signature of the wrong length yields ``False``.
        Cost: one Ed25519 verification.
        """
        return verify_ed25519(self.public_key, message, signature)


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string ``name+keyidhex+base64(0x01 || public key)``.

    The string is split on its first two ``+`` only (the base64 part may contain ``+``).
    The key id must be 8 hex digits (either case, as Go accepts), the base64 must be
    canonical standard padded base64 of 33 bytes starting with the Ed25519 type byte 0x01,
    and the key id must match the name and key. No surrounding whitespace is allowed.

    Raises :class:`InputError` naming what is wrong. Cost: O(len(text)) plus one SHA-256.
    """
    if not isinstance(text, str):
        raise InputError(f"verifier key must be a string, not {type(text).__name__}")
    if text != text.strip():
        raise InputError("verifier key string must not have surrounding whitespace")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InputError("verifier key must have the form name+keyid+base64key")
    name, id_hex, key64 = parts
    check_key_name(name)
    if len(id_hex) != 2 * KEY_ID_SIZE or not set(id_hex) <= HEX_ANY:
        raise InputError(f"key id {id_hex!r} in verifier key must be 8 hex digits")
    raw = b64decode_canonical(key64)
    if raw is None:
        raise InputError("public key in verifier key is not canonical standard base64")
    if not raw:
        raise InputError("public key in verifier key is empty")
    if raw[0] != ED25519_TYPE:
        raise InputError(
            f"unsupported signature type 0x{raw[0]:02x} in verifier key (only Ed25519 0x01)"
        )
    if len(raw) != 1 + PUBLIC_KEY_SIZE:
        raise InputError(
            f"Ed25519 public key in verifier key has {len(raw) - 1} bytes, expected 32"
        )
    public_key = raw[1:]
    key_id = bytes.fromhex(id_hex)
    expected = compute_key_id(name, public_key)
    if key_id != expected:
        raise InputError(
            f"key id {id_hex} in verifier key does not match name {name!r} and public key "
            f"(expected {expected.hex()})"
        )
    return VerifierKey(name, key_id, public_key)
