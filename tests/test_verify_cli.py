"""``gongxin-verify`` / ``python -m verifier``: exit codes, the one-line verdicts, --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import logfactory as lf

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    return lf.build_log(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def bundle(log: lf.BuiltLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lf.export(log, tmp_path_factory.mktemp("bundle"))


def run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "verifier", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# -- exit 0 ----------------------------------------------------------------------------------


def test_valid_bundle_exit_0(log: lf.BuiltLog, bundle: Path) -> None:
    vkey = str(log.log_key.verifier())
    for key_arg in (vkey, str(bundle / "log.vkey")):
        r = run(bundle, "--log-key", key_arg)
        assert r.returncode == 0, r.stderr
        line = one_line(r.stdout)
        assert line.startswith(f"✓ 验证通过 valid: {log.size} entries, origin {log.origin}, root ")
        assert line.endswith(lf.root_of_lines(log.lines).hex())
        assert r.stderr == ""  # no progress bar when stderr is not a terminal


def test_options_authorities_previous_workers_quiet(
    log: lf.BuiltLog, bundle: Path, tmp_path: Path
) -> None:
    prev = tmp_path / "prev.checkpoint"
    prev.write_text(log.checkpoints[min(log.checkpoints)])
    args: list[str | Path] = [bundle, "--log-key", str(log.log_key.verifier())]
    for a in log.authorities:
        args += ["--authority-key", str(a.verifier())]
    r = run(*args, "--previous-checkpoint", prev, "--workers", "2", "--quiet")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_json_report_valid(log: lf.BuiltLog, bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = run(bundle, "--log-key", str(log.log_key.verifier()), "--json", out)
    assert r.returncode == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["valid"] is True
    assert report["tree_size"] == log.size
    assert report["origin"] == log.origin
    assert {k["name"] for k in report["keys"]} >= {"test-finance", "test-temp-finance"}
    r = run(bundle, "--log-key", str(log.log_key.verifier()), "--json", "-")
    assert json.loads(r.stdout)["valid"] is True
    assert one_line(r.stderr).startswith("✓ 验证通过 valid:")


def test_console_script_is_installed(log: lf.BuiltLog, bundle: Path) -> None:
    script = Path(sys.executable).parent / "gongxin-verify"
    if not script.exists():
        script_path = shutil.which("gongxin-verify")
        assert script_path, "gongxin-verify is not installed (pip install -e .)"
        script = Path(script_path)
    r = subprocess.run(
        [str(script), str(bundle), "--log-key", str(log.log_key.verifier())],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert r.returncode == 0, r.stderr


# -- exit 1 ----------------------------------------------------------------------------------


def _tampered(log: lf.BuiltLog, tmp_path: Path, index: int) -> Path:
    """Entry ``index`` with a signature that no longer verifies (statement edited)."""
    lines = list(log.lines)

    def change(obj: dict[str, Any]) -> None:
        obj["statement"]["body"]["amount_fen"] = obj["statement"]["body"]["amount_fen"] + 1

    lines[index] = lf.edit_line(lines[index], change)
    return lf.write_bundle(tmp_path, lines, log.checkpoint, log.log_key)


def _fund_index(log: lf.BuiltLog) -> int:
    return next(i for i, x in enumerate(log.lines) if b'"kind":"fund.appropriate"' in x and i > 10)


def test_invalid_bundle_exit_1_one_line(log: lf.BuiltLog, tmp_path: Path) -> None:
    i = _fund_index(log)
    d = _tampered(log, tmp_path / "b", i)
    for workers in ("1", "2"):
        r = run(d, "--log-key", str(log.log_key.verifier()), "--workers", workers)
        assert r.returncode == 1
        assert r.stdout == ""
        line = one_line(r.stderr)
        assert line.startswith(f"✗ 验证失败 INVALID at entry {i}: [signature.invalid] ")
        assert "field signatures[0].sig" in line


def test_invalid_json_report(log: lf.BuiltLog, tmp_path: Path) -> None:
    i = _fund_index(log)
    d = _tampered(log, tmp_path / "b", i)
    out = tmp_path / "report.json"
    r = run(d, "--log-key", str(log.log_key.verifier()), "--json", out, "--quiet")
    assert r.returncode == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["valid"] is False
    assert report["error"]["index"] == i
    assert report["error"]["rule"] == "signature.invalid"
    signer = json.loads(log.lines[i])["statement"]["signer"]
    assert report["error"]["key_id"] == signer


def test_invalid_without_index(log: lf.BuiltLog, bundle: Path) -> None:
    other = lf.make_key(3, "log", key_name=log.origin)
    r = run(bundle, "--log-key", str(other.verifier()))
    assert r.returncode == 1
    assert one_line(r.stderr).startswith("✗ 验证失败 INVALID: [note.")


def test_authority_mismatch_exit_1(log: lf.BuiltLog, bundle: Path) -> None:
    r = run(
        bundle,
        "--log-key",
        str(log.log_key.verifier()),
        "--authority-key",
        str(log.authorities[0].verifier()),
    )
    assert r.returncode == 1
    assert "[genesis.authorities]" in one_line(r.stderr)


# -- exit 2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--log-key", "x"],
        ["{bundle}"],
        ["{bundle}", "--log-key", "not-a-key"],
        ["{bundle}", "--log-key", "{vkey}", "--workers", "0"],
        ["{bundle}", "--log-key", "{vkey}", "--workers", "two"],
        ["{bundle}", "--log-key", "{vkey}", "--previous-checkpoint", "/nonexistent/cp"],
        ["/nonexistent/dir", "--log-key", "{vkey}"],
        ["{bundle}", "--log-key", "{vkey}", "--bogus"],
        ["inclusion", "a"],
    ],
)
def test_usage_and_input_errors_exit_2(log: lf.BuiltLog, bundle: Path, args: list[str]) -> None:
    vkey = str(log.log_key.verifier())
    r = run(*[a.format(bundle=bundle, vkey=vkey) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = one_line(r.stderr)
    assert line.startswith(("✗ 用法错误 usage error:", "✗ 输入错误 input error:")), line


def test_private_key_given_as_log_key_is_not_echoed(log: lf.BuiltLog, bundle: Path) -> None:
    secret = log.log_key.private_key_string()
    r = run(bundle, "--log-key", secret)
    assert r.returncode == 2
    assert secret.split("+")[-1] not in r.stderr + r.stdout


def test_missing_entries_file_exit_2_with_json(log: lf.BuiltLog, tmp_path: Path) -> None:
    d = lf.export(log, tmp_path / "b")
    (d / "entries.jsonl").unlink()
    out = tmp_path / "r.json"
    r = run(d, "--log-key", str(log.log_key.verifier()), "--json", out)
    assert r.returncode == 2
    assert "entries.jsonl" in one_line(r.stderr)
    assert json.loads(out.read_text(encoding="utf-8"))["valid"] is None


def test_help_is_bilingual() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "导出目录" in r.stdout and "export directory" in r.stdout
    r = run("inclusion", "--help")
    assert r.returncode == 0
    assert "包含证明" in r.stdout and "inclusion" in r.stdout


# -- light mode ------------------------------------------------------------------------------


@pytest.fixture
def light(log: lf.BuiltLog, tmp_path: Path) -> dict[str, Path]:
    i = 9
    files = {
        "line": tmp_path / "entry.jsonl",
        "proof": tmp_path / "proof.json",
        "checkpoint": tmp_path / "checkpoint",
    }
    files["line"].write_bytes(log.lines[i] + b"\n")
    files["proof"].write_text(json.dumps(lf.inclusion_proof_json(log.lines, i)))
    files["checkpoint"].write_text(log.checkpoint)
    return files


def _incl(log: lf.BuiltLog, f: dict[str, Path], *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        "inclusion",
        f["line"],
        f["proof"],
        f["checkpoint"],
        "--log-key",
        str(log.log_key.verifier()),
        *extra,
    )


def test_inclusion_valid(log: lf.BuiltLog, light: dict[str, Path], tmp_path: Path) -> None:
    r = _incl(log, light, "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    assert one_line(r.stdout).startswith(
        f"✓ 验证通过 included: entry 9 is in the log of {log.size} entries"
    )
    assert json.loads((tmp_path / "r.json").read_text())["leaf_index"] == 9


def test_inclusion_altered_proof(log: lf.BuiltLog, light: dict[str, Path]) -> None:
    proof = json.loads(light["proof"].read_text())
    first = proof["inclusion_path"][0]
    proof["inclusion_path"][0] = ("A" if first[0] != "A" else "B") + first[1:]
    light["proof"].write_text(json.dumps(proof))
    r = _incl(log, light)
    assert r.returncode == 1
    assert one_line(r.stderr).startswith("✗ 验证失败 INVALID at entry 9: [merkle.inclusion]")


def test_inclusion_altered_line(log: lf.BuiltLog, light: dict[str, Path]) -> None:
    light["line"].write_bytes(
        log.lines[9].replace(b'"log_time":"2026', b'"log_time":"2027') + b"\n"
    )
    r = _incl(log, light)
    assert r.returncode == 1
    assert "[merkle.inclusion]" in one_line(r.stderr)
    light["line"].write_bytes(log.lines[10] + b"\n")
    r = _incl(log, light)
    assert r.returncode == 1
    assert "[inclusion.index]" in one_line(r.stderr)


def test_inclusion_altered_checkpoint(log: lf.BuiltLog, light: dict[str, Path]) -> None:
    light["checkpoint"].write_text(
        lf.sign_checkpoint_over(log.lines, lf.make_key(8, "log", key_name=log.origin))
    )
    r = _incl(log, light)
    assert r.returncode == 1
    assert "[note." in one_line(r.stderr)
    text = log.checkpoint.replace(f"\n{log.size}\n", f"\n{log.size + 1}\n")
    light["checkpoint"].write_text(text)
    r = _incl(log, light)
    assert r.returncode == 1
    assert "[note.signature]" in one_line(r.stderr)


def test_inclusion_malformed_proof_exit_2(log: lf.BuiltLog, light: dict[str, Path]) -> None:
    light["proof"].write_text("{not json")
    r = _incl(log, light)
    assert r.returncode == 2
    assert "PROOF_FILE" in one_line(r.stderr)


def test_progress_indicator_is_throttled() -> None:
    import io

    from verifier.cli.main import _Progress

    stream = io.StringIO()
    p = _Progress(stream)
    for done in range(0, 1_000_001, 1000):
        p(done, 1_000_000)
    text = stream.getvalue()
    assert 1 <= text.count("\r") <= 5  # first update, maybe a few more, and the final 100 %
    assert "100.0%" in text
    p.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
