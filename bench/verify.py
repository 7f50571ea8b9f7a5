"""Full third-party verification of an export bundle: throughput and peak memory.

What it measures: ``verifier.cli.bundle.verify_bundle(directory, log_key, workers=W)`` over the
export of a demo log of ``--entries`` entries (default 100,000; ``--million`` = 1,000,000),
with W = 2 and 1 (``--workers``), ``--repeats`` times each, every run in a fresh child
process so that its peak RSS is its own:

- entries/s and signatures/s (wall time of ``verify_bundle`` inside the child);
- ratio to the raw pynacl Ed25519 rate measured in this same run (all cores for W >= 2,
  one core for W = 1). Target (W = 2): >= 75 % of the raw 2-core rate;
- peak RSS: the verifier process (``VmHWM`` of the child: its own peak, which ``ru_maxrss``
  is not after a fork), its largest worker (``RUSAGE_CHILDREN`` in the child after the pool
  is shut down), and the whole process tree
  (sum of VmRSS of the child and its workers, sampled every 50 ms). Target: <= 200 MB;
- the command line ``gongxin-verify DIR --log-key FILE`` once (if installed), with its wall
  time and peak RSS (``wait4``).

Then incremental re-verification (``--state``, FORMAT.md §12.3; ``bench/incremental.py``):
the bundle of the same log at its last checkpoint ``--new`` (10,000) entries before the end is
verified with ``--state``, and the whole bundle re-verified from that state, replaying only the
new entries: its time beside the full run's (target ≤ 5 %) and the raw Ed25519 rate.

The log is the cached demo database (``--db``, default /tmp/gongxin-bench/1m.db, built if
missing) and the bundle is exported next to it once (``--bundle``, default
/tmp/gongxin-bench/1m.bundle) with ``ledger.export.export_bundle``, and re-exported only if
its checkpoint is not the database's latest.

Run::

    . .venv/bin/activate
    python bench/verify.py                   # 100,000 entries (/tmp/gongxin-bench/100000.db)
    python bench/verify.py --million         # 1,000,000 (/tmp/gongxin-bench/1m.db)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import primitives as P

from verifier.core.bundle import ENTRIES_FILE

TARGET_FRACTION = 0.75  # issue 14: full verification ≥ 75 % of raw
TARGET_RSS_MB = 200.0


# --------------------------------------------------------------------------- bundle


def latest_checkpoint(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        row = c.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return str(row[0])


def ensure_bundle(db: Path, bundle: Path, seed: int) -> tuple[int, int]:
    """Export ``db`` into ``bundle`` unless it already holds that export; returns (entries,
    signatures)."""
    import fixtures

    from ledger.export import export_bundle

    cp = bundle / "checkpoint"
    if cp.exists() and (bundle / ENTRIES_FILE).exists() and cp.read_text() == latest_checkpoint(db):
        print(f"  reusing export bundle {bundle}")
    else:
        print(f"  exporting {db} to {bundle} ...", flush=True)
        t0 = time.perf_counter()
        ledger, replayed = fixtures.open_reader(db)
        with ledger:
            t1 = time.perf_counter()
            n = export_bundle(ledger, bundle, force=True)
        t2 = time.perf_counter()
        print(
            f"  Ledger.open ({'replay' if replayed else 'read-only'}) {t1 - t0:.1f} s, "
            f"export_bundle {t2 - t1:.1f} s ({n / (t2 - t1):,.0f} entries/s)",
            flush=True,
        )
    entries = sigs = 0
    with (bundle / ENTRIES_FILE).open("rb") as fh:
        while block := fh.read(1 << 24):
            entries += block.count(b"\n")
            sigs += block.count(b'","sig":"')
    return entries, sigs


# --------------------------------------------------------------------------- child

#: Set (by ``--no-gc-tuning``) to leave the children's collector at CPython's defaults.
NO_GC_TUNING = "GONGXIN_BENCH_NO_GC_TUNING"


def child(bundle: Path, vkey_file: Path, workers: int) -> None:
    """Run one verification in this (fresh) process; print one JSON line."""
    from verifier.cli.bundle import verify_bundle
    from verifier.core.keys import parse_verifier_key

    if not os.environ.get(NO_GC_TUNING):
        from verifier.cli.runtime import tune_for_long_lived_heap

        tune_for_long_lived_heap()  # as gongxin-verify does at start
    log_key = parse_verifier_key(vkey_file.read_text().strip())
    rss0 = P.proc_status_mb("VmHWM") or P.peak_rss_mb()
    t0 = time.perf_counter()
    report = verify_bundle(bundle, log_key, workers=workers)
    dt = time.perf_counter() - t0
    out = {
        "seconds": dt,
        "tree_size": report.tree_size,
        "workers": report.workers,
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child of
        # this (larger) harness would report the harness's RSS at fork as its own peak.
        "rss_self_mb": P.proc_status_mb("VmHWM") or P.peak_rss_mb(),
        "rss_before_mb": rss0,
        "rss_workers_mb": P.peak_rss_mb(resource.RUSAGE_CHILDREN),
    }
    print("RESULT " + json.dumps(out), flush=True)


def _pss_mb(pid: int) -> float:
    """Proportional set size (shared pages split between sharers) from smaps_rollup, MiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree_rss_mb(pid: int) -> float:
    """Sum of PSS over ``pid`` and its descendants (via /proc/*/task/*/children): the memory
    the whole verification holds, with pages shared after fork counted once."""
    total, stack, seen = 0.0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        with contextlib.suppress(OSError):
            total += _pss_mb(p)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError):
                    stack.extend(int(c) for c in (task / "children").read_text().split())
    return total


