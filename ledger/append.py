"""The append transaction, step by step (FORMAT.md §4 entries, §5 tree, §6 checkpoints, §8
validity). :meth:`ledger.log.Ledger.append_requests` drives it; nothing else writes the log.

An append takes one or more *requests*, each an atomic batch of signed submissions. All of
them go through ONE write transaction and, if any entry is new, ONE checkpoint; a request
that breaks a rule is undone alone (its journal, its part of the tree, the rows it would have
written) and reported, and the others commit together. The steps, as numbered in the code:

1. parse each submission — strict RFC 8785 check, shape check (nothing locked yet);
2. pre-verify signatures in worker processes (advisory: any miss is re-checked in step 5);
3. open the write transaction — the single sequencer (see :mod:`ledger.store.contract`) —
   and apply what other processes committed meanwhile (:meth:`Ledger._catch_up`);
4. idempotency — a statement id already logged (or accepted earlier in this transaction)
   with identical bytes yields that entry's receipt, marked duplicate; with other bytes the
   request is rejected (``statement.conflict``);
5. for each new submission: assign index, log time and previous hash, build the canonical
   line, and run :meth:`verifier.rules.log_state.LogState.check_and_apply` — the same pure
   rules the verifier replays (keys, roles, signatures, rulebook);
6. append the leaves to the Merkle compact range (O(log n) new nodes each);
7. sign one checkpoint over the new tree;
8. insert meta (genesis only), entries, nodes, the checkpoint and the postings the rulebook
   reported for the accepted entries (the ``postings`` index, :mod:`ledger.postings`); commit;
9. build the receipts, against the new checkpoint.

A failure of the database (or anything not a rule) in steps 3–8 undoes every request; the
caller rolls the in-memory state back with :meth:`Run.rollback`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from ledger.postings import Collector, rows_of
from ledger.preverify import PreVerification
from ledger.records import InvalidEntry, Receipt, entry_bytes
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from ledger.store.contract import EntryRow, LedgerReader, LoggedStatement, NodeRow
from ledger.store.contract import WriteTransaction as Transaction
from verifier.audit.lines import MAX_LINE_BYTES
from verifier.core import compact_range, merkle
from verifier.core.canonical import CanonicalError
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Entry, Submission, parse_submission
from verifier.core.errors import GongxinError, InputError, VerificationError
from verifier.rules.journal import Journal
from verifier.rules.log_state import LogState


@dataclass
class Request:
    """One request (an atomic batch) after steps 1–2."""

    subs: list[Submission]
    digests: list[bytes]  #: SHA-256 of each submission's bytes (idempotency, step 4)
    base: int  #: the :class:`PreVerification` position of ``subs[0]``


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a submission of an accepted request is (or already was) in the log."""

    index: int
    statement_id: str
    leaf_hash: bytes
    line: bytes
    duplicate: bool


#: A request's outcome: its placements, or why it was rejected.
Outcome = list[Placed] | GongxinError


class Signed(NamedTuple):
    size: int
    note: str


@dataclass
class Run:
    """The working set of one append transaction (steps 4–8)."""

    state: LogState  #: advanced in place, every change journalled
    tree: compact_range.CompactRange  #: a copy of the ledger's tree, extended in place
    log_time: str  #: FORMAT.md §4: one log time for the whole transaction, never backwards
    pre: PreVerification
    #: Statement id → (submission digest, placement) of every id known to be in the log:
    #: looked up in the store, or new in an accepted request of this transaction.
    seen: dict[str, tuple[bytes, Placed]]
    #: Ids looked up in the store so far; ``None``: every id of every request was.
    looked_up: set[str] | None
    start: tuple[int, str, str]  #: the state's position before the first request
    entries: list[EntryRow] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    journals: list[Journal] = field(default_factory=list)
    #: The postings the rulebook reports for the accepted entries, in order (``None``: the
    #: rulebook reports none, and the index is not written).
    collector: Collector | None = None

    def rollback(self) -> None:
        """Undo every accepted request in memory (the transaction failed). O(changes)."""
        for journal in reversed(self.journals):
            journal.rollback()
        self.journals.clear()
        self.state.restore_position(self.start)
        if self.collector is not None:
            self.collector.detach()

    def commit(self) -> None:
        """The transaction committed: the in-memory changes are permanent."""
        for journal in self.journals:
            journal.commit()
        if self.collector is not None:
            self.collector.detach()


# -- steps 1–2: before the lock ----------------------------------------------------------------


def parse_requests(
    requests: Sequence[Sequence[bytes]], pre: PreVerification
) -> list[Request | GongxinError]:
    """Steps 1–2 for every request: parse each submission and queue its signatures for
    pre-verification. A request that does not parse is replaced by its error. O(total size)."""
    out: list[Request | GongxinError] = []
    for submissions in requests:
        try:
            out.append(_parse_request(submissions, pre))
        except GongxinError as exc:
            out.append(exc)
    pre.flush()
    return out


