"""Trees for the Merkle tests (tests/test_merkle_*.py): :func:`tree` builds leaves 0..n-1
with a :class:`~verifier.core.compact_range.CompactRange` — their node map (as the ledger's
storage holds it), the root of every size and when each node completed — cached per ``n``;
:func:`must_fail` asserts a rule is broken."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from verifier.core.compact_range import CompactRange
from verifier.core.errors import VerificationError
from verifier.core.merkle import leaf_hash

Nodes = dict[tuple[int, int], bytes]

SMALL = 64
BIG = 2000


def data(i: int) -> bytes:
    """Distinct leaf data; every few leaves are empty or long to vary the inputs."""
    if i % 7 == 3:
        return b""
    return f"entry {i}".encode() * (1 + i % 5)


@functools.cache
def tree(n: int) -> tuple[list[bytes], Nodes, list[bytes], dict[tuple[int, int], int]]:
    """Leaves 0..n-1: (leaf data, node map, roots[size] for 0..n, size each node completed)."""
    leaves = [data(i) for i in range(n)]
    cr = CompactRange()
    nodes: Nodes = {}
    completed_at: dict[tuple[int, int], int] = {}
    roots = [cr.root()]
    for d in leaves:
        for level, index, h in cr.append(leaf_hash(d)):
            assert (level, index) not in nodes
            nodes[(level, index)] = h
            completed_at[(level, index)] = cr.size
        roots.append(cr.root())
    return leaves, nodes, roots, completed_at


def must_fail(rule: str, fn: Callable[..., object], *args: object) -> VerificationError:
    """Call ``fn(*args)``; it must raise VerificationError with ``rule``."""
    with pytest.raises(VerificationError) as info:
        fn(*args)
    assert info.value.rule == rule
    return info.value
