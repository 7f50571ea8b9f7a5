"""The witness's private key: generation, the key file (mode 0600) and cosigning.

The key string is ``PRIVATE+KEY+<name>+<key id hex>+base64(0x04 ‖ 32-byte seed)``, as Go's
``transparency-dev/formats/note`` writes a cosignature/v1 signer key. The file holds that one
line; it is created with ``O_EXCL`` and mode 0600 so it never exists with wider permissions.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import nacl.bindings

from verifier.core.errors import InputError
from verifier.core.keys import b64decode_canonical, check_key_name
from verifier.witness.cosignature import (
    COSIGNATURE_TYPE,
    WitnessKey,
    cosignature_line,
    cosigned_message,
)

PRIVATE_PREFIX = "PRIVATE+KEY+"
SEED_SIZE = 32


class WitnessSigner:
    """A named Ed25519 cosigner key. ``repr``/``str`` never show the seed. Construction
    derives the key pair (~20 µs) and the key id."""

    __slots__ = ("_secret", "_seed", "public")

    def __init__(self, name: str, seed: bytes) -> None:
        """Precondition: ``seed`` is 32 bytes and ``name`` a valid key name (else InputError)."""
        check_key_name(name)
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            raise InputError("Ed25519 private key seed must be exactly 32 bytes")
        public_key, self._secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        self._seed = seed
        self.public = WitnessKey.from_public_key(name, public_key)

    @classmethod
    def generate(cls, name: str) -> WitnessSigner:
        """A fresh key from the OS CSPRNG."""
        return cls(name, os.urandom(SEED_SIZE))

    def __repr__(self) -> str:
        return f"WitnessSigner({self.public.name}+{self.public.key_id_hex})"

    def private_key_string(self) -> str:
        """The secret key string (write it only to a protected file)."""
        material = base64.b64encode(bytes((COSIGNATURE_TYPE,)) + self._seed).decode("ascii")
        return f"{PRIVATE_PREFIX}{self.public.name}+{self.public.key_id_hex}+{material}"

    def cosign(self, body: bytes, timestamp: int | None = None) -> str:
        """The cosignature line (with newline) over checkpoint ``body`` at ``timestamp``
        (POSIX seconds, default now). Cost: one Ed25519 signature plus a copy of ``body``."""
        ts = int(time.time()) if timestamp is None else timestamp
        signed = nacl.bindings.crypto_sign(cosigned_message(ts, body), self._secret)
        return cosignature_line(self.public, ts.to_bytes(8, "big") + signed[:64])


def parse_private_key(text: str) -> WitnessSigner:
    """Parse a witness private key string; :class:`InputError` (never echoing the secret)."""
    if not text.startswith(PRIVATE_PREFIX):
        raise InputError("witness key file does not hold a PRIVATE+KEY+ string")
    parts = text[len(PRIVATE_PREFIX) :].split("+", 2)
    raw = b64decode_canonical(parts[2]) if len(parts) == 3 else None
    if raw is None or len(raw) != 1 + SEED_SIZE or raw[0] != COSIGNATURE_TYPE:
        raise InputError("witness private key is malformed (need base64 of 0x04 ‖ 32 bytes)")
    signer = WitnessSigner(parts[0], raw[1:])
    if signer.public.key_id_hex != parts[1].lower():
        raise InputError("witness private key: key id does not match name and key")
    return signer


def write_private_key(path: Path, signer: WitnessSigner) -> None:
    """Create ``path`` (must not exist: :class:`InputError`) with mode 0600 and fsync it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path} exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(signer.private_key_string() + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_private_key(path: Path) -> WitnessSigner:
    """Read a key written by :func:`write_private_key`; :class:`InputError` if unusable."""
    try:
        text = path.read_text("utf-8").strip()
    except OSError as exc:
        raise InputError(f"cannot read witness key {path}: {exc.strerror}") from None
    return parse_private_key(text)
