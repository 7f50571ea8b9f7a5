"""A resident's credit lots and the pure functions on them (FORMAT.md §10.4).

A resident's credits are held in *lots* ``(month earned, community, points)``, sorted oldest
first, every lot positive. :mod:`verifier.rules.credits` adds to them when it awards or
corrects; :mod:`verifier.rules.credit_spending` takes the oldest first (FIFO) when a
resident redeems or transfers, and drops whole months when points expire.

Pure functions on immutable tuples: no I/O, no state. Cost: O(lots of the resident) each.
"""

from __future__ import annotations

from sys import intern

#: A lot: (month earned "YYYY-MM", community party id, points > 0).
Lot = tuple[str, str, int]


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def balance_of(lots: tuple[Lot, ...]) -> int:
    """Total points of a resident's lots. O(lots)."""
    return sum(lot[2] for lot in lots)


def _add_lot(lots: tuple[Lot, ...], month: str, community: str, points: int) -> tuple[Lot, ...]:
    """``lots`` with ``points`` added to lot (month, community); ``points`` may be negative
    (the lot must hold enough). Keeps lots sorted and positive. O(lots)."""
    out = []
    added = False
    for m, c, p in lots:
        if (m, c) == (month, community):
            p += points
            added = True
        if p:
            out.append((m, c, p))
    if not added and points:
        # Interned: a new lot would otherwise hold its own copy of the month sliced from the
        # activity date (~56 bytes × ~290k lots at 1M entries, docs/PERFORMANCE.md).
        out.append((intern(month), community, points))
        out.sort()
    return tuple(out)


def _take_oldest(lots: tuple[Lot, ...], points: int) -> tuple[tuple[Lot, ...], list[Lot]]:
    """Spend ``points`` (≤ balance) from the oldest lots: (remaining lots, lots taken)."""
    taken: list[Lot] = []
    rest: list[Lot] = []
    need = points
    for m, c, p in lots:
        if need:
            t = min(p, need)
            taken.append((m, c, t))
            need -= t
            if p - t:
                rest.append((m, c, p - t))
        else:
            rest.append((m, c, p))
    return tuple(rest), taken