def run_measured(cmd: list[str]) -> tuple[float, float, float, str, int]:
    """Run ``cmd``; return (wall s, wait4 maxrss MiB, sampled peak tree RSS MiB, stdout, rc)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            with contextlib.suppress(Exception):
                peak[0] = max(peak[0], _tree_rss_mb(proc.pid))

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    assert proc.stdout is not None
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, peak[0], out, proc.returncode


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=None, help="demo log (built if absent)")
    ap.add_argument("--bundle", type=Path, default=None, help="export bundle (made if absent)")
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="--entries 100000 (the default)")
    ap.add_argument("--million", action="store_true", help="--entries 1000000")
    ap.add_argument("--new", type=int, default=10_000, help="new entries to re-verify")
    ap.add_argument("--no-incremental", action="store_true", help="skip --state runs")
    ap.add_argument("--workers", default="2,1", help="worker counts to measure")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--raw-repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None, help="demo seed (fixtures.DEFAULT_SEED)")
    ap.add_argument("--no-cli", action="store_true", help="skip the gongxin-verify run")
    ap.add_argument(
        "--no-gc-tuning",
        action="store_true",
        help="children keep CPython's collector defaults (gongxin-verify tunes it: "
        "verifier/cli/runtime.py)",
    )
    ap.add_argument(
        "--child", nargs=3, metavar=("BUNDLE", "VKEY", "WORKERS"), help=argparse.SUPPRESS
    )
    ap.add_argument("--incremental-child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.no_gc_tuning:
        os.environ[NO_GC_TUNING] = "1"  # inherited by the children
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
        return
    # Imported only now: the --child process must hold what the verifier holds, not the
    # ledger and SQLAlchemy these modules import (~22 MiB that its RSS would count).
    import fixtures
    import incremental

    if args.seed is None:
        args.seed = fixtures.DEFAULT_SEED
    if args.incremental_child:
        a = args.incremental_child
        incremental.child(Path(a[0]), Path(a[1]), Path(a[2]), int(a[3]), Path(a[4]))
        return
    if args.quick:
        args.entries = 100_000
    if args.million:
        args.entries = 1_000_000
    stem = "1m" if args.entries == 1_000_000 else str(args.entries)
    db = args.db or fixtures.CACHE_DIR / f"{stem}.db"
    bundle = args.bundle or db.with_suffix(".bundle")
    workers = [int(w) for w in args.workers.split(",")]

    P.banner("verify: setup")
    print(f"  {P.machine_line()}")
    print(f"  code: {P.code_fingerprint()}")
    if args.bundle is None or not (bundle / "checkpoint").exists():
        fixtures.ensure_demo_db(db, args.entries, args.seed)
        entries, sigs = ensure_bundle(db, bundle, args.seed)
    else:
        print(f"  using the given bundle {bundle}")
        entries, sigs = ensure_bundle(db, bundle, args.seed) if db.exists() else (0, 0)
    mb = (bundle / ENTRIES_FILE).stat().st_size / 2**20
    print(f"  bundle: {entries:,} entries, {sigs:,} signatures, entries.jsonl {mb:,.0f} MiB")
    vkey_file = fixtures.CACHE_DIR / f"log-seed{args.seed}.vkey"
    vkey_file.write_text(f"{fixtures.derive_keys(args.seed).log.verifier()}\n")

    try:
        import verifier.audit  # noqa: F401
    except ImportError:
        print("  verifier.audit is not available yet: nothing to measure")
        sys.exit(2)

    raw0 = P.measure_raw(args.raw_repeats)
    runs: dict[int, list[dict[str, Any]]] = {w: [] for w in workers}
    adjacent = P.Adjacent(raw0.workers)
    P.banner("verify: runs (each in a fresh process)")
    for r in range(args.repeats):
        for w in workers:
            cmd = [sys.executable, __file__, "--child", str(bundle), str(vkey_file), str(w)]
            (wall, rss_wait4, rss_tree, out, rc), adj1, adjn = adjacent.around(
                lambda cmd=cmd: run_measured(cmd)
            )
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            if rc != 0 or not lines:
                print(f"    workers={w}: FAILED (exit {rc})\n{out[-3000:]}")
                sys.exit(1)
            res = json.loads(lines[-1][len("RESULT ") :])
            res.update(wall=wall, rss_wait4_mb=rss_wait4, rss_tree_mb=rss_tree)
            res["raw_adjacent"] = adjn if w > 1 else adj1
            res["fraction"] = (sigs / res["seconds"]) / res["raw_adjacent"]
            runs[w].append(res)
            print(
                f"    run {r + 1}/{args.repeats} workers={w}: {res['seconds']:.1f} s, "
                f"{entries / res['seconds']:,.0f} entries/s, verifier RSS "
                f"{res['rss_self_mb']:.0f} MiB, worker {res['rss_workers_mb']:.0f} MiB, tree "
                f"{rss_tree:.0f} MiB; raw Ed25519 around it "
                f"{res['raw_adjacent']:,.0f}/s ({f'{w} procs' if w > 1 else '1 core'}) -> "
                f"{100 * res['fraction']:.1f} %",
                flush=True,
            )
            assert res["tree_size"] == entries, (res["tree_size"], entries)

    cli: tuple[float, float, float, int] | None = None
    cli_adjn = 0.0
    exe = shutil.which("gongxin-verify") or str(Path(sys.executable).with_name("gongxin-verify"))
    if not args.no_cli:
        if Path(exe).exists():
            print("  running the CLI: gongxin-verify DIR --log-key FILE ...", flush=True)
            cli_cmd = [exe, str(bundle), "--log-key", str(vkey_file)]
            (wall, rss_wait4, rss_tree, out, rc), _, cli_adjn = adjacent.around(
                lambda: run_measured(cli_cmd)
            )
            cli = (wall, rss_wait4, rss_tree, rc)
            tail = out.strip().splitlines()[-3:] if out.strip() else []
            print(f"    exit {rc}, {wall:.1f} s; last lines: {' | '.join(tail)[:300]}")
        else:
            print("  gongxin-verify is not installed yet: CLI run skipped")
    inc_runs: dict[int, dict[str, Any]] = {}
    new_sigs = 0
    if not args.no_incremental:
        P.banner(f"verify: incremental re-verification (--state), {args.new:,} new entries")
        prefix, at, new_sigs = incremental.prefix_bundle(db, bundle, entries, args.new)
        print(f"  state taken at the log's checkpoint {at:,} (bundle {prefix})", flush=True)
        for w in workers:
            inc_runs[w] = incremental.run(
                run_measured, adjacent, __file__, prefix, bundle, vkey_file, w
            )
            print(f"    workers={w}: {inc_runs[w]['seconds']:.2f} s", flush=True)
    raw1 = P.measure_raw(args.raw_repeats)

    P.banner(f"verify: results, {entries:,} entries ({sigs:,} signatures)")
    ed1 = statistics.median([raw0.ed25519_1, raw1.ed25519_1])
    edn = statistics.median([raw0.ed25519_n, raw1.ed25519_n])
    print(
        f"  raw pynacl Ed25519 verify (median of before/after): 1 core {ed1:,.0f}/s "
        f"(before {raw0.ed25519_1:,.0f}, after {raw1.ed25519_1:,.0f}); {raw0.workers} procs "
        f"{edn:,.0f}/s (before {raw0.ed25519_n:,.0f}, after {raw1.ed25519_n:,.0f})"
    )
    rows = []
    for w in workers:
        secs = statistics.median(x["seconds"] for x in runs[w])
        rate = entries / secs
        frac = statistics.median(x["fraction"] for x in runs[w])
        rss_self = max(x["rss_self_mb"] for x in runs[w])
        rss_worker = max(x["rss_workers_mb"] for x in runs[w])
        rss_tree = max(x["rss_tree_mb"] for x in runs[w])
        verdict = []
        if w > 1:
            verdict.append("rate PASS" if frac >= TARGET_FRACTION else "rate FAIL")
        verdict.append("RSS PASS" if max(rss_self, rss_tree) <= TARGET_RSS_MB else "RSS FAIL")
        rows.append(
            (
                f"verify_bundle(workers={w})",
                f"{secs:.1f}",
                f"{rate:,.0f}",
                f"{sigs / secs:,.0f}",
                f"{f'{raw0.workers}p' if w > 1 else '1c'} {100 * frac:.1f} %",
                f"{rss_self:.0f}",
                f"{rss_worker:.0f}",
                f"{rss_tree:.0f}",
                ", ".join(verdict),
            )
        )
    if cli is not None:
        wall, rss_wait4, rss_tree, rc = cli
        rows.append(
            (
                f"gongxin-verify CLI (exit {rc})",
                f"{wall:.1f}",
                f"{entries / wall:,.0f}",
                f"{sigs / wall:,.0f}",
                f"{raw0.workers}p {100 * (sigs / wall) / cli_adjn:.1f} %",
                f"{rss_wait4:.0f}*",
                "",
                f"{rss_tree:.0f}",
                "",
            )
        )
    P.table(
        rows,
        header=(
            "median of runs",
            "s",
            "entries/s",
            "sigs/s",
            "/raw Ed25519",
            "RSS main",
            "worker",
            "tree",
            "target ≥75 % (2p), ≤200 MB",
        ),
    )
    print(
        "  /raw Ed25519 = signatures/s over the raw pynacl rate measured just before and after "
        "that run (1 core for workers=1, all cores otherwise), median over runs"
    )
    if inc_runs:
        print(
            f"  incremental re-verification (--state; target ≤ {incremental.TARGET_FRACTION:.0%} "
            "of the full run with the same workers):"
        )
        for w, res in inc_runs.items():
            full_secs = statistics.median(x["seconds"] for x in runs[w])
            incremental.report(res, full_secs, new_sigs, w)
    print(
        "  RSS in MiB, max over runs: main = verifier process VmHWM (its own peak); worker = largest "
        "worker; tree = sampled peak of the summed PSS of the process tree"
        + ("; * = wait4 ru_maxrss (largest process)" if cli else "")
    )


if __name__ == "__main__":
    main()
