"""Streaming verification of an export bundle (FORMAT.md §8, §9).

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
   :meth:`verifier.rules.log_state.LogState.check_and_apply` — the same function the ledger runs before
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
:class:`~verifier.rules.log_state.LogState` keeps (the key registry and the statement ids inside the
7-day replay window).

Parallelism. ``workers=1`` runs everything in this process (the reference path). With more
workers, the stateless work (strict parsing, Ed25519 verification) runs in worker processes
while this one replays the state strictly in order; :mod:`verifier.cli.chunks` explains how the
work is split. The verdict is the same either way.

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

The report returned is :class:`verifier.audit.verdict.AuditReport`. Light mode (one entry and
its inclusion proof, no replay) is ``verifier.cli.inclusion``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import orjson

from verifier.audit.lines import MAX_LINE_BYTES, Chunk, Reader
from verifier.audit.verdict import AuditReport, KeyInfo
from verifier.core.checkpoint import Checkpoint
from verifier.core.compact_range import CompactRange
from verifier.core.entry import Entry, parse_entry_line
from verifier.core.errors import VerificationError
from verifier.core.keys import VerifierKey
from verifier.core.merkle import leaf_hash
from verifier.rules import DomainRules
from verifier.rules.log_state import LogState

__all__ = ["BundleAudit", "Checked", "Observer", "Progress"]

#: A parsed line ready to apply: its entry, its leaf hash and, per signature, the public key
#: a worker verified it under (or ``None``).
Checked = tuple[Entry, bytes, Sequence[bytes | None]]


Progress = Callable[[int, int], None]
"""Called after each chunk with (bytes done, bytes total)."""


class Observer(Protocol):
    """Watches a verification as it replays (the traceability report is one): it supplies the
    rulebook to replay with (and so sees every posting) and is shown every accepted entry.
    The core never imports an observer's module: reports sit around the core, not in it."""

    def rulebook(self) -> DomainRules: ...

    def entry(self, entry: Entry) -> None: ...


# ------------------------------------------------------------------------------- the audit


class BundleAudit:
    """Replay state of one bundle verification (steps 2–5); the driver that opens the files
    and feeds chunks is ``verifier.cli.bundle.verify_bundle``."""

    def __init__(
        self,
        cp: Checkpoint,
        log_key: VerifierKey,
        authority_keys: Sequence[VerifierKey],
        previous: Checkpoint | None,
        reader: Reader,
        builder: Observer | None = None,
    ) -> None:
        self.cp = cp
        self.log_key = log_key
        self.authority_keys = authority_keys
        self.previous = previous
        self.builder = builder
        self.state = LogState() if builder is None else LogState(rulebook=builder.rulebook())
        self.tree = CompactRange()
        self.kinds: Counter[str] = Counter()
        self.reader = reader
        #: Parallel mode: chunks read ahead and not yet applied (see :meth:`_line_after`).
        self.pending: deque[Chunk] = deque()
        #: Step 5: earlier checkpoints still to check, by increasing size, each with the name
        #: errors give it (the previous checkpoint; a verifier state's, FORMAT.md §12.3).
        self.checks: list[tuple[Checkpoint, str]] = []
        if previous is not None:
            self.add_check(previous, "previous_checkpoint")

    def add_check(self, earlier: Checkpoint, what: str) -> None:
        """Step 5 for one more earlier checkpoint (opened under the log key, not larger than
        :attr:`cp`): the root over its first ``size`` entries must be its root. Size 0 needs
        no entry (the caller checked its root is the empty tree's)."""
        if earlier.size > 0:
            self.checks.append((earlier, what))
            self.checks.sort(key=lambda c: c[0].size)

    def start_from(self, state: LogState, tree: CompactRange, kinds: Mapping[str, int]) -> None:
        """Incremental verification (FORMAT.md §12.3): continue a replay that ended after
        ``state.size`` entries, with that replay's rule state, compact range and counts by
        kind; the reader must start at line ``state.size``. Precondition: ``tree.size ==
        state.size > 0``, and every earlier checkpoint added covers at least that many."""
        assert tree.size == state.size > 0
        if self.builder is not None:
            raise ValueError("an observer needs every entry: verify in full")
        self.state, self.tree, self.kinds = state, tree, Counter(kinds)

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
        chunk: Chunk,
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
        if self.builder is not None:
            self.builder.entry(entry)
        self.tree.append(leaf)
        self.kinds[entry.statement.kind] += 1
        if self.checks and self.tree.size == self.checks[0][0].size:
            self._check_previous()

    def apply_chunk(
        self, chunk: Chunk, checked: Iterable[Checked], error: VerificationError | None
    ) -> None:
        """Parallel mode: apply ``checked``, the entries of ``chunk``'s lines in order up to
        the first line that does not parse (whose error is ``error``), then raise ``error`` or
        the tail's error. The entries before a failing line are applied first, so an earlier
        stateful failure wins: the error raised names the first failing index."""
        i = chunk.first
        for entry, leaf, verified in checked:
            self._check_within(i)
            self._apply(entry, leaf, verified, chunk, i - chunk.first)
            i += 1
        if error is not None:
            self._check_within(i)
            raise error
        if chunk.tail is not None:
            self._tail(chunk)

    def _tail(self, chunk: Chunk) -> None:
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

    def _line_after(self, chunk: Chunk, k: int) -> bytes | None:
        """The raw bytes of the line after ``chunk.lines[k]`` (for error attribution)."""
        if k + 1 < len(chunk.lines):
            return chunk.lines[k + 1]
        if chunk.tail is not None:
            return chunk.tail
        nxt = self.pending[0] if self.pending else self.reader.read()
        if nxt is None:
            return None
        return nxt.lines[0] if nxt.lines else nxt.tail

    def _attribute_chain_break(
        self, j: int, leaf: bytes, chunk: Chunk, k: int, exc: VerificationError
    ) -> VerificationError:
        """Entry ``j``'s ``prev`` is not the leaf hash of entry ``j-1``: decide which of the
        two was changed (see "Attribution of hash-chain breaks" in the module docstring)."""
        if j == 0:
            return exc
        line = chunk.lines[k]
        nxt = self._line_after(chunk, k)
        if nxt is not None:
            try:
                following = parse_entry_line(nxt, j + 1)
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
        """Step 5: the first ``size`` entries hash to the root of each earlier checkpoint of
        that size (:attr:`checks`, reached now)."""
        root = self.tree.root()
        while self.checks and self.checks[0][0].size == self.tree.size:
            prev, what = self.checks.pop(0)
            if root != prev.root:
                n = prev.size
                raise VerificationError(
                    "checkpoint.inconsistent",
                    f"the first {n} entries do not hash to the root of the "
                    f"{what.replace('_', ' ')} (size {n}): the log was rewritten at or before "
                    f"entry {n - 1}, the last entry that checkpoint covers; 日志在此前被改写",
                    index=n - 1,
                    field=what,
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

    def run_inline(self, progress: Progress | None, total: int) -> None:
        """Steps 2–5 in this process: the reference path (also used for ``workers=1``)."""
        while (chunk := self.reader.read()) is not None:
            for k, line in enumerate(chunk.lines):
                i = chunk.first + k
                self._check_within(i)
                entry = parse_entry_line(line, i)
                self._apply(entry, leaf_hash(line), None, chunk, k)
            if chunk.tail is not None:
                self._tail(chunk)
            if progress is not None:
                progress(chunk.end_offset, total)

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
            format=self.state.format,
        )
