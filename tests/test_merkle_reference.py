"""``verifier.core.merkle`` against the literal RFC 9162 definitions
(tests/merkle_reference.py), exhaustively for trees of 1..64 leaves: roots, every inclusion
path, every consistency proof, each served from a node map (as the ledger's storage does),
also for older tree sizes; and the CompactRange and range helpers they rest on.

pymerkle as a second oracle: tests/test_merkle_pymerkle.py; hypothesis for trees up to 2000
leaves, generated proofs verify and tampering is caught: tests/test_merkle_tampering.py.
"""

from __future__ import annotations

import pytest

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
from tests.merkle_trees import SMALL, must_fail, tree
from verifier.core.compact_range import CompactRange
from verifier.core.errors import InputError
from verifier.core.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

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
