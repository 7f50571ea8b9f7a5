"""Resident pseudonyms (FORMAT.md §10): the only way a person appears on the log.

``resident_ref`` = the first 16 bytes of HMAC-SHA-256(key = the community's 32-byte secret,
message = the resident's register number as UTF-8), as 32 lower-case hex digits. Without the
register number (held off-ledger in the resident register, ``ledger/residents.py``) a
reference cannot be linked to anyone; erasing the register row makes it unlinkable.

Pure and standard-library only, so the ledger and the verifier share one definition.
"""

from __future__ import annotations

import hashlib
import hmac

from verifier.core.errors import InputError

#: Length in bytes of a community secret.
SECRET_BYTES = 32
#: Bytes of the HMAC kept in a reference (32 hex digits).
REF_BYTES = 16


def resident_ref(secret: bytes, register_no: str) -> str:
    """The pseudonym of ``register_no`` under the community ``secret``.

    Preconditions: ``secret`` is exactly 32 bytes; ``register_no`` is a non-empty string.
    Otherwise :class:`InputError`. Deterministic; cost: one HMAC-SHA-256 of a short message.
    """
    if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
        raise InputError(f"a community secret must be {SECRET_BYTES} bytes", field="secret")
    if not isinstance(register_no, str) or not register_no:
        raise InputError("must be a non-empty string", field="register_no")
    mac = hmac.new(secret, register_no.encode("utf-8"), hashlib.sha256).digest()
    return mac[:REF_BYTES].hex()
