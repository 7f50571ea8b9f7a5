"""Keep the server's memory flat under bursts of large, short-lived buffers (issue 13).

Each residents' look-up derives an scrypt key with a 16 MiB work buffer (ledger/residents.py)
on one of the thread pool's threads. glibc serves a request that large with ``mmap`` and
returns it on ``free`` — but on that first ``free`` it raises its *dynamic* mmap threshold to
the freed size, so every later 16 MiB buffer comes from a per-thread malloc arena instead, and
an arena keeps its top memory after ``free``. With the anyio pool's 40 threads spread over up
to 16 arenas, a burst of look-ups left the process ~500 MiB larger for good (measured: a
40-thread, 2-at-a-time scrypt burst grows RSS from 16 to 529 MiB; with the threshold pinned,
to 17 MiB — ``tests/test_memory_pin.py``).

:func:`pin_mmap_threshold` fixes the threshold (``mallopt(M_MMAP_THRESHOLD, 1 MiB)``), which
also turns the dynamic adjustment off: buffers of 1 MiB and more are always mapped and unmapped.
The cost is one ``mmap``/``munmap`` pair per large allocation, negligible beside the work done
with a megabyte. On a C library without ``mallopt`` (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

#: glibc's ``M_MMAP_THRESHOLD`` parameter number (malloc.h).
_M_MMAP_THRESHOLD = -3
#: Allocations of this size and more are always served by mmap and returned on free.
DEFAULT_THRESHOLD = 1 << 20


def pin_mmap_threshold(threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Pin glibc's mmap threshold to ``threshold`` bytes for this process; True if it was set.
    Call once per process (each server worker), before the first large allocation. O(1)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, threshold))
    if not ok:  # pragma: no cover - glibc refuses only thresholds above 32 MiB
        logging.getLogger("gongxin.server").warning("mallopt(M_MMAP_THRESHOLD) refused")
    return ok
