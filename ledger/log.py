"""The ledger: one open Gongxin log — appends through one transaction, reads and proofs.

Appending is :meth:`Ledger.append_requests` (and its one-request forms :meth:`append_batch`,
:meth:`append`, :meth:`initialize`); its steps, numbered as in FORMAT.md's §4–§8 order, are the
functions of :mod:`ledger.append`. Storage is reached only through the contract of
:mod:`ledger.store.contract` (SQLAlchemy: :mod:`ledger.store.sql`); the reading methods are
:class:`ledger.log_reads.LedgerReads`, and proofs and the node cache :mod:`ledger.reads`.

Any failure rolls back the database *and* the in-memory state (the rules' journal), so a
rejected request leaves no trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ledger import append as steps
from ledger import snapshots
from ledger.log_reads import LedgerReads
from ledger.postings import backfill
from ledger.preverify import PARALLEL_MIN, PreVerification
from ledger.reads import NodeCache, ProofReader, tree_at
from ledger.records import Clock, InvalidEntry, Receipt, format_log_time, utc_now
from ledger.signing.keys import SignerKey
from ledger.store.contract import KeyConflict, LedgerReader, LedgerStore, SnapshotInfo
from ledger.store.sql import SqlStore
from verifier.cli.parallel import SignaturePool
from verifier.core import compact_range, merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import GongxinError, InputError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.rules import DomainRules
from verifier.rules.log_state import LogState, Rulebook

#: Logged (logger ``gongxin.ledger``; without logging configured, one line on stderr) when a
#: format-1 log is opened for appending: it keeps format 1 (FORMAT.md §3.2, "Changes").
FORMAT_1_APPEND_WARNING = (
    "警告 warning: format 1 log: its statements are not bound to this log and new ones are "
    "signed in format 1 too; to bind statements to the log, start a new log (FORMAT.md §3.2)"
)


class Ledger(LedgerReads):
    """An open Gongxin log on one store.

    ``log_key`` (the private checkpoint-signing key) is needed only to append. Construct with
    :meth:`open` (a database URL) or :meth:`from_store`; call :meth:`initialize` once on an
    empty log.
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        log_key: SignerKey | None = None,
        clock: Clock = utc_now,
        rulebook: Callable[[], Rulebook] = DomainRules,
        pool: SignaturePool | None = None,
        snapshots: bool | None = None,
    ) -> None:
        self.store = store
        #: Start from a rule-state snapshot (FORMAT.md §12.2) when opening with replay:
        #: ``None`` (default) when the rulebook is a plain :class:`DomainRules` without an
        #: observer (an observer must see every posting from entry 0), ``False`` never.
        self.use_snapshots = snapshots
        #: Size of the newest snapshot loaded or written by this ledger (0: none).
        self.snapshot_size = 0
        self.log_key = log_key
        self.clock = clock
        self.pool = pool if pool is not None else SignaturePool()
        self.state = LogState(rulebook=rulebook())
        self.tree = compact_range.CompactRange()
        self.checkpoint_note: str | None = None
        self._read_only_size: int | None = None
        self.origin: str | None = None
        self.log_vkey: VerifierKey | None = None
        #: Called with the log size after a rejected or failed append rolled the state
        #: back (observers of the rulebook drop what they
        #: saw of the undone entries).
        self.rollback_listeners: list[Callable[[int], None]] = []
        self.node_cache = NodeCache()
        self._proofs = ProofReader(store, self.node_cache)

    @classmethod
    def open(cls, url: str, *, create: bool = True, replay: bool = True, **kwargs: Any) -> Ledger:
        """Open the database at ``url``.

        ``create`` (default): a missing database and schema are created; without it a
        missing SQLite file is an :class:`InputError`. ``replay`` (default): rebuild the
        validity state by replaying every entry (O(n), no signature checks), which appending
        needs; ``replay=False`` is for reading only — size, tree and checkpoint load in
        O(log n) and :meth:`append_batch` is refused. Unreachable databases are
        ``InputError`` too.
        """
        if not replay and kwargs.get("log_key") is not None:
            raise InputError("a ledger opened without replay cannot append", field="replay")
        store: SqlStore | None = None
        try:
            store = SqlStore.open(url, create=create)
            return cls.from_store(store, replay=replay, **kwargs)
        except BaseException as exc:
            if store is not None:
                store.close()
            if isinstance(exc, OperationalError):
                raise InputError(
                    f"cannot open the database: {exc.orig}; check --db / GONGXIN_DATABASE_URL",
                    field="database",
                ) from None
            raise

    @classmethod
    def from_store(cls, store: LedgerStore, *, replay: bool = True, **kwargs: Any) -> Ledger:
        """A ledger over an open ``store`` (see :meth:`open` for ``replay``). Database
        errors pass through; the caller closes ``store`` if this raises."""
        if not replay and kwargs.get("log_key") is not None:
            raise InputError("a ledger opened without replay cannot append", field="replay")
        ledger = cls(store, **kwargs)
        with store.reading() as reader:
            if replay:
                ledger._load_snapshot(reader)
                ledger._catch_up(reader)
            else:
                ledger._load_read_only(reader)
        if replay:  # once after an upgrade or a restore: O(n); else two O(1) reads
            backfill(store, kwargs.get("rulebook", DomainRules))
        if ledger.log_key is not None and ledger.state.format == 1:
            logging.getLogger("gongxin.ledger").warning(FORMAT_1_APPEND_WARNING)
        return ledger

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine under an SQL store (for tools with their own queries)."""
        engine = getattr(self.store, "engine", None)
        if not isinstance(engine, Engine):
            raise TypeError("this ledger's store has no SQLAlchemy engine")
        return engine

    def close(self) -> None:
        self.pool.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading state ------------------------------------------------------------------

    def _load_read_only(self, reader: LedgerReader) -> None:
        """Size, metadata and tree peaks without replaying entries. O(log n) reads."""
        last = reader.last_index()
        self._read_only_size = 0 if last is None else last + 1
        self._load_meta(reader)
        self.tree = tree_at(reader, self._read_only_size)

    def _load_snapshot(self, reader: LedgerReader) -> None:
        """Start from the newest usable snapshot (:func:`ledger.snapshots.load`), if this
        ledger may (:attr:`use_snapshots`); :meth:`_catch_up` then replays only the tail."""
        rules = self.state.rulebook
        if self.use_snapshots is False or type(rules) is not DomainRules:
            return
        if self.use_snapshots is None and rules.observer is not None:
            return
        loaded = snapshots.load(reader, rules.observer)
        if loaded is not None:
            self.state, self.tree, info = loaded
            self.snapshot_size = info.size

    def write_snapshot(self) -> SnapshotInfo | None:
        """Store the rule state at the current committed size as a snapshot (FORMAT.md
        §12.2) in a transaction of its own, keeping the newest two. Precondition: no append
        of this ledger is under way (call it from the thread that appends, between appends).
        Never raises: a failed write logs a warning and returns ``None``; so does a ledger
        without replayed state or entries. Cost: one encoding (~0.5 s at 1M entries)."""
        if self._read_only_size is not None or self.state.size == 0:
            return None
        try:
            info = snapshots.write(self.store, self.state, self.tree, format_log_time(self.clock()))
        except Exception as exc:  # a cache: its failure must never fail the ledger
            logging.getLogger("gongxin.ledger").warning(
                "警告 warning: 状态快照写入失败 state snapshot at %d not written: %s",
                self.state.size,
                exc,
            )
            return None
        self.snapshot_size = info.size
        return info

    def _catch_up(self, reader: LedgerReader) -> None:
        """Replay entries the in-memory state has not seen (written by an earlier run or
        another process). Entries in our own database were verified on the way in, so
        their signatures are not re-verified; keys, roles and rules are re-applied.
        Cost: O(new entries)."""
        start = self.state.size
        for idx, line in reader.entries_since(start):
            entry = parse_entry_line(line, idx)
            self.state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
        # (A catch-up interrupted after some entries leaves the tree behind: reload it.)
        if self.state.size != start or self.origin is None or self.tree.size != self.state.size:
            self._load_meta(reader)
            self.tree = tree_at(reader, self.state.size)

    def _load_meta(self, reader: LedgerReader) -> None:
        values = reader.meta()
        if "origin" in values:
            self.origin = values["origin"]
            self.log_vkey = parse_verifier_key(values["log_vkey"])
            if self.log_key is not None and self.log_key.verifier() != self.log_vkey:
                raise InputError(
                    "this private key is not the log key of this database; "
                    "use the key file created by `gongxin init`",
                    field="log key",
                )
        self.checkpoint_note = reader.latest_checkpoint()

    def refresh(self) -> int:
        """Apply entries that other processes committed since this ledger last looked (for
        readers in a server with several workers). Precondition: no append of this ledger is
        under way (the caller holds the server's sequencer lock). Returns how many entries
        were applied. Cost: one indexed query, plus O(new entries)."""
        with self.store.reading() as reader:
            if self._read_only_size is not None:
                before = self._read_only_size
                self._load_read_only(reader)
                return self._read_only_size - before
            before = self.state.size
            self._catch_up(reader)
            return self.state.size - before

    # -- writing ----------------------------------------------------------------------

    def initialize(self, genesis: bytes) -> Receipt:
        """Write the genesis entry (FORMAT.md §7.3) into an empty database."""
        if self.size != 0:
            raise InputError("this database already holds a log", field="database")
        if self.log_key is None:
            raise InputError("the log's private key is needed to initialise", field="log key")
        sub = steps.parse_one(genesis, 0)
        body = sub.statement.body
        if sub.statement.kind != "log.genesis":
            raise InvalidEntry("genesis.position", "the first entry must be log.genesis", index=0)
        if body.get("log_key") != str(self.log_key.verifier()):
            raise InvalidEntry(
                "genesis.log_key",
                "genesis names a different log key than the one given to the ledger",
                index=0,
                field="statement.body.log_key",
            )
        return self.append_batch(
            [genesis], _meta={"origin": body["origin"], "log_vkey": body["log_key"]}
        )[0]

    def append(self, submission: bytes) -> Receipt:
        """Append one signed submission; see :meth:`append_batch`."""
        return self.append_batch([submission])[0]

    def append_batch(
        self, submissions: Sequence[bytes], *, _meta: dict[str, str] | None = None
    ) -> list[Receipt]:
        """Append signed submissions (canonical JSON bytes, FORMAT.md §3.3) atomically.

        Returns one receipt per submission, in order; resubmitted identical statements get
        their original receipt (``duplicate=True``). Raises :class:`InvalidEntry` (nothing
        written) naming the batch position, the field and the rule.
        Cost: O(k log n) for k submissions, one transaction, one checkpoint signature.
        """
        outcome = self.append_requests([submissions], _meta=_meta)[0]
        if isinstance(outcome, GongxinError):
            raise outcome
        return outcome

    def append_requests(
        self, requests: Sequence[Sequence[bytes]], *, _meta: dict[str, str] | None = None
    ) -> list[list[Receipt] | GongxinError]:
        """Append several independent requests — each an atomic batch, as for
        :meth:`append_batch` — in ONE write transaction under one checkpoint (group commit).

        Returns, per request in order, its receipts or the :class:`GongxinError` that
        rejected it (nothing of it written; the others are unaffected). Idempotency holds
        across the requests too: a statement id repeated in a later request is a duplicate
        (same bytes) or a ``statement.conflict``. A failure of the database raises, and then
        no request was written. Cost: O(k log n) for k submissions in all.
        """
        if self.log_key is None or self._read_only_size is not None:
            raise InputError("the log's private key is needed to append", field="log key")
        if self.origin is None and _meta is None:
            raise InputError(
                "the log is not initialised; run `gongxin init` first", field="database"
            )
        # Steps 1–2 (ledger.append): parse and start pre-verifying, before any lock.
        total = sum(len(r) for r in requests)
        use_pool = total >= PARALLEL_MIN and self.pool.workers > 1
        pre = PreVerification(
            self.pool if use_pool else None, self.state.registry.keys, self.state.message_origin
        )
        parsed = steps.parse_requests(requests, pre)
        if not any(isinstance(r, steps.Request) for r in parsed):
            return [r for r in parsed if isinstance(r, GongxinError)]
        # Steps 3–9. The fast attempt looks up in the store only the statement ids the
        # replay window has seen; if an id it did not ask about turns out to be logged (the
        # store's UNIQUE key refuses it), the whole transaction is repeated with every id
        # looked up, which yields the precise answer.
        try:
            return self._transaction(parsed, pre, _meta, lookup_all=False)
        except KeyConflict:
            return self._transaction(parsed, pre, _meta, lookup_all=True)

    def _transaction(
        self,
        requests: Sequence[steps.Request | GongxinError],
        pre: PreVerification,
        meta: dict[str, str] | None,
        *,
        lookup_all: bool,
    ) -> list[list[Receipt] | GongxinError]:
        """Steps 3–9 of :mod:`ledger.append` (imported as ``steps``); on any failure, state and tree roll back."""
        assert self.log_key is not None
        run: steps.Run | None = None
        try:
            # Step 3: the write transaction — the single sequencer. Entries other processes
            # committed meanwhile are applied first and stay applied whatever happens next.
            with self.store.begin_write() as txn:
                self._catch_up(txn)
                log_time = format_log_time(self.clock())
                run = steps.start_run(  # Step 4 (look-up)
                    self.state, self.tree, log_time, pre, txn, requests, lookup_all=lookup_all
                )
                outcomes = steps.apply_requests(run, txn, requests, self._rolled_back)
                signed = steps.sign(  # Step 7
                    run, self.origin or (meta or {})["origin"], self.log_key
                )
                if signed is not None:
                    steps.persist(txn, run, signed, meta)  # Step 8
                txn.commit()
        except BaseException:
            if run is not None:
                run.rollback()
            self._rolled_back()
            raise
        assert run is not None
        run.commit()
        if signed is not None:
            self._adopt(run, signed, meta)
        size, note = signed or (self.published() if self.checkpoint_note else (0, ""))
        return steps.build_receipts(outcomes, size, note)  # Step 9

    def _adopt(self, run: steps.Run, signed: steps.Signed, meta: dict[str, str] | None) -> None:
        """After the commit: the new tree, its nodes and checkpoint become the ledger's."""
        self.tree = run.tree
        self.node_cache.remember(run.nodes, run.tree.size)
        self.checkpoint_note = signed.note
        if meta:
            self.origin = meta["origin"]
            self.log_vkey = parse_verifier_key(meta["log_vkey"])

    def _rolled_back(self) -> None:
        for listener in self.rollback_listeners:
            listener(self.state.size)
