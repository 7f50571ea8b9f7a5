"""Which Ed25519 public keys the registry accepts (FORMAT.md §7.2 rule 5, ``key.weak``):
:func:`verifier.rules.registry.is_strong_public_key` against the eight small-order points,
non-canonical encodings, points with a small-order component and non-points, each confirmed
by an independent pure-Python model of the curve (RFC 8032 §5.1), and honest keys."""

from __future__ import annotations

import pytest

from verifier.rules.registry import (
    ED25519_P,
    is_canonical_point_encoding,
    is_strong_public_key,
)

from .ed25519_model import (
    IDENTITY,
    NON_CANONICAL,
    SMALL_ORDER,
    L,
    add,
    decode,
    encode,
    honest_key,
    must_decode,
    times,
)


def test_the_small_order_list_is_the_whole_torsion_subgroup() -> None:
    points = [must_decode(e) for e in SMALL_ORDER]
    assert [encode(pt) for pt in points] == SMALL_ORDER
    assert len(set(points)) == 8
    orders = sorted(min(n for n in (1, 2, 4, 8) if times(n, pt) == IDENTITY) for pt in points)
    assert orders == [1, 2, 4, 4, 8, 8, 8, 8]


@pytest.mark.parametrize("encoded", SMALL_ORDER, ids=lambda e: e.hex()[:8] + "…" + e.hex()[-2:])
def test_small_order_points_are_weak(encoded: bytes) -> None:
    assert is_canonical_point_encoding(encoded)  # canonical, yet refused
    assert not is_strong_public_key(encoded)


def test_non_canonical_encodings_are_weak() -> None:
    assert len(NON_CANONICAL) == 38
    for encoded in NON_CANONICAL:
        assert decode(encoded) is None  # RFC 8032 decoding refuses them
        assert not is_canonical_point_encoding(encoded)
        assert not is_strong_public_key(encoded), encoded.hex()
    # the largest canonical y is p − 1 (a small-order point), the smallest refused one is p
    assert is_canonical_point_encoding((ED25519_P - 1).to_bytes(32, "little"))


def test_a_point_with_a_small_order_component_is_weak() -> None:
    honest = must_decode(honest_key("mixed"))
    assert times(L, honest) == IDENTITY
    for torsion in SMALL_ORDER[1:]:
        mixed = encode(add(honest, must_decode(torsion)))
        assert times(L, must_decode(mixed)) != IDENTITY
        assert is_canonical_point_encoding(mixed)
        assert not is_strong_public_key(mixed)


def test_a_non_point_is_weak() -> None:
    not_points = [
        y.to_bytes(32, "little") for y in range(2, 40) if decode(y.to_bytes(32, "little")) is None
    ]
    assert not_points
    for encoded in not_points:
        assert is_canonical_point_encoding(encoded)
        assert not is_strong_public_key(encoded)


def test_honest_keys_are_strong() -> None:
    for n in range(16):
        pk = honest_key(f"honest/{n}")
        pt = must_decode(pk)
        assert pt != IDENTITY and times(L, pt) == IDENTITY
        assert is_strong_public_key(pk)
