"""C2SP signed notes (signed-note v1.0.0) with Ed25519 keys (FORMAT.md §1, §6).

A *note* is UTF-8 text ending in ``\\n`` with no ASCII control character other than
``\\n``; a *signed note* is that text, one empty line, then one or more signature lines::

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

The dash is U+2014 followed by a space. The signature covers the note text only (including
its final newline, excluding the separating empty line).

Keys (FORMAT.md §1):

- key id = ``SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]``;
- verifier key string ``name+<8 hex key id>+base64(0x01 || public key)``; the base64 part can
  itself contain ``+``, so the string is split on its first two ``+`` only;
- private key string (Go ``golang.org/x/mod/sumdb/note`` format)
  ``PRIVATE+KEY+name+<8 hex key id>+base64(0x01 || 32-byte seed)``;
- key names are non-empty and contain no Unicode whitespace, no ``+`` and (a Gongxin
  restriction when *creating* keys) no control characters.

Opening a note follows the spec and Go's ``note.Open``: signatures by unknown keys (a key is
identified by name *and* key id) are ignored, a failing signature by a known key rejects the
whole note (``note.signature``), a note with no verified known signature is rejected
(``note.unsigned``), and syntax errors are ``note.malformed``. At most
:data:`MAX_SIGNATURES` signature lines are read, as in Go.

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
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nacl.bindings
import nacl.exceptions

from verifier.errors import InputError, VerificationError

__all__ = [
    "ED25519_TYPE",
    "MAX_SIGNATURES",
    "OpenedNote",
    "SignerKey",
    "VerifierKey",
    "check_key_name",
    "check_note_text",
    "compute_key_id",
    "load_verifier_key",
    "open_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "verify_ed25519",
]

ED25519_TYPE = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note."""

MAX_SIGNATURES = 100
"""Most signature lines :func:`open_note` reads (Go uses the same limit; the spec asks ≥ 16)."""

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4

_DASH = "— "  # U+2014 EM DASH, then a space
_DASH_BYTES = _DASH.encode("utf-8")
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX_LOWER = frozenset("0123456789abcdef")
_HEX_ANY = frozenset("0123456789abcdefABCDEF")
# ASCII control characters other than newline (forbidden anywhere in a signed note).
_NOTE_CONTROL_STR = re.compile("[\x00-\x09\x0b-\x1f]")
_NOTE_CONTROL_BYTES = re.compile(b"[\x00-\x09\x0b-\x1f]")
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


def _b64decode_lenient(text: str) -> bytes | None:
    """Decode standard padded base64 as Go's ``base64.StdEncoding`` does.

    The alphabet and padding are checked; non-zero trailing bits are accepted (Go accepts
    them too, so foreign signature lines Go accepts are never called malformed here).
    Returns ``None`` on failure. Cost: O(len(text)).
    """
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        return None


def _is_valid_name(name: str) -> bool:
    """The signed-note rule for key names: non-empty, no Unicode space, no ``+``.

    ``str.isspace`` is a superset of Go's ``unicode.IsSpace`` (it also covers U+001C..U+001F,
    which are control characters and thus never appear in a well-formed note anyway).
    Cost: O(len(name)).
    """
    if not name or "+" in name:
        return False
    return not any(ch.isspace() for ch in name)


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


# --------------------------------------------------------------------------- notes


def check_note_text(text: str) -> None:
    """Raise :class:`InputError` unless ``text`` is valid signed-note text.

    Valid: a non-empty ``str`` that is UTF-8 encodable (no lone surrogates), ends with
    ``\\n`` and has no ASCII control character other than ``\\n``. Empty lines inside the
    text are allowed by the spec. Cost: O(len(text)).
    """
    if not isinstance(text, str):
        raise InputError(f"note text must be a string, not {type(text).__name__}")
    if not text.endswith("\n"):
        raise InputError("note text must end with a newline")
    match = _NOTE_CONTROL_STR.search(text)
    if match:
        raise InputError(
            f"note text contains control character U+{ord(match.group()):04X} "
            f"at offset {match.start()}"
        )
    if not _encodable(text):
        raise InputError("note text is not valid Unicode (lone surrogate)")


def _signature_line(key: SignerKey, text_bytes: bytes) -> str:
    """One signature line (with its newline) by ``key`` over ``text_bytes``."""
    blob = key.key_id + key.sign(text_bytes)
    return f"{_DASH}{key.name} {base64.b64encode(blob).decode('ascii')}\n"


def sign_note(text: str, signers: Sequence[SignerKey]) -> str:
    """Sign ``text`` with each of ``signers`` and return the signed note.

    Output: ``text + "\\n" + "— name base64(keyid || sig)\\n"`` for each signer, in order.
    Preconditions (else :class:`InputError`): ``text`` passes :func:`check_note_text`;
    ``signers`` is non-empty and has no two keys with the same name and key id.
    Cost: O(len(text)) plus one Ed25519 signature per signer.
    """
    check_note_text(text)
    if not signers:
        raise InputError("at least one signer is required to sign a note")
    seen: set[tuple[str, bytes]] = set()
    for key in signers:
        ident = (key.name, key.key_id)
        if ident in seen:
            raise InputError(f"duplicate signer {key.name}+{key.key_id_hex}")
        seen.add(ident)
    text_bytes = text.encode("utf-8")
    return text + "\n" + "".join(_signature_line(key, text_bytes) for key in signers)


