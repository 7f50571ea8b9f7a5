"""Streaming verification of an export bundle (FORMAT.md §8, §9), and light-mode inclusion.

An export bundle is a directory holding

- ``entries.jsonl``: every entry line in index order, each followed by ``\\n`` (the line
  without its newline is the Merkle leaf data, FORMAT.md §4, §5);
- ``checkpoint``: a C2SP tlog-checkpoint signed by the log key, covering every entry;
- ``log.vkey``: a convenience copy of the log's verifier key. It is never trusted: the user
  names the log key (``--log-key``), obtained out of band.

:func:`verify_bundle` checks everything a third party can check, in these steps (numbered
the same way in the code):

1. open the checkpoint under the given log key (its origin must be the key's name);
2. stream ``entries.jsonl``: every line must end with ``\\n``; each line is parsed strictly
   (canonical JSON and shape), hashed as a Merkle leaf, judged by
   :meth:`verifier.state.LogState.check_and_apply` — the same function the ledger runs before
   it accepts an entry (index, hash chain, log time, kind, keys, roles, signatures, rules) —
   and appended to an O(log n) compact range;
3. genesis: its origin is the checkpoint's, its log key is the given log key and, when
   authority keys are given, its authority set is exactly theirs;
4. after the last line: the number of lines is the checkpoint's tree size and the entries'
   Merkle root is the checkpoint's root;
5. with a previous checkpoint (one the auditor saw earlier): it is opened under the log
   key too, it may not be larger than the current one, and the root over its first
   ``size`` entries must be its root — otherwise the log was rewritten.

Memory is O(log n) for the tree plus a bounded window of chunks in flight, plus what
:class:`~verifier.state.LogState` keeps (the key registry and the statement ids inside the
7-day replay window).

Parallelism. The cost is one Ed25519 verification per signature, then strict parsing, then
the replay. ``workers=1`` runs everything in this process (the reference path). With more
workers the file is read in chunks of :data:`CHUNK_LINES` lines, at most
:data:`WINDOW_PER_WORKER` chunks per worker in flight (never further ahead: bounded memory),
and the main process replays the state strictly in order. The stateless work is split one
of two ways:

- up to :data:`MAIN_PARSES_UP_TO` workers: the main process parses each line and the workers
  only verify (public key, message, signature) triples
  (:func:`verifier.parallel.verify_triples`). This does every step exactly once, so it
  spends the least CPU in total, which is what counts when every core is busy (measured
  ~12 % faster than the alternative on 2 cores);
- with more workers: the workers also parse (:func:`check_chunk`) and the main process
  rebuilds each entry from its already-checked line, which costs more CPU in total but
  keeps the serial part small, so it scales with the number of cores.

Either way the workers only pre-verify: they know keys from the grants read so far, not the
registry, so a signature counts as verified only when the key it verified under is the
registry's key for it at that index (``verified_keys`` of
:meth:`~verifier.state.LogState.check_and_apply`); a signature a worker could not verify,
or verified under another key, is verified again in-process. (The workers run this same
package, so their positive answers are trusted like in-process ones.)

Failures raise :class:`VerificationError` naming the first failing entry index (when there is
one), the rule and what differed; unusable input (a missing file) raises :class:`InputError`.

Attribution of hash-chain breaks. Signatures cover the statement, not the fields the log adds
(``index``, ``log_time``, ``prev``), so some edits are only visible one entry later: after
``log_time`` of entry ``j-1`` is changed, entry ``j-1`` still passes every check, and it is
entry ``j``'s ``prev`` that no longer matches. The verifier then looks at entry ``j+1``: if
it is consistent with entry ``j``, entry ``j`` is intact and entry ``j-1`` was altered (rule
``entry.altered``, index ``j-1``); if not, entry ``j`` itself was changed (rule
``entry.prev_hash``, index ``j``). For the last entry, the checkpoint root decides instead.
Likewise, when the hash chain is intact but the root differs, the chain binds every entry
but the last to the last one's ``prev``, so it is the last entry that differs from the one
the checkpoint covers (rule ``merkle.root``, index ``size - 1``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from verifier.checkpoint import EMPTY_ROOT, Checkpoint, open_checkpoint
from verifier.entry import Entry, Signature, Statement, parse_entry_line
from verifier.errors import InputError, VerificationError
from verifier.merkle import CompactRange, leaf_hash, verify_inclusion
from verifier.note import VerifierKey, parse_verifier_key, verify_ed25519
from verifier.parallel import default_workers, verify_triples
from verifier.state import LogState

__all__ = [
    "CHECKPOINT_FILE",
    "ENTRIES_FILE",
    "LOG_VKEY_FILE",
    "AuditReport",
    "InclusionReport",
    "KeyInfo",
    "parse_inclusion_proof",
    "verify_bundle",
    "verify_inclusion_file",
]

ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint"
LOG_VKEY_FILE = "log.vkey"

#: Lines per chunk handed to a worker (a chunk also ends after :data:`CHUNK_BYTES`).
CHUNK_LINES = 2000
CHUNK_BYTES = 4 << 20
#: Chunks in flight per worker: bounds memory (the file is never read further ahead).
WINDOW_PER_WORKER = 2
#: Longest entry line accepted (rule ``export.line_too_long``); bounds memory per line.
MAX_LINE_BYTES = 8 << 20
#: Largest checkpoint file read (a checkpoint is a few hundred bytes).
MAX_CHECKPOINT_BYTES = 1 << 20
#: Up to this many workers, the main process parses and the workers only verify signatures;
#: with more, the workers parse too (see "Parallelism" in the module docstring).
MAIN_PARSES_UP_TO = 2
#: With ``workers=None``, exports smaller than this are verified in-process (no pool start).
SMALL_EXPORT_BYTES = 512 << 10

_GRANT = b'"kind":"key.grant"'
_GENESIS = b'"kind":"log.genesis"'


# ------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class KeyInfo:
    """One key of the replayed registry (FORMAT.md §7)."""

    key_id: str
    name: str
    roles: list[str]
    granted_at: int
    revoked_at: int | None
    key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "roles": self.roles,
            "granted_at": self.granted_at,
            "revoked_at": self.revoked_at,
            "key": self.key,
        }


@dataclass
class AuditReport:
    """What a successful :func:`verify_bundle` established."""

    origin: str
    tree_size: int
    root: str
    log_key: str
    entries_by_kind: dict[str, int]
    keys: list[KeyInfo]
    previous_checkpoint_size: int | None
    elapsed_seconds: float
    workers: int = 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``valid`` is always ``True`` (failures raise)."""
        return {
            "valid": True,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": self.root,
            "log_key": self.log_key,
            "entries_by_kind": dict(sorted(self.entries_by_kind.items())),
            "keys": [k.to_json() for k in self.keys],
            "previous_checkpoint_size": self.previous_checkpoint_size,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "workers": self.workers,
        }


