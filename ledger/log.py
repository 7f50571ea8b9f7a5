"""The ledger: one append pipeline over SQLAlchemy storage (FORMAT.md §4, §5, §6, §8).

The append transaction (:meth:`Ledger.append_batch`) is the only way anything enters the
log. Its steps are numbered in the code:

1. parse each submission — strict RFC 8785 check, shape check (nothing locked yet);
2. pre-verify signatures on every core (advisory: any miss is re-checked in step 5);
3. open the write transaction (SQLite ``BEGIN IMMEDIATE``: the single sequencer);
4. idempotency — a statement id already logged with identical bytes returns its original
   receipt; with different bytes the batch is rejected (``statement.conflict``);
5. for each new submission: assign index, log time and previous hash, build the canonical
   line, and run :meth:`verifier.state.LogState.check_and_apply` — the same pure rules the
   verifier replays (keys, roles, signatures, rulebook);
6. append the leaves to the Merkle compact range (O(log n) new nodes each);
7. sign a checkpoint over the new tree;
8. insert entries, nodes and checkpoint, and commit.

Any failure rolls back the database *and* the in-memory state (journal), so a rejected batch
leaves no trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger import proofs
from ledger.preverify import PARALLEL_MIN, PREVERIFY_CHUNK, PreVerification
from ledger.records import (
    Clock,
    ConsistencyProof,
    InclusionProof,
    Receipt,
    format_log_time,
    utc_now,
)
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from ledger.store import engine as storage
from ledger.store import migrate, schema
from verifier.cli.parallel import SignaturePool
from verifier.core import compact_range, merkle
from verifier.core.canonical import CanonicalError
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Entry, Submission, entry_bytes, parse_entry_line, parse_submission
from verifier.core.errors import InputError, InvalidEntry, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.rules import DomainRules
from verifier.rules.journal import Journal
from verifier.rules.log_state import LogState, Rulebook

#: Nodes fetched per query by :meth:`Ledger.inclusion_proofs` (SQLite limits the depth of
#: an expression to 1,000 terms by default).
_NODES_PER_READ = 400
#: The node cache keeps every node over the last this many leaves …
_RECENT_LEAVES = 1 << 16
#: … and every node at this level or higher (one per 4,096 leaves: 250 per 1M entries).
_HIGH_LEVEL = 12


class Ledger:
    """An open Gongxin log on one database.

    ``log_key`` (the private checkpoint-signing key) is needed only to append. Construct with
    :meth:`open`; call :meth:`initialize` once on an empty database.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        log_key: SignerKey | None = None,
        clock: Clock = utc_now,
        rulebook: Callable[[], Rulebook] = DomainRules,
        pool: SignaturePool | None = None,
    ) -> None:
        self.engine = engine
        self.log_key = log_key
        self.clock = clock
        self._rulebook_factory = rulebook
        self.pool = pool if pool is not None else SignaturePool()
        self.state = LogState(rulebook=rulebook())
        self.tree = compact_range.CompactRange()
        self.checkpoint_note: str | None = None
        self._read_only_size: int | None = None
        self.origin: str | None = None
        self.log_vkey: VerifierKey | None = None
        #: Called with the log size after a rejected or failed append rolled the state
        #: back (observers of the rulebook, e.g. the server's posting index, drop what they
        #: saw of the undone entries).
        self.rollback_listeners: list[Callable[[int], None]] = []
        #: Merkle nodes kept in memory so that receipts for recent entries need no read:
        #: those over the last :data:`_RECENT_LEAVES` leaves and those at level
        #: :data:`_HIGH_LEVEL` or higher. Only committed nodes; replaced, never mutated in
        #: place while readers may hold it (a plain dict read is safe in other threads).
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._nodes_trimmed_at = 0

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
        engine = storage.open_engine(url, must_exist=not create)
        try:
            if create:
                migrate.create_schema(engine)
            elif not inspect(engine).has_table(storage.entries.name):
                raise InputError(
                    "not a Gongxin database (no entries table); check --db", field="database"
                )
            ledger = cls(engine, **kwargs)
            with engine.connect() as conn:
                if replay:
                    ledger._catch_up(conn)
                else:
                    ledger._load_read_only(conn)
        except OperationalError as exc:
            engine.dispose()
            raise InputError(
                f"cannot open the database: {exc.orig}; check --db / GONGXIN_DATABASE_URL",
                field="database",
            ) from None
        return ledger

    def close(self) -> None:
        self.pool.close()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self.state.size if self._read_only_size is None else self._read_only_size

    def _load_read_only(self, conn: Connection) -> None:
        """Size, metadata and tree peaks without replaying entries. O(log n) reads."""
        e = storage.entries.c
        last = conn.execute(select(func.max(e.idx))).scalar()
        self._read_only_size = 0 if last is None else int(last) + 1
        self._load_meta(conn)
        self.tree = self._load_tree(conn, self._read_only_size)

    def _catch_up(self, conn: Connection) -> None:
        """Replay entries the in-memory state has not seen (written by an earlier run or
        another process). Entries in our own database were verified on the way in, so
        their signatures are not re-verified; keys, roles and rules are re-applied.
        Cost: O(new entries)."""
        start = self.state.size
        rows = conn.execute(
            select(storage.entries.c.idx, storage.entries.c.line)
            .where(storage.entries.c.idx >= start)
            .order_by(storage.entries.c.idx)
        )
        for idx, line in rows:
            line = bytes(line)
            entry = parse_entry_line(line, idx)
            self.state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
        if self.state.size != start or self.origin is None:
            self._load_meta(conn)
            self.tree = self._load_tree(conn, self.state.size)

    def refresh(self) -> int:
        """Apply entries that other processes committed since this ledger last looked (for
        readers in a server with several workers). Precondition: no append of this ledger is
        under way (the caller holds the server's sequencer lock). Returns how many entries
        were applied. Cost: one indexed query, plus O(new entries)."""
        if self._read_only_size is not None:
            with self.engine.connect() as conn:
                before = self._read_only_size
                self._load_read_only(conn)
                return self._read_only_size - before
        before = self.state.size
        with self.engine.connect() as conn:
            self._catch_up(conn)
        return self.state.size - before

    def _load_meta(self, conn: Connection) -> None:
        values = dict(conn.execute(select(storage.meta.c.name, storage.meta.c.value)).all())
        if "origin" in values:
            self.origin = values["origin"]
            self.log_vkey = parse_verifier_key(values["log_vkey"])
            if self.log_key is not None and self.log_key.verifier() != self.log_vkey:
                raise InputError(
                    "this private key is not the log key of this database; "
                    "use the key file created by `gongxin init`",
                    field="log key",
                )
        note = conn.execute(
            select(storage.checkpoints.c.note).order_by(storage.checkpoints.c.size.desc()).limit(1)
        ).scalar()
        self.checkpoint_note = note

    def _load_tree(self, conn: Connection, size: int) -> compact_range.CompactRange:
        keys = proofs.peak_nodes(size)
        nodes = self._fetch_nodes(conn, keys)
        return compact_range.CompactRange(size, [nodes[k] for k in keys])

    @staticmethod
    def _fetch_nodes(
        conn: Connection, keys: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """One SELECT for all the (level, index) nodes named; O(len(keys)) rows."""
        if not keys:
            return {}
        # One indexed lookup per node: an OR of (level, idx) pairs, sent straight to the
        # driver (a row-value "(level, idx) IN (VALUES …)" makes SQLite scan the whole
        # table, and compiling a SQLAlchemy expression costs more than the lookups).
        unique = list(set(keys))
        if conn.dialect.name == "postgresql":
            # A VALUES list joined against the primary key: the planner sees how few keys
            # there are and probes the index for each (an unnest() of arrays is estimated
            # at 100 rows and may be hash-joined against the whole table).
            values = ", ".join(["(%s::integer, %s::bigint)"] * len(unique))
            rows = conn.exec_driver_sql(
                "SELECT n.level, n.idx, n.hash FROM merkle_nodes n JOIN "
                f"(VALUES {values}) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx",
                tuple(v for key in unique for v in key),
            )
        else:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            pair = f"(level = {mark} AND idx = {mark})"
            where = " OR ".join([pair] * len(unique))
            rows = conn.exec_driver_sql(
                f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}",
                tuple(v for key in unique for v in key),
            )
        found = {(lvl, idx): bytes(h) for lvl, idx, h in rows}
        missing = [k for k in keys if k not in found]
        if missing:
            raise VerificationError(
                "storage.missing_node", f"Merkle nodes missing from the database: {missing[:3]}"
            )
        return found

    def published(self) -> tuple[int, str]:
        """(size, note) of the latest committed checkpoint: a consistent view for readers
        in other threads, which may run while an append is under way (the in-memory
        :attr:`size` runs ahead of the database during a transaction). O(1)."""
        note = self.latest_checkpoint()
        return int(note.split("\n", 2)[1]), note

    def latest_checkpoint(self) -> str:
        if self.checkpoint_note is None:
            raise InputError("the log is empty; run `gongxin init` first", field="database")
        return self.checkpoint_note

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of entry ``index`` in the tree of ``size`` (default: current).
        Cost: one query of O(log n) rows, O(log n) hashing."""
        size = self.size if size is None else size
        if not 0 < size <= self.size:
            raise InputError(f"size must be between 1 and {self.size}", field="size")
        if not 0 <= index < size:
            raise InputError(f"index must be between 0 and {size - 1}", field="index")
        ranges = proofs.inclusion_ranges(index, size)
        peaks = proofs.peak_nodes(size)
        with self.engine.connect() as conn:
            nodes = self._fetch_nodes(conn, proofs.nodes_needed(ranges) + peaks)
        path = proofs.hash_ranges(ranges, nodes)
        root = compact_range.CompactRange(size, [nodes[k] for k in peaks]).root()
        return InclusionProof(index, size, root, path)

    def inclusion_proofs(self, indices: Sequence[int], size: int) -> list[list[bytes]]:
        """Inclusion paths of many entries in the tree of ``size``, with one batched read of
        the union of their nodes (a batch's receipts share most of them). Preconditions:
        ``0 < size <= self.size`` and every index in ``[0, size)``. Cost: O(k log n) for k
        indices, in reads of at most :data:`_NODES_PER_READ` nodes."""
        if not 0 < size <= self.size:
            raise InputError(f"size must be between 1 and {self.size}", field="size")
        ranges = [proofs.inclusion_ranges(i, size) for i in indices]
        # Neighbouring leaves share most of their paths: hash each distinct range once.
        unique = list(dict.fromkeys(r for rs in ranges for r in rs))
        cache = self._nodes
        nodes: dict[tuple[int, int], bytes] = {}
        missing: list[tuple[int, int]] = []
        for node in proofs.nodes_needed(unique):
            h = cache.get(node)
            if h is None:
                missing.append(node)
            else:
                nodes[node] = h
        if missing:
            with self.engine.connect() as conn:
                for k in range(0, len(missing), _NODES_PER_READ):
                    nodes.update(self._fetch_nodes(conn, missing[k : k + _NODES_PER_READ]))
            for node in missing:
                if node[0] >= _HIGH_LEVEL:
                    cache[node] = nodes[node]
        hashes = dict(zip(unique, proofs.hash_ranges(unique, nodes), strict=True))
        return [[hashes[r] for r in rs] for rs in ranges]

    def _remember_nodes(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Add committed nodes to the cache; every :data:`_RECENT_LEAVES` leaves, drop the
        low nodes that fell out of the recent window (a new dict, swapped in). O(1)
        amortised per node."""
        cache = self._nodes
        for level, idx, h in rows:
            cache[(level, idx)] = h
        size = self.tree.size
        if size - self._nodes_trimmed_at >= _RECENT_LEAVES:
            floor = size - _RECENT_LEAVES
            self._nodes = {
                (lvl, i): h
                for (lvl, i), h in cache.items()
                if lvl >= _HIGH_LEVEL or (i + 1) << lvl > floor
            }
            self._nodes_trimmed_at = size

    def consistency_proof(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """Consistency proof from ``size1`` to ``size2`` (default: current). O(log n)."""
        size2 = self.size if size2 is None else size2
        if not 0 < size2 <= self.size:
            raise InputError(f"size2 must be between 1 and {self.size}", field="size2")
        if not 0 < size1 <= size2:
            raise InputError(f"size1 must be between 1 and {size2}", field="size1")
        ranges = proofs.consistency_ranges(size1, size2)
        p1, p2 = proofs.peak_nodes(size1), proofs.peak_nodes(size2)
        with self.engine.connect() as conn:
            nodes = self._fetch_nodes(conn, list({*proofs.nodes_needed(ranges), *p1, *p2}))
        return ConsistencyProof(
            size1,
            size2,
            compact_range.CompactRange(size1, [nodes[k] for k in p1]).root(),
            compact_range.CompactRange(size2, [nodes[k] for k in p2]).root(),
            proofs.hash_ranges(ranges, nodes),
        )

    def iter_lines(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Entry lines in index order, streamed in pages of 10,000. O(1) memory per page."""
        e = storage.entries.c
        end = self.size if end is None else end
        with self.engine.connect() as conn:
            cursor = start
            while cursor < end:
                rows = conn.execute(
                    select(e.idx, e.line)
                    .where(e.idx >= cursor, e.idx < min(end, cursor + 10_000))
                    .order_by(e.idx)
                ).all()
                if not rows:
                    break
                for _, line in rows:
                    yield bytes(line)
                cursor = rows[-1][0] + 1

    def checkpoint_at(self, size: int) -> str | None:
        """The signed checkpoint for exactly ``size`` entries, if one was issued."""
        c = storage.checkpoints.c
        with self.engine.connect() as conn:
            return conn.execute(select(c.note).where(c.size == size)).scalar()

    def database_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(storage.entries)).scalar_one())

    # -- writing ----------------------------------------------------------------------

    def initialize(self, genesis: bytes) -> Receipt:
        """Write the genesis entry (FORMAT.md §7.3) into an empty database."""
        if self.size != 0:
            raise InputError("this database already holds a log", field="database")
        if self.log_key is None:
            raise InputError("the log's private key is needed to initialise", field="log key")
        sub = _parse(genesis, 0)
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
        if self.log_key is None or self._read_only_size is not None:
            raise InputError("the log's private key is needed to append", field="log key")
        if self.origin is None and _meta is None:
            raise InputError(
                "the log is not initialised; run `gongxin init` first", field="database"
            )
        # Step 1: parse — strict canonical JSON and shape, before taking any lock — and
        # Step 2: pre-verify signatures in worker processes, chunk by chunk, so that the
        # workers verify while this process parses the rest and runs steps 3–8.
        parsed: list[Submission] = []
        use_pool = len(submissions) >= PARALLEL_MIN and self.pool.workers > 1
        pre = PreVerification(self.pool if use_pool else None)
        keys = self.state.registry.keys
        for start in range(0, len(submissions), PREVERIFY_CHUNK):
            chunk = [
                _parse(data, k)
                for k, data in enumerate(submissions[start : start + PREVERIFY_CHUNK], start)
            ]
            parsed.extend(chunk)
            pre.submit(start, chunk, keys)
        digests = [hashlib.sha256(data).digest() for data in submissions]
        # Steps 3–8 in one transaction. The fast attempt looks up in the database only the
        # statement ids the replay window has seen (other resubmissions are rare); if that
        # attempt fails in any way — a rule, or the UNIQUE index on statement ids — it is
        # rolled back and repeated with every id looked up, which yields the precise
        # answer (an original receipt, or the rejection).
        try:
            return self._transaction(parsed, digests, pre, _meta, lookup_all=False)
        except (InvalidEntry, IntegrityError):
            return self._transaction(parsed, digests, pre, _meta, lookup_all=True)

    def _transaction(
        self,
        parsed: Sequence[Submission],
        digests: Sequence[bytes],
        pre: PreVerification,
        _meta: dict[str, str] | None,
        *,
        lookup_all: bool,
    ) -> list[Receipt]:
        """Steps 3–8 of :meth:`append_batch`; on any failure, state and tree roll back."""
        assert self.log_key is not None
        journal = Journal()
        position = None
        tree_before = self.tree
        try:
            # Step 3: the write transaction; BEGIN IMMEDIATE (SQLite) or the advisory lock
            # (PostgreSQL) makes it the sole appender. Entries other processes committed
            # meanwhile are applied first, and stay applied whatever happens next: the
            # rollback point is after them.
            with (
                self.engine.connect().execution_options(**{storage.WRITE_OPTION: True}) as conn,
                conn.begin(),
            ):
                self._catch_up(conn)
                position = self.state.snapshot_position()
                tree_before = self.tree.copy()
                # Step 4: idempotency by statement id.
                ids = [s.statement.id for s in parsed]
                if not lookup_all:
                    ids = [i for i in ids if i in self.state.recent_ids]
                known = self._known_statements(conn, ids)
                receipts: list[Receipt | None] = [None] * len(parsed)
                batch_ids: dict[str, int] = {}
                new_rows: list[tuple[Any, ...]] = []
                node_rows: list[tuple[int, int, bytes]] = []
                last_time = self.state.log_time
                now = format_log_time(self.clock())
                log_time = max(now, last_time)
                for k, sub in enumerate(parsed):
                    sid = sub.statement.id
                    if sid in known or sid in batch_ids:
                        prior_digest, prior_index = (
                            known[sid] if sid in known else (digests[batch_ids[sid]], -1)
                        )
                        if prior_digest != digests[k]:
                            raise InvalidEntry(
                                "statement.conflict",
                                f"statement id {sid} was already submitted with different "
                                "content; use a new id; 该编号已用于不同内容",
                                field=f"batch[{k}].statement.id",
                            )
                        if prior_index >= 0:
                            receipts[k] = Receipt(prior_index, sid, b"", "", 0, duplicate=True)
                        continue
                    # Step 5: position the entry and apply the shared validity rules.
                    index = self.state.size
                    line = entry_bytes(index, log_time, self.state.prev, sub)
                    leaf = merkle.leaf_hash(line)
                    entry = Entry(index, log_time, self.state.prev, sub.statement, sub.signatures)
                    try:
                        self.state.check_and_apply(
                            entry, leaf, verified_keys=pre.get(k), journal=journal
                        )
                    except VerificationError as exc:
                        raise InvalidEntry(
                            exc.rule,
                            exc.detail,
                            index=None,
                            key_id=exc.key_id,
                            field=f"batch[{k}].{exc.field}" if exc.field else f"batch[{k}]",
                        ) from None
                    # Step 6: extend the Merkle tree; collect the completed nodes.
                    node_rows.extend(self.tree.append(leaf))
                    new_rows.append((index, sid, digests[k], sub.statement.kind, line, leaf))
                    batch_ids[sid] = k
                    receipts[k] = Receipt(index, sid, leaf, "", 0, line=line)
                if not new_rows:
                    return self._finish_duplicates(conn, receipts)
                # Step 7: sign a checkpoint over the new tree.
                cp = Checkpoint(
                    self.origin or (_meta or {})["origin"], self.tree.size, self.tree.root()
                )
                note = sign_checkpoint(cp, self.log_key)
                # Step 8: persist; the context manager commits (or rolls back on error).
                if _meta:
                    conn.execute(
                        insert(storage.meta),
                        [
                            {"name": "schema_version", "value": schema.SCHEMA_VERSION},
                            *({"name": k, "value": v} for k, v in _meta.items()),
                        ],
                    )
                storage.insert_rows(conn, storage.entries, new_rows)
                storage.insert_rows(conn, storage.merkle_nodes, node_rows)
                storage.insert_rows(conn, storage.checkpoints, [(cp.size, note)])
        except BaseException:
            journal.rollback()
            if position is not None:
                self.state.restore_position(position)
                self.tree = tree_before
            for listener in self.rollback_listeners:
                listener(self.state.size)
            raise
        journal.commit()
        self._remember_nodes(node_rows)
        self.checkpoint_note = note
        if _meta:
            self.origin = _meta["origin"]
            self.log_vkey = parse_verifier_key(_meta["log_vkey"])
        out: list[Receipt] = []
        for k, r in enumerate(receipts):
            if r is None:  # a duplicate of an earlier submission in this same batch
                r = receipts[batch_ids[parsed[k].statement.id]]
                assert r is not None
                out.append(
                    Receipt(r.index, r.statement_id, r.leaf_hash, note, cp.size, True, r.line)
                )
            elif r.duplicate:
                out.append(self._receipt_for(r.index, duplicate=True))
            else:
                out.append(
                    Receipt(r.index, r.statement_id, r.leaf_hash, note, cp.size, line=r.line)
                )
        return out

    def _finish_duplicates(self, conn: Connection, receipts: list[Receipt | None]) -> list[Receipt]:
        return [self._receipt_for(r.index, duplicate=True, conn=conn) for r in receipts if r]

    def _receipt_for(
        self, index: int, *, duplicate: bool, conn: Connection | None = None
    ) -> Receipt:
        """The receipt of an entry already in the log, against the latest checkpoint."""
        e = storage.entries.c

        def fetch(c: Connection) -> tuple[str, bytes, bytes]:
            row = c.execute(select(e.statement_id, e.leaf_hash, e.line).where(e.idx == index)).one()
            return row[0], bytes(row[1]), bytes(row[2])

        if conn is not None:
            sid, leaf, line = fetch(conn)
        else:
            with self.engine.connect() as c:
                sid, leaf, line = fetch(c)
        size, note = self.published()
        return Receipt(index, sid, leaf, note, size, duplicate, line)

    def receipt_of(self, statement_id: str) -> Receipt | None:
        """The receipt (against the latest checkpoint) of the logged statement with this id,
        or ``None``. Cost: one indexed read."""
        e = storage.entries.c
        with self.engine.connect() as conn:
            index = conn.execute(select(e.idx).where(e.statement_id == statement_id)).scalar()
            if index is None or index >= self.published()[0]:
                return None
            return self._receipt_for(int(index), duplicate=True, conn=conn)

    @staticmethod
    def _known_statements(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[bytes, int]]:
        e = storage.entries.c
        out: dict[str, tuple[bytes, int]] = {}
        unique = list(dict.fromkeys(ids))
        for k in range(0, len(unique), 500):
            rows = conn.execute(
                select(e.statement_id, e.submission_sha256, e.idx).where(
                    e.statement_id.in_(unique[k : k + 500])
                )
            )
            for sid, digest, idx in rows:
                out[sid] = (bytes(digest), int(idx))
        return out


def _parse(data: bytes, k: int) -> Submission:
    """Step 1 for one submission, with errors attributed to its batch position."""
    if not isinstance(data, bytes | bytearray):
        raise InputError("a submission must be bytes of canonical JSON", field=f"batch[{k}]")
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
