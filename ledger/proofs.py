"""Producing RFC 9162 proofs from stored nodes (FORMAT.md §5): the log's half of the math.

The pure range math lives in :mod:`verifier.tiles.ranges` (shared with proofs computed from
a log's tiles, :mod:`verifier.tiles.prove`); this module re-exports every name so ledger code
keeps importing ``ledger.proofs``. See :mod:`verifier.tiles.ranges` for the functions'
preconditions and cost. Pure functions; no I/O.
"""

from __future__ import annotations

from verifier.tiles.ranges import (
    Node,
    Range,
    consistency_proof,
    consistency_ranges,
    hash_ranges,
    inclusion_proof,
    inclusion_ranges,
    nodes_needed,
    peak_nodes,
    range_nodes,
    root_of,
    split,
)

__all__ = [
    "Node",
    "Range",
    "consistency_proof",
    "consistency_ranges",
    "hash_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "nodes_needed",
    "peak_nodes",
    "range_nodes",
    "root_of",
    "split",
]
