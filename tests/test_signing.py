"""Client-side signing helpers: UUIDv7 statement ids (FORMAT.md §3.1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ledger.signing.statements import uuid7
from verifier.core.entry import parse_statement


def test_uuid7_layout_and_order() -> None:
    t0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    ids = [uuid7(t0 + timedelta(milliseconds=ms)) for ms in range(0, 5000, 7)]
    for text in ids:
        u = uuid.UUID(text)
        assert u.version == 7 and u.variant == uuid.RFC_4122
        assert text == str(u)  # lower-case canonical form, accepted by FORMAT §3.1
        assert u.int >> 80 == int(t0.timestamp() * 1000) + ids.index(text) * 7
    assert ids == sorted(ids)  # time order is byte order: the id index grows at its end


def test_uuid7_is_deterministic_with_given_bits_and_valid_in_statements() -> None:
    t = datetime(2026, 1, 5, tzinfo=UTC)
    assert uuid7(t, 12345) == uuid7(t, 12345) != uuid7(t, 12346)
    raw = {
        "body": {},
        "id": uuid7(t),
        "kind": "a.b",
        "signer": "0" * 8,
        "time": "2026-01-05T00:00:00Z",
    }
    assert parse_statement(raw).id == raw["id"]
