"""Export storm: many clients downloading ``GET /v1/log/export`` at once (issue 13).

What it measures: a copy of a demo log (``--entries``, default 100,000) is served by a real
``gongxin serve --read-only --workers N`` on 127.0.0.1 with its own ``TMPDIR``. First, for
``--seconds``, only ``/healthz`` is probed (every 20 ms, its own connection each time): the
unattacked latency. Then ``--clients`` threads download the export again and again for
``--seconds`` (an attacker does not honour ``Retry-After``: a refused client retries after
50 ms) while the probe goes on. Reported, before and during the storm:

- ``/healthz`` p50 / p99 / max (ms);
- server RSS (all its processes, from ``/proc``) before, at its peak and 2 s after the storm;
- the peak of the server's temporary disk (``du`` of its ``TMPDIR``, sampled every 50 ms);
- downloads completed (200), refused (``export.busy``, and whether each had ``Retry-After``),
  failed (anything else: 5xx, a broken stream), and the bytes sent;
- one downloaded zip checked with ``gongxin-verify`` (``--verify``).

The server runs with ``--exports-per-minute 0``: every client here shares 127.0.0.1, and the
per-address limit would turn the storm into refusals; without it the figures are those of a
storm from as many addresses as clients, held back by ``--export-streams`` alone.

Issue 13's targets at 100k entries and 20 clients: ``/healthz`` p99 ≤ 200 ms, RSS growth
≤ 100 MB, temporary disk ≤ one export, no 5xx.

For ``bench/hostile.py``: :func:`storm` (the attack alone, in threads until an event is set),
:class:`Probe` (``/healthz`` latencies), :class:`ServerWatch` (RSS and ``TMPDIR`` of a server
process tree) and :func:`measure` (all of it against a running server) need only a URL, a pid
and a directory.

Run::

    . .venv/bin/activate
    python bench/export_storm.py --entries 20000 --seconds 10
    python bench/export_storm.py              # 100k entries, 20 clients, 2 workers
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import primitives as P

from tests.api_server import demo_template, live_server

CACHE = Path(os.environ.get("GONGXIN_BENCH_CACHE", "/tmp/gongxin-bench"))
VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))


# --------------------------------------------------------------------------- the server


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's worker processes)."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (sum of ``VmRSS``)."""
    total = 0
    for p in tree_pids(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def disk_bytes(directory: Path) -> int:
    """Bytes of the files under ``directory`` (what ``du`` would count, by size)."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


class ServerWatch:
    """Samples a server tree's RSS and its ``TMPDIR`` every ``every`` seconds in a thread;
    keeps the peaks. ``with ServerWatch(pid, tmpdir) as w: ...``."""

    def __init__(self, pid: int, tmpdir: Path, every: float = 0.05) -> None:
        self.pid, self.tmpdir, self.every = pid, tmpdir, every
        self.peak_rss = self.peak_disk = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, rss_bytes(self.pid))
            self.peak_disk = max(self.peak_disk, disk_bytes(self.tmpdir))
            self._stop.wait(self.every)

    def __enter__(self) -> ServerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Probe:
    """``GET /healthz`` every ``every`` seconds on a fresh connection (as a load balancer
    would; one client, keep-alive off), in a thread; :attr:`ms` holds the latencies (a
    failure counts as 10 s)."""

    def __init__(self, url: str, every: float = 0.02) -> None:
        self.url, self.every = url, every
        self.ms: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.url, timeout=10, limits=fresh) as http:
            while not self._stop.is_set():
                self._once(http)

    def _once(self, http: httpx.Client) -> None:
        t0 = time.perf_counter()
        try:
            ok = http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            ok = False
        self.ms.append((time.perf_counter() - t0) * 1000 if ok else 10_000.0)
        self.failures += not ok
        self._stop.wait(self.every)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        return {
            "n": len(self.ms),
            "p50_ms": P.pct(self.ms, 0.5),
            "p99_ms": P.pct(self.ms, 0.99),
            "max_ms": max(self.ms, default=0.0),
            "failures": self.failures,
        }


# --------------------------------------------------------------------------- the attack


@dataclass
class StormCounts:
    """What the storm's clients got. ``outcomes``: ``"200"``, ``"busy"`` (503/429 with
    ``Retry-After``), ``"busy-no-retry-after"``, ``"<status>"``, ``"broken"`` (the stream
    failed). ``sample``: the first complete download, for verification."""

    outcomes: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    seconds: list[float] = field(default_factory=list)
    sample: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)


def _client(url: str, stop: threading.Event, counts: StormCounts, keep: bool) -> None:
    with httpx.Client(base_url=url, timeout=120) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            got, kept = 0, [] if keep else None
            try:
                with http.stream("GET", "/v1/log/export") as r:
                    for chunk in r.iter_bytes(1 << 16):
                        got += len(chunk)
                        if kept is not None:
                            kept.append(chunk)
                    status = r.status_code
                    retry = "retry-after" in r.headers
            except httpx.HTTPError:
                outcome = "broken"
            else:
                if status == 200:
                    outcome = "200"
                elif status in (429, 503):
                    outcome = "busy" if retry else "busy-no-retry-after"
                else:
                    outcome = str(status)
            with counts.lock:
                counts.outcomes[outcome] += 1
                counts.bytes += got
                if outcome == "200":
                    counts.seconds.append(time.perf_counter() - t0)
                    if kept is not None and counts.sample is None:
                        counts.sample = b"".join(kept)
            if outcome != "200":
                stop.wait(0.05)


def storm(url: str, clients: int, stop: threading.Event, keep_sample: bool = True) -> StormCounts:
    """Start ``clients`` threads downloading the export until ``stop`` is set; returns the
    (live) counts at once. Join by setting ``stop`` and calling :func:`join_storm`."""
    counts = StormCounts()
    counts.threads = [
        threading.Thread(target=_client, args=(url, stop, counts, keep_sample and k == 0))
        for k in range(clients)
    ]
    for t in counts.threads:
        t.start()
    return counts


def join_storm(counts: StormCounts) -> None:
    """Wait for the storm's clients (after its ``stop`` was set)."""
    for t in counts.threads:
        t.join()


