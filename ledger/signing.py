"""Client-side signing of statements (FORMAT.md §3): what an official's tool does before
submitting. The ledger never holds officials' private keys; it only verifies.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from verifier.entry import Signature, Submission, unsigned_statement
from verifier.keys import SignerKey


def format_statement_time(t: datetime) -> str:
    """FORMAT.md §3.1: RFC 3339 UTC with second precision, e.g. ``2026-11-22T08:30:00Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_statement(
    kind: str,
    body: dict[str, Any],
    key: SignerKey,
    *,
    statement_id: str | None = None,
    time: datetime | str | None = None,
    cosigners: Sequence[SignerKey] = (),
) -> Submission:
    """Build the statement, sign it with ``key`` (and any co-signers), return the submission.

    ``statement_id`` defaults to a random UUID (it is the idempotency key: reuse it to retry
    safely); ``time`` defaults to now. Raises ``VerificationError("entry.shape")`` naming the
    field for a malformed kind, body or time. Cost: one Ed25519 signature per signer.
    """
    sid = statement_id or str(uuid.uuid4())
    if time is None:
        time = datetime.now(UTC)
    t = format_statement_time(time) if isinstance(time, datetime) else time
    st = unsigned_statement(kind, sid, t, key.key_id.hex(), body)
    message = st.message()
    sigs = [Signature(k.key_id.hex(), k.sign(message)) for k in (key, *cosigners)]
    return Submission(st, tuple(sigs))
