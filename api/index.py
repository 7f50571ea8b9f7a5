"""A live index of postings (FORMAT.md §10.6) for the server's traces and residents'
histories, kept by observing the rulebook as the ledger replays and appends.

``gongxin trace`` replays the whole log per question (O(n)); a server answers many questions,
so it keeps, as entries are accepted:

- every money posting (funds, contracts, payments, providers — few: thousands, not millions),
  with the positions of each object's postings;
- per resident, its credit postings packed into one int each (index, event, signed amount),
  about 36 bytes a posting.

The ledger undoes rejected batches; :meth:`PostingIndex.truncate` (registered as a
:attr:`ledger.log.Ledger.rollback_listeners` entry) drops what was seen of undone entries, and
:meth:`PostingIndex.commit` forgets the undo information once a batch is durable.
Not thread-safe: the caller serialises it with the appends (see :mod:`api.sequencer`).
"""

from __future__ import annotations

from verifier.rules import Posting
from verifier.rules.postings import EVENTS

#: Objects a money posting is filed under.
MONEY_TARGETS = ("fund", "contract", "payment", "provider")
#: Credit events in a fixed order, for packing.
CREDIT_EVENTS = tuple(e for e in EVENTS if e.startswith("credit."))
_EVENT_CODE = {e: k for k, e in enumerate(CREDIT_EVENTS)}
_AMOUNT_BIAS = 1 << 35


def pack_credit(p: Posting) -> int:
    """One int: index (bits 40+), event code (4 bits), amount + 2^35 (36 bits)."""
    return p.index << 40 | _EVENT_CODE[p.event] << 36 | (p.amount + _AMOUNT_BIAS)


def unpack_credit(packed: int) -> tuple[int, str, int]:
    """(index, event, amount) of :func:`pack_credit`."""
    return (
        packed >> 40,
        CREDIT_EVENTS[packed >> 36 & 0xF],
        (packed & ((1 << 36) - 1)) - _AMOUNT_BIAS,
    )


class PostingIndex:
    """Rulebook observer: call it with each :class:`Posting` in index order."""

    def __init__(self) -> None:
        self.money: list[Posting] = []
        #: (target, id) → positions in :attr:`money`, ascending.
        self.objects: dict[tuple[str, str], list[int]] = {}
        #: resident_ref → packed credit postings, ascending by index.
        self.residents: dict[str, list[int]] = {}
        #: What to undo since the last commit: ("m", position) or ("r", resident_ref), in order.
        self._undo: list[tuple[int, str, str]] = []

    def __call__(self, p: Posting) -> None:
        if p.event.startswith("credit."):
            ref = p.resident
            assert ref is not None
            self.residents.setdefault(ref, []).append(pack_credit(p))
            self._undo.append((p.index, "r", ref))
            return
        position = len(self.money)
        self.money.append(p)
        for target in MONEY_TARGETS:
            ident = getattr(p, target)
            if ident is not None:
                self.objects.setdefault((target, ident), []).append(position)
        self._undo.append((p.index, "m", ""))

    def commit(self) -> None:
        """Everything seen so far is durable: forget how to undo it. O(1)."""
        self._undo.clear()

    def truncate(self, size: int) -> None:
        """Drop postings of entries at index ``size`` or later (they were rolled back).
        O(postings dropped)."""
        while self._undo and self._undo[-1][0] >= size:
            _, kind, ref = self._undo.pop()
            if kind == "r":
                lst = self.residents[ref]
                lst.pop()
                if not lst:
                    del self.residents[ref]
                continue
            p = self.money.pop()
            for target in MONEY_TARGETS:
                ident = getattr(p, target)
                if ident is not None:
                    positions = self.objects[(target, ident)]
                    positions.pop()
                    if not positions:
                        del self.objects[(target, ident)]

    def postings_of(self, target: str, ident: str) -> list[Posting]:
        """The money postings filed under ``target`` ``ident``, in index order."""
        return [self.money[k] for k in self.objects.get((target, ident), ())]

    def credits_of(self, resident: str) -> list[tuple[int, str, int]]:
        """(index, event, amount) of every credit posting of the resident, in index order."""
        return [unpack_credit(v) for v in self.residents.get(resident, ())]
