"""Durable append throughput through ``Ledger.append_batch`` on SQLite, and its flatness in n.

What it measures (all through the library, on a SQLite file in WAL mode with
``synchronous=FULL`` exactly as ``ledger.store.engine`` configures it):

1. **Throughput.** A 10,000-entry demo log is copied to a temporary file; the demo statements
   that follow it are pre-signed (client side, not timed) with the demo ``Scenario`` (keys,
   roles, ids and the rulebook's bookkeeping are the demo's; from the next simulated day the
   office works at the 1M demo's scale, so that a batch of 1,000 spans a fraction of a
   simulated day, inside the ledger's 7-day statement-time window). Every statement is valid
   under the rulebook (FORMAT.md §10), so the timed appends run every rule. Then ``--entries`` statements are
   appended with ``append_batch`` in batches of 100 and of 1,000; only the ``append_batch``
   calls are timed (parse, pre-verify on all cores, BEGIN IMMEDIATE, rules, Merkle, checkpoint
   signature, INSERTs, fsync'd COMMIT). Each configuration runs ``--repeats`` times on a fresh
   copy; the median is reported. Target: >= 10,000 entries/s.
2. **Flatness.** Windows of ``--window`` batches of 1,000 are appended to a log holding ~10k
   entries and to one holding ``--large`` entries (default 1,000,000; ``--quick`` = 100,000),
   alternating small/large windows so that machine noise hits both alike. Target: the large
   rate is within 20 % of the small rate.

Every figure is printed next to the raw pynacl Ed25519 verification rate measured in the same
run (1 core and all cores) and the ratio.

Run::

    . .venv/bin/activate
    python bench/append.py --quick                         # 100k large log, a few minutes
    python bench/append.py --large-db /tmp/gongxin-bench/1m.db   # full (builds 1M if missing)

The large log is cached (``--large-db``, default /tmp/gongxin-bench/1m.db or 100k.db with
``--quick``) and never modified: appends go to a copy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import fixtures
import primitives as P

from verifier.cli.runtime import tune_for_long_lived_heap

TARGET_RATE = 10_000
FLAT_TOLERANCE = 0.20


def _rate(calls: list[tuple[int, float]]) -> float:
    return sum(n for n, _ in calls) / sum(t for _, t in calls)


def _warm_pool(ledger: fixtures.Ledger, pre: fixtures.Presigned) -> None:
    """Start the verification workers before timing (the pool starts lazily)."""
    from verifier.core.entry import parse_submission

    triples = []
    keys = fixtures.derive_keys(fixtures.DEFAULT_SEED)
    pubs = {k.key_id.hex(): k.verifier().public_key for k in keys.all()}
    for data in pre.subs[:64]:
        sub = parse_submission(data)
        sig = sub.signatures[0]
        triples.append(
            (pubs[sig.key_id], sub.statement.message(ledger.state.message_origin), sig.sig)
        )
    futures = [ledger.pool.submit(triples) for _ in range(max(1, ledger.pool.workers))]
    for f in futures:
        f.result()


def throughput(
    small_db: Path,
    pre: fixtures.Presigned,
    count: int,
    batches: list[int],
    repeats: int,
    work: Path,
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    rates: dict[int, list[float]] = {b: [] for b in batches}
    fractions: dict[int, list[float]] = {b: [] for b in batches}
    adjacent = P.Adjacent()
    for r in range(repeats):
        for b in batches:
            db = work / f"tp-{b}-{r}.db"
            fixtures.copy_db(small_db, db)
            with fixtures.open_ledger(db) as ledger:
                tune_for_long_lived_heap()  # as every server worker does (api/app.py)
                _warm_pool(ledger, pre)
                base = ledger.size
                calls, _, adjn = adjacent.around(
                    lambda ledger=ledger, b=b: fixtures.append_batches(ledger, pre, 0, count, b)
                )
                assert ledger.size == base + count
            fixtures.remove_db(db)
            rates[b].append(_rate(calls))
            fractions[b].append(rates[b][-1] / adjn)
            per = [n / t for n, t in calls]
            print(
                f"    run {r + 1}/{repeats} batch {b:>5}: {rates[b][-1]:>8,.0f} entries/s "
                f"(per batch: median {statistics.median(per):,.0f}, "
                f"min {min(per):,.0f}, max {max(per):,.0f}); raw Ed25519 "
                f"{adjacent.workers} procs around it {adjn:,.0f}/s -> "
                f"{100 * fractions[b][-1]:.1f} %",
                flush=True,
            )
    return rates, fractions


def flatness(
    small_db: Path,
    large_db: Path,
    small_pre: fixtures.Presigned,
    large_pre: fixtures.Presigned,
    window: int,
    windows: int,
    work: Path,
) -> tuple[list[float], list[float]]:
    """Alternate windows of ``window`` batches of 1,000 on the small and the large log."""
    a, b = work / "flat-small.db", work / "flat-large.db"
    fixtures.copy_db(small_db, a)
    print(f"    copying the large log ({large_db.stat().st_size / 2**20:,.0f} MiB) ...", flush=True)
    dt = fixtures.copy_db(large_db, b)
    print(f"    copied in {dt:.1f} s", flush=True)
    t0 = time.perf_counter()
    small = fixtures.open_ledger(a)
    t1 = time.perf_counter()
    large = fixtures.open_ledger(b)
    t2 = time.perf_counter()
    print(
        f"    Ledger.open (replays the log): {small.size:,} entries {t1 - t0:.1f} s; "
        f"{large.size:,} entries {t2 - t1:.1f} s ({large.size / (t2 - t1):,.0f} entries/s)",
        flush=True,
    )
    small_rates: list[float] = []
    large_rates: list[float] = []
    per = window * 1000
    try:
        _warm_pool(small, small_pre)
        _warm_pool(large, large_pre)
        for w in range(windows):
            lo, hi = w * per, (w + 1) * per
            rs = _rate(fixtures.append_batches(small, small_pre, lo, hi, 1000))
            rl = _rate(fixtures.append_batches(large, large_pre, lo, hi, 1000))
            small_rates.append(rs)
            large_rates.append(rl)
            print(
                f"    window {w + 1}/{windows}: at {small.size - per:>9,} entries {rs:>8,.0f}/s"
                f"   at {large.size - per:>9,} entries {rl:>8,.0f}/s   ratio {rl / rs:.2f}",
                flush=True,
            )
    finally:
        small.close()
        large.close()
        fixtures.remove_db(a)
        fixtures.remove_db(b)
    return small_rates, large_rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=30_000, help="statements per throughput run")
    ap.add_argument("--batches", default="100,1000", help="batch sizes (comma-separated)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small", type=int, default=10_000, help="entries in the small base log")
    ap.add_argument("--large", type=int, default=1_000_000, help="entries in the large log")
    ap.add_argument("--quick", action="store_true", help="--large 100000")
    ap.add_argument(
        "--large-db", type=Path, default=None, help="cached large log (built if absent)"
    )
    ap.add_argument("--window", type=int, default=10, help="batches of 1,000 per flatness window")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--skip-flat", action="store_true")
    ap.add_argument("--raw-repeats", type=int, default=3)
    args = ap.parse_args()
    if args.quick:
        args.large = 100_000
    large_db = args.large_db or fixtures.CACHE_DIR / (
        "1m.db" if args.large == 1_000_000 else f"{args.large}.db"
    )
    batches = [int(b) for b in args.batches.split(",")]
    flat_need = args.window * args.windows * 1000

    P.banner("append: setup")
    print(f"  {P.machine_line()}")
    print(f"  code: {P.code_fingerprint()}")
    fixtures.self_check()
    small_db = fixtures.ensure_demo_db(fixtures.CACHE_DIR / f"{args.small}.db", args.small)
    if not args.skip_flat:
        fixtures.ensure_demo_db(large_db, args.large)
    raw0 = P.measure_raw(args.raw_repeats)
    need = max(args.entries, 0 if args.skip_flat else flat_need)
    small_pre = fixtures.continuation(args.small, need)
    print(
        f"  pre-signed {need:,} statements after entry {args.small:,} at demo scale "
        f"{small_pre.scale} in {small_pre.sign_seconds:.1f} s "
        f"({need / small_pre.sign_seconds:,.0f}/s, client side)"
    )

    with tempfile.TemporaryDirectory(dir=fixtures.CACHE_DIR, prefix="append-") as tmp:
        work = Path(tmp)
        P.banner(f"append: throughput, {args.entries:,} entries per run, on a {args.small:,} log")
        rates, fractions = throughput(
            small_db, small_pre, args.entries, batches, args.repeats, work
        )

        flat: tuple[list[float], list[float]] | None = None
        if not args.skip_flat:
            P.banner(f"append: flatness, {args.small:,} vs {args.large:,} entries")
            large_pre = fixtures.continuation(args.large, flat_need)
            print(
                f"  pre-signed {flat_need:,} statements after entry {args.large:,} at demo "
                f"scale {large_pre.scale} "
                f"(fast-forward {large_pre.skip_seconds:.1f} s, signing "
                f"{large_pre.sign_seconds:.1f} s)",
                flush=True,
            )
            flat = flatness(
                small_db, large_db, small_pre, large_pre, args.window, args.windows, work
            )
    raw1 = P.measure_raw(args.raw_repeats)

    P.banner("append: results")
    ed1 = statistics.median([raw0.ed25519_1, raw1.ed25519_1])
    edn = statistics.median([raw0.ed25519_n, raw1.ed25519_n])
    print(
        f"  raw pynacl Ed25519 verify (median of before/after): 1 core {ed1:,.0f}/s, "
        f"{raw0.workers} procs {edn:,.0f}/s (before {raw0.ed25519_n:,.0f}, after "
        f"{raw1.ed25519_n:,.0f})"
    )
    rows = []
    for b in batches:
        m = statistics.median(rates[b])
        rows.append(
            (
                f"append_batch({b})",
                f"{m:,.0f}",
                f"{1e6 / m:,.0f}",
                f"{100 * statistics.median(fractions[b]):.1f} %",
                P.fmt_ratio(m, TARGET_RATE),
                "PASS" if m >= TARGET_RATE else "FAIL",
            )
        )
    P.table(
        rows,
        header=(
            "durable append (median)",
            "entries/s",
            "µs/entry",
            f"/raw Ed25519 {raw0.workers}p",
            "/target 10k",
            "",
        ),
    )
    print(
        f"  /raw Ed25519 {raw0.workers}p = entries/s over the raw {raw0.workers}-process pynacl rate "
        "measured just before and after that run, median over runs"
    )
    if flat is not None:
        s, lg = statistics.median(flat[0]), statistics.median(flat[1])
        ratio = lg / s
        P.table(
            [
                (f"append at ~{args.small:,} entries", f"{s:,.0f}", P.fmt_ratio(s, edn)),
                (f"append at ~{args.large:,} entries", f"{lg:,.0f}", P.fmt_ratio(lg, edn)),
                (
                    "large / small",
                    f"{ratio:.2f}",
                    "PASS" if abs(1 - ratio) <= FLAT_TOLERANCE else "FAIL (flat within 20 %)",
                ),
            ],
            header=("flatness, batch 1000 (median)", "entries/s", f"/raw Ed25519 {raw0.workers}p"),
        )
    print(f"  peak RSS of this process: {P.peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
