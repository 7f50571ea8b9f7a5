"""The credits part of a rule-state snapshot: activities and lots as columns (FORMAT.md §12.1).

At a million entries the credit book holds ~90k activities, ~450k open awards and ~125k
residents' lots, most of a snapshot. They are stored as columns — one array per field — so
that decoding checks and interns whole arrays at a time (``only``, ``map(intern, …)``, in C)
instead of one small array per record: about a third faster than records, and fewer JSON
objects alive at the peak. Residents are numbered by their position in the lots columns;
awards name them by number (an int is cheaper to decode than a 32-character pseudonym).

Derived, not stored: the daily totals (each resident's points in the open activities of a
date) and the heap of open activities. Pure; cost O(size of the credit book).
"""

from __future__ import annotations

import heapq
from itertools import chain, islice
from operator import attrgetter
from sys import intern

from verifier.rules.credits import Activity, CreditBook, Lot
from verifier.rules.snapshot_check import Json, SnapshotError, array, obj, only, text

CREDIT_BOOK_FIELDS = frozenset({"activities", "lots", "expired_through"})
ACTIVITY_TEXT = ("activity_id", "community", "category", "date", "last_day", "organiser")
ACTIVITY_FIELDS = frozenset({*ACTIVITY_TEXT, "index", "awards"})
LOTS_FIELDS = frozenset({"resident_ref", "count", "lots"})


def credits_to_json(c: CreditBook) -> Json:
    """Activities in log order (by index), residents in first-lot order (the order
    ``credit.expire`` posts in), each resident's lots sorted as the book keeps them."""
    number = {r: n for n, r in enumerate(c.lots)}
    acts = sorted(c.activities.values(), key=attrgetter("index"))
    try:
        awards = [None if a.awards is None else _numbered(a.awards, number) for a in acts]
    except KeyError:
        raise SnapshotError("an award names a resident who holds no lots") from None
    columns: dict[str, Json] = {name: [getattr(a, name) for a in acts] for name in ACTIVITY_TEXT}
    columns["index"] = [a.index for a in acts]
    columns["awards"] = awards
    lots = {
        "resident_ref": list(c.lots),
        "count": [len(x) for x in c.lots.values()],
        "lots": list(chain.from_iterable(chain.from_iterable(c.lots.values()))),
    }
    return {"activities": columns, "lots": lots, "expired_through": c.expired_through}


def _numbered(awards: dict[str, int], number: dict[str, int]) -> list[int]:
    """[resident number, packed award, …] by resident number. O(a log a)."""
    pairs = zip(map(number.__getitem__, awards), awards.values(), strict=True)
    return list(chain.from_iterable(sorted(pairs)))


def credits_from_json(value: Json, c: CreditBook) -> None:
    """Fill the empty book ``c`` (a fresh :class:`DomainRules`'s) from ``value``, which it
    consumes (each column is dropped once decoded, so that the decoded objects reuse its
    memory)."""
    d = obj(value, "credits", CREDIT_BOOK_FIELDS)
    c.expired_through = text(d["expired_through"], "credits.expired_through")
    c.lots.update(_lots(obj(d.pop("lots"), "credits.lots", LOTS_FIELDS)))
    acts = _activities(obj(d.pop("activities"), "credits.activities", ACTIVITY_FIELDS), c)
    c.activities.update(zip((a.activity_id for a in acts), acts, strict=True))
    if len(c.activities) != len(acts):
        raise SnapshotError("credits.activities: activity ids must be distinct")
    for a in acts:
        if a.awards is not None:
            c._open.append((a.last_day, a.activity_id))
            _add_daily(c.daily, a.date, a.awards)
    heapq.heapify(c._open)


def _column(cols: dict[str, Json], name: str, kind: type, n: int) -> list[Json]:
    """The column ``name``: ``n`` items, all of type ``kind``; popped from ``cols``."""
    col = array(cols.pop(name), f"credits column {name}")
    if len(col) != n or not only(col, kind):
        raise SnapshotError(f"credits column {name} must hold {n} items of type {kind.__name__}")
    return col


def _activities(cols: dict[str, Json], c: CreditBook) -> list[Activity]:
    n = len(array(cols["index"], "credits column index"))
    index = _column(cols, "index", int, n)
    if min(index, default=0) < 0:
        raise SnapshotError("credits column index must hold integers ≥ 0")
    ids, *texts = (_column(cols, name, str, n) for name in ACTIVITY_TEXT)
    awards = array(cols.pop("awards"), "credits column awards")
    if len(awards) != n:
        raise SnapshotError(f"credits column awards must hold {n} items")
    residents = list(c.lots)
    dicts = [
        None if a is None else _awards(k, a, residents) for k, a in zip(ids, awards, strict=True)
    ]
    interned = (map(intern, col) for col in texts)
    return list(map(Activity, ids, *interned, index, dicts))


def _awards(k: str, value: Json, residents: list[str]) -> dict[str, int]:
    """{resident: packed award} from [resident number, packed award, …]."""
    if type(value) is not list or len(value) % 2:
        raise SnapshotError(f"the awards of activity {k} must be [resident number, award, …]")
    numbers, packed = value[0::2], value[1::2]
    if numbers and not (only(value, int) and min(value) >= 0 and max(numbers) < len(residents)):
        raise SnapshotError(f"the awards of activity {k} name no resident of credits.lots")
    awards = dict(zip(map(residents.__getitem__, numbers), packed, strict=True))
    if len(awards) != len(numbers):
        raise SnapshotError(f"the awards of activity {k} name a resident twice")
    return awards


def _add_daily(daily: dict[str, dict[str, int]], day: str, awards: dict[str, int]) -> None:
    """Add an open activity's awards to the daily totals: ``daily[date][resident]`` is the
    points of the resident's awards for open activities of that date (activities of one
    date close together, dropping the date). O(awards)."""
    if not awards:
        return
    points = map(0xFFFFF.__and__, awards.values())  # Award.unpack(packed).points, in C
    per_day = daily.get(day)
    if per_day is None:
        daily[day] = dict(zip(awards, points, strict=True))
        return
    before = {r: per_day[r] for r in awards.keys() & per_day.keys()}
    per_day.update(zip(awards, points, strict=True))
    for r, p in before.items():
        per_day[r] += p


def _lots(cols: dict[str, Json]) -> dict[str, tuple[Lot, ...]]:
    """{resident: lots} from the columns ``resident_ref``, ``count`` (lots per resident)
    and ``lots`` ([month, community, points, …] in resident order). O(lots)."""
    n = len(array(cols["count"], "credits column count"))
    counts = _column(cols, "count", int, n)
    residents = _column(cols, "resident_ref", str, n)
    flat = array(cols.pop("lots"), "credits column lots")
    if min(counts, default=0) < 0 or len(flat) != 3 * sum(counts):
        raise SnapshotError("credits column lots must hold count (month, community, points)")
    months, communities, points = flat[0::3], flat[1::3], flat[2::3]
    if not (only(months, str) and only(communities, str) and only(points, int)):
        raise SnapshotError("credit lots must be (string, string, integer) triples")
    if min(points, default=1) < 1:
        raise SnapshotError("every credit lot must hold an integer ≥ 1 of points")
    del flat
    triples = zip(map(intern, months), map(intern, communities), points, strict=True)
    lots = (tuple(islice(triples, k)) for k in counts)
    out = dict(zip(map(intern, residents), lots, strict=True))
    if len(out) != n:
        raise SnapshotError("credits column resident_ref must not repeat a resident")
    return out


__all__ = ["credits_from_json", "credits_to_json"]
