"""Fork evidence (FORMAT.md §16): a self-contained file proving that a log key signed two
inconsistent checkpoints. Pure functions: :func:`encode_fork_evidence` writes one,
:func:`parse_fork_evidence` reads its structure and :func:`check_fork_evidence` judges it
with nothing but the log key.

The file is ``gongxin/fork-evidence@v1``, the first checkpoint verbatim, an empty line, then
exactly a C2SP tlog-witness ``add-checkpoint`` body (FORMAT.md §14) that a witness holding
the first checkpoint must refuse: ``old <size 1>``, the proof lines, an empty line and the
second checkpoint verbatim. Checkpoint texts and signature blocks contain no empty line
(§6), so the file splits at its empty lines into exactly five blocks.

Why a proof convicts (collision resistance of SHA-256): if the RFC 9162 §2.1.4.2 arithmetic
over the proof yields checkpoint 2's root, the proof hashes are the true nodes of tree 2,
and the old root it yields is the hash of tree 2's first ``size 1`` entries. If that differs
from checkpoint 1's root, the log key signed two trees that no append-only log can both
have. When ``size 1`` is a power of two RFC 9162 omits that node from the proof (the
verifier is assumed to know it), so the file's proof carries it first.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.core.checkpoint import Checkpoint, open_checkpoint_as
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, b64decode_canonical
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE, consistency_roots

__all__ = [
    "HEADER",
    "MAX_EVIDENCE_BYTES",
    "MAX_PROOF_LINES",
    "ForkEvidence",
    "ForkProof",
    "check_fork_evidence",
    "encode_fork_evidence",
    "evidence_proof",
    "parse_fork_evidence",
]

HEADER = "gongxin/fork-evidence@v1"
"""First line of every fork evidence file (version 1 of this format)."""
MAX_EVIDENCE_BYTES = 256 * 1024
"""Largest evidence file read: two checkpoints with 100 signature lines each fit easily."""
MAX_PROOF_LINES = 64
"""Most proof lines: RFC 9162 needs at most 63 below 2**63 entries, plus the old subtree."""
RULE_CONSISTENT = "fork.consistent"
RULE_PROOF = "fork.proof"
_FIELD = "fork evidence"


@dataclass(frozen=True)
class ForkEvidence:
    """The parts of an evidence file (not yet judged): both notes verbatim (UTF-8 text) and
    the proof hashes (32 bytes each, at most :data:`MAX_PROOF_LINES`)."""

    old_note: str
    old_size: int
    proof: tuple[bytes, ...]
    new_note: str


@dataclass(frozen=True)
class ForkProof:
    """A proven fork: the two checkpoints the log key signed, and the root that checkpoint 2's
    tree has at checkpoint 1's size (``None`` when the sizes are equal: the roots differ)."""

    old: Checkpoint
    new: Checkpoint
    old_root_in_new: bytes | None

    def describe(self) -> str:
        """One English clause saying what the log key signed."""
        o, n = self.old, self.new
        if self.old_root_in_new is None:
            return (
                f"the log key signed two checkpoints of size {o.size}: root {_short(o.root)}"
                f" and root {_short(n.root)}"
            )
        return (
            f"the log key signed size {o.size} root {_short(o.root)} and size {n.size}"
            f" whose first {o.size} entries hash to {_short(self.old_root_in_new)}"
        )


def _short(h: bytes) -> str:
    return h[:4].hex() + "…"


def _bad(message: str) -> InputError:
    return InputError(f"not a fork evidence file: {message}", field=_FIELD)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def evidence_proof(
    old_size: int, new_size: int, rfc_proof: Sequence[bytes], old_root_in_new: bytes | None
) -> list[bytes]:
    """The proof lines of an evidence file from an RFC 9162 consistency proof computed from
    tree 2: when ``0 < old_size < new_size`` and ``old_size`` is a power of two, the hash of
    tree 2's first ``old_size`` entries (``old_root_in_new``, required then) comes first.
    :class:`InputError` if it is needed and missing. Cost: O(len(rfc_proof))."""
    if 0 < old_size < new_size and _is_power_of_two(old_size):
        if old_root_in_new is None or len(old_root_in_new) != HASH_SIZE:
            raise InputError(
                f"old size {old_size} is a power of two: the hash of the new tree's first "
                f"{old_size} entries must be given",
                field="old_root_in_new",
            )
        return [old_root_in_new, *rfc_proof]
    return list(rfc_proof)


def encode_fork_evidence(old_note: str, new_note: str, proof: Sequence[bytes]) -> bytes:
    """The evidence file for two signed checkpoint notes (the smaller first, each ending in
    ``\\n``) and the proof lines (:func:`evidence_proof`). Only the framing is checked here
    (:class:`InputError`); :func:`check_fork_evidence` judges the result. O(total length)."""
    size = _size_line(old_note)
    if len(proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in proof):
        raise InputError(f"the proof must be at most {MAX_PROOF_LINES} 32-byte hashes")
    lines = [f"old {size}\n", *(base64.b64encode(h).decode("ascii") + "\n" for h in proof)]
    data = f"{HEADER}\n{old_note}\n{''.join(lines)}\n{new_note}".encode()
    parse_fork_evidence(data)  # the framing round-trips, or InputError
    return data


