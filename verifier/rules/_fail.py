"""One constructor for rulebook errors, so every rejection names index, key and field."""

from __future__ import annotations

from verifier.core.entry import Entry
from verifier.core.errors import VerificationError


def rule_error(rule: str, detail: str, entry: Entry, field: str | None = None) -> VerificationError:
    """A :class:`VerificationError` for ``entry`` naming its signer and ``statement.body.<field>``."""
    return VerificationError(
        rule,
        detail,
        index=entry.index,
        key_id=entry.statement.signer,
        field=f"statement.body.{field}" if field else "statement.body",
    )
