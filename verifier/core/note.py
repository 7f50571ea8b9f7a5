"""C2SP signed-note v1.0.0, opening only (FORMAT.md §6; keys and key ids: §1).

A signed note is UTF-8 text ending in ``\\n`` without ASCII control characters other than
``\\n``, one empty line, then signature lines ``— <key name> <base64(4-byte key id ‖ 64-byte
Ed25519 signature)>\\n`` (U+2014, space). A signature covers the text with its final newline.
:func:`open_note` follows the spec and Go's ``note.Open``. Signing is ``ledger.signing.notes``.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import KEY_ID_SIZE, VerifierKey

MAX_SIGNATURES = 100
"""Most signature lines :func:`open_note` reads (Go uses the same limit; the spec asks ≥ 16)."""

DASH = "— "  # U+2014 EM DASH, then a space
DASH_BYTES = DASH.encode("utf-8")
_NOTE_CONTROL_BYTES = re.compile(b"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than \n

_Ident = tuple[str, bytes]  # (key name, key id): how a signature line names its key


@dataclass
class OpenedNote:
    """What :func:`open_note` found: the ``text`` (with its final newline), the known keys
    whose signatures ``verified`` (in line order) and the deduplicated signature lines by
    unknown keys (without newline), e.g. to re-emit cosignatures."""

    text: str
    verified: list[VerifierKey]
    unverified_lines: list[str] = field(default_factory=list)


def _malformed(detail: str) -> VerificationError:
    return VerificationError("note.malformed", detail)


def open_note(note: str | bytes, known: Sequence[VerifierKey]) -> OpenedNote:
    """Parse a signed note and verify the signatures by ``known`` keys, as Go's ``note.Open``.

    The note must be UTF-8 without control characters but ``\\n``. It splits at its *last*
    ``\\n\\n`` into the text (through the first of those newlines) and a non-empty block of
    at most :data:`MAX_SIGNATURES` signature lines ending in ``\\n``. Lines are checked in
    order, each verified before the next is parsed; lines whose (name, key id) matches no
    known key are ignored (kept in ``unverified_lines``), repeated lines by one known key are
    checked once. Raises ``note.malformed`` (syntax), ``note.signature`` (a known key's
    signature fails; ``key_id`` set), ``note.unsigned`` (no known key signed), or
    :class:`InputError` if ``known`` holds two different keys with one name and key id.
    Cost: O(len(note)) plus one Ed25519 verification per distinct known signer present.
    """
    by_ident = _index_known(known)
    text_bytes, lines = _split_note(_note_bytes(note))
    verified: list[VerifierKey] = []
    unverified: list[str] = []
    seen_known: set[_Ident] = set()
    seen_unknown: set[str] = set()
    for number, raw_line in enumerate(lines, start=1):
        line, ident, signature = _parse_signature_line(number, raw_line)
        signer = by_ident.get(ident)
        if signer is None:
            if line not in seen_unknown:
                seen_unknown.add(line)
                unverified.append(line)
        elif ident not in seen_known:
            seen_known.add(ident)
            if not signer.verify(text_bytes, signature):
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


def _index_known(known: Sequence[VerifierKey]) -> dict[_Ident, VerifierKey]:
    """The known keys by (name, key id); :class:`InputError` if two different keys share one."""
    by_ident: dict[_Ident, VerifierKey] = {}
    for key in known:
        ident = (key.name, key.key_id)
        prior = by_ident.get(ident)
        if prior is not None and prior != key:
            raise InputError(
                f"ambiguous known keys: two different keys {key.name}+{key.key_id_hex}"
            )
        by_ident[ident] = key
    return by_ident


def _note_bytes(note: str | bytes) -> bytes:
    """The note as bytes: valid UTF-8 without control characters but ``\\n``, else
    ``note.malformed`` (:class:`InputError` for a type other than str/bytes). O(len(note))."""
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
    return msg


def _split_note(msg: bytes) -> tuple[bytes, list[bytes]]:
    """Split at the last ``\\n\\n`` into the text (with its final newline) and the signature
    lines (without newlines); at most :data:`MAX_SIGNATURES` of them, else ``note.malformed``."""
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
    return text_bytes, lines


def _parse_signature_line(number: int, raw_line: bytes) -> tuple[str, _Ident, bytes]:
    """Signature line ``number`` as (line, (name, key id), signature), else ``note.malformed``.

    Name: non-empty, no ``+``, no Unicode space (``str.isspace`` adds U+001C..U+001F to Go's
    ``unicode.IsSpace``; :func:`_note_bytes` refused those already). Base64 as Go's
    ``StdEncoding``: alphabet and padding checked, stray trailing bits accepted (so no line
    Go accepts is malformed). Precondition: ``raw_line`` is UTF-8. Cost: O(len(raw_line)).
    """
    if not raw_line.startswith(DASH_BYTES):
        raise _malformed(f"signature line {number} does not start with '— ' (U+2014, space)")
    line = raw_line.decode("utf-8")
    name, _, b64 = line[len(DASH) :].partition(" ")
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise _malformed(f"signature line {number} has an invalid key name {name!r}")
    if not b64:
        raise _malformed(f"signature line {number} has no signature")
    try:
        blob = binascii.a2b_base64(b64, strict_mode=True)
    except ValueError:
        raise _malformed(f"signature line {number} is not standard padded base64") from None
    if len(blob) < KEY_ID_SIZE + 1:
        raise _malformed(f"signature line {number} is too short ({len(blob)} bytes)")
    return line, (name, blob[:KEY_ID_SIZE]), blob[KEY_ID_SIZE:]
