"""Slow, literal RFC 9162 §2.1 Merkle definitions, as an oracle for ``verifier.core.merkle``.

Each function transcribes the recursive definition of RFC 9162 (= RFC 6962 §2.1) over a list
of leaf *data* ``D``, with no shared code with the module under test (only ``hashlib``):

- §2.1.1  ``MTH(D[n])``
- §2.1.3.1 ``PATH(m, D[n])``
- §2.1.4.1 ``PROOF(m, D[n])`` and ``SUBPROOF(m, D[n], b)``

Costs are O(n) hashes per MTH and O(n log n) per proof: fine for the small trees of the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``): ``k < n <= 2k``."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1: the Merkle Tree Hash of the list ``d`` of leaf data."""
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1: the audit path of leaf ``m`` in the tree of ``d`` (``0 <= m < n``)."""
    n = len(d)
    assert 0 <= m < n
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1: ``SUBPROOF(m, D[n], b)`` for ``0 < m <= n``."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.4.1: ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` for ``0 < m <= n``."""
    assert 0 < m <= len(d)
    return subproof(m, d, True)


def leaf(data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash ``SHA-256(0x00 ‖ data)``."""
    return _sha256(b"\x00" + data)
