"""The measurements of ``bench/scale.py`` other than append, each reusing the benchmark that
owns it: opens (``bench/open.py``'s child), traces (``bench/trace.py``) and incremental
re-verification (``bench/incremental.py`` through ``bench/verify.py``'s child).

Every function returns its figures together with the raw pynacl Ed25519 rate measured just
before and after it (:class:`primitives.Adjacent`), so that each figure is printed beside the
raw primitive of the same run.
"""

from __future__ import annotations

import statistics
import trace  # bench/trace.py: sys.path[0] is bench/, before the stdlib's trace
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import fixtures
import incremental
import open as open_bench
import primitives as P
import verify

from ledger.demo import derive_keys
from ledger.log import Ledger
from ledger.postings import backfill


def index_postings(url: str) -> int:
    """Complete the postings index of the log at ``url`` (the one-time back-fill an upgraded
    or restored database pays; 0 when already complete), so that no timed open pays it."""
    with Ledger.open(url, create=False, replay=False) as ledger:
        return backfill(ledger.store)


@dataclass
class Opens:
    """Both opens of one database, with the 1-core raw Ed25519 rate around each."""

    full: dict[str, Any]
    snap: dict[str, Any]
    raw_full: float
    raw_snap: float


def measure_opens(url: str, n: int, adjacent: P.Adjacent) -> Opens:
    """Open by full replay (then write a snapshot), then from that snapshot; each in a fresh
    process. Cost: one full replay, O(n)."""
    full, raw_full, _ = adjacent.around(partial(open_bench.run_child, "full", url))
    snap, raw_snap, _ = adjacent.around(partial(open_bench.run_child, "snapshot", url))
    assert full["snapshot_size"] == 0 and snap["snapshot_size"] == n, (full, snap)
    return Opens(full, snap, raw_full, raw_snap)


@dataclass
class Traces:
    """Trace latencies (ms) of every kind together, and the 1-core raw rate around them."""

    times: list[float]
    entries: float
    raw_1core: float

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p99(self) -> float:
        return P.pct(self.times, 0.99)


def measure_traces(
    ledger: Ledger, n: int, targets: int, rounds: int, adjacent: P.Adjacent
) -> Traces:
    """``bench/trace.py``'s traces (every kind, ``targets`` ids each, ``rounds`` rounds)."""
    chosen = trace.pick_targets(ledger, targets, seed=20261204 + n)
    (times, sizes), one, _ = adjacent.around(partial(trace.run_traces, ledger, chosen, rounds))
    every = [t for k in trace.KINDS for t in times[k]]
    mean = statistics.mean(s for k in trace.KINDS for s in sizes[k])
    return Traces(every, mean, one)


def vkey_file(seed: int = fixtures.DEFAULT_SEED) -> Path:
    """The demo log's verifier key, as ``bench/verify.py`` writes it."""
    path = fixtures.CACHE_DIR / f"log-seed{seed}.vkey"
    path.write_text(f"{derive_keys(seed).log.verifier()}\n")
    return path


def measure_incremental(db: Path, adjacent: P.Adjacent, workers: int = 2) -> dict[str, Any]:
    """Incremental re-verification of the export of ``db`` (``bench/verify.py``'s): a state
    written by a full run of the bundle at its last checkpoint ≤ N − new (new = 10,000, or
    N/10 below 100k), then the N-entry bundle re-verified from it. Database-independent
    (the verifier reads the bundle). Returns ``incremental.run``'s figures plus ``new_sigs``.
    Cost: a full verification of ≈ N entries, once."""
    bundle = db.with_suffix(".bundle")
    entries, _ = verify.ensure_bundle(db, bundle, fixtures.DEFAULT_SEED)
    new = min(10_000, entries // 10)
    prefix, _, new_sigs = incremental.prefix_bundle(db, bundle, entries, new)
    res = incremental.run(
        verify.run_measured, adjacent, verify.__file__, prefix, bundle, vkey_file(), workers
    )
    res["new_sigs"] = new_sigs
    return res


def incremental_cell(res: dict[str, Any]) -> str:
    """``replayed k new entries in s (x % of the full run of the prefix); raw ...``."""
    new = res["to"] - res["from"]
    frac = res["seconds"] / res["first_seconds"]
    return (
        f"{res['seconds']:.2f} s for {new:,} new ({100 * frac:.1f} % of the {res['from']:,}-entry "
        f"full run, {res['first_seconds']:.1f} s); raw {res['raw']:,.0f}/s 2p: new sigs alone "
        f"{res['new_sigs'] / res['raw']:.2f} s"
    )
