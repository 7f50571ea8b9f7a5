"""``Ledger.open`` with and without a rule-state snapshot (FORMAT.md §12.2) at 10k, 100k and
1M entries on SQLite, and the snapshot codec's cost.

For every scale N:

1. **Copy.** The seed-1 demo log of N entries (cached by ``fixtures.ensure_demo_db``) is
   copied once to ``open-N.db`` beside it; snapshots are written only into the copy.
2. **Without.** A fresh process deletes the copy's snapshots and opens it: a full replay
   (what every open cost before snapshots). It then writes a snapshot (``write_snapshot``:
   encoding plus one transaction, timed).
3. **With.** A fresh process opens the copy again: the snapshot is loaded (its tree root and
   digest checked) and nothing is replayed. Then, in the same process, the snapshot's
   encoding and decoding are timed alone (median of three) and its size reported.

Each open runs in a process of its own, so its peak RSS (VmHWM) is the open's. Every time is
printed beside the raw pynacl Ed25519 verification rate on one core measured right before and
after it ("≈ k verifies": the time expressed in single-signature verifications on this
machine), since other work on a shared machine can halve every figure.

Targets (issue 14): open at 1M ≤ 2 s and ≤ 3× the 10k figure.

Run::

    . .venv/bin/activate
    python bench/open.py                       # 10k, 100k, 1M
    python bench/open.py --entries 10000,100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fixtures
import primitives as P

TARGET_1M_S = 2.0
TARGET_RATIO = 3.0


def cache_path(n: int) -> Path:
    return fixtures.CACHE_DIR / ("1m.db" if n == 1_000_000 else f"{n}.db")


def private_copy(n: int) -> Path:
    """``open-N.db``: a copy of the cached demo log of ``n`` entries (made once), at the
    current schema. Any cached log of ``n`` entries will do (an open's cost does not depend
    on which demo version built it), so a cache is built only when there is none: a 1M
    rebuild takes hours."""
    from ledger.store import migrate

    source = cache_path(n)
    if fixtures.db_size(source) != n:
        source = fixtures.ensure_demo_db(source, n)
    path = fixtures.CACHE_DIR / f"open-{n}.db"
    if fixtures.db_size(path) != n:
        partial = path.with_name(path.name + ".partial")
        took = fixtures.copy_db(source, partial)
        migrate.upgrade(fixtures.url_of(partial))
        fixtures.remove_db(path)
        partial.rename(path)
        print(f"  copied {source} to {path} in {took:.1f} s", flush=True)
    # The postings index (ledger/postings.py) is completed once, so that no open below
    # pays the one-time back-fill of an upgraded database.
    from ledger.log import Ledger
    from ledger.postings import backfill

    t0 = time.perf_counter()
    with Ledger.open(fixtures.url_of(path), create=False, replay=False) as ledger:
        if backfill(ledger.store):
            print(f"  back-filled the postings of {path} in {time.perf_counter() - t0:.1f} s")
    return path


# --------------------------------------------------------------------------- child process


def child(mode: str, url: str) -> dict[str, Any]:
    """Run in a fresh process: ``full`` (delete snapshots, open by replay, write one) or
    ``snapshot`` (open from the snapshot, then time the codec)."""
    from sqlalchemy import create_engine, text

    from ledger.log import Ledger
    from verifier.rules.snapshot import decode_state, encode_state

    out: dict[str, Any] = {}
    if mode == "full":
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM state_snapshots"))
        engine.dispose()
    t0 = time.perf_counter()
    ledger = Ledger.open(url, create=False)
    out["open_s"] = time.perf_counter() - t0
    out["rss_mb"] = P.proc_status_mb("VmHWM")
    out["size"], out["snapshot_size"] = ledger.size, ledger.snapshot_size
    if mode == "full":
        t0 = time.perf_counter()
        info = ledger.write_snapshot()
        out["write_s"] = time.perf_counter() - t0
        assert info is not None and info.size == ledger.size
    else:
        encode, decode = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            data = encode_state(ledger.state)
            encode.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            decode_state(data)
            decode.append(time.perf_counter() - t0)
        out["encode_s"], out["decode_s"] = sorted(encode)[1], sorted(decode)[1]
        out["bytes"] = len(data)
    ledger.close()
    return out


def run_child(mode: str, url: str) -> dict[str, Any]:
    """:func:`child` for database ``url`` in a fresh process: ``full`` deletes the snapshots,
    opens by full replay and writes a snapshot; ``snapshot`` opens from it. Returns its JSON
    (``open_s``, ``rss_mb`` = the process's peak RSS, ...)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"open child {mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", default="10000,100000,1000000")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    P.banner("Ledger.open with and without a rule-state snapshot (SQLite)")
    print(f"  {P.machine_line()}")
    print(f"  code: {P.code_fingerprint()}")
    adjacent = P.Adjacent()
    rows = [
        "| entries | open, full replay | open from snapshot | ≈ verifies (1 core) | RSS full | "
        "RSS snapshot | write snapshot | encode | decode | snapshot size |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes, opens, replays = [], {}, {}
    for n in [int(x) for x in args.entries.split(",")]:
        path = private_copy(n)
        url = fixtures.url_of(path)
        full, one_full, _ = adjacent.around(lambda: run_child("full", url))  # noqa: B023
        snap, one, _ = adjacent.around(lambda: run_child("snapshot", url))  # noqa: B023
        assert snap["snapshot_size"] == n and full["snapshot_size"] == 0, (full, snap)
        opens[n], replays[n] = snap["open_s"], full["open_s"]
        verifies = snap["open_s"] * one
        notes.append(
            f"  raw Ed25519 around {n:,}: {one_full:,.0f}/s (full replay), {one:,.0f}/s "
            f"(snapshot) on 1 core"
        )
        line = (
            f"| {n:,} | {full['open_s']:.2f} s | {snap['open_s']:.3f} s | ≈ {verifies:,.0f} | "
            f"{full['rss_mb']:.0f} MiB | {snap['rss_mb']:.0f} MiB | {full['write_s']:.2f} s | "
            f"{snap['encode_s']:.3f} s | {snap['decode_s']:.3f} s | "
            f"{snap['bytes'] / 2**20:.1f} MiB |"
        )
        print("    " + line, flush=True)
        rows.append(line)
    P.banner("results")
    print("\n".join(rows))
    print("\n".join(notes))
    if 1_000_000 in opens:
        at = opens[1_000_000]
        print(f"  target: open at 1M ≤ {TARGET_1M_S:.0f} s: {at:.2f} s {_verdict(at, TARGET_1M_S)}")
    if 1_000_000 in opens and 10_000 in opens:
        # "the 10k figure": the 10k open as it was (a full replay), and from a snapshot too
        for what, base in (("full-replay", replays), ("snapshot", opens)):
            ratio = at / base[10_000]
            print(
                f"  target: ≤ {TARGET_RATIO:.0f}× the 10k {what} open ({base[10_000]:.3f} s): "
                f"{ratio:.1f}× {_verdict(ratio, TARGET_RATIO)}"
            )


def _verdict(value: float, limit: float) -> str:
    return "PASS" if value <= limit else "FAIL"


if __name__ == "__main__":
    main()