def _parse_request(submissions: Sequence[bytes], pre: PreVerification) -> Request:
    subs: list[Submission] = []
    base = 0
    for k, data in enumerate(submissions):
        sub = parse_one(data, k)  # Step 1
        position = pre.add(sub)  # Step 2 (sent to the workers chunk by chunk)
        base = position if k == 0 else base
        subs.append(sub)
    return Request(subs, [hashlib.sha256(data).digest() for data in submissions], base)


def parse_one(data: bytes, k: int) -> Submission:
    """Step 1 for one submission, with errors attributed to its batch position ``k``."""
    if not isinstance(data, bytes | bytearray):
        raise InputError("a submission must be bytes of canonical JSON", field=f"batch[{k}]")
    if len(data) > MAX_LINE_BYTES:  # its entry line would be longer still: refuse unparsed
        raise _too_long(len(data), k)
    try:
        return parse_submission(bytes(data))
    except CanonicalError as exc:
        raise InvalidEntry(
            "entry.canonical", exc.message, field=f"batch[{k}].{exc.field or ''}".rstrip(".")
        ) from None
    except VerificationError as exc:
        raise InvalidEntry(
            exc.rule, exc.detail, key_id=exc.key_id, field=f"batch[{k}].{exc.field}"
        ) from None


# -- step 4: idempotency -----------------------------------------------------------------------


def start_run(
    state: LogState,
    tree: compact_range.CompactRange,
    log_time: str,
    pre: PreVerification,
    reader: LedgerReader,
    requests: Sequence[Request | GongxinError],
    *,
    lookup_all: bool,
) -> Run:
    """Step 4, the look-up half: one read of the statement ids that may be in the log.

    Fast (``lookup_all=False``): only ids the replay window has seen (a resubmission of an
    older statement fails the time rule, and its request then looks up the rest — see
    :func:`apply_requests`). ``lookup_all``: every id. ``log_time`` is never before the last
    entry's (FORMAT.md §4). O(ids looked up)."""
    ids = [s.statement.id for r in requests if isinstance(r, Request) for s in r.subs]
    if not lookup_all:
        ids = [i for i in ids if i in state.recent_ids]
    seen = _as_seen(reader.logged_statements(ids))
    run = Run(
        state,
        tree.copy(),
        max(log_time, state.log_time),
        pre,
        seen,
        None if lookup_all else set(ids),
        state.snapshot_position(),
    )
    run.collector = Collector.attach(state.rulebook)
    return run


def _as_seen(logged: dict[str, LoggedStatement]) -> dict[str, tuple[bytes, Placed]]:
    return {
        sid: (s.digest, Placed(s.index, sid, s.leaf_hash, s.line, True))
        for sid, s in logged.items()
    }


def _look_up_rest(run: Run, reader: LedgerReader, req: Request) -> bool:
    """After a rejection in the fast mode: look up the request's other ids; True if any is
    in the log (then the request deserves a second try). One read."""
    if run.looked_up is None:
        return False
    ids = [s.statement.id for s in req.subs if s.statement.id not in run.looked_up]
    run.looked_up.update(ids)
    found = _as_seen(reader.logged_statements(ids))
    run.seen.update(found)
    return bool(found)


def _idempotent(prior: tuple[bytes, Placed], digest: bytes, k: int) -> Placed:
    """Step 4 for a statement id seen before: the same bytes → that entry, as a duplicate;
    other bytes → ``statement.conflict``."""
    prior_digest, placed = prior
    if prior_digest != digest:
        raise InvalidEntry(
            "statement.conflict",
            f"statement id {placed.statement_id} was already submitted with different "
            "content; use a new id; 该编号已用于不同内容",
            field=f"batch[{k}].statement.id",
        )
    return replace(placed, duplicate=True)


# -- steps 4–6 per request ---------------------------------------------------------------------


def apply_requests(
    run: Run,
    reader: LedgerReader,
    requests: Sequence[Request | GongxinError],
    on_reject: Callable[[], None],
) -> list[Outcome]:
    """Steps 4–6 for each request in order; a rejected request leaves ``run`` as it was and
    ``on_reject`` is called (after the undo). In the fast mode a rejected request looks up
    the rest of its ids and, if one is logged, is tried once more. Errors other than
    :class:`GongxinError` propagate (the whole transaction fails)."""
    out: list[Outcome] = []
    for req in requests:
        if isinstance(req, GongxinError):
            out.append(req)
            continue
        try:
            out.append(apply_request(run, req))
            continue
        except GongxinError as exc:
            on_reject()
            if not _look_up_rest(run, reader, req):
                out.append(exc)
                continue
        try:
            out.append(apply_request(run, req))
        except GongxinError as exc:
            on_reject()
            out.append(exc)
    return out


