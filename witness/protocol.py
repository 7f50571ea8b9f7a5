"""``POST /add-checkpoint`` of C2SP tlog-witness, without HTTP: :func:`parse_request` reads
the body, :class:`Witness` decides the reply (status, content type, body).

Request body: ``old <size>\\n``, at most 63 consistency-proof lines (base64 of a 32-byte
hash), an empty line, then the signed checkpoint. Replies: 200 with the cosignature line;
400 malformed request or ``old`` > checkpoint size; 403 no valid signature by the log's key;
404 unknown origin; 409 with the stored size (``text/x.tlog.size``) when ``old`` is not the
stored size, or equal sizes with different roots; 422 consistency proof does not verify.
A log added with ``--verify-rules`` is also checked by :mod:`witness.verifying` (its new
entries replayed through its tiles) after the consistency check: 422 when they break a rule,
503 when they cannot be fetched.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from verifier.core.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import b64decode_canonical, parse_verifier_key
from verifier.core.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from witness.keys import WitnessSigner
from witness.store import LogConfig, WitnessStore
from witness.verifying import RuleChecker

MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024
"""Largest request body read (a checkpoint with 100 signature lines fits well within it)."""
SIZE_TYPE = "text/x.tlog.size"
_OLD_RE = re.compile(rb"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class Request:
    """A parsed add-checkpoint body."""

    old: int
    proof: list[bytes]
    note: bytes


@dataclass(frozen=True)
class Reply:
    """What to answer: HTTP status, content type and body."""

    status: int
    content_type: str
    body: bytes


def _text(status: int, message: str) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"))


def parse_request(body: bytes) -> Request:
    """Parse an add-checkpoint body; :class:`InputError` (→ 400) naming the fault.
    Cost: O(len(body))."""
    lines = body.split(b"\n", MAX_PROOF_LINES + 2)
    match = _OLD_RE.fullmatch(lines[0])
    if len(lines) < 2 or match is None:
        raise InputError("first line must be 'old <size>' (decimal, no leading zeros)")
    proof: list[bytes] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line and number < len(lines):  # an empty line, not the end of the body
            note = b"\n".join(lines[number:])
            return Request(int(match.group(1)), proof, note)
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise InputError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        digest = b64decode_canonical(line.decode("ascii", "replace"))
        if digest is None or len(digest) != HASH_SIZE:
            raise InputError(f"line {number} is not base64 of a 32-byte hash")
        proof.append(digest)
    raise InputError("no empty line before the checkpoint")


def _origin_of(note: bytes) -> str:
    """The first line of the note, the checkpoint's origin (not yet verified)."""
    first, newline, _ = note.partition(b"\n")
    try:
        origin = first.decode("utf-8")
    except UnicodeDecodeError:
        origin = ""
    if not newline or not origin:
        raise InputError("the checkpoint has no origin line")
    return origin


class Witness:
    """The add-checkpoint decision over a :class:`WitnessStore`, serialised per origin."""

    def __init__(
        self, store: WitnessStore, signer: WitnessSigner, rules: RuleChecker | None = None
    ) -> None:
        self.store = store
        self.signer = signer
        self.rules = rules if rules is not None else RuleChecker.beside(store.path)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, origin: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(origin, threading.Lock())

    def add_checkpoint(self, body: bytes) -> Reply:
        """Check and cosign one submission. Cost: one Ed25519 verification, O(63) hashes,
        one fsync'd SQLite commit and one Ed25519 signature."""
        try:
            request = parse_request(body)
            origin = _origin_of(request.note)
        except InputError as exc:
            return _text(400, exc.message)
        config = self.store.log_config(origin)
        if config is None:
            return _text(404, f"unknown log origin {origin!r}")
        try:
            cp = open_checkpoint(request.note, parse_verifier_key(config.log_vkey))
        except VerificationError as exc:
            status = 400 if exc.rule.endswith(".malformed") else 403
            return _text(status, exc.one_line())
        if request.old > cp.size:
            return _text(400, f"old size {request.old} exceeds checkpoint size {cp.size}")
        with self._lock(origin):
            return self._advance(request, cp, config)

    def _advance(self, request: Request, cp: Checkpoint, config: LogConfig) -> Reply:
        """The checks against the stored checkpoint, then store and cosign (lock held)."""
        stored = self.store.latest(cp.origin)
        current = 0 if stored is None else stored.size
        if request.old != current:
            return Reply(409, SIZE_TYPE, f"{current}\n".encode())
        old_root = EMPTY_ROOT if stored is None else _root_of(stored.note)
        if request.old == cp.size and cp.root != old_root:
            return _text(409, f"checkpoint at the stored size {cp.size} has a different root")
        try:
            _check_consistency(request, cp, old_root)
        except VerificationError as exc:
            return _text(422, exc.one_line())
        if config.verify_rules:
            refused = self.rules.check(config, cp, request.note)
            if refused is not None:
                return _text(refused.status, refused.text)
        note = request.note.decode("utf-8")
        conflict = self.store.advance(cp.origin, request.old, cp.size, note)
        if conflict is not None:
            return Reply(409, SIZE_TYPE, f"{conflict}\n".encode())
        body = request.note[: request.note.rindex(b"\n\n") + 1]
        return Reply(200, "text/plain; charset=utf-8", self.signer.cosign(body).encode())


def _root_of(note: str) -> bytes:
    """The root hash of a stored (already verified) checkpoint note."""
    return parse_checkpoint_body(note[: note.rindex("\n\n") + 1]).root


def _check_consistency(request: Request, cp: Checkpoint, old_root: bytes) -> None:
    """Raise ``merkle.consistency`` unless ``cp`` extends the stored tree (``old``,
    ``old_root``) by ``request.proof``; from size 0 (or between equal sizes, whose roots
    the caller compared) the proof must be empty."""
    if request.old == 0 or request.old == cp.size:
        if request.proof:
            raise VerificationError("merkle.consistency", "the proof must be empty here")
        return
    verify_consistency(request.old, cp.size, request.proof, old_root, cp.root)
