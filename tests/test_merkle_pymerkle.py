"""``verifier.core.merkle`` and ``ledger.proofs`` against pymerkle, an independent
implementation: roots, inclusion paths and consistency proofs for every size up to 40, and
for random sizes up to 2000 leaves."""

from __future__ import annotations

import functools
import random

import pymerkle
import pytest

from ledger.proofs import consistency_proof, consistency_ranges, inclusion_proof
from tests.merkle_trees import BIG, tree
from verifier.core.merkle import leaf_hash, verify_consistency


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
