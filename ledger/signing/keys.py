"""Ed25519 private keys that sign statements and notes (FORMAT.md §1).

The private key string is Go's ``golang.org/x/mod/sumdb/note`` format
``PRIVATE+KEY+name+<8 hex key id>+base64(0x01 || 32-byte seed)``. Signing is the ledger's and
the officers' business; the verifier (:mod:`verifier.core.keys`) only ever holds public keys.
"""

from __future__ import annotations

import base64
import hmac
import os

import nacl.bindings

from verifier.core.errors import InputError
from verifier.core.keys import (
    ED25519_TYPE,
    HEX_ANY,
    KEY_ID_SIZE,
    PRIVATE_PREFIX,
    SIGNATURE_SIZE,
    VerifierKey,
    b64decode_canonical,
    check_key_name,
    compute_key_id,
)

__all__ = ["SEED_SIZE", "SignerKey", "parse_signer_key"]

SEED_SIZE = 32
"""Length of an Ed25519 private key seed (RFC 8032 §5.1.5)."""


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

        This is secret material: write it only to a protected file (``ledger.signing.keyfile``).
        """
        encoded = base64.b64encode(bytes((ED25519_TYPE,)) + self._seed).decode("ascii")
        return f"{PRIVATE_PREFIX}{self.name}+{self.key_id_hex}+{encoded}"

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
    if not text.startswith(PRIVATE_PREFIX):
        raise InputError("private key must start with PRIVATE+KEY+")
    parts = text[len(PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise InputError("private key must have the form PRIVATE+KEY+name+keyid+base64key")
    name, id_hex, key64 = parts
    # Never echo any part of the input: on a malformed string, "name" or "id_hex" may
    # well be fragments of the secret.
    try:
        check_key_name(name)
    except InputError:
        raise InputError("invalid key name in private key") from None
    if len(id_hex) != 2 * KEY_ID_SIZE or not set(id_hex) <= HEX_ANY:
        raise InputError("key id in private key must be 8 hex digits")
    raw = b64decode_canonical(key64)
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
