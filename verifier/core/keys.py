"""Ed25519 public keys as named and identified by C2SP signed-note (FORMAT.md §1).

Key names, key ids and verifier key strings exactly as FORMAT.md §1; the Gongxin
restriction on names (no control characters) applies when keys are created or parsed.
Private keys and signing are ``ledger.signing.keys``. libsodium's Ed25519 verification is
slightly stricter than Go's ``crypto/ed25519`` (it also refuses small-order public keys and
points); honest signers are never affected.
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

ED25519_TYPE = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note."""
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
PRIVATE_PREFIX = "PRIVATE+KEY+"
"""How a private key string begins; a verifier never accepts one (FORMAT.md §1)."""
HEX_ANY = frozenset("0123456789abcdefABCDEF")


def b64decode_canonical(text: str) -> bytes | None:
    """Decode standard padded base64 (RFC 4648 §4); ``None`` unless ``text`` is exactly the
    canonical encoding of the result (no bad alphabet, padding, stray bits or whitespace).
    Cost: O(len(text))."""
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII str
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def compute_key_id(name: str, public_key: bytes, type_byte: int = ED25519_TYPE) -> bytes:
    """The 4-byte signed-note key id: ``SHA-256(name ‖ 0x0A ‖ type_byte ‖ public_key)[:4]``.

    Preconditions: ``name`` is UTF-8 encodable; ``0 <= type_byte <= 255``. No validation of
    the name or key length is done here. Cost: one SHA-256 over ~len(name)+34 bytes.
    """
    if not 0 <= type_byte <= 0xFF:
        raise InputError(f"signature type byte out of range: {type_byte}")
    data = name.encode("utf-8") + b"\n" + bytes((type_byte,)) + public_key
    return hashlib.sha256(data).digest()[:KEY_ID_SIZE]


def check_key_name(name: str) -> None:
    """Raise :class:`InputError` unless ``name`` is a valid Gongxin key name: a non-empty
    ``str`` without Unicode whitespace, ``+``, control characters (category ``Cc``; the
    Gongxin addition to signed-note) or lone surrogates. Cost: O(len(name))."""
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
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"key name {name!r} is not valid Unicode (lone surrogate)") from None


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    Never raises: a key that is not 32 bytes or a signature that is not 64 bytes yields
    ``False``. libsodium's ``crypto_sign_open``, called directly. Cost: one Ed25519
    verification (~50 µs) plus a copy of ``message``.
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
    """A named Ed25519 public key (FORMAT.md §1). Construction checks (else
    :class:`InputError`) that the name is valid, ``public_key`` is 32 bytes and ``key_id``
    is :func:`compute_key_id` of them; it costs one SHA-256."""

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
        """:func:`verify_ed25519` with this key: never raises. Cost: one verification."""
        return verify_ed25519(self.public_key, message, signature)


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string ``name+keyidhex+base64(0x01 || public key)``.

    Split on the first two ``+`` only; no surrounding whitespace; the key id is 8 hex digits
    (either case, as Go accepts) matching the name and key; the base64 is canonical standard
    padded base64 of 33 bytes starting with the Ed25519 type byte 0x01. Raises
    :class:`InputError` naming what is wrong. Cost: O(len(text)) plus one SHA-256.
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
