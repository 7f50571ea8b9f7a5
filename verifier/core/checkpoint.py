"""C2SP tlog-checkpoint v1.0.0, the log's signed tree head (FORMAT.md §6): opened and parsed.

Gongxin rule (the spec's SHOULD made a MUST): the log key's name equals the origin. Other
signatures (e.g. witness cosignatures) are ignored. Writing one is ``ledger.signing.notes``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, check_key_name
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE
from verifier.core.note import open_note

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "open_checkpoint",
    "open_checkpoint_as",
    "parse_checkpoint_body",
]

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size accepted (Go's tlog parses sizes as int64)."""

_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f]")


def _check_origin(origin: str) -> str | None:
    """Why ``origin`` is not a valid origin (the key-name rule, FORMAT.md §1), or ``None``."""
    try:
        check_key_name(origin)
    except InputError as exc:
        return exc.message.replace("key name", "origin")
    return None


def _check_extension(line: str) -> str | None:
    """Why ``line`` is not a valid extension line, or ``None`` if it is valid."""
    if not line:
        return "extension lines must be non-empty"
    if "\n" in line or _CONTROL_RE.search(line):
        return "extension lines must not contain newlines or control characters"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return "extension line is not valid Unicode (lone surrogate)"
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, root hash, extension lines. Construction checks (else
    :class:`InputError`) what :func:`parse_checkpoint_body` checks, so every value is written
    as a text it maps back to an equal value. The empty tree: size 0, root :data:`EMPTY_ROOT`.
    Cost: O(total length of the fields)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        why = _check_origin(self.origin)
        if why:
            raise InputError(why, field="origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise InputError("tree size must be an integer", field="size")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InputError(f"tree size {self.size} out of range 0..2**63-1", field="size")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise InputError("root hash must be exactly 32 bytes", field="root")
        if not isinstance(self.extensions, tuple):
            raise InputError("extensions must be a tuple of strings", field="extensions")
        for line in self.extensions:
            why = _check_extension(line) if isinstance(line, str) else "not a string"
            if why:
                raise InputError(why, field="extensions")


def _malformed(detail: str) -> VerificationError:
    return VerificationError("checkpoint.malformed", detail)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint note text strictly (FORMAT.md §6); any ``str`` may be passed.

    Raises ``checkpoint.malformed`` naming the fault: missing final newline, fewer than three
    lines, bad origin, size with sign/leading zero/non-digits/out of range, root not
    canonical padded base64 of 32 bytes, or an empty/invalid extension line. O(len(text)).
    """
    if not isinstance(text, str):
        raise InputError(f"checkpoint body must be a string, not {type(text).__name__}")
    if not text.endswith("\n"):
        raise _malformed("checkpoint body does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _malformed(
            f"checkpoint body has {len(lines)} line(s); need origin, size and root hash"
        )
    origin, size_text, root_text, *extensions = lines

    why = _check_origin(origin)
    if why:
        raise _malformed(f"line 1: {why}")

    if not _SIZE_RE.fullmatch(size_text):
        raise _malformed(
            f"line 2: tree size {size_text!r} is not a decimal number without sign or leading zeros"
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise _malformed(f"line 2: tree size {size_text} exceeds 2**63-1")

    try:
        root = binascii.a2b_base64(root_text, strict_mode=True)
    except ValueError:
        raise _malformed("line 3: root hash is not standard padded base64") from None
    if len(root) != HASH_SIZE:
        raise _malformed(f"line 3: root hash has {len(root)} bytes, expected 32")
    if base64.b64encode(root).decode("ascii") != root_text:
        raise _malformed("line 3: root hash is not canonical base64")

    for number, line in enumerate(extensions, start=4):
        why = _check_extension(line)
        if why:
            raise _malformed(f"line {number}: {why}")

    return Checkpoint(origin, size, root, tuple(extensions))


def open_checkpoint(note: str | bytes, log_key: VerifierKey) -> Checkpoint:
    """Verify a signed checkpoint with the log's public key and parse it: :func:`open_note`
    with ``[log_key]`` only, :func:`parse_checkpoint_body`, then ``log_key.name == origin``.
    Raises ``note.*``, ``checkpoint.malformed`` or ``checkpoint.origin``. Cost: one Ed25519
    verification plus O(len(note))."""
    opened = open_note(note, [log_key])
    cp = parse_checkpoint_body(opened.text)
    if cp.origin != log_key.name:
        raise VerificationError(
            "checkpoint.origin",
            f"checkpoint origin {cp.origin!r} differs from the log key name {log_key.name!r}",
            key_id=log_key.key_id_hex,
        )
    return cp


def open_checkpoint_as(note: str | bytes, log_key: VerifierKey, what: str) -> Checkpoint:
    """:func:`open_checkpoint`, naming ``what`` (e.g. ``"previous_checkpoint"``) in errors."""
    try:
        return open_checkpoint(note, log_key)
    except VerificationError as exc:
        raise VerificationError(
            exc.rule, f"{what}: {exc.detail}", key_id=exc.key_id, field=exc.field or what
        ) from None
