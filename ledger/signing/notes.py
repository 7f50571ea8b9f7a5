"""Signing C2SP signed notes and checkpoints (FORMAT.md §6): the log's half.

Opening and checking notes is the verifier's (:mod:`verifier.core.note`,
:mod:`verifier.core.checkpoint`); signing needs a private key and is never done there.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from ledger.signing.keys import SignerKey
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError
from verifier.core.note import DASH, check_note_text

__all__ = ["sign_checkpoint", "sign_note"]


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
    """Return the signed checkpoint note: ``cp.body()`` signed by ``log_key``.

    Precondition (Gongxin rule): ``log_key.name == cp.origin``, else :class:`InputError`.
    The caller is responsible for never signing two inconsistent checkpoints.
    Cost: one Ed25519 signature.
    """
    if log_key.name != cp.origin:
        raise InputError(
            f"log key name {log_key.name!r} must equal the checkpoint origin {cp.origin!r}"
        )
    return sign_note(cp.body(), [log_key])
