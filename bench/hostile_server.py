"""The server side of ``bench/hostile.py``: its processes, their memory and temp disk, and
pinning server and clients to separate cores (Linux ``/proc`` and ``sched_setaffinity``)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import primitives as P


def worker_pids(pid: int) -> list[int]:
    """The uvicorn supervisor ``pid`` and its children (the workers)."""
    out = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (workers, their signature pools)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tasks(pid: int) -> list[int]:
    """The thread ids of process ``pid`` (``[pid]`` if /proc cannot say)."""
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def pin_for_start() -> list[int]:
    """Run this process (and so the server it starts next) on the first CPU only: the
    server's processes and threads then start pinned and size their pools to one CPU, as
    on a one-core host. Returns every CPU this process could use before, for
    :func:`split_cores`, which moves this process to the others afterwards."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[0]})
    return cpus


def split_cores(server_pid: int, cpus: list[int]) -> str:
    """Pin the server's processes to CPU ``cpus[0]`` and this process (the honest clients,
    and the attackers and primitives it spawns later) to the rest, so that the clients' own
    Python work — 200 attacking HTTP clients — does not take the server's CPU, as remote
    clients would not. ``cpus``: what :func:`pin_for_start` returned. Both phases run so;
    returns a line saying what was done."""
    if len(cpus) < 2:
        return "cores not split (one CPU)"
    pids = descendants(server_pid)
    for p in pids:  # every thread: sched_setaffinity(pid) moves only the main one
        for task in _tasks(p):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(task, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    return f"server ({len(pids)} processes) on CPU {cpus[0]}; clients on CPU {cpus[1:]}"


def server_rss_mb(pid: int) -> float:
    return sum(P.proc_status_mb("VmRSS", p) or 0.0 for p in worker_pids(pid))


def disk_mb(directory: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total / 2**20


@dataclass
class Gauge:
    """Peak RSS and temp disk, sampled while a phase runs."""

    pid: int
    tmp: Path
    rss_peak: float = 0.0
    disk_peak: float = 0.0

    def sample(self) -> None:
        self.rss_peak = max(self.rss_peak, server_rss_mb(self.pid))
        self.disk_peak = max(self.disk_peak, disk_mb(self.tmp))
