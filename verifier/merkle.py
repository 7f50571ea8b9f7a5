"""RFC 9162 (RFC 6962) Merkle tree hashing and proofs, pure functions (FORMAT.md §5).

Gongxin's log is an RFC 9162 §2.1 Merkle tree over the entries' leaf data:

- ``leaf_hash(d) = SHA-256(0x00 ‖ d)``, ``node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)``;
- ``MTH({}) = SHA-256("")`` (:data:`EMPTY_ROOT`), ``MTH(D[n]) = node_hash(MTH(D[0:k]),
  MTH(D[k:n]))`` where ``k`` is the largest power of two smaller than ``n``
  (RFC 9162 §2.1.1).

The module has three parts:

1. Tree hashing: :func:`root_of` and :class:`CompactRange`, the O(log n) "right edge" of a
   tree that the ledger's append path and the streaming verifier extend one leaf at a time.
2. Proof generation over stored *complete aligned subtrees* ("nodes"). A node ``(level,
   index)`` is the hash of leaves ``[index·2^level, (index+1)·2^level)``; it never changes
   once complete, so storage keeps exactly the nodes :meth:`CompactRange.append` reports.
   Every proof element is ``MTH(D[start:end])`` for some range; :func:`inclusion_ranges` and
   :func:`consistency_ranges` name the ranges (RFC 9162 §2.1.3.1, §2.1.4.1),
   :func:`nodes_needed` lists the nodes to read in one batch and :func:`hash_ranges` folds
   them. Proofs can be produced for any tree size up to the stored one.
3. Proof verification, exactly the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2:
   :func:`verify_inclusion` and :func:`verify_consistency` return ``None`` or raise
   :class:`~verifier.errors.VerificationError` with rule ``merkle.inclusion`` or
   ``merkle.consistency``.

Standard library only; no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from verifier.errors import InputError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "consistency_ranges",
    "hash_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "peak_nodes",
    "range_nodes",
    "root_from_inclusion",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash: SHA-256 (RFC 9162 §2.1, FORMAT.md §5)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""``MTH({})``, the root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

RULE_INCLUSION = "merkle.inclusion"
RULE_CONSISTENCY = "merkle.consistency"

Node = tuple[int, int]
"""A complete aligned subtree ``(level, index)``: leaves ``[index·2^level, (index+1)·2^level)``."""

Range = tuple[int, int]
"""A half-open leaf range ``(start, end)``."""


# --------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Return ``SHA-256(0x00 ‖ data)``, the hash of one leaf (RFC 9162 §2.1.1, FORMAT.md §5).

    Cost: one SHA-256 over ``len(data) + 1`` bytes.
    """
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``SHA-256(0x01 ‖ left ‖ right)``, an interior node (RFC 9162 §2.1.1).

    Preconditions: ``left`` and ``right`` are hashes (32 bytes); not checked here, callers
    validate untrusted input. Cost: one SHA-256 over 65 bytes.
    """
    return hashlib.sha256(b"\x01" + left + right).digest()


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Fold subtree hashes given left to right in decreasing size into one root.

    ``h = hashes[-1]; for p in reversed(hashes[:-1]): h = node_hash(p, h)``. Precondition:
    ``hashes`` is non-empty and is the decomposition of a range (RFC 9162 §2.1.1: the left
    child of a non-power-of-two tree is its largest complete subtree). Cost: ``len - 1``
    hashes.
    """
    h = hashes[-1]
    for p in reversed(hashes[:-1]):
        h = node_hash(p, h)
    return h


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (RFC 9162 §2.1.1's ``k``); ``n > 1``."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash_input(name: str, value: bytes) -> None:
    """Raise :class:`InputError` unless ``value`` is exactly :data:`HASH_SIZE` bytes."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise InputError(f"expected a {HASH_SIZE}-byte hash, got {got}", field=name)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return ``MTH`` of a list of leaf hashes (RFC 9162 §2.1.1, FORMAT.md §5).

    Iterative: keeps only the right edge (O(log n) memory) and computes exactly ``n - 1``
    node hashes for ``n`` leaves. :data:`EMPTY_ROOT` for no leaves.

    Raises :class:`InputError` if a leaf hash is not 32 bytes.
    """
    peaks: list[bytes] = []
    for n, leaf in enumerate(leaf_hashes):
        _check_hash_input(f"leaf_hashes[{n}]", leaf)
        h = bytes(leaf)
        carry = n
        while carry & 1:
            h = node_hash(peaks.pop(), h)
            carry >>= 1
        peaks.append(h)
    return _fold(peaks) if peaks else EMPTY_ROOT


class CompactRange:
    """Right edge ("peaks") of a tree of ``size`` leaves (RFC 9162 §2.1.1, FORMAT.md §5).

    ``peaks`` holds the hashes of the complete aligned subtrees that make up ``[0, size)``, in
    decreasing size, one per set bit of ``size`` (their positions are
    :func:`peak_nodes` ``(size)``). O(log n) memory. Used by the streaming verifier and by the
    ledger's append path; :meth:`append` reports every node that becomes complete so that
    storage can keep them for proof generation.
    """

    __slots__ = ("peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        """Start from a known right edge (default: the empty tree).

        Raises :class:`InputError` unless ``size >= 0``, ``len(peaks) == popcount(size)`` and
        every peak is 32 bytes. Cost: O(log size).
        """
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"tree size must be a non-negative integer, got {size!r}")
        if len(peaks) != size.bit_count():
            raise InputError(
                f"a tree of size {size} has {size.bit_count()} peaks, got {len(peaks)}",
                field="peaks",
            )
        for i, p in enumerate(peaks):
            _check_hash_input(f"peaks[{i}]", p)
        self.size: int = size
        self.peaks: list[bytes] = [bytes(p) for p in peaks]

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return every node that became complete, as (level, index, hash).

        The first item is ``(0, n, leaf_hash)`` for the new leaf ``n`` (the old size), then
        each merged parent in increasing level: ``(L, k, h)`` covers leaves
        ``[k·2^L, (k+1)·2^L)``. Cost: one node hash per trailing 1-bit of the old size
        (amortised < 1 hash per append). Raises :class:`InputError` if ``leaf_hash`` is not
        32 bytes.
        """
        _check_hash_input("leaf_hash", leaf_hash)
        h = bytes(leaf_hash)
        index = self.size
        completed = [(0, index, h)]
        level = 0
        while index & 1:
            h = node_hash(self.peaks.pop(), h)
            level += 1
            index >>= 1
            completed.append((level, index, h))
        self.peaks.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """Return ``MTH`` of the ``size`` leaves: the peaks folded right to left.

        :data:`EMPTY_ROOT` when ``size == 0``. Cost: ``popcount(size) - 1`` node hashes.
        """
        return _fold(self.peaks) if self.peaks else EMPTY_ROOT

    def copy(self) -> CompactRange:
        """Return an independent copy (the peak list is copied, hashes are immutable)."""
        return CompactRange(self.size, self.peaks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self.size == other.size and self.peaks == other.peaks

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        peaks = ", ".join(p.hex()[:8] for p in self.peaks)
        return f"CompactRange(size={self.size}, peaks=[{peaks}])"


def peak_nodes(size: int) -> list[Node]:
    """Return the ``(level, index)`` of the peaks of a tree of ``size`` leaves, left to right.

    One per set bit of ``size``, in decreasing level; these are the nodes whose hashes
    :attr:`CompactRange.peaks` holds (RFC 9162 §2.1.1, FORMAT.md §5). ``[]`` for size 0.
    Raises :class:`InputError` if ``size < 0``. Cost: O(log size).
    """
    if size < 0:
        raise InputError(f"tree size must be non-negative, got {size}")
    return range_nodes(0, size) if size else []


# --------------------------------------------------------------------------------------------
# Proof generation over stored nodes
# --------------------------------------------------------------------------------------------


def range_nodes(start: int, end: int) -> list[Node]:
    """Decompose the leaf range ``[start, end)`` into complete aligned subtrees.

    Returns ``(level, index)`` pairs left to right in decreasing size, one per set bit of
    ``end - start``; ``MTH(D[start:end])`` is their hashes folded right to left (RFC 9162
    §2.1.1: the left child is the largest complete subtree). A range that is itself a
    complete aligned subtree yields one node; otherwise it is "right-ragged".

    Precondition (checked, :class:`InputError` otherwise): ``0 <= start < end`` and ``start``
    is a multiple of the largest power of two ``<= end - start``, so that every part is
    aligned. Every range produced by the RFC 9162 §2.1.3.1/§2.1.4.1 recursion satisfies it.
    Cost: O(log(end - start)).
    """
    if not 0 <= start < end:
        raise InputError(f"invalid leaf range [{start}, {end})")
    width = end - start
    top = width.bit_length() - 1
    if start & ((1 << top) - 1):
        raise InputError(f"leaf range [{start}, {end}) is not aligned to complete subtrees")
    nodes: list[Node] = []
    pos = start
    for level in range(top, -1, -1):
        if width >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Return the ranges whose ``MTH`` form the inclusion path of leaf ``index`` in ``size``.

    This is ``PATH(m, D[n])`` of RFC 9162 §2.1.3.1 with each element named by its leaf range,
    in proof order (the leaf's sibling first, the root's child last). ``[]`` for a tree of one
    leaf. Raises :class:`InputError` unless ``0 <= index < size``. Cost: O(log size).
    """
    if not 0 <= index < size:
        raise InputError(f"leaf index {index} is out of range for tree size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """Return the ranges whose ``MTH`` form the consistency proof from ``size1`` to ``size2``.

    This is ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` of RFC 9162 §2.1.4.1, each element
    named by its leaf range, in proof order. ``[]`` when ``size1 == size2``.

    Raises :class:`InputError` unless ``0 < size1 <= size2``: the empty tree is trivially
    consistent with every tree and has no proof (callers handle ``size1 == 0`` without one,
    see :func:`verify_consistency`). Cost: O(log size2).
    """
    if not 0 < size1 <= size2:
        raise InputError(f"no consistency proof from tree size {size1} to {size2}")
    ranges: list[Range] = []
    start, end, m, whole = 0, size2, size1, True
    while True:
        if m == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def nodes_needed(ranges: Iterable[Range]) -> list[Node]:
    """Return the stored nodes needed to hash ``ranges``, deduplicated, for one batched read.

    The union of :func:`range_nodes` over the ranges, in first-use order. Raises
    :class:`InputError` for a range :func:`range_nodes` rejects. Cost: O(Σ log width).
    """
    needed: dict[Node, None] = {}
    for start, end in ranges:
        for node in range_nodes(start, end):
            needed[node] = None
    return list(needed)


def hash_ranges(ranges: Iterable[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return ``MTH(D[start:end])`` of each range, computed from stored nodes.

    ``nodes`` maps ``(level, index)`` to the node's hash and must contain
    :func:`nodes_needed` ``(ranges)`` (extra entries are ignored). Raises :class:`InputError`
    naming the first missing node. Cost: O(log width) lookups and hashes per range
    (FORMAT.md §5).
    """
    out: list[bytes] = []
    for start, end in ranges:
        parts: list[bytes] = []
        for node in range_nodes(start, end):
            try:
                parts.append(nodes[node])
            except KeyError:
                raise InputError(
                    f"node (level {node[0]}, index {node[1]}) needed for range "
                    f"[{start}, {end}) is not stored",
                    field="nodes",
                ) from None
        out.append(_fold(parts))
    return out


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``.

    ``nodes`` holds the complete nodes of a tree of at least ``size`` leaves (the proof is for
    the prefix of ``size`` leaves). Raises :class:`InputError` for ``index >= size`` or a
    missing node. Cost: O(log² size) hashes at worst, usually O(log size).
    """
    return hash_ranges(inclusion_ranges(index, size), nodes)


def consistency_proof(size1: int, size2: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof from ``size1`` to ``size2``.

    ``nodes`` holds the complete nodes of a tree of at least ``size2`` leaves. ``[]`` when
    ``size1 == size2``. Raises :class:`InputError` unless ``0 < size1 <= size2``, or for a
    missing node. Cost: O(log² size2) hashes at worst.
    """
    return hash_ranges(consistency_ranges(size1, size2), nodes)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def _short(h: bytes) -> str:
    """First 8 hex digits of a hash, for error messages."""
    return h[:4].hex() + "…"


def _check_hash(rule: str, name: str, value: bytes) -> None:
    """Raise :class:`VerificationError` unless ``value`` is exactly 32 bytes."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else "not bytes"
        raise VerificationError(
            rule, f"{name} is {got}, want {HASH_SIZE}; {name} 哈希长度错误", field=name
        )


def _check_proof_hashes(rule: str, proof: Sequence[bytes]) -> None:
    """Check every proof element is 32 bytes (RFC 9162 §2.1 hashes are fixed-size)."""
    for i, p in enumerate(proof):
        _check_hash(rule, f"proof[{i}]", p)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Return the root that an inclusion proof yields (RFC 9162 §2.1.3.2, FORMAT.md §5).

    Runs steps 1-5 of the RFC algorithm and returns ``r``; the caller compares it with a
    trusted root (:func:`verify_inclusion` does). Raises :class:`VerificationError` (rule
    ``merkle.inclusion``) if ``index >= size``, any hash is not 32 bytes, or the proof has
    the wrong number of elements for ``(index, size)``. Cost: ``len(proof)`` node hashes,
    and at most ``bit_length(size)`` elements are ever consumed.
    """
    rule = RULE_INCLUSION
    if not (_is_int(index) and _is_int(size) and 0 <= index < size):
        raise VerificationError(
            rule,
            f"leaf index {index} is not below tree size {size}; 叶索引超出树大小",
            index=index if _is_int(index) and index >= 0 else None,
        )
    _check_hash(rule, "leaf hash", leaf_hash)
    _check_proof_hashes(rule, proof)

    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise VerificationError(
                rule,
                f"proof has {len(proof)} hashes, more than the "
                f"{len(inclusion_ranges(index, size))} that leaf {index} of a tree of size "
                f"{size} needs; 证明路径过长",
                index=index,
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            rule,
            f"proof has {len(proof)} hashes, fewer than the "
            f"{len(inclusion_ranges(index, size))} that leaf {index} of a tree of size "
            f"{size} needs; 证明路径过短",
            index=index,
        )
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Exactly RFC 9162 §2.1.3.2 (FORMAT.md §5), plus: every hash (leaf, root, proof element)
    must be exactly 32 bytes. Returns ``None`` or raises :class:`VerificationError` with rule
    ``merkle.inclusion`` and ``index`` set to the leaf index.

    Note: an inclusion proof alone does not bind ``size``; ``root`` must come from a trusted
    (signed) checkpoint of that size. Cost: O(len(proof)) hashes.
    """
    rule = RULE_INCLUSION
    _check_hash(rule, "root", root)
    r = root_from_inclusion(leaf_hash, index, size, proof)
    if r != root:
        raise VerificationError(
            rule,
            f"computed root {_short(r)} differs from checkpoint root {_short(root)} "
            f"(leaf {index}, tree size {size}); 根哈希不一致",
            index=index,
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with ``root1`` is a prefix of ``size2``/``root2``.

    Exactly RFC 9162 §2.1.4.2 (FORMAT.md §5) for ``0 < size1 < size2``; for
    ``size1 == size2`` the proof must be empty and the roots equal (compared as given, as the
    RFC 6962 vectors require). Otherwise every hash (both roots, every proof element) must be
    exactly 32 bytes.

    ``size1 == 0`` is an error here (as in the RFC 6962 test vectors): the empty tree is
    trivially consistent with every tree, so there is no proof to check and callers must
    handle it without calling this function. ``size1 > size2`` is an error.

    Returns ``None`` or raises :class:`VerificationError` with rule ``merkle.consistency``.
    Cost: O(len(proof)) hashes, at most ~2·log2(size2) elements are ever consumed.
    """
    rule = RULE_CONSISTENCY
    if not (_is_int(size1) and _is_int(size2) and size1 >= 0 and size2 >= 0):
        raise VerificationError(rule, f"invalid tree sizes {size1}, {size2}; 树大小无效")
    if size1 > size2:
        raise VerificationError(
            rule, f"old tree size {size1} exceeds new tree size {size2}; 旧树大于新树"
        )
    if size1 == 0:
        raise VerificationError(
            rule,
            "no consistency proof exists from the empty tree (size 0): it is trivially "
            "consistent and must be handled without a proof; 空树无需一致性证明",
        )
    if size1 == size2:
        # Equal sizes: nothing is hashed, the roots are compared as given (this is what the
        # RFC 6962 vector "sizes-are-equal-one-and-proof-is-empty" requires; roots taken
        # from checkpoints are always 32 bytes anyway).
        if proof:
            raise VerificationError(
                rule,
                f"tree sizes are equal ({size1}) but the proof has {len(proof)} hashes, "
                "want none; 同大小证明须为空",
            )
        if root1 != root2:
            raise VerificationError(
                rule,
                f"roots differ at equal tree size {size1}: {_short(root1)} vs "
                f"{_short(root2)}; 同大小根哈希不一致",
            )
        return
    _check_hash(rule, "root1", root1)
    _check_hash(rule, "root2", root2)
    _check_proof_hashes(rule, proof)
    if not proof:
        raise VerificationError(
            rule, f"empty proof for tree sizes {size1} < {size2}; 一致性证明为空"
        )

    expected = len(consistency_ranges(size1, size2))
    path: list[bytes] = list(proof)
    if size1 & (size1 - 1) == 0:  # RFC 9162 §2.1.4.2 step 2: size1 is a power of two
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(
                rule,
                f"proof has {len(proof)} hashes, more than the {expected} needed from size "
                f"{size1} to {size2}; 一致性证明过长",
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            rule,
            f"proof has {len(proof)} hashes, fewer than the {expected} needed from size "
            f"{size1} to {size2}; 一致性证明过短",
        )
    if fr != root1:
        raise VerificationError(
            rule,
            f"computed old root {_short(fr)} differs from checkpoint root {_short(root1)} "
            f"(size {size1}); 旧根哈希不一致",
        )
    if sr != root2:
        raise VerificationError(
            rule,
            f"computed new root {_short(sr)} differs from checkpoint root {_short(root2)} "
            f"(size {size2}); 新根哈希不一致",
        )
