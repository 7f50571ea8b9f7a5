"""``verifier.core.merkle`` against the literal RFC 9162 definitions, pymerkle, and hypothesis.

- Exhaustive for trees of 1..64 leaves: roots, every inclusion path, every consistency proof,
  each served from a node map (as the ledger's storage does), also for older tree sizes.
- pymerkle (an independent implementation) as a second oracle.
- hypothesis for trees up to 2000 leaves: generated proofs verify; tampering is caught.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.proofs import (
    consistency_proof,
    consistency_ranges,
    hash_ranges,
    inclusion_proof,
    inclusion_ranges,
    nodes_needed,
    peak_nodes,
    range_nodes,
    root_of,
)
from tests import merkle_reference as ref
from verifier.core.compact_range import CompactRange
from verifier.core.errors import InputError, VerificationError
from verifier.core.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

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


# --------------------------------------------------------------------------------------------
# Hashing and CompactRange
# --------------------------------------------------------------------------------------------


def test_constants_and_hashes() -> None:
    assert HASH_SIZE == 32
    assert EMPTY_ROOT == ref.mth([]) == root_of([]) == CompactRange().root()
    assert EMPTY_ROOT.hex().startswith("e3b0c442")
    assert leaf_hash(b"abc") == ref.leaf(b"abc")
    assert node_hash(leaf_hash(b"x"), leaf_hash(b"y")) == ref.mth([b"x", b"y"])


@pytest.mark.parametrize("size", range(SMALL + 1))
def test_roots_match_reference(size: int) -> None:
    leaves, _, roots, _ = tree(SMALL)
    expected = ref.mth(leaves[:size])
    hashes = [leaf_hash(d) for d in leaves[:size]]
    assert root_of(hashes) == expected
    assert root_of(iter(hashes)) == expected
    assert roots[size] == expected
    cr = CompactRange()
    for h in hashes:
        cr.append(h)
    assert cr.size == size and cr.root() == expected
    # The peaks are the hashes of peak_nodes(size), each the MTH of its leaves.
    assert len(cr.peaks) == size.bit_count() == len(peak_nodes(size))
    for (level, index), h in zip(peak_nodes(size), cr.peaks, strict=True):
        assert h == ref.mth(leaves[index << level : (index + 1) << level])


def test_compact_range_append_reports_every_complete_node() -> None:
    leaves, nodes, _, _ = tree(SMALL)
    for (level, index), h in nodes.items():
        assert h == ref.mth(leaves[index << level : (index + 1) << level])
    # Every complete aligned subtree of 64 leaves is reported exactly once: 64+32+...+1.
    assert len(nodes) == 2 * SMALL - 1
    cr = CompactRange()
    for n, d in enumerate(leaves[:12]):
        out = cr.append(leaf_hash(d))
        assert out[0] == (0, n, leaf_hash(d))
        levels = [level for level, _, _ in out]
        assert levels == list(range(len(out)))
        assert len(out) == 1 + (~n & (n + 1)).bit_length() - 1  # trailing ones of n, plus 1


def test_compact_range_restore_copy_and_validation() -> None:
    leaves, _, roots, _ = tree(SMALL)
    cr = CompactRange()
    for d in leaves[:21]:
        cr.append(leaf_hash(d))
    clone = cr.copy()
    restored = CompactRange(cr.size, cr.peaks)
    assert clone == cr == restored and clone is not cr and clone.peaks is not cr.peaks
    clone.append(leaf_hash(leaves[21]))
    assert cr.size == 21 and cr.root() == roots[21]
    assert clone.root() == roots[22]
    for d in leaves[21:40]:
        restored.append(leaf_hash(d))
    assert restored.root() == roots[40]
    assert "size=21" in repr(cr)
    with pytest.raises(InputError):
        CompactRange(3, [b"\x00" * 32])  # popcount(3) == 2
    with pytest.raises(InputError):
        CompactRange(-1)
    with pytest.raises(InputError):
        CompactRange(1, [b"short"])
    with pytest.raises(InputError):
        CompactRange().append(b"\x00" * 31)
    with pytest.raises(InputError):
        root_of([b"\x00" * 33])


def test_range_nodes_and_argument_checks() -> None:
    assert peak_nodes(0) == []
    assert peak_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert range_nodes(8, 16) == [(3, 1)]
    assert range_nodes(8, 15) == [(2, 2), (1, 6), (0, 14)]
    assert range_nodes(4, 7) == [(1, 2), (0, 6)]
    assert nodes_needed([(0, 4), (4, 7), (0, 4), (4, 6)]) == [(2, 0), (1, 2), (0, 6)]
    for bad in [(3, 3), (5, 4), (-1, 0), (1, 3), (2, 6), (4, 12)]:
        with pytest.raises(InputError):
            range_nodes(*bad)
    for index, size in [(0, 0), (5, 5), (-1, 3)]:
        with pytest.raises(InputError):
            inclusion_ranges(index, size)
    for size1, size2 in [(0, 0), (0, 5), (6, 5), (-1, 2)]:
        with pytest.raises(InputError):
            consistency_ranges(size1, size2)
    assert consistency_ranges(7, 7) == []
    assert inclusion_ranges(0, 1) == []
    with pytest.raises(InputError, match="not stored"):
        hash_ranges([(0, 3)], {(1, 0): b"\x00" * 32})
    with pytest.raises(InputError):
        peak_nodes(-1)


# --------------------------------------------------------------------------------------------
# Proofs against the RFC 9162 reference, for every size up to 64
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_inclusion_proofs_match_reference(size: int) -> None:
    leaves, nodes, roots, completed_at = tree(SMALL)
    prefix = leaves[:size]
    root = ref.mth(prefix)
    at_size = {n: h for n, h in nodes.items() if completed_at[n] <= size}
    for index in range(size):
        expected = ref.path(index, prefix)
        ranges = inclusion_ranges(index, size)
        # Every node needed already existed when the tree had `size` leaves.
        assert all(completed_at[n] <= size for n in nodes_needed(ranges))
        assert [ref.mth(leaves[s:e]) for s, e in ranges] == expected
        # Served from the node map of the bigger (64-leaf) tree ...
        assert inclusion_proof(index, size, nodes) == expected
        # ... and from the map restricted to the nodes that existed at `size`.
        assert inclusion_proof(index, size, at_size) == expected
        lh = ref.leaf(leaves[index])
        verify_inclusion(lh, index, size, expected, root)
        assert root_from_inclusion(lh, index, size, expected) == roots[size]


@pytest.mark.parametrize("size2", range(1, SMALL + 1))
def test_consistency_proofs_match_reference(size2: int) -> None:
    leaves, nodes, roots, completed_at = tree(SMALL)
    at_size = {n: h for n, h in nodes.items() if completed_at[n] <= size2}
    root2 = ref.mth(leaves[:size2])
    for size1 in range(1, size2 + 1):
        expected = ref.proof(size1, leaves[:size2])
        ranges = consistency_ranges(size1, size2)
        assert [ref.mth(leaves[s:e]) for s, e in ranges] == expected
        assert consistency_proof(size1, size2, nodes) == expected
        assert consistency_proof(size1, size2, at_size) == expected
        verify_consistency(size1, size2, expected, ref.mth(leaves[:size1]), root2)
        verify_consistency(size1, size2, expected, roots[size1], roots[size2])


def test_empty_tree_and_equal_sizes() -> None:
    _, nodes, roots, _ = tree(SMALL)
    # size1 == 0: the empty tree is trivially consistent; there is no proof to verify.
    err = must_fail("merkle.consistency", verify_consistency, 0, 5, [], EMPTY_ROOT, roots[5])
    assert "空树" in err.detail
    must_fail("merkle.consistency", verify_consistency, 0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(9, 9, [], roots[9], roots[9])
    must_fail("merkle.consistency", verify_consistency, 9, 9, [], roots[9], roots[8])
    must_fail("merkle.consistency", verify_consistency, 9, 9, [roots[9]], roots[9], roots[9])
    must_fail("merkle.consistency", verify_consistency, 9, 8, [], roots[9], roots[8])
    must_fail("merkle.consistency", verify_consistency, 3, 8, [], roots[3], roots[8])
    must_fail("merkle.consistency", verify_consistency, -1, 8, [], roots[3], roots[8])
    # At equal sizes nothing is hashed: roots are compared as given (RFC 6962 vectors).
    short = roots[9][:12]
    verify_consistency(9, 9, [], short, short)
    err = must_fail("merkle.consistency", verify_consistency, 3, 9, [roots[9]], short, roots[9])
    assert err.field == "root1"
    assert consistency_proof(5, 5, nodes) == []


def test_inclusion_edge_cases() -> None:
    leaves, nodes, roots, _ = tree(SMALL)
    lh = leaf_hash(leaves[0])
    verify_inclusion(lh, 0, 1, [], roots[1])
    err = must_fail("merkle.inclusion", verify_inclusion, lh, 1, 1, [], roots[1])
    assert "叶索引" in err.detail
    must_fail("merkle.inclusion", verify_inclusion, lh, 0, 0, [], EMPTY_ROOT)
    must_fail("merkle.inclusion", verify_inclusion, lh, -1, 3, [], roots[3])
    must_fail("merkle.inclusion", verify_inclusion, lh[:31], 0, 1, [], lh[:31])
    err = must_fail("merkle.inclusion", verify_inclusion, lh, 0, 1, [], roots[1] + b"0")
    assert err.field == "root"
    proof = inclusion_proof(5, 37, nodes)
    lh5 = leaf_hash(leaves[5])
    err = must_fail("merkle.inclusion", verify_inclusion, lh5, 5, 37, proof, roots[36])
    assert "根哈希不一致" in err.detail and err.index == 5
    err = must_fail("merkle.inclusion", verify_inclusion, lh5, 5, 37, [*proof, lh5], roots[37])
    assert "过长" in err.detail
    err = must_fail("merkle.inclusion", verify_inclusion, lh5, 5, 37, proof[:-1], roots[37])
    assert "过短" in err.detail


def test_inclusion_proof_does_not_bind_tree_size_by_itself() -> None:
    """Documents RFC 9162 behaviour: the size is bound only by the (signed) root.

    The proof of leaf 0 in a tree of 3 has the same shape as one in a tree of 4, so it
    verifies with size 4 against the size-3 root; against the real size-4 root it fails.
    """
    leaves, nodes, roots, _ = tree(SMALL)
    lh = leaf_hash(leaves[0])
    proof3 = inclusion_proof(0, 3, nodes)
    verify_inclusion(lh, 0, 4, proof3, roots[3])
    must_fail("merkle.inclusion", verify_inclusion, lh, 0, 4, proof3, roots[4])


# --------------------------------------------------------------------------------------------
# pymerkle as an independent oracle
# --------------------------------------------------------------------------------------------


@functools.cache
def pm_tree(n: int) -> pymerkle.InmemoryTree:
    t = pymerkle.InmemoryTree(algorithm="sha256")
    for d in tree(BIG)[0][:n]:
        t.append_entry(d)
    return t


@functools.cache
def pm_range_root(start: int, end: int) -> bytes:
    """MTH(D[start:end]) computed by pymerkle over just those leaves."""
    t = pymerkle.InmemoryTree.init_from_entries(tree(BIG)[0][start:end], algorithm="sha256")
    root = t.get_root()
    assert isinstance(root, bytes)
    return root


def _pymerkle_check(t: pymerkle.InmemoryTree, size: int, indices: list[int]) -> None:
    _, nodes, roots, _ = tree(BIG)
    assert t.get_root(size) == roots[size]
    for index in indices:
        # pymerkle indices count from one; its path starts with the leaf hash itself.
        pm = t.prove_inclusion(index + 1, size)
        assert pm.path[0] == leaf_hash(tree(BIG)[0][index])
        assert pm.path[1:] == inclusion_proof(index, size, nodes)


@pytest.mark.parametrize("size", range(1, 41))
def test_against_pymerkle(size: int) -> None:
    t = pm_tree(40)
    _, nodes, roots, _ = tree(BIG)
    _pymerkle_check(t, size, list(range(size)))
    for size1 in range(1, size + 1):
        # pymerkle's consistency layout differs from RFC 9162 SUBPROOF (it always includes
        # the base subtree), so compare element-wise hashing of our ranges, and check that
        # pymerkle accepts our roots with its own proof.
        ranges = consistency_ranges(size1, size)
        assert consistency_proof(size1, size, nodes) == [pm_range_root(s, e) for s, e in ranges]
        pm = t.prove_consistency(size1, size)
        pm.verify(roots[size1], roots[size], prior_size=size1, later_size=size)


def test_against_pymerkle_random_larger_trees() -> None:
    rng = random.Random(6962)
    t = pm_tree(BIG)
    _, nodes, roots, _ = tree(BIG)
    for size in [*rng.sample(range(41, BIG + 1), 6), 1024, 1025, BIG]:
        _pymerkle_check(t, size, [0, size - 1, *rng.sample(range(size), 5)])
        for size1 in [1, size - 1, size, *rng.sample(range(1, size + 1), 4)]:
            proof = consistency_proof(size1, size, nodes)
            verify_consistency(size1, size, proof, t.get_root(size1), t.get_root(size))
            pm = t.prove_consistency(size1, size)
            pm.verify(roots[size1], roots[size], prior_size=size1, later_size=size)


# --------------------------------------------------------------------------------------------
# hypothesis: random trees up to 2000 leaves
# --------------------------------------------------------------------------------------------


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, BIG))
    return size, draw(st.integers(0, size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(1, BIG))
    return draw(st.integers(1, size2)), size2


def flipped(proof: list[bytes], i: int, j: int, mask: int) -> list[bytes]:
    bad = list(proof)
    element = bytearray(bad[i])
    element[j] ^= mask
    bad[i] = bytes(element)
    return bad


@settings(max_examples=100, deadline=None)
@given(size_and_index(), st.integers(1, 255), st.data())
def test_inclusion_random(si: tuple[int, int], mask: int, draw: st.DataObject) -> None:
    size, index = si
    leaves, nodes, roots, _ = tree(BIG)
    lh = leaf_hash(leaves[index])
    root = roots[size]
    proof = inclusion_proof(index, size, nodes)
    verify_inclusion(lh, index, size, proof, root)

    rule = "merkle.inclusion"
    for i in range(len(proof)):
        for j in range(HASH_SIZE):
            bad = flipped(proof, i, j, mask)
            must_fail(rule, verify_inclusion, lh, index, size, bad, root)
    must_fail(rule, verify_inclusion, lh, index, size, proof, flipped([root], 0, 0, mask)[0])
    must_fail(rule, verify_inclusion, flipped([lh], 0, 31, mask)[0], index, size, proof, root)
    must_fail(rule, verify_inclusion, lh, index, size, [*proof, root], root)
    if proof:
        must_fail(rule, verify_inclusion, lh, index, size, proof[:-1], root)

    if size > 1:
        other = draw.draw(st.integers(0, size - 1).filter(lambda k: k != index))
        must_fail(rule, verify_inclusion, lh, other, size, proof, root)
    must_fail(rule, verify_inclusion, lh, size, size, proof, root)
    # A wrong size, checked against the root a checkpoint of that size would carry.
    if not index + 1 == size == BIG:
        wrong = draw.draw(st.integers(index + 1, BIG).filter(lambda s: s != size))
        must_fail(rule, verify_inclusion, lh, index, wrong, proof, roots[wrong])


@settings(max_examples=80, deadline=None)
@given(two_sizes(), st.integers(1, 255), st.data())
def test_consistency_random(sizes: tuple[int, int], mask: int, draw: st.DataObject) -> None:
    size1, size2 = sizes
    _, nodes, roots, _ = tree(BIG)
    root1, root2 = roots[size1], roots[size2]
    proof = consistency_proof(size1, size2, nodes)
    verify_consistency(size1, size2, proof, root1, root2)

    rule = "merkle.consistency"
    for i in range(len(proof)):
        for j in range(HASH_SIZE):
            bad = flipped(proof, i, j, mask)
            must_fail(rule, verify_consistency, size1, size2, bad, root1, root2)
    bad1 = flipped([root1], 0, 7, mask)[0]
    must_fail(rule, verify_consistency, size1, size2, proof, bad1, root2)
    bad2 = flipped([root2], 0, 7, mask)[0]
    must_fail(rule, verify_consistency, size1, size2, proof, root1, bad2)
    must_fail(rule, verify_consistency, size1, size2, [*proof, root2], root1, root2)
    if proof:
        must_fail(rule, verify_consistency, size1, size2, proof[:-1], root1, root2)

    # Wrong sizes, each checked against the roots of the sizes claimed.
    if size2 > 1:
        w1 = draw.draw(st.integers(1, size2).filter(lambda s: s != size1))
        must_fail(rule, verify_consistency, w1, size2, proof, roots[w1], root2)
    if not size1 == size2 == BIG:
        w2 = draw.draw(st.integers(size1, BIG).filter(lambda s: s != size2))
        must_fail(rule, verify_consistency, size1, w2, proof, root1, roots[w2])