def apply_request(run: Run, req: Request) -> list[Placed]:
    """Steps 4–6 for one request, all or nothing: on any error ``run`` (state, tree, rows,
    ids) is restored before the error propagates. O(k log n) for k submissions."""
    journal = Journal()
    position, tree = run.state.snapshot_position(), run.tree.copy()
    collected = run.collector.postings if run.collector is not None else []
    marks = len(run.entries), len(run.nodes), len(collected)
    fresh: dict[str, tuple[bytes, Placed]] = {}
    try:
        placed = [_place(run, req, k, fresh, journal) for k in range(len(req.subs))]
    except BaseException:
        journal.rollback()
        run.state.restore_position(position)
        run.tree = tree
        del run.entries[marks[0] :], run.nodes[marks[1] :]
        del collected[marks[2] :]
        raise
    run.journals.append(journal)
    run.seen.update(fresh)
    return placed


def _place(
    run: Run, req: Request, k: int, fresh: dict[str, tuple[bytes, Placed]], journal: Journal
) -> Placed:
    sub, digest = req.subs[k], req.digests[k]
    sid = sub.statement.id
    # Step 4: idempotency by statement id (in the log, or earlier in this transaction).
    prior = fresh.get(sid) or run.seen.get(sid)
    if prior is not None:
        return _idempotent(prior, digest, k)
    # Step 5: position the entry and apply the shared validity rules.
    index, line, leaf = _apply_rules(run, sub, run.pre.get(req.base + k), k, journal)
    # Step 6: extend the Merkle tree; keep the completed nodes and the row for step 8.
    run.nodes.extend(run.tree.append(leaf))
    run.entries.append((index, sid, digest, sub.statement.kind, line, leaf))
    placed = Placed(index, sid, leaf, line, False)
    fresh[sid] = (digest, placed)
    return placed


def _apply_rules(
    run: Run, sub: Submission, verified: list[bytes | None] | None, k: int, journal: Journal
) -> tuple[int, bytes, bytes]:
    """Step 5: (index, line, leaf hash) of ``sub`` as the next entry, once the rules (FORMAT.md
    §7–§8) accepted and applied it; a rule failure is an :class:`InvalidEntry` naming
    ``batch[k]``."""
    state = run.state
    index = state.size
    line = entry_bytes(index, run.log_time, state.prev, sub)
    if len(line) > MAX_LINE_BYTES:
        raise _too_long(len(line), k)
    leaf = merkle.leaf_hash(line)
    entry = Entry(index, run.log_time, state.prev, sub.statement, sub.signatures)
    try:
        state.check_and_apply(entry, leaf, verified_keys=verified, journal=journal)
    except VerificationError as exc:
        raise InvalidEntry(
            exc.rule,
            exc.detail,
            index=None,
            key_id=exc.key_id,
            field=f"batch[{k}].{exc.field}" if exc.field else f"batch[{k}]",
        ) from None
    return index, line, leaf


def _too_long(size: int, k: int) -> InvalidEntry:
    """FORMAT.md §4: an entry line has at most 65,535 bytes; this one would have ≥ ``size``."""
    return InvalidEntry(
        "entry.too_long",
        f"an entry line may have at most {MAX_LINE_BYTES} bytes (FORMAT.md §4), this one "
        f"would have at least {size}; 条目过长，超过 {MAX_LINE_BYTES} 字节",
        field=f"batch[{k}]",
    )


# -- steps 7–9 -----------------------------------------------------------------------------------


def sign(run: Run, origin: str, log_key: SignerKey) -> Signed | None:
    """Step 7: the signed checkpoint over the new tree, or ``None`` if nothing is new."""
    if not run.entries:
        return None
    cp = Checkpoint(origin, run.tree.size, run.tree.root())
    return Signed(cp.size, sign_checkpoint(cp, log_key))


def persist(txn: Transaction, run: Run, signed: Signed, meta: dict[str, str] | None) -> None:
    """Step 8 (before commit): every row of the accepted requests, in one transaction."""
    if meta:
        txn.insert_meta(meta)  # genesis: the log's origin and key
    txn.insert_entries(run.entries)
    txn.insert_nodes(run.nodes)
    txn.insert_checkpoint(signed.size, signed.note)
    if run.collector is not None:  # the index; complete below the new size if it was before
        txn.insert_postings(rows_of(run.collector.postings))
        txn.advance_postings(run.entries[0][0], signed.size)


def build_receipts(
    outcomes: Sequence[Outcome], size: int, note: str
) -> list[list[Receipt] | GongxinError]:
    """Step 9: each accepted request's receipts against the checkpoint (``size``, ``note``)
    — the new one, or the latest if nothing was new."""
    return [
        o
        if isinstance(o, GongxinError)
        else [
            Receipt(p.index, p.statement_id, p.leaf_hash, note, size, p.duplicate, p.line)
            for p in o
        ]
        for o in outcomes
    ]


__all__ = [
    "Outcome",
    "Placed",
    "Request",
    "Run",
    "Signed",
    "apply_request",
    "apply_requests",
    "build_receipts",
    "parse_one",
    "parse_requests",
    "persist",
    "sign",
    "start_run",
]
