"""How :func:`verifier.cli.bundle.verify_bundle` reads ``entries.jsonl`` and uses worker processes.

Reading. :class:`Reader` reads the file in chunks of at most :data:`CHUNK_LINES` lines (and
about :data:`CHUNK_BYTES` bytes), never further than asked: memory stays bounded.

Parallelism. The cost is one Ed25519 verification per signature, then strict parsing, then
the replay. ``workers=1`` runs everything in the main process (the reference path,
:meth:`verifier.audit.bundle.BundleAudit.run_inline`). With more workers, :func:`run_parallel` keeps at
most :data:`WINDOW_PER_WORKER` chunks per worker in flight (never further ahead: bounded
memory), and the main process replays the state strictly in order. The stateless work is
split one of two ways:

- up to :data:`MAIN_PARSES_UP_TO` workers: the main process parses each line and the workers
  only verify (public key, message, signature) triples
  (:func:`verifier.cli.parallel.verify_triples`). This does every step exactly once, so it
  spends the least CPU in total, which is what counts when every core is busy (measured
  ~12 % faster than the alternative on 2 cores);
- with more workers: the workers also parse (:func:`check_chunk`) and the main process
  rebuilds each entry from its already-checked line, which costs more CPU in total but
  keeps the serial part small, so it scales with the number of cores.

Either way the workers only pre-verify: they know keys from the grants read so far, not the
registry, so a signature counts as verified only when the key it verified under is the
registry's key for it at that index (``verified_keys`` of
:meth:`~verifier.rules.log_state.LogState.check_and_apply`); a signature a worker could not verify,
or verified under another key, is verified again in-process. (The workers run this same
package, so their positive answers are trusted like in-process ones.) The workers verify over
exactly the message the replay uses (FORMAT.md §3.2): the main process reads the log's format
and origin from the genesis line (:func:`~verifier.rules.log_state.message_origin`) before it
sends any signature, and sends the origin with every chunk.
"""

from __future__ import annotations

import binascii
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

import orjson

from verifier.audit.lines import Chunk, Reader
from verifier.cli.parallel import process_pool, verify_triples
from verifier.core.entry import Entry, Signature, Statement, parse_entry_line
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key, verify_ed25519
from verifier.core.merkle import leaf_hash
from verifier.rules.log_state import message_origin

#: Chunks in flight per worker: bounds memory (the file is never read further ahead).
WINDOW_PER_WORKER = 2
#: Up to this many workers, the main process parses and the workers only verify signatures;
#: with more, the workers parse too (see "Parallelism" in the module docstring).
MAIN_PARSES_UP_TO = 2

_GRANT = b'"kind":"key.grant"'
_GENESIS = b'"kind":"log.genesis"'

#: What :func:`check_chunk` returns: the leaf hashes concatenated, per line the public key
#: each signature verified under (or ``None``), and the first parse error (or ``None``).
WorkerResult = tuple[bytes, list[tuple[bytes | None, ...]], dict[str, Any] | None]
#: A parsed line ready to apply: its entry, its leaf hash and, per signature, the public key
#: a worker verified it under (or ``None``).
Checked = tuple[Entry, bytes, Sequence[bytes | None]]


# ------------------------------------------------------------------------------- workers


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


