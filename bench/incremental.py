"""Incremental re-verification (``gongxin-verify --state``, FORMAT.md §12.3), for bench/verify.py.

What it measures, for a demo log of N entries already exported to a bundle: the same log's
bundle at its last checkpoint at or below N − ``new`` (S entries: the first S lines of
``entries.jsonl`` and that checkpoint, written once next to the bundle) is verified in full
with ``--state`` (which writes the state); then the N-entry bundle is re-verified from that
state, replaying the N − S new entries only. Each in a fresh child process
(:func:`child`), timed inside it, with a breakdown (reading and checking the state, decoding
its rule state, skipping the old lines, writing the new state); then once more through the
command line (``gongxin-verify DIR --log-key K --state FILE``, wall time with interpreter
start). The full run that writes the state is a child of its own, so the incremental run
starts in a fresh process, as an evaluator's next run does. Compared with the full run of the same bundle and with the raw Ed25519 rate measured
around it (target: ≤ 5 % of the full run).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE

TARGET_FRACTION = 0.05


def prefix_bundle(db: Path, bundle: Path, entries: int, new: int) -> tuple[Path, int, int]:
    """The log's bundle at its last checkpoint ≤ ``entries - new`` (made once, beside
    ``bundle``); returns (directory, its size S, signatures in entries S..N-1)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        row = c.execute(
            "SELECT size, note FROM checkpoints WHERE size <= ? ORDER BY size DESC LIMIT 1",
            (entries - new,),
        ).fetchone()
    size, note = int(row[0]), str(row[1])
    out = bundle.with_name(f"{bundle.name}.at-{size}")
    done = out / CHECKPOINT_FILE
    sigs = 0
    if not (done.exists() and done.read_text() == note):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    write = not done.exists()
    with (bundle / ENTRIES_FILE).open("rb") as src, contextlib.ExitStack() as stack:
        dst = stack.enter_context((out / ENTRIES_FILE).open("wb")) if write else None
        for i, line in enumerate(src):
            if i < size:
                if dst is not None:
                    dst.write(line)
            else:
                sigs += line.count(b'","sig":"')
    if write:
        done.write_text(note)
    return out, size, sigs


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def child(prefix: Path, bundle: Path, vkey_file: Path, workers: int, state: Path) -> None:
    """In a fresh process. Without ``state``: the full run of ``prefix`` that writes it (kept
    as ``state`` + ``.copy`` too). With it: the incremental run of ``bundle`` from it, then
    its parts timed apart (the same work again). One RESULT line."""
    from verifier.audit.lines import skip_lines
    from verifier.audit.state import ResumePoint
    from verifier.cli.incremental import verify_with_state
    from verifier.cli.statefile import load_state, save_state
    from verifier.core.keys import parse_verifier_key

    key = parse_verifier_key(vkey_file.read_text().strip())
    copy = state.with_suffix(".copy")
    if not state.exists():
        (fin, _), t_first = _timed(lambda: verify_with_state(prefix, key, state, workers=workers))
        shutil.copyfile(state, copy)
        out = {"first_seconds": t_first, "from": fin.report.tree_size}
        print("RESULT " + json.dumps(out), flush=True)
        return
    (fin, existed), t_inc = _timed(lambda: verify_with_state(bundle, key, state, workers=workers))
    assert existed and fin.first > 0, (fin.first, existed)
    loaded, t_load = _timed(lambda: load_state(copy))
    point, t_open = _timed(lambda: ResumePoint.open(loaded, key, str(copy)))
    _, t_rules = _timed(lambda: point.rules(key))
    with (bundle / ENTRIES_FILE).open("rb") as fh:
        _, t_skip = _timed(lambda: skip_lines(fh, loaded.size))
    _, t_encode = _timed(lambda: state_after_encode(point, key))
    _, t_save = _timed(lambda: save_state(state.with_suffix(".tmp-copy"), loaded))
    out = {
        "seconds": t_inc,
        "from": fin.first,
        "to": fin.report.tree_size,
        "state_bytes": state.stat().st_size,
        "load": t_load,
        "open": t_open,
        "rules": t_rules,
        "skip": t_skip,
        "encode": t_encode,
        "save": t_save,
    }
    print("RESULT " + json.dumps(out), flush=True)