@dataclass
class OpenedNote:
    """The result of :func:`open_note`.

    ``text`` is the note text (with its final newline); ``verified`` lists the known keys
    whose signatures verified, in signature-line order; ``unverified_lines`` keeps the
    signature lines (without newline) by unknown keys, deduplicated, e.g. for re-emitting
    cosignatures.
    """

    text: str
    verified: list[VerifierKey]
    unverified_lines: list[str] = field(default_factory=list)


def _malformed(detail: str) -> VerificationError:
    return VerificationError("note.malformed", detail)


def open_note(note: str | bytes, known: Sequence[VerifierKey]) -> OpenedNote:
    """Parse a signed note and verify the signatures by ``known`` keys (C2SP signed-note).

    Rules, as in Go's ``note.Open``:

    - the whole note must be valid UTF-8 with no control character but ``\\n``;
    - it is split at its *last* ``\\n\\n``: the text is everything up to and including the
      first of those newlines, the signature block everything after, and the block must be
      non-empty and end with ``\\n``;
    - each signature line is ``— name base64``, the name valid, the base64 standard and
      padded, decoding to at least 5 bytes (4-byte key id first); at most
      :data:`MAX_SIGNATURES` lines;
    - lines whose (name, key id) matches no known key are ignored (kept in
      ``unverified_lines``); repeated lines by one known key are checked once.

    Raises :class:`VerificationError` with rule ``note.malformed`` (syntax),
    ``note.signature`` (a known key's signature fails; ``key_id`` set) or ``note.unsigned``
    (no known key signed). Raises :class:`InputError` if ``known`` holds two different keys
    with the same name and key id. Cost: O(len(note)) plus one Ed25519 verification per
    distinct known signer present.
    """
    by_ident: dict[tuple[str, bytes], VerifierKey] = {}
    for key in known:
        ident = (key.name, key.key_id)
        prior = by_ident.get(ident)
        if prior is not None and prior != key:
            raise InputError(
                f"ambiguous known keys: two different keys {key.name}+{key.key_id_hex}"
            )
        by_ident[ident] = key

    if isinstance(note, str):
        try:
            msg = note.encode("utf-8")
        except UnicodeEncodeError:
            raise _malformed("note is not valid Unicode (lone surrogate)") from None
    elif isinstance(note, bytes | bytearray | memoryview):
        msg = bytes(note)
        try:
            msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"note is not valid UTF-8 (byte offset {exc.start})") from None
    else:
        raise InputError(f"note must be str or bytes, not {type(note).__name__}")

    control = _NOTE_CONTROL_BYTES.search(msg)
    if control:
        raise _malformed(
            f"note contains control character 0x{control.group()[0]:02x} "
            f"at byte offset {control.start()}"
        )

    split = msg.rfind(b"\n\n")
    if split < 0:
        raise _malformed("no empty line separating the text from the signatures")
    text_bytes, block = msg[: split + 1], msg[split + 2 :]
    if not block:
        raise _malformed("no signature lines after the empty line")
    if not block.endswith(b"\n"):
        raise _malformed("signature block does not end with a newline")

    lines = block[:-1].split(b"\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"too many signature lines ({len(lines)} > {MAX_SIGNATURES})")

    verified: list[VerifierKey] = []
    unverified: list[str] = []
    seen_known: set[tuple[str, bytes]] = set()
    seen_unknown: set[str] = set()
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.startswith(_DASH_BYTES):
            raise _malformed(f"signature line {number} does not start with '— ' (U+2014, space)")
        line = raw_line.decode("utf-8")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        if not _is_valid_name(name):
            raise _malformed(f"signature line {number} has an invalid key name {name!r}")
        if not b64:
            raise _malformed(f"signature line {number} has no signature")
        blob = _b64decode_lenient(b64)
        if blob is None:
            raise _malformed(f"signature line {number} is not standard padded base64")
        if len(blob) < KEY_ID_SIZE + 1:
            raise _malformed(f"signature line {number} is too short ({len(blob)} bytes)")
        ident = (name, blob[:KEY_ID_SIZE])
        signer = by_ident.get(ident)
        if signer is None:
            if line not in seen_unknown:
                seen_unknown.add(line)
                unverified.append(line)
            continue
        if ident in seen_known:
            continue
        seen_known.add(ident)
        if not signer.verify(text_bytes, blob[KEY_ID_SIZE:]):
            raise VerificationError(
                "note.signature",
                f"signature by {signer.name}+{signer.key_id_hex} does not verify over the "
                "note text",
                key_id=signer.key_id_hex,
            )
        verified.append(signer)

    if not verified:
        names = ", ".join(f"{k.name}+{k.key_id_hex}" for k in by_ident.values()) or "none"
        raise VerificationError(
            "note.unsigned", f"note has no valid signature by a known key (known: {names})"
        )
    return OpenedNote(
        text=text_bytes.decode("utf-8"), verified=verified, unverified_lines=unverified
    )
