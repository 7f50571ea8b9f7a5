"""A pure-Python model of edwards25519 (RFC 8032 §5.1) and the public-key test vectors of the
registry's ``key.weak`` rule (FORMAT.md §7.2 rule 5): the eight small-order points and every
non-canonical encoding. For checking libsodium's verdicts independently, not for speed (one
scalar multiplication costs ~20 ms)."""

from __future__ import annotations

import hashlib

import nacl.signing

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int]
IDENTITY: Point = (0, 1)


def decode(data: bytes) -> Point | None:
    """RFC 8032 §5.1.3: the point, or None (non-canonical y, or no such x)."""
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else (0, y)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y)


def encode(pt: Point) -> bytes:
    x, y = pt
    return (y | (x & 1) << 255).to_bytes(32, "little")


def add(p1: Point, p2: Point) -> Point:
    """Affine twisted Edwards addition (a = −1), complete on the curve."""
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return (x3, y3)


def times(n: int, pt: Point) -> Point:
    out, acc = IDENTITY, pt
    while n:
        if n & 1:
            out = add(out, acc)
        acc, n = add(acc, acc), n >> 1
    return out


#: The order of the prime-order subgroup (RFC 8032 §5.1).
L = 2**252 + 27742317777372353535851937790883648493

#: The eight small-order points (the torsion subgroup), canonically encoded; cf. libsodium's
#: small-order blocklist (ed25519_ref10.c, which ignores the sign bit) and Chalkias et al.,
#: "Taming the many EdDSAs" (2020).
SMALL_ORDER = [
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",  # identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
        "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
    )
]

#: Every non-canonical encoding: y in p … 2^255 − 1, with either sign bit (38 in all).
NON_CANONICAL = [
    (y | sign << 255).to_bytes(32, "little") for y in range(P, 2**255) for sign in (0, 1)
]


def honest_key(label: str) -> bytes:
    """An Ed25519 public key made by ordinary key generation from a seed derived from
    ``label``."""
    seed = hashlib.sha256(label.encode()).digest()
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def must_decode(encoded: bytes) -> Point:
    """:func:`decode`, asserting that ``encoded`` is a point."""
    pt = decode(encoded)
    assert pt is not None, encoded.hex()
    return pt
