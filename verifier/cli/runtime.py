"""Process settings for long runs over a large, growing heap: the garbage collector.

CPython's cyclic collector runs a young collection every 700 net container allocations and,
every so often, a full one that walks *every* tracked object. A process holding a replayed
rule state (a server, the verifier at 1M entries, an append benchmark) has hundreds of
thousands of long-lived objects, so the collector's walks became a large part of the
per-entry cost: appending 20,000 entries to a 100k log spent 0.7–0.9 s of 4.4–4.6 s in
collections (736 young, 67 middle, 6 full; ``bench/scale.py``'s append, measured with
``gc.callbacks``), and one full collection of a 20k-entry server stalled every request in
flight for 48–71 ms (docs/PERFORMANCE.md, issues 13 and 14).

:func:`tune_for_long_lived_heap` freezes what exists (``gc.freeze``: moved to the permanent
generation, never walked again; reference counting still frees it when dropped) and makes
the young generation larger (``gc.set_threshold``), so collections are rare and walk only
recent objects: the same 20,000 appends then spent ~0.05 s in one young collection. Cyclic
garbage waits longer to be collected: at most ``young`` container objects, a few MiB.
Reference-counted garbage — nearly all of it — is freed at once as before.

Call it once per process, after start-up (imports, the ledger opened), from a program's
entry point — never from library code that tests call many times.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_for_long_lived_heap"]

#: Net container allocations between young collections (CPython's default: 700).
YOUNG_THRESHOLD = 100_000


def tune_for_long_lived_heap(young: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze every object alive now, and collect the young generation only
    every ``young`` net allocations (older generations after 50 and 100 of those). Cost:
    one full collection now (tens of ms at 20k entries, about a second at 1M)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, 50, 100)
