"""``verifier.core.merkle`` under hypothesis, for trees up to 2000 leaves: generated
inclusion and consistency proofs verify, and every tampering — a flipped bit in any proof
element or root, a proof too long or too short, a wrong index or tree size — is caught."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.proofs import consistency_proof, inclusion_proof
from tests.merkle_trees import BIG, must_fail, tree
from verifier.core.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion


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
