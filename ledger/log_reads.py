"""What an open ledger answers readers: its size, checkpoints, proofs, entry lines and receipts.

:class:`LedgerReads` is the base class of :class:`ledger.log.Ledger`, which sets up the
attributes declared here, loads the state these methods read, and appends. Proofs and the node
cache are :mod:`ledger.reads`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ledger.reads import ProofReader
from ledger.records import ConsistencyProof, InclusionProof, Receipt
from ledger.store.contract import LedgerStore
from verifier.core.errors import InputError
from verifier.rules.log_state import LogState

#: Entry lines read per query by :meth:`Ledger.iter_lines`.
_LINES_PER_PAGE = 10_000


class LedgerReads:
    """The reading methods of :class:`ledger.log.Ledger`, over the attributes it sets up."""

    store: LedgerStore
    state: LogState
    checkpoint_note: str | None
    _read_only_size: int | None
    _proofs: ProofReader

    @property
    def size(self) -> int:
        return self.state.size if self._read_only_size is None else self._read_only_size

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
        return self._proofs.inclusion_proof(index, self.size if size is None else size, self.size)

    def inclusion_proofs(self, indices: Sequence[int], size: int) -> list[list[bytes]]:
        """Inclusion paths of many entries in the tree of ``size``, with one batched read of
        the union of their nodes; see :meth:`ledger.reads.ProofReader.inclusion_proofs`."""
        return self._proofs.inclusion_proofs(indices, size, self.size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """Consistency proof from ``size1`` to ``size2`` (default: current). O(log n)."""
        size2 = self.size if size2 is None else size2
        return self._proofs.consistency_proof(size1, size2, self.size)

    def iter_lines(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Entry lines in index order, streamed in pages of 10,000. O(1) memory per page."""
        end = self.size if end is None else end
        with self.store.reading() as reader:
            cursor = start
            while cursor < end:
                rows = reader.lines(cursor, min(end, cursor + _LINES_PER_PAGE))
                if not rows:
                    break
                for _, line in rows:
                    yield line
                cursor = rows[-1][0] + 1

    def checkpoint_at(self, size: int) -> str | None:
        """The signed checkpoint for exactly ``size`` entries, if one was issued."""
        with self.store.reading() as reader:
            return reader.checkpoint_at(size)

    def receipt_of(self, statement_id: str) -> Receipt | None:
        """The receipt (against the latest checkpoint) of the logged statement with this id,
        or ``None``. Cost: one indexed read."""
        with self.store.reading() as reader:
            logged = reader.logged_statements([statement_id]).get(statement_id)
        if logged is None:
            return None
        size, note = self.published()
        if logged.index >= size:
            return None
        return Receipt(logged.index, statement_id, logged.leaf_hash, note, size, True, logged.line)

    def database_size(self) -> int:
        with self.store.reading() as reader:
            return reader.entry_count()
