"""What ``gongxin-verify --report`` adds to a verification: the traceability report's
observer, its sums, and the JSON, Markdown and HTML files.

What it measures, over the export of a cached demo log (``--db``; exported once beside it
with ``ledger.export.export_bundle``, see ``bench/verify.py``), each run in a fresh child
process, ``--repeats`` times, the fastest kept:

- ``verify``: ``verify_bundle(DIR, log key, workers=W)`` alone;
- ``verify+observer``: the same with a :class:`ReportBuilder` fed every posting and entry
  (the observer's cost: the larger of the extra wall time and the extra CPU time of the main
  process, where it runs — the latter stays meaningful when other work shares the cores);
- ``build``: ``ReportBuilder.build`` (the sums, the series, the cross-check);
- ``json``, ``markdown``, ``html``: rendering each file (bytes, as ``--report`` writes them);

and prints the report's added time (observer + build + the three renders) as a fraction of
the verification alone. Target: at most 20 % (issue 16). The HTML alone is also given.

Run::

    .venv/bin/python bench/report.py --db /tmp/gongxin-bench/100000.db --workers 2
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
import verify as V

TARGET_FRACTION = 0.20


def child(bundle: Path, vkey: str, workers: int, with_report: bool) -> None:
    """One verification in this fresh process; prints one ``RESULT`` JSON line."""
    from verifier.cli.bundle import verify_bundle
    from verifier.cli.main import _report_json
    from verifier.core.keys import parse_verifier_key
    from verifier.reports.html import render_html
    from verifier.reports.markdown import render_markdown
    from verifier.reports.traceability import ReportBuilder

    key = parse_verifier_key(vkey)
    builder = ReportBuilder() if with_report else None
    t0, c0 = time.perf_counter(), time.process_time()
    audit = verify_bundle(bundle, key, workers=workers, builder=builder)
    out: dict[str, Any] = {
        "verify": time.perf_counter() - t0,
        "cpu_main": time.process_time() - c0,
        "entries": audit.tree_size,
    }
    if builder is not None:
        summary = audit.to_json()
        t = time.perf_counter()
        report = builder.build(summary)
        out["build"] = time.perf_counter() - t
        for name, render in (
            ("json", _report_json),
            ("markdown", lambda r: render_markdown(r).encode()),
            ("html", lambda r: render_html(r).encode()),
        ):
            t = time.perf_counter()
            data = render(report)
            out[name] = time.perf_counter() - t
            out[f"{name}_bytes"] = len(data)
    print("RESULT " + json.dumps(out), flush=True)


def _run(bundle: Path, vkey: str, workers: int, with_report: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(bundle), "--vkey", vkey]
    cmd += ["--workers", str(workers)] + (["--with-report"] if with_report else [])
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=fixtures.CACHE_DIR / "100000.db")
    ap.add_argument("--bundle", type=Path, help="export directory (default: DB.bundle)")
    ap.add_argument(
        "--log-key", type=Path, help="with --bundle: use this bundle as it is (no export)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--vkey", help=argparse.SUPPRESS)
    ap.add_argument("--with-report", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.vkey, args.workers, args.with_report)
        return
    bundle = args.bundle or args.db.with_suffix(".bundle")
    if args.bundle is not None and args.log_key is not None:
        vkey: str | None = args.log_key.read_text().strip()
        with (bundle / "entries.jsonl").open("rb") as fh:
            entries = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
    else:
        entries, _ = V.ensure_bundle(args.db, bundle, fixtures.DEFAULT_SEED)
        vkey = fixtures.db_log_vkey(args.db)
    assert vkey is not None, "no log key in the database"
    plain = [_run(bundle, vkey, args.workers, False) for _ in range(args.repeats)]
    full = [_run(bundle, vkey, args.workers, True) for _ in range(args.repeats)]
    base = min(r["verify"] for r in plain)
    best = min(full, key=lambda r: r["verify"] + r["build"] + r["json"] + r["markdown"] + r["html"])
    # The observer runs in the main process: its cost is the main process's extra CPU time
    # (robust when other processes share the cores), or the extra wall time if larger.
    cpu_base = min(r["cpu_main"] for r in plain)
    observer = max(best["verify"] - base, best["cpu_main"] - cpu_base, 0.0)
    added = observer + best["build"] + best["json"] + best["markdown"] + best["html"]
    print(f"entries {entries:,}, workers {args.workers}, best of {args.repeats}")
    print(f"  verify alone          {base:8.2f} s")
    print(f"  verify + observer     {best['verify']:8.2f} s  (observer {observer:.2f} s)")
    print(
        f"  main-process CPU      {cpu_base:8.2f} s alone, {best['cpu_main']:.2f} s with observer"
    )
    for name in ("build", "json", "markdown", "html"):
        size = f"  {best.get(name + '_bytes', 0) / 1e6:7.2f} MB" if name != "build" else ""
        print(f"  {name:<21} {best[name]:8.3f} s{size}")
    print(
        f"  report adds {added:.2f} s = {100 * added / base:.1f} % of verification "
        f"(target ≤ {100 * TARGET_FRACTION:.0f} %); HTML alone {100 * best['html'] / base:.2f} %"
    )


if __name__ == "__main__":
    main()