def _size_line(note: str) -> str:
    """The second line of a checkpoint note (its size, not yet verified)."""
    lines = note.split("\n", 2)
    if len(lines) < 3 or not lines[1].isdigit():
        raise InputError("a checkpoint note has its size on line 2", field="old_note")
    return lines[1]


def parse_fork_evidence(data: bytes) -> ForkEvidence:
    """Split an evidence file into its parts (FORMAT.md §16). :class:`InputError` (nothing
    was judged) for a file over :data:`MAX_EVIDENCE_BYTES`, not UTF-8, a wrong first line,
    not five blocks, a bad ``old`` line or proof line. Cost: O(len(data))."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise _bad(f"larger than {MAX_EVIDENCE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"not UTF-8 (byte offset {exc.start})") from None
    header, _, rest = text.partition("\n")
    if header != HEADER:
        raise _bad(f"the first line must be {HEADER!r}")
    blocks = rest.split("\n\n")
    if len(blocks) != 5 or not blocks[4].endswith("\n"):
        raise _bad(
            f"want checkpoint 1 (text, empty line, signatures), an empty line, the old/proof "
            f"lines, an empty line and checkpoint 2; found {len(blocks)} blocks"
        )
    old_text, old_sigs, request, new_text, new_sigs = blocks
    old_line, *proof_lines = request.split("\n")
    old_size = _parse_old(old_line)
    if len(proof_lines) > MAX_PROOF_LINES:
        raise _bad(f"more than {MAX_PROOF_LINES} proof lines")
    proof = []
    for number, line in enumerate(proof_lines, start=1):
        digest = b64decode_canonical(line)
        if digest is None or len(digest) != HASH_SIZE:
            raise _bad(f"proof line {number} is not canonical base64 of a 32-byte hash")
        proof.append(digest)
    return ForkEvidence(
        f"{old_text}\n\n{old_sigs}\n", old_size, tuple(proof), f"{new_text}\n\n{new_sigs}"
    )


def _parse_old(line: str) -> int:
    word, _, number = line.partition(" ")
    if (
        word != "old"
        or not number.isascii()
        or not number.isdigit()
        or (number != "0" and number.startswith("0"))
        or len(number) > 19
    ):
        raise _bad(f"want 'old <size>' (decimal, no leading zeros), found {line[:40]!r}")
    return int(number)


def check_fork_evidence(data: bytes, log_key: VerifierKey) -> ForkProof:
    """Judge an evidence file with only the log key; return the proven fork.

    Both notes must open as checkpoints under ``log_key`` (``note.*``, ``checkpoint.*``, with
    the field naming which), ``old`` must be checkpoint 1's size and at most checkpoint 2's
    (:class:`InputError` otherwise: the file is mis-assembled). Then: equal sizes need no
    proof lines and different roots; size 1 of 0 needs no proof lines and a root other than
    the empty tree's; else the proof (the old subtree first when size 1 is a power of two)
    must yield checkpoint 2's root (``fork.proof``) and an old root other than checkpoint 1's
    (``fork.consistent``: the checkpoints are consistent, no fork). Cost: two Ed25519
    verifications and at most ~130 SHA-256 hashes.
    """
    ev = parse_fork_evidence(data)
    old = open_checkpoint_as(ev.old_note, log_key, "checkpoint 1")
    new = open_checkpoint_as(ev.new_note, log_key, "checkpoint 2")
    if ev.old_size != old.size:
        raise _bad(f"'old {ev.old_size}' is not checkpoint 1's size {old.size}")
    if old.size > new.size:
        raise _bad(f"checkpoint 1 (size {old.size}) is larger than checkpoint 2 ({new.size})")
    if old.size in (0, new.size):
        if ev.proof:
            raise VerificationError(
                RULE_PROOF,
                f"sizes {old.size} and {new.size} need no proof lines, found {len(ev.proof)}",
            )
        old_root = new.root if old.size == new.size else EMPTY_ROOT
        if old.root == old_root:
            raise VerificationError(
                RULE_CONSISTENT,
                f"checkpoint 1 (size {old.size}) is consistent with checkpoint 2"
                " (same root); 两个检查点一致，不是分叉证据",
            )
        return ForkProof(old, new, None if old.size == new.size else old_root)
    return _judge_proof(old, new, ev.proof)


def _judge_proof(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> ForkProof:
    """The ``0 < size 1 < size 2`` case of :func:`check_fork_evidence`."""
    seeded = _is_power_of_two(old.size)
    if seeded and not proof:
        raise VerificationError(RULE_PROOF, "no proof lines (the old subtree comes first)")
    seed, rest = (proof[0], proof[1:]) if seeded else (old.root, proof)
    try:
        implied_old, implied_new = consistency_roots(old.size, new.size, rest, seed)
    except VerificationError as exc:
        raise VerificationError(RULE_PROOF, f"{exc.detail}; 证明无效") from None
    if implied_new != new.root:
        raise VerificationError(
            RULE_PROOF,
            f"the proof yields root {_short(implied_new)} for size {new.size}, not checkpoint"
            f" 2's root {_short(new.root)}: it proves nothing; 证明与检查点2不符",
        )
    if implied_old == old.root:
        raise VerificationError(
            RULE_CONSISTENT,
            f"tree {new.size}'s first {old.size} entries hash to checkpoint 1's root "
            f"{_short(old.root)}: the checkpoints are consistent; 两个检查点一致，不是分叉证据",
        )
    return ForkProof(old, new, implied_old)
