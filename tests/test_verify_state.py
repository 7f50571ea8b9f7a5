"""``gongxin-verify DIR --state FILE``: incremental verification (FORMAT.md §12.3), through the
real command line (``python -m verifier`` in a subprocess).

A state is written by verifying a prefix of a log (a bundle at one of its checkpoints); the
whole log is then verified from it. The incremental verdict must be the full one: valid growth
exits 0 with the same JSON report, a broken entry after the state names the same entry and rule,
a bundle whose history differs from the state's is a fork (exit 1, ``checkpoint.inconsistent``,
what ``--previous-checkpoint`` reports), and a state that does not fit — another log, a
rolled-back bundle, a damaged file — is refused with exit 2 and one line.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import logfactory as lf
from tests import zip_cases as zc

REPO = Path(__file__).resolve().parents[1]
#: The state is taken at this checkpoint size of the built log (51 entries, checkpoints at
#: 1, 7, 15, 20, 25, 30, 36, 41, 46, 51).
K = 30


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    built = lf.build_log(tmp_path_factory.mktemp("db"), domain_entries=40)
    assert K in built.checkpoints and built.size > K + 10
    return built


@pytest.fixture(scope="module")
def full(log: lf.BuiltLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lf.export(log, tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="module")
def prefix(log: lf.BuiltLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The log's export as it was at size :data:`K`."""
    d = tmp_path_factory.mktemp("prefix")
    return lf.write_bundle(d, log.lines[:K], log.checkpoints[K], log.log_key)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "verifier", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def verify(log: lf.BuiltLog, bundle: Path, *more: str | Path) -> subprocess.CompletedProcess[str]:
    return run(bundle, "--log-key", str(log.log_key.verifier()), *more)


def make_state(log: lf.BuiltLog, prefix: Path, path: Path) -> bytes:
    r = verify(log, prefix, "--state", path)
    assert r.returncode == 0, r.stderr
    assert f"no state yet, verified all {K} entries; wrote state {path}" in r.stdout
    return path.read_bytes()


def stable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("elapsed_seconds", "workers")}


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# -- valid growth ------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_growth_replays_only_new_entries_and_equals_full_run(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path, workers: str
) -> None:
    state = tmp_path / "verify.state"
    make_state(log, prefix, state)
    r = verify(log, full, "--state", state, "--workers", workers, "--json", tmp_path / "inc.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == (
        f"增量验证 incremental: replayed entries {K}–{log.size - 1} from state {state}"
    )
    ref = verify(log, full, "--workers", workers, "--json", tmp_path / "full.json")
    assert ref.returncode == 0
    inc = json.loads((tmp_path / "inc.json").read_text(encoding="utf-8"))
    assert stable(inc) == stable(json.loads((tmp_path / "full.json").read_text(encoding="utf-8")))
    # The state now stands at the new size: a second run replays nothing.
    again = verify(log, full, "--state", state, "--workers", workers)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1] == (
        f"增量验证 incremental: no new entries since state {state} ({log.size} entries)"
    )
    # … and it is byte for byte the state a full verification writes.
    fresh = tmp_path / "fresh.state"
    assert verify(log, full, "--state", fresh).returncode == 0
    assert fresh.read_bytes() == state.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fresh.state",
        "full.json",
        "inc.json",
        "verify.state",
    ]  # no temporary file left


def test_zipped_bundle(log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path) -> None:
    files = {name: (full / name).read_bytes() for name in ("entries.jsonl", "checkpoint")}
    archive = tmp_path / "export.zip"
    archive.write_bytes(zc.bundle_zip(files))
    state = tmp_path / "s"
    make_state(log, prefix, state)
    for workers in ("1", "2"):
        copy = tmp_path / f"s{workers}"
        copy.write_bytes(state.read_bytes())
        r = verify(log, archive, "--state", copy, "--workers", workers)
        assert r.returncode == 0, r.stderr
        assert f"replayed entries {K}–{log.size - 1}" in r.stdout


def test_authority_keys_checked_against_the_state(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path
) -> None:
    state = tmp_path / "s"
    make_state(log, prefix, state)
    auths = [a for k in log.authorities for a in ("--authority-key", str(k.verifier()))]
    ok = verify(log, full, "--state", state, *auths)
    assert ok.returncode == 0, ok.stderr
    bad = verify(log, full, "--authority-key", auths[1])
    inc = verify(log, full, "--state", state, "--authority-key", auths[1])
    assert (bad.returncode, inc.returncode) == (1, 1)
    assert "[genesis.authorities]" in one_line(inc.stderr)
    assert "[genesis.authorities]" in one_line(bad.stderr)


