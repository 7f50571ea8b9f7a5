"""RFC 9162 Merkle hashing and proof verification (FORMAT.md §5), pure functions.

Hashing is RFC 9162 §2.1.1; :func:`verify_inclusion` and :func:`verify_consistency` are
exactly the algorithms of §2.1.3.2 and §2.1.4.2, plus: every hash is exactly 32 bytes. They
return ``None`` or raise :class:`~verifier.core.errors.VerificationError` with rule
``merkle.inclusion`` or ``merkle.consistency``. Producing proofs is ``ledger.proofs``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from verifier.core.errors import VerificationError

HASH_SIZE = 32
"""Length in bytes of every hash: SHA-256 (RFC 9162 §2.1, FORMAT.md §5)."""
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""``MTH({})``, the root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""
RULE_INCLUSION = "merkle.inclusion"
RULE_CONSISTENCY = "merkle.consistency"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``, a leaf (RFC 9162 §2.1.1). Cost: one SHA-256 of len + 1 bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``, an interior node (RFC 9162 §2.1.1). Precondition:
    both are 32-byte hashes (not checked; callers validate untrusted input). Cost: one
    SHA-256 of 65 bytes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_path_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf ``index`` in a tree of ``size``:
    ``inner`` levels below where the paths to ``index`` and ``size - 1`` meet, plus one per
    complete left subtree above (as transparency-dev/merkle). ``0 <= index < size``. O(1)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_path_length(size1: int, size2: int) -> int:
    """Number of hashes in the consistency proof from ``size1`` to ``size2`` (RFC 9162
    §2.1.4.1). Precondition: ``0 < size1 < size2``. Cost: O(1)."""
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner = (((size1 - 1) ^ (size2 - 1)).bit_length()) - shift
    border = ((size1 - 1) >> (inner + shift)).bit_count()
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner + border


def _short(h: bytes) -> str:
    """First 8 hex digits of a hash, for error messages."""
    return h[:4].hex() + "…"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_hash(rule: str, name: str, value: bytes) -> None:
    """Raise :class:`VerificationError` unless ``value`` is exactly 32 bytes."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else "not bytes"
        raise VerificationError(
            rule, f"{name} is {got}, want {HASH_SIZE}; {name} 哈希长度错误", field=name
        )


def _check_proof_hashes(rule: str, proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(rule, f"proof[{i}]", p)


def _wrong_length(
    rule: str, proof: Sequence[bytes], more: bool, needed: str, zh: str, index: int | None = None
) -> VerificationError:
    """The error for a proof longer (``more``) or shorter than its sizes need."""
    fault = "more" if more else "fewer"
    return VerificationError(
        rule, f"proof has {len(proof)} hashes, {fault} than the {needed}; {zh}", index=index
    )


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Return the root that an inclusion proof yields (RFC 9162 §2.1.3.2 steps 1-5, ``r``).

    The caller compares it with a trusted root (:func:`verify_inclusion` does). Raises
    ``merkle.inclusion`` if ``index >= size``, any hash is not 32 bytes, or the proof has the
    wrong number of elements for ``(index, size)``. Cost: ``len(proof)`` node hashes, and at
    most ``bit_length(size)`` elements are ever consumed.
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
    needed = (
        f"{inclusion_path_length(index, size)} that leaf {index} of a tree of size {size} needs"
    )
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise _wrong_length(rule, proof, True, needed, "证明路径过长", index)
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
        raise _wrong_length(rule, proof, False, needed, "证明路径过短", index)
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    RFC 9162 §2.1.3.2 via :func:`root_from_inclusion`; ``root`` must be 32 bytes too. Raises
    ``merkle.inclusion`` with ``index`` set. An inclusion proof alone does not bind ``size``:
    ``root`` must come from a trusted (signed) checkpoint of that size. Cost: O(len(proof)).
    """
    _check_hash(RULE_INCLUSION, "root", root)
    r = root_from_inclusion(leaf_hash, index, size, proof)
    if r != root:
        raise VerificationError(
            RULE_INCLUSION,
            f"computed root {_short(r)} differs from checkpoint root {_short(root)} "
            f"(leaf {index}, tree size {size}); 根哈希不一致",
            index=index,
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with ``root1`` is a prefix of ``size2``/``root2``.

    RFC 9162 §2.1.4.2 for ``0 < size1 < size2``, every hash (both roots, every proof element)
    32 bytes. Equal sizes: the proof must be empty and the roots equal as given (RFC 6962
    vectors). ``size1 == 0`` is an error, as in those vectors (FORMAT.md §5.2: callers check
    the empty tree without a proof), and so is ``size1 > size2``. Raises
    ``merkle.consistency``. Cost: O(len(proof)) hashes; at most ~2·log2(size2) elements are
    ever consumed.
    """
    rule = RULE_CONSISTENCY
    _check_consistency_sizes(size1, size2)
    if size1 == size2:  # nothing is hashed; roots compared as given (RFC 6962 vectors)
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
    fr, sr = _roots_from_consistency(size1, size2, proof, root1)
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


def consistency_roots(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """The old and new roots ``(fr, sr)`` that a consistency proof implies (RFC 9162
    §2.1.4.2 steps 2-7), for callers that judge them other than by equality with two trusted
    roots, e.g. fork evidence (FORMAT.md §16). When ``size1`` is a power of two the proof
    does not state the old root: ``root1`` seeds the computation and ``fr`` is ``root1``.

    Raises ``merkle.consistency`` unless ``0 < size1 < size2``, every hash is 32 bytes and
    the proof has exactly the length the sizes need. Cost: as :func:`verify_consistency`.
    """
    _check_consistency_sizes(size1, size2)
    if size1 == size2:
        raise VerificationError(
            RULE_CONSISTENCY, f"equal tree sizes ({size1}) imply no roots; 同大小无一致性证明"
        )
    _check_hash(RULE_CONSISTENCY, "root1", root1)
    _check_proof_hashes(RULE_CONSISTENCY, proof)
    if not proof:
        raise VerificationError(
            RULE_CONSISTENCY, f"empty proof for tree sizes {size1} < {size2}; 一致性证明为空"
        )
    return _roots_from_consistency(size1, size2, proof, root1)


def _check_consistency_sizes(size1: int, size2: int) -> None:
    """Require integers ``0 < size1 <= size2`` (else ``merkle.consistency``)."""
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


def _roots_from_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-7: the old and new roots ``(fr, sr)`` the proof yields.

    Preconditions: ``0 < size1 < size2``, ``proof`` non-empty, every hash 32 bytes. Raises
    ``merkle.consistency`` if the proof is longer or shorter than needed for the sizes.
    Cost: at most two node hashes per proof element.
    """
    needed = f"{consistency_path_length(size1, size2)} needed from size {size1} to {size2}"
    path: list[bytes] = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _wrong_length(RULE_CONSISTENCY, proof, True, needed, "一致性证明过长")
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
        raise _wrong_length(RULE_CONSISTENCY, proof, False, needed, "一致性证明过短")
    return fr, sr
