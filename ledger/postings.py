"""The ``postings`` index (FORMAT.md §10.6): what every accepted entry moved, stored beside
the log so that traces and residents' histories are indexed look-ups, not replays.

Written three ways, all through the storage contract (:mod:`ledger.store.contract`):

- by the append transaction (:mod:`ledger.append`, step 8), from the postings the rulebook
  reported for the entries it accepted — a rejected request's postings are dropped with it;
- by :func:`backfill`, once, for entries stored without them (a database upgraded to
  migration 0004, a restored backup): one replay of the log, its postings inserted in
  transactions of :data:`BATCH` entries, each advancing ``postings_progress`` (an
  interrupted back-fill resumes where it stopped);
- never otherwise: it is derived data — the rules recompute it from the entries at any time,
  and tests/test_postings_index.py checks it against a full replay on random logs.

Read by :func:`postings_of`, :func:`trace_postings` and :func:`credits_of` (indexed range
scans: O(log n + k) for k postings), for ``gongxin trace``, the API's traces and residents'
look-ups. A reader asks only below a size it knows is committed, so it never sees half an
append.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ledger.store import schema
from ledger.store.contract import LedgerStore, PostingRow, WriteTransaction
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.rules import DomainRules, Posting
from verifier.rules.log_state import LogState, Rulebook

__all__ = [
    "BATCH",
    "LOOKUPS",
    "Collector",
    "backfill",
    "credits_of",
    "postings_of",
    "rows_of",
    "trace_postings",
]

#: Entries per back-fill transaction (bounds the write lock's hold and the memory).
BATCH = 10_000
#: The objects a posting can be looked up by (an index each).
LOOKUPS = ("fund", "contract", "payment", "provider", "resident")
_p = schema.postings.c
_COLUMNS = (_p.entry_idx, _p.event, _p.amount, *(_p[n] for n in Posting.__slots__[3:]))
_log = logging.getLogger("gongxin.ledger")


class Collector:
    """The postings a :class:`DomainRules` reports while attached — during one append
    transaction — in order; an observer the rulebook already had is still called."""

    __slots__ = ("_prior", "_rules", "postings")

    def __init__(self, rules: DomainRules) -> None:
        self.postings: list[Posting] = []
        self._rules, self._prior = rules, rules.observer
        prior, collected = rules.observer, self.postings

        def both(p: Posting) -> None:
            collected.append(p)
            assert prior is not None
            prior(p)

        rules.observer = collected.append if prior is None else both

    @classmethod
    def attach(cls, rules: object) -> Collector | None:
        """A collector on ``rules``; ``None`` for a rulebook that reports no postings."""
        return cls(rules) if isinstance(rules, DomainRules) else None

    def detach(self) -> None:
        """Give the rulebook its own observer back. Idempotent."""
        self._rules.observer = self._prior


def rows_of(postings: Iterable[Posting]) -> list[PostingRow]:
    """``postings`` rows of index-ordered postings: each numbered by its position within its
    entry (the order the rulebook reported them). O(k)."""
    rows: list[PostingRow] = []
    index, position = -1, 0
    for p in postings:
        position = position + 1 if p.index == index else 0
        index = p.index
        rows.append(
            (
                p.index,
                position,
                p.event,
                p.amount,
                p.fund,
                p.contract,
                p.payment,
                p.provider,
                p.community,
                p.resident,
                p.activity,
            )
        )
    return rows


# -- reading -----------------------------------------------------------------------------------


def postings_of(conn: Connection, target: str, ident: str, size: int) -> list[Posting]:
    """The postings whose ``target`` (one of :data:`LOOKUPS`) is ``ident``, of entries below
    ``size``, in log order (entry, then position). One index range scan: O(log n + k)."""
    sql = _sql_for(target, _mark(conn))
    return [Posting(*row) for row in conn.exec_driver_sql(sql, (ident, size))]


def trace_postings(
    conn: Connection, target: str, ident: str, size: int
) -> tuple[list[Posting], list[Posting]]:
    """(the postings a trace of ``target`` ``ident`` shows, in log order; the target's own),
    below ``size``. The context is what a replay's :class:`~verifier.reports.tracing.Tracer`
    adds: a payment's contract award, a contract's or payment's fund appropriation (a
    provider, like a fund or a resident, has none). Two reads: O(log n + k)."""
    own = postings_of(conn, target, ident, size)
    if not own or target not in ("contract", "payment"):
        return own, own
    first, mark = own[0], _mark(conn)
    terms, params = [f"(fund = {mark} AND event = 'fund.appropriated')"], [first.fund]
    if target == "payment":
        terms.append(f"(contract = {mark} AND event = 'contract.awarded')")
        params.append(first.contract)
    sql = (
        f"SELECT {', '.join(c.name for c in _COLUMNS)} FROM postings WHERE entry_idx < {mark} "
        f"AND ({' OR '.join(terms)}) ORDER BY entry_idx, position"
    )
    context: dict[str, Posting] = {}
    for row in conn.exec_driver_sql(sql, (first.index, *params)):
        context.setdefault(row[1], Posting(*row))  # the first of each event
    return sorted([*context.values(), *own], key=lambda p: p.index), own


@lru_cache(maxsize=32)
def _sql_for(target: str, mark: str) -> str:
    """The look-up's SQL, sent straight to the driver (building a SQLAlchemy expression
    costs more than the indexed read)."""
    if target not in LOOKUPS:
        raise ValueError(f"target must be one of {', '.join(LOOKUPS)}")
    return (
        f"SELECT {', '.join(c.name for c in _COLUMNS)} FROM postings WHERE {target} = {mark} "
        f"AND {target} IS NOT NULL AND entry_idx < {mark} ORDER BY entry_idx, position"
    )


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def credits_of(conn: Connection, resident: str, size: int) -> list[Posting]:
    """Every credit posting of the resident (``resident_ref``) below ``size``, in log order."""
    return postings_of(conn, "resident", resident, size)


# -- back-fill ---------------------------------------------------------------------------------


def backfill(
    store: LedgerStore,
    rulebook: Callable[[], Rulebook] = DomainRules,
    *,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Store the postings of every entry that lacks them; returns how many entries that was
    (0 when the index is complete: two O(1) reads).

    One replay of the whole log (the postings of entry i depend on every entry before it;
    signatures are not re-checked — the ledger checked them on the way in), under
    ``rulebook`` (which must be a :class:`DomainRules`, else nothing is done). The postings
    are inserted every ``batch`` entries in their own write transaction, which also advances
    ``postings_progress``; appends interleave between them. The last batch is replayed under
    the write lock, so that the index is complete when it commits. Rows already stored (by
    appends since the upgrade, or a concurrent back-fill) are kept. ``progress(done,
    total)`` is called after each batch. Cost: O(n) replay, about 0.1 ms per entry.
    :class:`InputError` if the database predates the index (migration 0004).
    """
    with store.reading() as reader:
        last = reader.last_index()
        try:
            through = reader.postings_through()
        except DBAPIError:
            raise InputError(
                "the database schema is older than this version (no postings index); back it "
                "up (`gongxin backup`), then run `gongxin db upgrade`",
                field="database",
            ) from None
    size = 0 if last is None else last + 1
    rules = rulebook()
    if through >= size or not isinstance(rules, DomainRules):
        return 0
    seen: list[Posting] = []
    rules.observer = seen.append
    state = LogState(rulebook=rules)
    cursor = 0
    while cursor < size:
        with store.reading() as reader:
            rows = reader.lines(cursor, min(size, cursor + batch))
        _replay(state, rows)
        cursor = rows[-1][0] + 1 if rows else size
        if cursor > through:
            with store.begin_write() as txn:
                _flush(txn, seen, cursor)
                txn.commit()
            if progress is not None:
                progress(cursor, size)
        seen.clear()
    with store.begin_write() as txn:  # what was appended meanwhile, under the lock
        _replay(state, list(txn.entries_since(cursor)))
        end = max(cursor, state.size)
        _flush(txn, seen, end)
        txn.commit()
    _log.info("postings index: %d entries back-filled", end - through)
    return end - through


def _replay(state: LogState, rows: Sequence[tuple[int, bytes]]) -> None:
    for idx, line in rows:
        entry = parse_entry_line(line, idx)
        state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)


def _flush(txn: WriteTransaction, seen: list[Posting], end: int) -> None:
    """Under the write lock: store the postings in ``seen`` of entries from the current mark
    up to ``end`` (skipping stored rows) and mark the index complete below ``end``."""
    through = txn.postings_through()
    if through >= end:
        return
    txn.insert_postings(rows_of(p for p in seen if p.index >= through), skip_stored=True)
    txn.advance_postings(through, end)
