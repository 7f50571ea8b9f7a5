"""Writing and signing C2SP signed notes and checkpoints (FORMAT.md §6): the log's half.

Opening and checking notes is the verifier's (:mod:`verifier.core.note`,
:mod:`verifier.core.checkpoint`); signing needs a private key and is never done there.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from ledger.signing.keys import SignerKey
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError
from verifier.core.note import DASH

__all__ = ["check_note_text", "checkpoint_body", "sign_checkpoint", "sign_note"]

# ASCII control characters other than newline (forbidden anywhere in a signed note).
_NOTE_CONTROL_STR = re.compile("[\x00-\x09\x0b-\x1f]")


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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("note text is not valid Unicode (lone surrogate)") from None


def checkpoint_body(cp: Checkpoint) -> str:
    """The note text of ``cp``: ``origin\\nsize\\nbase64(root)\\n`` then each extension line
    and ``\\n`` (C2SP tlog-checkpoint). :class:`Checkpoint` validates its fields, so
    :func:`verifier.core.checkpoint.parse_checkpoint_body` maps the result back to an equal
    value. Cost: O(total length of the fields).
    """
    root_b64 = base64.b64encode(cp.root).decode("ascii")
    return "\n".join([cp.origin, str(cp.size), root_b64, *cp.extensions]) + "\n"


def _signature_line(key: SignerKey, text_bytes: bytes) -> str:
    """One signature line (with its newline) by ``key`` over ``text_bytes``."""
    blob = key.key_id + key.sign(text_bytes)
    return f"{DASH}{key.name} {base64.b64encode(blob).decode('ascii')}\n"


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


def sign_checkpoint(cp: Checkpoint, log_key: SignerKey) -> str:
    """Return the signed checkpoint note: :func:`checkpoint_body` signed by ``log_key``.

    Precondition (Gongxin rule): ``log_key.name == cp.origin``, else :class:`InputError`.
    The caller is responsible for never signing two inconsistent checkpoints.
    Cost: one Ed25519 signature.
    """
    if log_key.name != cp.origin:
        raise InputError(
            f"log key name {log_key.name!r} must equal the checkpoint origin {cp.origin!r}"
        )
    return sign_note(checkpoint_body(cp), [log_key])
