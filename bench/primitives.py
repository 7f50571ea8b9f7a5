"""Raw primitives every Gongxin figure is compared with, plus shared reporting helpers.

Measures, on realistic inputs taken from the demo scenario (statements of ~300 bytes, entry
lines of ~500 bytes):

- Ed25519 verifications/s with pynacl's ``crypto_sign_open`` called directly, on one core and
  on all cores (N forked processes, each verifying the same fixed amount, timed from a
  shared start barrier to the last finish);
- SHA-256 RFC 9162 leaf hashes/s (``sha256(0x00 || line)``);
- orjson canonical encodes/s (``orjson.dumps(entry, option=OPT_SORT_KEYS)``).

Each rate is the median of ``--repeats`` runs (the machine is noisy, up to 2x). The other
benchmarks import this module and print these rates next to their own figures, measured in
the same run, with the ratio.

Also here: peak RSS helpers (``getrusage`` / ``/proc/self/status``) and a tiny table printer.

Run::

    . .venv/bin/activate
    python bench/primitives.py [--repeats 5] [--workers N]

Target: none of its own; these are the ceilings the other targets are expressed against
(e.g. verification at >= 70 % of the all-core Ed25519 rate).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import orjson

# Make the repository importable when this file is run as a script from anywhere.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

Triple = tuple[bytes, bytes, bytes]


# --------------------------------------------------------------------------- sample data


@dataclass
class Samples:
    """Realistic inputs: (public key, signed message, signature) triples, entry lines, and
    the entry objects whose canonical encoding those lines are."""

    triples: list[Triple]
    lines: list[bytes]
    objects: list[dict[str, Any]]


def make_samples(n: int = 256, seed: int = 1) -> Samples:
    """Sign ``n`` demo statements (a few ms) and build entry lines for them."""
    from ledger.demo import DEMO_START, DemoClock, Scenario, derive_keys
    from ledger.demo.cast import DEMO_ORIGIN
    from ledger.records import entry_bytes
    from verifier.core.entry import ZERO_HASH_HEX

    keys = derive_keys(seed)
    by_id = {k.key_id.hex(): k for k in keys.all()}
    stream = Scenario(seed, keys, DemoClock(DEMO_START)).statements()
    triples: list[Triple] = []
    lines: list[bytes] = []
    objects: list[dict[str, Any]] = []
    for i in range(n):
        sub = next(stream)
        msg = sub.statement.message(DEMO_ORIGIN)  # the demo log is format 2
        sig = sub.signatures[0]
        triples.append((by_id[sig.key_id].verifier().public_key, msg, sig.sig))
        line = entry_bytes(i, "2026-01-05T01:00:00.000000Z", ZERO_HASH_HEX, sub)
        lines.append(line)
        objects.append(orjson.loads(line))
    return Samples(triples, lines, objects)


# --------------------------------------------------------------------------- primitives


def _verify_loop(triples: Sequence[Triple], count: int) -> None:
    """``count`` raw libsodium verifications, cycling through ``triples``."""
    open_ = nacl.bindings.crypto_sign_open
    m = len(triples)
    for i in range(count):
        pub, msg, sig = triples[i % m]
        open_(sig + msg, pub)


def ed25519_rate_1core(triples: Sequence[Triple], count: int = 20_000) -> float:
    """Verifications/s of pynacl ``crypto_sign_open`` in this process."""
    _verify_loop(triples, 200)  # warm up
    t0 = time.perf_counter()
    _verify_loop(triples, count)
    return count / (time.perf_counter() - t0)


def _worker(triples: Sequence[Triple], count: int, barrier: Any, out: Any) -> None:
    _verify_loop(triples, 200)
    barrier.wait()
    t0 = time.perf_counter()
    _verify_loop(triples, count)
    out.put((t0, time.perf_counter()))


def ed25519_rate_ncores(
    triples: Sequence[Triple], workers: int | None = None, count: int = 20_000
) -> float:
    """Aggregate verifications/s of ``workers`` forked processes (default: all CPUs)."""
    n = workers or len(os.sched_getaffinity(0))
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(triples, count, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    spans = [out.get() for _ in procs]
    for p in procs:
        p.join()
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return n * count / (end - start)


def sha256_leaf_rate(lines: Sequence[bytes], count: int = 200_000) -> float:
    """RFC 9162 leaf hashes/s: ``sha256(b"\\x00" + line).digest()``."""
    sha, m = hashlib.sha256, len(lines)
    t0 = time.perf_counter()
    for i in range(count):
        sha(b"\x00" + lines[i % m]).digest()
    return count / (time.perf_counter() - t0)


def orjson_encode_rate(objects: Sequence[dict[str, Any]], count: int = 200_000) -> float:
    """Canonical encodes/s of entry objects: ``orjson.dumps(obj, option=OPT_SORT_KEYS)``."""
    dumps, opt, m = orjson.dumps, orjson.OPT_SORT_KEYS, len(objects)
    t0 = time.perf_counter()
    for i in range(count):
        dumps(objects[i % m], option=opt)
    return count / (time.perf_counter() - t0)


def median_of(fn: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    """Run ``fn`` ``repeats`` times; return (median, all values)."""
    values = [fn() for _ in range(repeats)]
    return statistics.median(values), values


@dataclass
class Raw:
    """The raw primitive rates of one run (medians)."""

    workers: int
    ed25519_1: float
    ed25519_n: float
    sha256_leaf: float
    orjson_encode: float

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("raw Ed25519 verify, 1 core (pynacl)", f"{self.ed25519_1:,.0f} /s"),
            (f"raw Ed25519 verify, {self.workers} procs", f"{self.ed25519_n:,.0f} /s"),
            ("raw SHA-256 leaf hash", f"{self.sha256_leaf:,.0f} /s"),
            ("raw orjson canonical encode (entry)", f"{self.orjson_encode:,.0f} /s"),
        ]


def measure_raw(repeats: int = 3, workers: int | None = None, verbose: bool = True) -> Raw:
    """Measure every raw primitive (median of ``repeats``); ~2 s per repeat."""
    n = workers or len(os.sched_getaffinity(0))
    s = make_samples()
    e1, e1_all = median_of(lambda: ed25519_rate_1core(s.triples), repeats)
    en, en_all = median_of(lambda: ed25519_rate_ncores(s.triples, n), repeats)
    sh, _ = median_of(lambda: sha256_leaf_rate(s.lines), repeats)
    oj, _ = median_of(lambda: orjson_encode_rate(s.objects), repeats)
    if verbose:
        print(f"  raw Ed25519 1-core runs: {', '.join(f'{v:,.0f}' for v in e1_all)}")
        print(f"  raw Ed25519 {n}-proc runs: {', '.join(f'{v:,.0f}' for v in en_all)}")
    return Raw(n, e1, en, sh, oj)


class Adjacent:
    """Short raw Ed25519 measurements taken right before and after each measured run, so
    that a run is compared with the machine as it was during that run (other work on a
    shared 2-core machine can halve the raw rate from one minute to the next)."""

    def __init__(self, workers: int | None = None, count: int = 5000) -> None:
        self.workers = workers or len(os.sched_getaffinity(0))
        self.count = count
        self.triples = make_samples(64).triples

    def measure(self) -> tuple[float, float]:
        """(1-core rate, all-core rate) now; ~1.5 s."""
        one = ed25519_rate_1core(self.triples, self.count)
        many = ed25519_rate_ncores(self.triples, self.workers, self.count)
        return one, many

    def around(self, fn: Callable[[], Any]) -> tuple[Any, float, float]:
        """Run ``fn``; return (its result, mean 1-core rate, mean all-core rate) measured
        just before and just after it."""
        a1, an = self.measure()
        out = fn()
        b1, bn = self.measure()
        return out, (a1 + b1) / 2, (an + bn) / 2


# --------------------------------------------------------------------------- reporting


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux). For
    ``RUSAGE_CHILDREN`` it is the largest single waited-for descendant, not a sum."""
    return resource.getrusage(who).ru_maxrss / 1024