def measure(url: str, pid: int, tmpdir: Path, clients: int, seconds: float) -> dict[str, Any]:
    """The storm's figures against a running server (``pid``: its main process; ``tmpdir``:
    its ``TMPDIR``): unattacked ``/healthz`` for ``seconds``, then the storm for ``seconds``."""
    rss0, disk0 = rss_bytes(pid), disk_bytes(tmpdir)
    with Probe(url) as calm:
        time.sleep(seconds)
    stop = threading.Event()
    with ServerWatch(pid, tmpdir) as watch, Probe(url) as attacked:
        counts = storm(url, clients, stop)
        time.sleep(seconds)
        stop.set()
        join_storm(counts)
    time.sleep(2)
    return {
        "healthz_calm": calm.summary(),
        "healthz_storm": attacked.summary(),
        "rss_before": rss0,
        "rss_peak": watch.peak_rss,
        "rss_after": rss_bytes(pid),
        "tmp_before": disk0,
        "tmp_peak": watch.peak_disk,
        "tmp_after": disk_bytes(tmpdir),
        "outcomes": dict(counts.outcomes),
        "bytes": counts.bytes,
        "download_s": counts.seconds,
        "sample": counts.sample,
    }


def verify_sample(archive: bytes, log_vkey: str, workdir: Path) -> int:
    """``gongxin-verify`` on a downloaded zip; its exit code (0: valid)."""
    path = workdir / "sample.zip"
    path.write_bytes(archive)
    done = subprocess.run([VERIFY, str(path), "--log-key", log_vkey], capture_output=True)
    return done.returncode