def state_after_encode(point: Any, key: Any) -> bytes:
    """Encoding the rule state, as writing the new state does."""
    from verifier.rules.snapshot import encode_state

    return encode_state(point.rules(key))


def _child(
    run_measured: Callable[[list[str]], tuple[float, float, float, str, int]],
    cmd: list[str],
) -> dict[str, Any]:
    _, _, _, out, rc = run_measured(cmd)
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if rc != 0 or not lines:
        print(f"    incremental child FAILED (exit {rc})\n{out[-3000:]}")
        sys.exit(1)
    res: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return res


def run(
    run_measured: Callable[[list[str]], tuple[float, float, float, str, int]],
    adjacent: Any,
    script: str,
    prefix: Path,
    bundle: Path,
    vkey_file: Path,
    workers: int,
) -> dict[str, Any]:
    """The full run of ``prefix`` writing a state (one child), the incremental run from it
    (a second child, between two raw Ed25519 measurements) and one command line run from the
    same state; returns the figures, with ``cli_seconds`` and ``raw`` (the raw rate around
    the incremental child: all cores for ``workers > 1``, else one)."""
    state = bundle.with_name(f"{bundle.name}.w{workers}.state")
    state.unlink(missing_ok=True)
    cmd = [sys.executable, script, "--incremental-child", str(prefix), str(bundle)]
    cmd += [str(vkey_file), str(workers), str(state)]
    first = _child(run_measured, cmd)
    around = adjacent.around(lambda: _child(run_measured, cmd))
    res: dict[str, Any] = around[0]
    raw1, rawn = around[1], around[2]
    res["first_seconds"] = first["first_seconds"]
    res["raw"] = rawn if workers > 1 else raw1
    # The command line, from the same state.
    exe = shutil.which("gongxin-verify") or str(Path(sys.executable).with_name("gongxin-verify"))
    fresh = state.with_suffix(".cli")
    shutil.copyfile(state.with_suffix(".copy"), fresh)
    cli = [exe, str(bundle), "--log-key", str(vkey_file), "--state", str(fresh)]
    cli += ["--workers", str(workers)]
    wall, _, _, out, rc = run_measured(cli)
    res["cli_seconds"], res["cli_rc"], res["cli_out"] = wall, rc, out.strip().splitlines()[-1:]
    return res


def report(res: dict[str, Any], full_seconds: float, new_sigs: int, workers: int) -> None:
    """Print one run's figures beside the full run and the raw Ed25519 rate."""
    new = res["to"] - res["from"]
    frac = res["seconds"] / full_seconds
    raw_time = new_sigs / res["raw"]
    if res["to"] >= 1_000_000:
        verdict = "target ≤5 % " + ("PASS" if frac <= TARGET_FRACTION else "FAIL")
    else:  # the target is set at 1M: here the new entries alone are a larger share
        verdict = f"the new entries are {100 * new / res['to']:.1f} % of the log; target set at 1M"
    print(
        f"    workers={workers}: state at {res['from']:,} ({res['state_bytes'] / 2**20:,.1f} MiB), "
        f"bundle at {res['to']:,}: replayed {new:,} entries in {res['seconds']:.2f} s = "
        f"{100 * frac:.1f} % of the full run ({full_seconds:.1f} s) -> {verdict}\n"
        f"      parts: read+digest {res['load']:.2f} s, open {res['open']:.3f} s, decode rule "
        f"state {res['rules']:.2f} s, skip {res['from']:,} lines {res['skip']:.2f} s, encode rule "
        f"state {res['encode']:.2f} s, write state {res['save']:.2f} s; first (full) run of the "
        f"prefix {res['first_seconds']:.1f} s\n"
        f"      raw Ed25519 around it {res['raw']:,.0f}/s ({'all cores' if workers > 1 else '1 core'})"
        f": the {new_sigs:,} new signatures alone take {raw_time:.2f} s; CLI (with interpreter "
        f"start) {res['cli_seconds']:.2f} s, exit {res['cli_rc']}: {' '.join(res['cli_out'])[:120]}",
        flush=True,
    )
