"""Proof reads over stored Merkle nodes (FORMAT.md §5), with a cache of recent and high nodes.

:class:`ProofReader` answers :meth:`ledger.log.Ledger.inclusion_proof`,
:meth:`~ledger.log.Ledger.inclusion_proofs` and :meth:`~ledger.log.Ledger.consistency_proof`
from the store; which nodes a proof needs and how they fold is :mod:`ledger.proofs` (pure).
Readers run in other threads while the writer appends: every read is of committed nodes only,
and the cache is replaced, never mutated in a way a concurrent reader could observe half-done.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger import proofs
from ledger.records import ConsistencyProof, InclusionProof
from ledger.store.contract import LedgerReader, LedgerStore, NodeKey, NodeRow
from verifier.core import compact_range
from verifier.core.errors import InputError

#: Nodes fetched per query by :meth:`ProofReader.inclusion_proofs` (SQLite limits the depth
#: of an expression to 1,000 terms by default).
NODES_PER_READ = 400
#: The node cache keeps every node over the last this many leaves …
RECENT_LEAVES = 1 << 16
#: … and every node at this level or higher (one per 4,096 leaves: 250 per 1M entries).
HIGH_LEVEL = 12


class NodeCache:
    """Merkle nodes kept in memory so that receipts for recent entries need no read: those
    over the last :data:`RECENT_LEAVES` leaves and those at level :data:`HIGH_LEVEL` or higher.
    Only committed nodes. A plain dict read is safe in other threads; the writer adds keys and
    swaps in a trimmed copy, never removes from the dict readers hold."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self._trimmed_at = 0

    def remember(self, rows: Sequence[NodeRow], size: int) -> None:
        """Add nodes just committed (the tree now has ``size`` leaves); every
        :data:`RECENT_LEAVES` leaves, drop the low nodes that fell out of the recent window
        (a new dict, swapped in). O(1) amortised per node."""
        cache = self.nodes
        for level, idx, h in rows:
            cache[(level, idx)] = h
        if size - self._trimmed_at >= RECENT_LEAVES:
            floor = size - RECENT_LEAVES
            # Iterate over a copy (taken atomically under the GIL): reader threads may add
            # high nodes to ``cache`` meanwhile (:meth:`keep_high`).
            self.nodes = {
                (lvl, i): h
                for (lvl, i), h in cache.copy().items()
                if lvl >= HIGH_LEVEL or (i + 1) << lvl > floor
            }
            self._trimmed_at = size

    def keep_high(self, nodes: dict[NodeKey, bytes]) -> None:
        """Cache the high nodes among ``nodes`` (read from the store; they never change)."""
        cache = self.nodes
        for node, h in nodes.items():
            if node[0] >= HIGH_LEVEL:
                cache[node] = h


def tree_at(reader: LedgerReader, size: int) -> compact_range.CompactRange:
    """The compact range (peaks) of the stored tree of ``size`` leaves. O(log n) reads."""
    keys = proofs.peak_nodes(size)
    nodes = reader.nodes(keys)
    return compact_range.CompactRange(size, [nodes[k] for k in keys])


def _check_size(size: int, current: int, name: str = "size") -> None:
    if not 0 < size <= current:
        raise InputError(f"{name} must be between 1 and {current}", field=name)


class ProofReader:
    """Inclusion and consistency proofs for any tree size up to ``current`` (the caller's
    committed size). Raises :class:`InputError` for arguments out of range."""

    def __init__(self, store: LedgerStore, cache: NodeCache) -> None:
        self.store = store
        self.cache = cache

    def inclusion_proof(self, index: int, size: int, current: int) -> InclusionProof:
        """Inclusion proof of entry ``index`` in the tree of ``size``. Cost: one query of
        O(log n) rows, O(log n) hashing."""
        _check_size(size, current)
        if not 0 <= index < size:
            raise InputError(f"index must be between 0 and {size - 1}", field="index")
        ranges = proofs.inclusion_ranges(index, size)
        peaks = proofs.peak_nodes(size)
        with self.store.reading() as reader:
            nodes = reader.nodes(proofs.nodes_needed(ranges) + peaks)
        path = proofs.hash_ranges(ranges, nodes)
        root = compact_range.CompactRange(size, [nodes[k] for k in peaks]).root()
        return InclusionProof(index, size, root, path)

    def inclusion_proofs(
        self, indices: Sequence[int], size: int, current: int
    ) -> list[list[bytes]]:
        """Inclusion paths of many entries in the tree of ``size``, with one batched read of
        the union of their nodes not in the cache (a batch's receipts share most of them).
        Precondition: every index in ``[0, size)``. Cost: O(k log n) for k indices, in reads
        of at most :data:`NODES_PER_READ` nodes."""
        _check_size(size, current)
        ranges = [proofs.inclusion_ranges(i, size) for i in indices]
        # Neighbouring leaves share most of their paths: hash each distinct range once.
        unique = list(dict.fromkeys(r for rs in ranges for r in rs))
        cache = self.cache.nodes
        nodes: dict[NodeKey, bytes] = {}
        missing: list[NodeKey] = []
        for node in proofs.nodes_needed(unique):
            h = cache.get(node)
            if h is None:
                missing.append(node)
            else:
                nodes[node] = h
        if missing:
            read: dict[NodeKey, bytes] = {}
            with self.store.reading() as reader:
                for k in range(0, len(missing), NODES_PER_READ):
                    read.update(reader.nodes(missing[k : k + NODES_PER_READ]))
            self.cache.keep_high(read)
            nodes.update(read)
        hashes = dict(zip(unique, proofs.hash_ranges(unique, nodes), strict=True))
        return [[hashes[r] for r in rs] for rs in ranges]

    def consistency_proof(self, size1: int, size2: int, current: int) -> ConsistencyProof:
        """Consistency proof from ``size1`` to ``size2``. O(log n)."""
        _check_size(size2, current, "size2")
        _check_size(size1, size2, "size1")
        ranges = proofs.consistency_ranges(size1, size2)
        p1, p2 = proofs.peak_nodes(size1), proofs.peak_nodes(size2)
        with self.store.reading() as reader:
            nodes = reader.nodes(list({*proofs.nodes_needed(ranges), *p1, *p2}))
        return ConsistencyProof(
            size1,
            size2,
            compact_range.CompactRange(size1, [nodes[k] for k in p1]).root(),
            compact_range.CompactRange(size2, [nodes[k] for k in p2]).root(),
            proofs.hash_ranges(ranges, nodes),
        )


__all__ = ["HIGH_LEVEL", "NODES_PER_READ", "RECENT_LEAVES", "NodeCache", "ProofReader", "tree_at"]
