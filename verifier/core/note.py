"""C2SP signed notes (signed-note v1.0.0), as used for checkpoints (FORMAT.md §6).

A *note* is UTF-8 text ending in ``\\n`` with no ASCII control character other than
``\\n``; a *signed note* is that text, one empty line, then one or more signature lines::

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

The dash is U+2014 followed by a space. The signature covers the note text only (including
its final newline, excluding the separating empty line). Keys, key names and key ids are
in :mod:`verifier.keys` (FORMAT.md §1).

Opening a note follows the spec and Go's ``note.Open``: signatures by unknown keys (a key is
identified by name *and* key id) are ignored, a failing signature by a known key rejects the
whole note (``note.signature``), a note with no verified known signature is rejected
(``note.unsigned``), and syntax errors are ``note.malformed``. At most
:data:`MAX_SIGNATURES` signature lines are read, as in Go.

This module is pure: it uses only the standard library and :mod:`verifier.keys`.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import KEY_ID_SIZE, VerifierKey, _encodable

__all__ = [
    "MAX_SIGNATURES",
    "OpenedNote",
    "check_note_text",
    "open_note",
]

MAX_SIGNATURES = 100
"""Most signature lines :func:`open_note` reads (Go uses the same limit; the spec asks ≥ 16)."""

DASH = "— "  # U+2014 EM DASH, then a space
DASH_BYTES = DASH.encode("utf-8")
# ASCII control characters other than newline (forbidden anywhere in a signed note).
_NOTE_CONTROL_STR = re.compile("[\x00-\x09\x0b-\x1f]")
_NOTE_CONTROL_BYTES = re.compile(b"[\x00-\x09\x0b-\x1f]")


# --------------------------------------------------------------------------- helpers


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
        if not raw_line.startswith(DASH_BYTES):
            raise _malformed(f"signature line {number} does not start with '— ' (U+2014, space)")
        line = raw_line.decode("utf-8")
        name, _, b64 = line[len(DASH) :].partition(" ")
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