@dataclass(frozen=True)
class InclusionReport:
    """What a successful :func:`verify_inclusion_file` established."""

    origin: str
    tree_size: int
    root: str
    leaf_index: int
    leaf_hash: str
    kind: str
    statement_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": True,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": self.root,
            "leaf_index": self.leaf_index,
            "leaf_hash": self.leaf_hash,
            "kind": self.kind,
            "statement_id": self.statement_id,
        }


# ------------------------------------------------------------------------------- workers


WorkerResult = tuple[bytes, list[tuple[bytes | None, ...]], dict[str, Any] | None]


def _keys_in_body(kind: str, body: Any) -> list[VerifierKey]:
    """The verifier keys a ``key.grant`` / ``log.genesis`` body introduces (best effort:
    anything malformed is skipped — the registry judges it later)."""
    if type(body) is not dict:
        return []
    texts: list[Any] = []
    if kind == "key.grant":
        texts = [body.get("key")]
    elif kind == "log.genesis":
        auths = body.get("authorities")
        texts = list(auths) if type(auths) is list else []
    out: list[VerifierKey] = []
    for text in texts:
        if type(text) is str:
            with contextlib.suppress(InputError):
                out.append(parse_verifier_key(text))
    return out


def check_chunk(first: int, lines: Sequence[bytes], known: dict[str, bytes]) -> WorkerResult:
    """The stateless part of step 2 for a chunk of lines; runs in a worker process.

    For each line (index ``first + k``, without newline): :func:`parse_entry_line` (strict
    canonical form and shape), its leaf hash, and each signature verified under
    ``known[key_id]`` — or, when unknown, under a key introduced by a ``key.grant`` or
    ``log.genesis`` earlier in the chunk. Returns the leaf hashes concatenated, per line the
    public key each signature verified under (or ``None``), and the first parse error (as
    :meth:`VerificationError.as_dict`, index set) — lines after it are not examined.
    Advisory: the caller still runs every stateful check and re-verifies any signature whose
    key is not the registry's. Pure; cost ≈ one Ed25519 verification per signature.
    """
    keys = dict(known)
    leaves = bytearray()
    verified: list[tuple[bytes | None, ...]] = []
    for k, line in enumerate(lines):
        try:
            entry = parse_entry_line(line, first + k)
        except VerificationError as exc:
            return bytes(leaves), verified, exc.as_dict()
        leaves += leaf_hash(line)
        st = entry.statement
        message: bytes | None = None
        result: list[bytes | None] = []
        for sig in entry.signatures:
            pub = keys.get(sig.key_id)
            if pub is not None:
                if message is None:
                    message = st.message()
                if not verify_ed25519(pub, message, sig.sig):
                    pub = None
            result.append(pub)
        verified.append(tuple(result))
        if st.kind == "key.grant" or st.kind == "log.genesis":
            for key in _keys_in_body(st.kind, st.body):
                keys.setdefault(key.key_id_hex, key.public_key)
    return bytes(leaves), verified, None