def check_chunk(
    first: int, lines: Sequence[bytes], known: dict[str, bytes], origin: str | None
) -> WorkerResult:
    """The stateless part of step 2 for a chunk of lines; runs in a worker process.

    For each line (index ``first + k``, without newline): :func:`parse_entry_line` (strict
    canonical form and shape), its leaf hash, and each signature verified over the message
    naming ``origin`` (``None``: format 1's, FORMAT.md §3.2) under ``known[key_id]`` — or,
    when unknown, under a key introduced by a ``key.grant`` or ``log.genesis`` earlier in the
    chunk. Returns the leaf hashes concatenated, per line the
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
                    message = st.message(origin)
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


# ------------------------------------------------------------------------------- main side


class ChunkSink(Protocol):
    """The replay :func:`run_parallel` feeds, in order (:class:`verifier.audit.bundle.BundleAudit`)."""

    #: Chunks read ahead and not yet applied (the replay looks at the next line to
    #: attribute a hash-chain break).
    pending: deque[Chunk]

    def apply_chunk(
        self, chunk: Chunk, checked: Iterable[Checked], error: VerificationError | None
    ) -> None: ...


class _Dispatch:
    """The main process's side of one parallel run: what it sends the workers, and how it
    turns their answers into entries to apply."""

    def __init__(self, main_parses: bool) -> None:
        self.main_parses = main_parses
        #: key id -> public key of every key a grant or genesis read so far introduced: the
        #: keys sent to the workers (advisory, see the module docstring).
        self.hints: dict[str, bytes] = {}
        #: The origin signatures cover, from the genesis line (``None`` before it, and in a
        #: format-1 log): the message the workers verify over is the replay's.
        self.origin: str | None = None

    def learn(self, found: Sequence[VerifierKey]) -> None:
        new = {k.key_id_hex: k.public_key for k in found if k.key_id_hex not in self.hints}
        if new:
            # Copy on write: a dict already submitted may still be being pickled by the
            # pool's feeder thread, so it is never mutated.
            self.hints = {**self.hints, **new}

    def submit(self, chunk: Chunk, pool: ProcessPoolExecutor) -> None:
        """Start the stateless work on ``chunk`` (sets ``chunk.future`` when there is any)."""
        if self.main_parses:
            triples = self._parse_chunk(chunk)
            if triples:
                chunk.future = pool.submit(verify_triples, triples)
        else:
            self._hint_keys(chunk)
            if chunk.lines:
                chunk.future = pool.submit(
                    check_chunk, chunk.first, chunk.lines, self.hints, self.origin
                )

    def apply(self, chunk: Chunk, sink: ChunkSink) -> None:
        """Wait for the workers' answer on ``chunk`` and hand its entries to ``sink``."""
        future, chunk.future = chunk.future, None
        if self.main_parses:
            ok: list[bool] = future.result() if future is not None else []
            verified: list[list[bytes | None]] = [[None] * len(e.signatures) for e in chunk.entries]
            for (k, n, pub), good in zip(chunk.slots, ok, strict=True):
                if good:
                    verified[k][n] = pub
            sink.apply_chunk(
                chunk, zip(chunk.entries, chunk.leaves, verified, strict=True), chunk.error
            )
        elif future is None:  # no complete line, only a tail
            sink.apply_chunk(chunk, (), None)
        else:
            leaves, keys, error = future.result()
            checked = (
                (_entry_from_checked(chunk.lines[k]), leaves[32 * k : 32 * k + 32], v)
                for k, v in enumerate(keys)
            )
            sink.apply_chunk(chunk, checked, None if error is None else _error_from_dict(error))

    def _hint_keys(self, chunk: Chunk) -> None:
        """Parse-in-workers mode: learn the keys that grants and genesis in ``chunk``
        introduce before sending it, so that workers of later chunks can verify their
        signatures (cheap: a substring test per line, a JSON parse only for the rare
        key-management lines)."""
        for k, line in enumerate(chunk.lines):
            if _GRANT in line or _GENESIS in line:
                try:
                    st = orjson.loads(line)["statement"]
                    found = _keys_in_body(st["kind"], st["body"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
                self.learn(found)
                if chunk.first + k == 0 and st["kind"] == "log.genesis":
                    self.origin = message_origin(st["body"])

    def _parse_chunk(self, chunk: Chunk) -> list[tuple[bytes, bytes, bytes]]:
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
                self.learn(_keys_in_body(st.kind, st.body))
                if chunk.first + k == 0 and st.kind == "log.genesis":
                    self.origin = message_origin(st.body)
            hints, origin = self.hints, self.origin
            message: bytes | None = None
            for n, sig in enumerate(entry.signatures):
                pub = hints.get(sig.key_id)
                if pub is not None:
                    if message is None:
                        message = st.message(origin)
                    triples.append((pub, message, sig.sig))
                    slots.append((k, n, pub))
        return triples


def run_parallel(
    sink: ChunkSink,
    reader: Reader,
    workers: int,
    progress: Callable[[int, int], None] | None,
    total: int,
    known: Sequence[VerifierKey] = (),
    origin: str | None = None,
) -> None:
    """Steps 2–5 of :func:`verifier.cli.bundle.verify_bundle` with the stateless work in
    ``workers`` processes, in bounded chunks applied to ``sink`` strictly in order.

    Two ways to split the work (see "Parallelism" in the module docstring): with up to
    :data:`MAIN_PARSES_UP_TO` workers this process parses and the workers only verify
    signatures; with more, the workers also parse (:func:`check_chunk`). A replay resumed
    after genesis (incremental verification) passes the keys its registry knows (``known``)
    and the origin its signatures cover (``origin``), which the genesis line would give.
    """
    dispatch = _Dispatch(main_parses=workers <= MAIN_PARSES_UP_TO)
    dispatch.learn(known)
    dispatch.origin = origin
    pending = sink.pending
    window = WINDOW_PER_WORKER * workers
    pool = process_pool(workers)
    try:
        while True:
            while len(pending) < window and (chunk := reader.read()) is not None:
                dispatch.submit(chunk, pool)
                pending.append(chunk)
            if not pending:
                break
            chunk = pending.popleft()
            dispatch.apply(chunk, sink)
            if progress is not None:
                progress(chunk.end_offset, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
