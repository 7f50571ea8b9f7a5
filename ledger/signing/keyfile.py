"""Private and public key files of the ledger (FORMAT.md §1).

Private key files hold the Go ``sumdb/note`` private key string of a
:class:`~ledger.signing.keys.SignerKey`, either

- plain: ``PRIVATE+KEY+name+keyidhex+base64(0x01 || seed)\\n``, or
- passphrase-encrypted::

      gongxin-encrypted-private-key/v1
      argon2id <opslimit> <memlimit> <base64 16-byte salt>
      <base64 of nacl SecretBox(nonce || ciphertext) of the private key string>

  where the SecretBox key is ``argon2id(passphrase, salt, opslimit, memlimit)`` (32 bytes,
  libsodium ``crypto_pwhash`` argon2id13; interactive limits by default).

Private files are created with ``O_CREAT | O_EXCL`` and mode 0600 (never overwritten) and
are refused when group or others may read them. No error message or ``repr`` ever contains
key material or passphrases.

Verifier (public) key files hold one verifier key string and a newline, mode 0644.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import stat
import tempfile
from pathlib import Path

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from ledger.signing.keys import SignerKey, parse_signer_key
from verifier.cli.files import load_verifier_key
from verifier.core.errors import InputError
from verifier.core.keys import VerifierKey

__all__ = [
    "ENCRYPTED_HEADER",
    "load_verifier_key",
    "read_private_key",
    "read_verifier_key_arg",
    "write_private_key",
    "write_verifier_key",
]

ENCRYPTED_HEADER = "gongxin-encrypted-private-key/v1"
KDF_OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
KDF_MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
# Bounds accepted when reading (a tampered header must not make us allocate terabytes).
_MAX_OPSLIMIT = argon2id.OPSLIMIT_SENSITIVE * 4
_MAX_MEMLIMIT = argon2id.MEMLIMIT_SENSITIVE
_MAX_FILE_BYTES = 64 * 1024
_PASSPHRASE_HINT = "set the environment variable GONGXIN_KEY_PASSPHRASE"


def _derive_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """Argon2id key derivation for the SecretBox key. Cost: ~0.1 s, 64 MiB at defaults."""
    return argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def _encrypt(plaintext: str, passphrase: str) -> str:
    """Return the encrypted file content (three lines) for ``plaintext``."""
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive_key(passphrase, salt, KDF_OPSLIMIT, KDF_MEMLIMIT))
    sealed = bytes(box.encrypt(plaintext.encode("utf-8")))  # nonce || ciphertext
    return (
        f"{ENCRYPTED_HEADER}\n"
        f"argon2id {KDF_OPSLIMIT} {KDF_MEMLIMIT} {base64.b64encode(salt).decode('ascii')}\n"
        f"{base64.b64encode(sealed).decode('ascii')}\n"
    )


def _b64(text: str, what: str, path: Path) -> bytes:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        raise InputError(f"encrypted key file: {what} is not base64", field=str(path)) from None


def _decrypt(lines: list[str], passphrase: str | None, path: Path) -> str:
    """Decrypt the lines after the header; return the private key string."""
    field = str(path)
    if len(lines) != 2:
        raise InputError("encrypted key file must have exactly three lines", field=field)
    params = lines[0].split(" ")
    if len(params) != 4 or params[0] != "argon2id":
        raise InputError(
            "encrypted key file: second line must be 'argon2id OPSLIMIT MEMLIMIT SALT'",
            field=field,
        )
    try:
        opslimit, memlimit = int(params[1]), int(params[2])
    except ValueError:
        raise InputError("encrypted key file: bad argon2id limits", field=field) from None
    if not (argon2id.OPSLIMIT_MIN <= opslimit <= _MAX_OPSLIMIT) or not (
        argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT
    ):
        raise InputError("encrypted key file: argon2id limits out of range", field=field)
    salt = _b64(params[3], "salt", path)
    if len(salt) != argon2id.SALTBYTES:
        raise InputError("encrypted key file: salt must be 16 bytes", field=field)
    sealed = _b64(lines[1], "ciphertext", path)
    if passphrase is None:
        raise InputError(f"key file is passphrase-encrypted; {_PASSPHRASE_HINT}", field=field)
    box = nacl.secret.SecretBox(_derive_key(passphrase, salt, opslimit, memlimit))
    try:
        plaintext = box.decrypt(sealed)
    except (nacl.exceptions.CryptoError, ValueError):
        raise InputError(
            "wrong passphrase (or the encrypted key file is corrupted)", field=field
        ) from None
    try:
        return bytes(plaintext).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("encrypted key file holds no valid private key", field=field) from None


def write_private_key(path: Path, key: SignerKey, passphrase: str | None = None) -> None:
    """Create ``path`` (mode 0600) holding ``key``, encrypted when ``passphrase`` is given.

    Preconditions: ``path`` does not exist and its directory does (else :class:`InputError`;
    an existing file is never overwritten); ``passphrase``, when given, is non-empty. The
    file is fsynced; on a write failure the partial file is removed.
    Cost: one small write; plus ~0.1 s and 64 MiB of Argon2id when encrypting.
    """
    path = Path(path)
    if passphrase is not None and not passphrase:
        raise InputError("passphrase must not be empty", field="passphrase")
    secret = key.private_key_string()
    content = _encrypt(secret, passphrase) if passphrase is not None else secret + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(
            "refusing to overwrite an existing private key file", field=str(path)
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot create private key file: {exc.strerror}", field=str(path)
        ) from None
    try:
        os.fchmod(fd, 0o600)  # exact mode, whatever the umask
        data = content.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise InputError(
            f"cannot write private key file: {exc.strerror}", field=str(path)
        ) from None
    os.close(fd)


def read_private_key(path: Path, passphrase: str | None = None) -> SignerKey:
    """Read a private key file written by :func:`write_private_key`.

    Refuses (:class:`InputError`) a file that group or others can access (asking for
    ``chmod 600 FILE``), a file over 64 KiB, an encrypted file without ``passphrase``, a
    wrong passphrase, or malformed content. A ``passphrase`` given for a plain file is
    ignored. Error messages never contain key material.
    Cost: one small read; plus one Argon2id derivation for encrypted files.
    """
    path = Path(path)
    field = str(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"cannot read private key file: {exc.strerror}", field=field) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("private key file is not a regular file", field=field)
        if info.st_mode & 0o077:
            raise InputError(
                f"private key file is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}",
                field=field,
            )
        chunks: list[bytes] = []
        total = 0
        while total <= _MAX_FILE_BYTES:
            chunk = os.read(fd, _MAX_FILE_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read private key file: {exc.strerror}", field=field) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > _MAX_FILE_BYTES:
        raise InputError("private key file is too large", field=field)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("private key file is not UTF-8 text", field=field) from None

    lines = content.strip().splitlines()
    if not lines:
        raise InputError("private key file is empty", field=field)
    if lines[0].strip() == ENCRYPTED_HEADER:
        secret = _decrypt([line.strip() for line in lines[1:]], passphrase, path)
    elif len(lines) == 1:
        secret = lines[0].strip()
    else:
        raise InputError("private key file must contain exactly one key line", field=field)
    try:
        return parse_signer_key(secret)
    except InputError as exc:
        raise InputError(exc.message, field=field) from None


def write_verifier_key(path: Path, vkey: VerifierKey) -> None:
    """Write ``str(vkey) + "\\n"`` to ``path`` with mode 0644 (atomically replacing it).

    Precondition: the directory of ``path`` exists (else :class:`InputError`).
    Cost: one small write, an fsync and a rename.
    """
    path = Path(path)
    data = (str(vkey) + "\n").encode("utf-8")
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(
            f"cannot create verifier key file: {exc.strerror}", field=str(path)
        ) from None
    try:
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(
            f"cannot write verifier key file: {exc.strerror}", field=str(path)
        ) from None


def read_verifier_key_arg(value: str) -> VerifierKey:
    """Accept a verifier key string or a path to a file holding one.

    Same as :func:`verifier.cli.files.load_verifier_key` (re-exported for the ledger CLI).
    """
    return load_verifier_key(value)