def proc_status_mb(field: str = "VmHWM", pid: int | str = "self") -> float | None:
    """A memory field (VmHWM = peak RSS, VmRSS = current) from /proc/PID/status, MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> None:
    """Print rows as a left-aligned text table (first column) / right-aligned (others)."""
    data = [[str(c) for c in r] for r in rows]
    if header:
        data.insert(0, [str(h) for h in header])
    widths = [max(len(r[i]) for r in data if i < len(r)) for i in range(max(map(len, data)))]
    for k, r in enumerate(data):
        cells = [c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)]
        print("  " + "  ".join(cells).rstrip())
        if header and k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def fmt_ratio(value: float, base: float) -> str:
    return f"{100 * value / base:.1f} %" if base else "n/a"


def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def banner(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def machine_line() -> str:
    """Python, CPUs and the current load (other work on the machine skews every figure)."""
    import platform

    cpus = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"python {platform.python_version()}, {cpus} CPUs, load average {load}"


def code_fingerprint(paths: Sequence[str] = ("ledger", "verifier")) -> str:
    """Git HEAD plus a digest of the measured source files (the tree is edited while
    benchmarks run, so every report says which code it measured)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(_REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        head = "?"
    h = hashlib.sha256()
    for top in paths:
        for f in sorted((_REPO / top).rglob("*.py")):
            h.update(str(f.relative_to(_REPO)).encode() + b"\0" + f.read_bytes())
    return f"git {head or '?'} + working tree of {'/'.join(paths)} sha256:{h.hexdigest()[:12]}"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    args = ap.parse_args(argv)
    banner("raw primitives")
    print(f"  {machine_line()}; median of {args.repeats} runs")
    print(f"  code: {code_fingerprint()}")
    raw = measure_raw(args.repeats, args.workers)
    table(raw.rows(), header=("primitive", "rate"))
    print(f"  {raw.workers}-proc / 1-core Ed25519 scaling: {raw.ed25519_n / raw.ed25519_1:.2f}x")
    print(f"  peak RSS of this process: {peak_rss_mb():.1f} MiB")


if __name__ == "__main__":
    main()
