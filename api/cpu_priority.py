"""Bulk work at a lower CPU priority: key derivations (look-ups) and export zips run in
thread pools whose threads have nice +10 (Linux), so under load they get the CPU that
honest writes and reads leave over, and on an idle server they run at full speed.

On Linux each thread is a task of its own, so ``setpriority(PRIO_PROCESS, native_id)``
lowers only that thread; elsewhere (or if the call is refused) the pool's threads simply run
at the normal priority.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

LOW_PRIORITY_NICE = 10
"""How much lower than the server's the pools' CPU priority is (Linux nice)."""


def lower_this_thread() -> None:
    """Thread initializer: lower the calling thread's priority by :data:`LOW_PRIORITY_NICE`
    (at most to 19). Never raises."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + LOW_PRIORITY_NICE))


def low_priority_pool(threads: int, name: str) -> ThreadPoolExecutor:
    """A pool of at most ``threads`` low-priority threads (made lazily by the executor)."""
    return ThreadPoolExecutor(
        max(1, threads), thread_name_prefix=name, initializer=lower_this_thread
    )