def _entry_from_checked(
    line: bytes, _loads: Any = orjson.loads, _b64: Any = binascii.a2b_base64
) -> Entry:
    """Rebuild the :class:`Entry` of a line a worker has already passed through
    :func:`parse_entry_line` (so it is canonical and well-shaped): ~5x cheaper than parsing
    it strictly again. Precondition: that check succeeded on exactly these bytes."""
    d = _loads(line)
    st = d["statement"]
    return Entry(
        d["index"],
        d["log_time"],
        d["prev"],
        Statement(st["kind"], st["id"], st["time"], st["signer"], st["body"], st),
        tuple([Signature(s["key_id"], _b64(s["sig"])) for s in d["signatures"]]),
    )


def _error_from_dict(d: dict[str, Any]) -> VerificationError:
    return VerificationError(
        d["rule"], d["detail"], index=d["index"], key_id=d["key_id"], field=d["field"]
    )


# ------------------------------------------------------------------------------- reading


@dataclass(slots=True)
class _Chunk:
    """Consecutive lines of ``entries.jsonl`` (newlines removed).

    ``tail`` is a last line that did not end with a newline (end of file) or that exceeded
    :data:`MAX_LINE_BYTES` (``tail_too_long``); reading stops after it.
    """

    first: int
    lines: list[bytes]
    end_offset: int
    tail: bytes | None = None
    tail_too_long: bool = False
    #: parse-in-workers mode: a :func:`check_chunk` result; main-parses mode: one bool per
    #: triple of :func:`verifier.parallel.verify_triples`.
    future: Future[Any] | None = None
    # Main-parses mode only: the parsed entries and their leaf hashes (up to the first parse
    # error, kept in ``error``), and (line, signature, public key) of each submitted triple.
    entries: list[Entry] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    slots: list[tuple[int, int, bytes]] = field(default_factory=list)
    error: VerificationError | None = None

    @property
    def end(self) -> int:
        """Index after the last complete line."""
        return self.first + len(self.lines)


