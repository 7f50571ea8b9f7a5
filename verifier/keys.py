"""Ed25519 keys as named and identified by C2SP signed-note (FORMAT.md §1).

- key id = ``SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]``;
- verifier key string ``name+<8 hex key id>+base64(0x01 || public key)``; the base64 part can
  itself contain ``+``, so the string is split on its first two ``+`` only;
- private key string (Go ``golang.org/x/mod/sumdb/note`` format)
  ``PRIVATE+KEY+name+<8 hex key id>+base64(0x01 || 32-byte seed)``;
- key names are non-empty and contain no Unicode whitespace, no ``+`` and (a Gongxin
  restriction when *creating* keys) no control characters.

Signed notes made and opened with these keys are in :mod:`verifier.note`.

This module is pure: it uses only the standard library and ``pynacl`` (libsodium). Note that
libsodium's Ed25519 verification is slightly stricter than Go's ``crypto/ed25519`` (it also
refuses small-order public keys and points); honest signers are never affected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings
import nacl.exceptions

from verifier.errors import InputError

__all__ = [
    "ED25519_TYPE",
    "KEY_ID_SIZE",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "SignerKey",
    "VerifierKey",
    "check_key_name",
    "compute_key_id",
    "load_verifier_key",
    "parse_signer_key",
    "parse_verifier_key",
    "verify_ed25519",
]

ED25519_TYPE = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note."""

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX_ANY = frozenset("0123456789abcdefABCDEF")
_MAX_KEY_FILE_BYTES = 64 * 1024


# --------------------------------------------------------------------------- helpers


def _b64decode_canonical(text: str) -> bytes | None:
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
    if len(id_hex) != 2 * KEY_ID_SIZE or not set(id_hex) <= _HEX_ANY:
        raise InputError(f"key id {id_hex!r} in verifier key must be 8 hex digits")
    raw = _b64decode_canonical(key64)
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


def load_verifier_key(value: str) -> VerifierKey:
    """Accept a verifier key string, or a path to a file holding one (CLI helper).

    ``value`` is first tried as a key string; if that fails and a file named ``value``
    exists, the file (at most 64 KiB, UTF-8, one non-empty line plus optional surrounding
    whitespace) is read and parsed. Raises :class:`InputError` otherwise (``field`` is the
    file path when a file was read). Cost: one parse, plus one small file read.
    """
    if value.strip().startswith(_PRIVATE_PREFIX):
        # Never echo a private key that was passed by mistake.
        raise InputError(
            "a private key was given where a verifier (public) key is expected",
            field="verifier key",
        )
    try:
        return parse_verifier_key(value.strip())
    except InputError as first:
        path = Path(value)
        try:
            is_file = path.is_file()
        except (OSError, ValueError):
            is_file = False
        if not is_file:
            raise InputError(
                f"{first.message}; and there is no file named {value!r}", field="verifier key"
            ) from None
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read verifier key file: {exc.strerror}", field=value) from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise InputError("verifier key file is too large", field=value)
    try:
        content = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("verifier key file is not UTF-8", field=value) from None
    if not content or "\n" in content:
        raise InputError("verifier key file must contain exactly one key line", field=value)
    try:
        return parse_verifier_key(content)
    except InputError as exc:
        raise InputError(exc.message, field=value) from None


class SignerKey:
    """A named Ed25519 private key (the 32-byte seed) able to sign notes (FORMAT.md §1).

    ``repr``/``str`` show only the name and key id; the seed is never printed, and objects
    refuse to be pickled (so the secret is not written to a file or pipe by accident);
    ``copy``/``deepcopy`` return the same (immutable) object.
    Construction derives the key pair from the seed (~20 µs) and computes the key id.
    """

    __slots__ = ("_secret", "_seed", "key_id", "name", "public_key")

    name: str
    key_id: bytes
    public_key: bytes

    def __init__(self, name: str, seed: bytes) -> None:
        """Precondition: ``seed`` is 32 bytes; ``name`` a valid key name (else InputError)."""
        check_key_name(name)
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            raise InputError("Ed25519 private key seed must be exactly 32 bytes")
        public_key, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        self.name = name
        self._seed = seed
        self._secret = secret  # libsodium's 64-byte form: seed || public key
        self.public_key = public_key
        self.key_id = compute_key_id(name, public_key)

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        """A fresh key from the OS CSPRNG (``os.urandom``)."""
        return cls(name, os.urandom(SEED_SIZE))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SignerKey:
        """The key with the given 32-byte seed (deterministic)."""
        return cls(name, seed)

    @property
    def key_id_hex(self) -> str:
        """The key id as 8 lowercase hex digits."""
        return self.key_id.hex()

    def verifier(self) -> VerifierKey:
        """The matching public :class:`VerifierKey`."""
        return VerifierKey(self.name, self.key_id, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``. Cost: one signature + a copy."""
        signed = nacl.bindings.crypto_sign(bytes(message), self._secret)
        return bytes(signed[:SIGNATURE_SIZE])

    def private_key_string(self) -> str:
        """The secret key string ``PRIVATE+KEY+name+keyidhex+base64(0x01 || seed)``.

        This is secret material: write it only to a protected file (``ledger.keyfile``).
        """
        encoded = base64.b64encode(bytes((ED25519_TYPE,)) + self._seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id_hex}+{encoded}"

    def __repr__(self) -> str:
        return f"SignerKey(name={self.name!r}, key_id={self.key_id_hex!r})"

    def __str__(self) -> str:
        return f"<private key {self.name}+{self.key_id_hex}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SignerKey):
            return NotImplemented
        return self.name == other.name and hmac.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash((self.name, self.key_id))

    def __copy__(self) -> SignerKey:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, object]) -> SignerKey:
        return self  # immutable

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SignerKey objects are not picklable (they hold a private key)")


def parse_signer_key(text: str) -> SignerKey:
    """Parse ``PRIVATE+KEY+name+keyidhex+base64(0x01 || 32-byte seed)`` (Go sumdb/note).

    The key id must match the name and the public key derived from the seed. Raises
    :class:`InputError` saying what is wrong; messages never contain the secret (nor any
    part of the input after the key name). Cost: one key derivation + one SHA-256.
    """
    if not isinstance(text, str):
        raise InputError(f"private key must be a string, not {type(text).__name__}")
    if not text.startswith(_PRIVATE_PREFIX):
        raise InputError("private key must start with PRIVATE+KEY+")
    parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise InputError("private key must have the form PRIVATE+KEY+name+keyid+base64key")
    name, id_hex, key64 = parts
    # Never echo any part of the input: on a malformed string, "name" or "id_hex" may
    # well be fragments of the secret.
    try:
        check_key_name(name)
    except InputError:
        raise InputError("invalid key name in private key") from None
    if len(id_hex) != 2 * KEY_ID_SIZE or not set(id_hex) <= _HEX_ANY:
        raise InputError("key id in private key must be 8 hex digits")
    raw = _b64decode_canonical(key64)
    if raw is None:
        raise InputError("secret part of the private key is not canonical standard base64")
    if not raw or raw[0] != ED25519_TYPE:
        raise InputError("private key is not an Ed25519 key (type byte 0x01)")
    if len(raw) != 1 + SEED_SIZE:
        raise InputError("Ed25519 private key seed must be exactly 32 bytes")
    key = SignerKey(name, raw[1:])
    if key.key_id != bytes.fromhex(id_hex):
        raise InputError("key id in private key does not match its name and key")
    return key