def test_report_needs_every_entry_and_still_updates_the_state(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path
) -> None:
    state = tmp_path / "s"
    before = make_state(log, prefix, state)
    r = verify(log, full, "--state", state, "--report", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert f"replayed all {log.size} entries; updated state" in r.stdout
    assert (tmp_path / "out" / "report.md").exists()
    assert state.read_bytes() != before
    ocds_state = tmp_path / "s2"
    make_state(log, prefix, ocds_state)
    r = verify(log, full, "--state", ocds_state, "--ocds", tmp_path / "ocds.json")
    assert r.returncode == 0, r.stderr
    assert f"replayed all {log.size} entries; updated state" in r.stdout
    assert ocds_state.read_bytes() == state.read_bytes()
    help_text = run("--help").stdout
    assert "--report and --ocds need every entry" in " ".join(help_text.split())


def test_older_previous_checkpoint_means_full_replay(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path
) -> None:
    state = tmp_path / "s"
    make_state(log, prefix, state)
    older = tmp_path / "older"
    older.write_text(log.checkpoints[15])
    newer = tmp_path / "newer"
    newer.write_text(log.checkpoints[41])
    r = verify(log, full, "--state", state, "--previous-checkpoint", newer)
    assert r.returncode == 0, r.stderr
    assert f"replayed entries {K}–" in r.stdout
    r = verify(log, full, "--state", state, "--previous-checkpoint", older)
    assert r.returncode == 0, r.stderr
    assert f"replayed all {log.size} entries" in r.stdout


# -- invalid bundles: the same verdict as a full run ---------------------------------------------


def _flip_signature(obj: dict[str, Any]) -> None:
    sig = bytearray(base64.b64decode(obj["signatures"][0]["sig"]))
    sig[5] ^= 0x01
    obj["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()


def _later_log_time(obj: dict[str, Any]) -> None:
    obj["log_time"] = obj["log_time"][:-2] + "1Z"


def _broken(log: lf.BuiltLog, how: str) -> tuple[list[bytes], bytes | None]:
    """The log's lines with one entry after the state point broken, and raw file bytes when
    the break is below the line level."""
    lines = list(log.lines)
    j = K + 5
    if how == "signature":
        lines[j] = lf.edit_line(lines[j], _flip_signature)
    elif how == "log_time":
        lines[j] = lf.edit_line(lines[j], _later_log_time)
    elif how == "deleted":
        del lines[j]
    elif how == "first-new-entry":
        lines[K] = lf.edit_line(lines[K], _flip_signature)
    elif how == "truncated":
        return lines, b"".join(line + b"\n" for line in lines)[:-40]
    return lines, None


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    "how", ["signature", "log_time", "deleted", "first-new-entry", "truncated"]
)
def test_broken_entry_after_the_state_same_verdict_as_full_run(
    log: lf.BuiltLog, prefix: Path, tmp_path: Path, how: str, workers: str
) -> None:
    lines, raw = _broken(log, how)
    cp = lf.sign_checkpoint_over(lines if raw is None else log.lines, log.log_key)
    bundle = lf.write_bundle(tmp_path / "b", lines, cp, raw_entries=raw)
    state = tmp_path / "s"
    before = make_state(log, prefix, state)
    ref = verify(log, bundle, "--workers", workers)
    inc = verify(log, bundle, "--state", state, "--workers", workers)
    assert ref.returncode == 1, ref.stderr
    assert (inc.returncode, one_line(inc.stderr)) == (1, one_line(ref.stderr))
    assert inc.stdout == ""
    assert state.read_bytes() == before  # written after success only


def test_entries_file_shorter_than_the_state(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path
) -> None:
    """The checkpoint is ahead of the state but the file holds fewer lines than the state
    covers: the same verdict as a full run, an entry missing."""
    bundle = lf.write_bundle(tmp_path / "short", log.lines[:20], log.checkpoint)
    state = tmp_path / "s"
    make_state(log, prefix, state)
    ref = verify(log, bundle)
    inc = verify(log, bundle, "--state", state)
    assert (ref.returncode, inc.returncode) == (1, 1)
    assert one_line(inc.stderr) == one_line(ref.stderr)
    assert "entry 20: [export.size]" in one_line(inc.stderr)


# -- forks: exit 1, as --previous-checkpoint reports them -----------------------------------------


def _fork(log: lf.BuiltLog, size: int) -> tuple[list[bytes], str]:
    """The log rewritten before the state point: entry 19 (the last of a batch, so that the
    order of log times holds) gets a later log time, every later ``prev`` follows; the first
    ``size`` lines and a checkpoint over them signed by the real log key."""
    m = 19
    assert m + 1 in log.checkpoints and m < K
    lines = list(log.lines)
    lines[m] = lf.edit_line(lines[m], _later_log_time)
    lines = lf.rechain(lines, m + 1)[:size]
    return lines, lf.sign_checkpoint_over(lines, log.log_key)


@pytest.mark.parametrize("size", [K, 51])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_forked_bundle_exit_1(
    log: lf.BuiltLog, prefix: Path, tmp_path: Path, size: int, workers: str
) -> None:
    lines, cp = _fork(log, size)
    bundle = lf.write_bundle(tmp_path / "fork", lines, cp)
    assert verify(log, bundle).returncode == 0  # on its own, a valid log
    state = tmp_path / "s"
    before = make_state(log, prefix, state)
    previous = tmp_path / "previous"
    previous.write_text(log.checkpoints[K])
    ref = verify(log, bundle, "--previous-checkpoint", previous, "--workers", workers)
    inc = verify(log, bundle, "--state", state, "--workers", workers)
    assert ref.returncode == inc.returncode == 1, inc.stderr
    for r in (ref, inc):
        line = one_line(r.stderr)
        assert line.startswith(f"✗ 验证失败 INVALID at entry {K - 1}: [checkpoint.inconsistent]")
    assert state.read_bytes() == before


# -- refusals: exit 2, one line, nothing judged ----------------------------------------------------


def test_state_of_another_log_refused(
    log: lf.BuiltLog, prefix: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("other")
    state = tmp / "s"
    make_state(log, prefix, state)
    other = lf.build_log(tmp, domain_entries=4, seed=7)  # same origin, another log key
    bundle = lf.export(other, tmp / "other")
    r = verify(other, bundle, "--state", state)
    assert r.returncode == 2, r.stderr
    line = one_line(r.stderr)
    assert line.startswith("✗ 输入错误 input error: ")
    assert "状态文件属于另一日志 the state file is of another log" in line
    # Another origin, too.
    renamed = lf.build_log(tmp, domain_entries=4, origin="gongxin.example/elsewhere")
    r = verify(renamed, lf.export(renamed, tmp / "renamed"), "--state", state)
    assert r.returncode == 2 and "another log" in one_line(r.stderr)


def test_rolled_back_bundle_refused(log: lf.BuiltLog, full: Path, tmp_path: Path) -> None:
    state = tmp_path / "s"
    assert verify(log, full, "--state", state).returncode == 0
    older = lf.write_bundle(tmp_path / "older", log.lines[:K], log.checkpoints[K])
    r = verify(log, older, "--state", state)
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert f"状态记录到 {log.size} 条，导出包只有 {K} 条" in line
    assert f"rolled-back bundle: state at {log.size}, bundle at {K}" in line


@pytest.mark.parametrize(
    "damage",
    ["flip-header", "flip-rule-state", "flip-digest", "truncated", "empty", "version", "other"],
)
def test_damaged_state_refused(
    log: lf.BuiltLog, full: Path, prefix: Path, tmp_path: Path, damage: str
) -> None:
    state = tmp_path / "s"
    data = bytearray(make_state(log, prefix, state))
    header_at = data.index(b'"size":')
    if damage == "flip-header":
        data[header_at + 7] ^= 0x01  # the size's first digit
    elif damage == "flip-rule-state":
        data[len(data) - 200] ^= 0x20
    elif damage == "flip-digest":
        data[-5] = ord("0") if data[-5] != ord("0") else ord("1")
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "version":
        data[data.index(b"/1\n") + 1] = ord("9")
    elif damage == "other":
        data = bytearray(b"hello\n")
    state.write_bytes(bytes(data))
    r = verify(log, full, "--state", state)
    assert r.returncode == 2, r.stderr
    line = one_line(r.stderr)
    assert line.startswith(f"✗ 输入错误 input error: {state}: ")
    expected = {
        "flip-header": "damaged or altered",
        "flip-rule-state": "damaged or altered",
        "flip-digest": "damaged or altered",
        "truncated": "truncated",
        "empty": "not a gongxin-verify state file",
        "version": "unknown state file version '9'",
        "other": "not a gongxin-verify state file",
    }[damage]
    assert expected in line
    assert state.read_bytes() == bytes(data)  # never overwritten by a refused run


def test_state_path_that_is_not_a_file(log: lf.BuiltLog, full: Path, tmp_path: Path) -> None:
    r = verify(log, full, "--state", tmp_path)
    assert r.returncode == 2 and "not a regular file" in one_line(r.stderr)
    r = verify(log, full, "--state", tmp_path / "missing-dir" / "s")
    assert r.returncode == 2 and "does not exist" in one_line(r.stderr)