class _Reader:
    """Reads ``entries.jsonl`` in chunks; never more than asked (bounded memory)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.next_index = 0
        self.offset = 0
        self.eof = False

    def read(self) -> _Chunk | None:
        if self.eof:
            return None
        readline = self.fh.readline
        limit = MAX_LINE_BYTES + 1
        lines: list[bytes] = []
        chunk = _Chunk(self.next_index, lines, self.offset)
        size = 0
        while len(lines) < CHUNK_LINES and size < CHUNK_BYTES:
            line = readline(limit)
            if not line:
                self.eof = True
                break
            self.offset += len(line)
            if line[-1] != 0x0A:
                chunk.tail = line
                chunk.tail_too_long = len(line) == limit
                self.eof = True
                break
            lines.append(line[:-1])
            size += len(line)
        chunk.end_offset = self.offset
        self.next_index += len(lines) + (chunk.tail is not None)
        if not lines and chunk.tail is None:
            return None
        return chunk


# ------------------------------------------------------------------------------- the audit


class _Audit:
    """Replay state of one :func:`verify_bundle` run (steps 2–5)."""

    def __init__(
        self,
        cp: Checkpoint,
        log_key: VerifierKey,
        authority_keys: Sequence[VerifierKey],
        previous: Checkpoint | None,
    ) -> None:
        self.cp = cp
        self.log_key = log_key
        self.authority_keys = authority_keys
        self.previous = previous
        self.state = LogState()
        self.tree = CompactRange()
        self.kinds: Counter[str] = Counter()
        #: key id -> public key of every key a grant or genesis read so far introduced: the
        #: keys sent to the workers (advisory, see module docstring).
        self.hints: dict[str, bytes] = {}
        self.pending: deque[_Chunk] = deque()
        self.reader: _Reader | None = None

    # -- per entry ---------------------------------------------------------------------

    def _check_within(self, i: int) -> None:
        """Step 4, early: a line beyond the checkpoint's tree size is an error at once."""
        if i >= self.cp.size:
            raise VerificationError(
                "export.size",
                f"entries.jsonl has more lines than the {self.cp.size} entries the checkpoint "
                f"covers: entry {i} is extra; 条目数多于检查点",
                index=i,
            )

    def _apply(
        self,
        entry: Entry,
        leaf: bytes,
        verified: Sequence[bytes | None] | None,
        chunk: _Chunk,
        k: int,
    ) -> None:
        """Step 2 (stateful part), then steps 3 and 5 when their entry is reached."""
        i = chunk.first + k
        try:
            self.state.check_and_apply(entry, leaf, verified_keys=verified)
        except VerificationError as exc:
            if exc.rule == "entry.prev_hash" and exc.index == i:
                raise self._attribute_chain_break(i, leaf, chunk, k, exc) from None
            raise
        if i == 0:
            self._check_genesis()
        self.tree.append(leaf)
        self.kinds[entry.statement.kind] += 1
        if self.previous is not None and self.tree.size == self.previous.size:
            self._check_previous()

    def _tail(self, chunk: _Chunk) -> None:
        """A last line without a newline, or one too long to read."""
        assert chunk.tail is not None
        i = chunk.end
        self._check_within(i)
        if chunk.tail_too_long:
            raise VerificationError(
                "export.line_too_long",
                f"line is longer than {MAX_LINE_BYTES} bytes; 行过长",
                index=i,
            )
        raise VerificationError(
            "export.truncated_line",
            "the last line of entries.jsonl does not end with a newline (the file was cut "
            "short or edited); 最后一行不完整",
            index=i,
        )

    def _line_after(self, chunk: _Chunk, k: int) -> bytes | None:
        """The raw bytes of the line after ``chunk.lines[k]`` (for error attribution)."""
        if k + 1 < len(chunk.lines):
            return chunk.lines[k + 1]
        if chunk.tail is not None:
            return chunk.tail
        nxt = self.pending[0] if self.pending else (self.reader.read() if self.reader else None)
        if nxt is None:
            return None
        return nxt.lines[0] if nxt.lines else nxt.tail

    def _attribute_chain_break(
        self, j: int, leaf: bytes, chunk: _Chunk, k: int, exc: VerificationError
    ) -> VerificationError:
        """Entry ``j``'s ``prev`` is not the leaf hash of entry ``j-1``: decide which of the
        two was changed (see "Attribution of hash-chain breaks" in the module docstring)."""
        if j == 0:
            return exc
        line = chunk.lines[k]
        nxt = self._line_after(chunk, k)
        if nxt is not None:
            try:
                following = parse_entry_line(nxt.rstrip(b"\n"), j + 1)
            except VerificationError:
                return exc
            if following.prev != leaf.hex():
                return exc
            return VerificationError(
                "entry.altered",
                f"entry {j - 1} does not hash to the prev recorded by entry {j}, while entry "
                f"{j} is consistent with entry {j + 1}: entry {j - 1} was changed after it "
                "was logged (e.g. its log_time, which signatures do not cover); 条目被篡改",
                index=j - 1,
            )
        if j != self.cp.size - 1:
            return exc
        # The last entry: would it match the checkpoint with the prev the chain expects?
        obj = orjson.loads(line)
        obj["prev"] = self.state.prev
        repaired = self.tree.copy()
        repaired.append(leaf_hash(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)))
        if repaired.root() == self.cp.root:
            return exc
        return VerificationError(
            "entry.altered",
            f"entry {j - 1} does not hash to the prev recorded by the last entry {j}, and "
            f"entry {j} with that prev repaired does not match the checkpoint either: entry "
            f"{j - 1} was changed after it was logged (or both were); 条目被篡改",
            index=j - 1,
        )

    # -- steps 3, 4, 5 -----------------------------------------------------------------

    def _check_genesis(self) -> None:
        """Step 3: the genesis entry names this checkpoint's origin, the given log key and
        (when given) exactly the given authority keys."""
        reg = self.state.registry
        if reg.origin != self.cp.origin:
            raise VerificationError(
                "genesis.origin",
                f"genesis names origin {reg.origin!r}, the checkpoint {self.cp.origin!r}; 源不符",
                index=0,
                field="statement.body.origin",
            )
        if reg.log_key != self.log_key:
            got = f"{reg.log_key.name}+{reg.log_key.key_id_hex}" if reg.log_key else "none"
            raise VerificationError(
                "genesis.log_key",
                f"genesis names log key {got}, not the given --log-key "
                f"{self.log_key.name}+{self.log_key.key_id_hex}; 日志密钥不符",
                index=0,
                key_id=reg.log_key.key_id_hex if reg.log_key else None,
                field="statement.body.log_key",
            )
        if self.authority_keys:
            given = {str(k) for k in self.authority_keys}
            named = {str(rec.key) for rec in reg.keys.values()}
            if given != named:
                missing = sorted(k.split("+")[1] for k in given - named)
                extra = sorted(k.split("+")[1] for k in named - given)
                raise VerificationError(
                    "genesis.authorities",
                    "the genesis authority keys are not exactly the given --authority-key "
                    f"keys (genesis lacks {', '.join(missing) or 'none'}; genesis also has "
                    f"{', '.join(extra) or 'none'}); 权威密钥不符",
                    index=0,
                    field="statement.body.authorities",
                )

    def _check_previous(self) -> None:
        """Step 5: the first ``previous.size`` entries hash to the previous root."""
        prev = self.previous
        assert prev is not None and prev.size > 0
        if self.tree.root() != prev.root:
            n = prev.size
            raise VerificationError(
                "checkpoint.inconsistent",
                f"the first {n} entries do not hash to the root of the previous checkpoint "
                f"(size {n}): the log was rewritten at or before entry {n - 1}, the last "
                "entry that checkpoint covers; 日志在此前被改写",
                index=n - 1,
                field="previous_checkpoint",
            )

    def finish(self) -> None:
        """Step 4: every entry of the checkpoint is present and the roots agree."""
        n = self.state.size
        if n < self.cp.size:
            raise VerificationError(
                "export.size",
                f"entries.jsonl ends after {n} entries but the checkpoint covers "
                f"{self.cp.size}: entry {n} is missing; 条目缺失",
                index=n,
            )
        if n == 0:
            raise VerificationError(
                "genesis.missing",
                "the export holds no entries; a log starts with its log.genesis entry; 无创世条目",
                index=0,
            )
        root = self.tree.root()
        if root != self.cp.root:
            raise VerificationError(
                "merkle.root",
                f"the entries hash to root {root.hex()[:16]}…, the checkpoint says "
                f"{self.cp.root.hex()[:16]}…; the hash chain binds every earlier entry to the "
                f"last one, so entry {n - 1} is not the entry the checkpoint covers; 根哈希不一致",
                index=n - 1,
            )

    # -- drivers -----------------------------------------------------------------------

    def run_inline(
        self, reader: _Reader, progress: Callable[[int, int], None] | None, total: int
    ) -> None:
        """Steps 2–5 in this process: the reference path (also used for ``workers=1``)."""
        self.reader = reader
        while (chunk := reader.read()) is not None:
            for k, line in enumerate(chunk.lines):
                i = chunk.first + k
                self._check_within(i)
                entry = parse_entry_line(line, i)
                self._apply(entry, leaf_hash(line), None, chunk, k)
            if chunk.tail is not None:
                self._tail(chunk)
            if progress is not None:
                progress(chunk.end_offset, total)

    def _learn(self, found: Sequence[VerifierKey]) -> None:
        new = {k.key_id_hex: k.public_key for k in found if k.key_id_hex not in self.hints}
        if new:
            # Copy on write: a dict already submitted may still be being pickled by the
            # pool's feeder thread, so it is never mutated.
            self.hints = {**self.hints, **new}

    def _hint_keys(self, chunk: _Chunk) -> None:
        """Parse-in-workers mode: learn the keys that grants and genesis in ``chunk``
        introduce before sending it, so that workers of later chunks can verify their
        signatures (cheap: a substring test per line, a JSON parse only for the rare
        key-management lines)."""
        for line in chunk.lines:
            if _GRANT in line or _GENESIS in line:
                try:
                    st = orjson.loads(line)["statement"]
                    found = _keys_in_body(st["kind"], st["body"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
                self._learn(found)

    def _parse_chunk(self, chunk: _Chunk) -> list[tuple[bytes, bytes, bytes]]:
        """Main-parses mode: parse ``chunk`` here (up to its first error, which is kept for
        when the entries before it have been applied) and return the (public key, message,
        signature) triples for the workers, under the keys introduced so far."""
        triples: list[tuple[bytes, bytes, bytes]] = []
        entries, leaves, slots = chunk.entries, chunk.leaves, chunk.slots
        for k, line in enumerate(chunk.lines):
            try:
                entry = parse_entry_line(line, chunk.first + k)
            except VerificationError as exc:
                chunk.error = exc
                break
            entries.append(entry)
            leaves.append(leaf_hash(line))
            st = entry.statement
            if st.kind == "key.grant" or st.kind == "log.genesis":
                self._learn(_keys_in_body(st.kind, st.body))
            hints = self.hints
            message: bytes | None = None
            for n, sig in enumerate(entry.signatures):
                pub = hints.get(sig.key_id)
                if pub is not None:
                    if message is None:
                        message = st.message()
                    triples.append((pub, message, sig.sig))
                    slots.append((k, n, pub))
        return triples

    def run_parallel(
        self, reader: _Reader, workers: int, progress: Callable[[int, int], None] | None, total: int
    ) -> None:
        """Steps 2–5 with the stateless work in ``workers`` processes, in bounded chunks.

        Two ways to split the work (see "Parallelism" in the module docstring): with up to
        :data:`MAIN_PARSES_UP_TO` workers this process parses and the workers only verify
        signatures; with more, the workers also parse (:func:`check_chunk`).
        """
        self.reader = reader
        main_parses = workers <= MAIN_PARSES_UP_TO
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        window = max(2, WINDOW_PER_WORKER * workers)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
        try:
            while True:
                while len(self.pending) < window and (chunk := reader.read()) is not None:
                    if main_parses:
                        triples = self._parse_chunk(chunk)
                        if triples:
                            chunk.future = pool.submit(verify_triples, triples)
                    else:
                        self._hint_keys(chunk)
                        if chunk.lines:
                            chunk.future = pool.submit(
                                check_chunk, chunk.first, chunk.lines, self.hints
                            )
                    self.pending.append(chunk)
                if not self.pending:
                    break
                chunk = self.pending.popleft()
                if main_parses:
                    self._apply_parsed(chunk)
                else:
                    self._process_result(chunk)
                if progress is not None:
                    progress(chunk.end_offset, total)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _apply_parsed(self, chunk: _Chunk) -> None:
        """Main-parses mode: apply a parsed chunk once its signatures are checked."""
        ok: list[bool] = chunk.future.result() if chunk.future is not None else []
        chunk.future = None
        verified: list[list[bytes | None]] = [[None] * len(e.signatures) for e in chunk.entries]
        for (k, n, pub), good in zip(chunk.slots, ok, strict=True):
            if good:
                verified[k][n] = pub
        for k, entry in enumerate(chunk.entries):
            self._check_within(chunk.first + k)
            self._apply(entry, chunk.leaves[k], verified[k], chunk, k)
        if chunk.error is not None:
            # Entries before the failing line were applied first, so an earlier stateful
            # failure wins; this is the first failing index.
            self._check_within(chunk.first + len(chunk.entries))
            raise chunk.error
        if chunk.tail is not None:
            self._tail(chunk)

    def _process_result(self, chunk: _Chunk) -> None:
        """Parse-in-workers mode: apply a chunk from its :func:`check_chunk` result."""
        if chunk.future is not None:
            leaves, verified, error = chunk.future.result()
            chunk.future = None
            for k, keys in enumerate(verified):
                self._check_within(chunk.first + k)
                entry = _entry_from_checked(chunk.lines[k])
                self._apply(entry, leaves[32 * k : 32 * k + 32], keys, chunk, k)
            if error is not None:
                self._check_within(chunk.first + len(verified))
                raise _error_from_dict(error)
        if chunk.tail is not None:
            self._tail(chunk)

    def report(self, elapsed: float, workers: int) -> AuditReport:
        reg = self.state.registry
        keys = [
            KeyInfo(
                kid, rec.key.name, sorted(rec.roles), rec.granted_at, rec.revoked_at, str(rec.key)
            )
            for kid, rec in sorted(reg.keys.items(), key=lambda kv: (kv[1].granted_at, kv[0]))
        ]
        return AuditReport(
            origin=self.cp.origin,
            tree_size=self.cp.size,
            root=self.cp.root.hex(),
            log_key=str(self.log_key),
            entries_by_kind=dict(self.kinds),
            keys=keys,
            previous_checkpoint_size=self.previous.size if self.previous else None,
            elapsed_seconds=elapsed,
            workers=workers,
        )


# ------------------------------------------------------------------------------- public API


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(
            f"{what} not found: {path}; pass the directory written by `gongxin export`",
            field=str(path),
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", field=str(path)) from None
    if len(data) > limit:
        raise InputError(
            f"{what} is larger than {limit} bytes; is this the right file?", field=str(path)
        )
    return data


def _open(note: str | bytes, log_key: VerifierKey, what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, log_key)
    except VerificationError as exc:
        raise VerificationError(
            exc.rule, f"{what}: {exc.detail}", key_id=exc.key_id, field=exc.field or what
        ) from None


def verify_bundle(
    directory: Path,
    log_key: VerifierKey,
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Verify the export bundle in ``directory`` under ``log_key`` (FORMAT.md §8, §9).

    ``authority_keys``, if given, must be exactly the genesis authority keys.
    ``previous_checkpoint`` is a signed checkpoint seen earlier (note text); the export must
    extend it. ``workers`` worker processes do the stateless work (default: one per CPU;
    ``1`` runs everything in this process). ``progress(bytes_done, bytes_total)`` is called
    after each chunk. Returns an :class:`AuditReport`; raises :class:`VerificationError`
    naming the first failing entry, or :class:`InputError` for unusable input.
    Cost: one Ed25519 verification per signature; memory O(log n) plus bounded buffers.
    """
    started = time.monotonic()
    directory = Path(directory)
    n = default_workers() if workers is None else workers
    if n < 1:
        raise InputError("workers must be at least 1", field="workers")
    if not directory.is_dir():
        raise InputError(
            f"export directory not found: {directory}; pass the directory written by "
            "`gongxin export`",
            field="DIR",
        )
    # Both files must be there before anything is judged (a missing file is an input error).
    note = _read_limited(directory / CHECKPOINT_FILE, MAX_CHECKPOINT_BYTES, "checkpoint file")
    entries_path = directory / ENTRIES_FILE
    try:
        fh = entries_path.open("rb")
    except FileNotFoundError:
        raise InputError(
            f"{ENTRIES_FILE} not found in {directory}; pass the directory written by "
            "`gongxin export`",
            field=str(entries_path),
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {ENTRIES_FILE}: {exc.strerror}", field=str(entries_path)
        ) from None
    with fh:
        # Step 1: the checkpoint, under the given log key only.
        cp = _open(note, log_key, "checkpoint")

        # Step 5 (first part): the previous checkpoint — same key, not larger.
        previous: Checkpoint | None = None
        if previous_checkpoint is not None:
            previous = _open(previous_checkpoint, log_key, "previous_checkpoint")
            if previous.size > cp.size:
                raise VerificationError(
                    "checkpoint.rollback",
                    f"the previous checkpoint covers {previous.size} entries, the export's "
                    f"only {cp.size}: the log was rolled back; 日志被回滚",
                    field="previous_checkpoint",
                )
            if previous.size == 0 and previous.root != EMPTY_ROOT:
                raise VerificationError(
                    "checkpoint.inconsistent",
                    "the previous checkpoint has size 0 but not the empty tree's root; "
                    "空检查点根哈希错误",
                    field="previous_checkpoint",
                )

        audit = _Audit(cp, log_key, authority_keys, previous)
        total = os.fstat(fh.fileno()).st_size
        if workers is None and total < SMALL_EXPORT_BYTES:
            n = 1
        reader = _Reader(fh)
        # Steps 2, 3 and 5 (second part), entry by entry.
        try:
            if n == 1:
                audit.run_inline(reader, progress, total)
            else:
                audit.run_parallel(reader, n, progress, total)
        except OSError as exc:
            raise InputError(
                f"cannot read {ENTRIES_FILE}: {exc.strerror}", field=str(entries_path)
            ) from None
    # Step 4: size and root.
    audit.finish()
    return audit.report(time.monotonic() - started, n)


# ------------------------------------------------------------------------------- light mode


def parse_inclusion_proof(proof: Any) -> tuple[int, int, list[bytes]]:
    """Check the shape of an inclusion proof object
    ``{"leaf_index": int, "tree_size": int, "inclusion_path": [base64, …]}`` (RFC 9162 §4.12
    names; other members are ignored). Returns (leaf index, tree size, path).
    Raises :class:`InputError` naming the field."""
    if type(proof) is not dict:
        raise InputError("the proof must be a JSON object", field="proof")
    out: list[int] = []
    for name in ("leaf_index", "tree_size"):
        value = proof.get(name)
        if type(value) is not int or value < 0:
            raise InputError("must be a non-negative integer", field=f"proof.{name}")
        out.append(value)
    path = proof.get("inclusion_path")
    if type(path) is not list:
        raise InputError("must be a list of base64 hashes", field="proof.inclusion_path")
    hashes: list[bytes] = []
    for n, item in enumerate(path):
        try:
            if type(item) is not str:
                raise ValueError
            hashes.append(base64.b64decode(item, validate=True))
        except (ValueError, binascii.Error):
            raise InputError(
                "must be standard base64", field=f"proof.inclusion_path[{n}]"
            ) from None
    return out[0], out[1], hashes


def verify_inclusion_file(
    entry_line: bytes,
    proof: dict[str, Any],
    checkpoint_note: str | bytes,
    log_key: VerifierKey,
) -> InclusionReport:
    """Light mode: check that one entry line is in the log the checkpoint covers.

    ``entry_line`` is the entry's line (one trailing newline is allowed); ``proof`` is
    ``{"leaf_index", "tree_size", "inclusion_path"}`` (see :func:`parse_inclusion_proof`);
    ``checkpoint_note`` is the signed checkpoint. Steps: open the checkpoint under
    ``log_key``; the proof's tree size must be the checkpoint's; the line must parse
    strictly and carry ``index == leaf_index``; then RFC 9162 inclusion against the
    checkpoint root. Raises :class:`VerificationError` (or :class:`InputError` for a
    malformed proof object). Cost: one Ed25519 verification and O(log n) hashes.

    Note: this proves the entry is in the log; unlike :func:`verify_bundle` it does not
    replay the keys and rules that made it valid.
    """
    cp = _open(checkpoint_note, log_key, "checkpoint")
    leaf_index, tree_size, path = parse_inclusion_proof(proof)
    if tree_size != cp.size:
        raise VerificationError(
            "inclusion.tree_size",
            f"the proof is for a tree of {tree_size} entries, the checkpoint covers "
            f"{cp.size}; 证明与检查点大小不符",
            field="proof.tree_size",
        )
    if entry_line.endswith(b"\n"):
        entry_line = entry_line[:-1]
    entry = parse_entry_line(entry_line, leaf_index)
    if entry.index != leaf_index:
        raise VerificationError(
            "inclusion.index",
            f"the entry line has index {entry.index}, the proof is for leaf {leaf_index}; 序号不符",
            index=leaf_index,
            field="proof.leaf_index",
        )
    leaf = leaf_hash(entry_line)
    verify_inclusion(leaf, leaf_index, tree_size, path, cp.root)
    return InclusionReport(
        origin=cp.origin,
        tree_size=cp.size,
        root=cp.root.hex(),
        leaf_index=leaf_index,
        leaf_hash=leaf.hex(),
        kind=entry.statement.kind,
        statement_id=entry.statement.id,
    )