# --------------------------------------------------------------------------- main


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def report(fig: dict[str, Any], entries: int, clients: int, workers: int) -> None:
    calm, hot = fig["healthz_calm"], fig["healthz_storm"]
    P.table(
        [
            ["/healthz p50 ms", f"{calm['p50_ms']:.1f}", f"{hot['p50_ms']:.1f}"],
            ["/healthz p99 ms", f"{calm['p99_ms']:.1f}", f"{hot['p99_ms']:.1f}"],
            ["/healthz max ms", f"{calm['max_ms']:.1f}", f"{hot['max_ms']:.1f}"],
            [
                "/healthz probes (failed)",
                f"{calm['n']} ({calm['failures']})",
                f"{hot['n']} ({hot['failures']})",
            ],
        ],
        header=["", "calm", f"storm ({clients} clients)"],
    )
    growth = fig["rss_after"] - fig["rss_before"]
    print(
        f"  server RSS ({workers} workers): before {_mb(fig['rss_before'])}, peak "
        f"{_mb(fig['rss_peak'])} (+{_mb(fig['rss_peak'] - fig['rss_before'])}), 2 s after "
        f"{_mb(fig['rss_after'])} ({'+' if growth >= 0 else ''}{_mb(growth)})"
    )
    print(
        f"  server TMPDIR: before {_mb(fig['tmp_before'])}, peak {_mb(fig['tmp_peak'])}, after "
        f"{_mb(fig['tmp_after'])}"
    )
    out, secs = fig["outcomes"], fig["download_s"]
    size = fig["bytes"] / max(1, out.get("200", 0))
    print(
        f"  downloads: {out}; {_mb(fig['bytes'])} sent; a complete one ≈ {_mb(size)} in "
        f"p50 {P.pct(secs, 0.5):.2f} s (max {max(secs, default=0):.2f} s) at {entries:,} entries"
    )
    bad = sum(v for k, v in out.items() if k not in ("200", "busy"))
    verdicts = [
        ("/healthz p99 ≤ 200 ms", hot["p99_ms"] <= 200),
        ("RSS growth ≤ 100 MB", growth <= 100e6),
        ("temp disk ≤ one export", fig["tmp_peak"] <= size),
        ("no 5xx, no broken stream, every refusal with Retry-After", bad == 0),
    ]
    for name, ok in verdicts:
        print(f"  {'✓' if ok else '✗'} {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000, help="demo log size served")
    ap.add_argument("--clients", type=int, default=20, help="concurrent downloading clients")
    ap.add_argument("--seconds", type=float, default=20.0, help="calm and storm duration each")
    ap.add_argument("--workers", type=int, default=2, help="gongxin serve --workers")
    ap.add_argument("--export-streams", type=int, default=None, help="per worker (default: 2)")
    ap.add_argument("--no-verify", action="store_true", help="skip gongxin-verify on a sample")
    args = ap.parse_args()
    P.banner(
        f"Export storm: {args.clients} clients × GET /v1/log/export, {args.entries:,} entries, "
        f"{args.workers} workers"
    )
    print(P.machine_line())
    template = demo_template(CACHE / f"demo-{args.entries}", args.entries)
    # All clients share 127.0.0.1: the per-address limit would refuse most downloads, so
    # it is off here and the bench measures the slot cap alone (a storm from many addresses).
    extra = ["--read-only", "--workers", str(args.workers), "--exports-per-minute", "0"]
    if args.export_streams is not None:
        extra += ["--export-streams", str(args.export_streams)]
    with tempfile.TemporaryDirectory(prefix="export-storm-") as tmp:
        work, tmpdir = Path(tmp), Path(tmp) / "server-tmp"
        tmpdir.mkdir()
        old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(tmpdir)  # the server inherits it; this process does not care
        try:
            with live_server(template, work / "srv", *extra, startup_timeout=600) as srv:
                fig = measure(srv.url, srv.process.pid, tmpdir, args.clients, args.seconds)
        finally:
            if old is None:
                os.environ.pop("TMPDIR")
            else:
                os.environ["TMPDIR"] = old
        report(fig, args.entries, args.clients, args.workers)
        if not args.no_verify and fig["sample"] is not None:
            rc = verify_sample(fig["sample"], template.log_vkey, work)
            print(
                f"  {'✓' if rc == 0 else '✗'} a downloaded zip verifies (gongxin-verify exit {rc})"
            )


if __name__ == "__main__":
    main()
