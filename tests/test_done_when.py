"""Issue "Core"'s acceptance check, end to end through the real commands:

``gongxin demo --entries 1000`` → ``gongxin export out/`` → ``gongxin-verify out/ --log-key
out/log.vkey`` exits 0, and changing any single byte of ``out/entries.jsonl`` or
``out/checkpoint`` makes it exit 1.

The command-line runs use a sample of byte positions (each run costs a process); every byte
of the checkpoint, and a dense sample of the log, are also checked in-process with the same
verifier function.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verifier.cli.bundle import verify_bundle
from verifier.cli.files import load_verifier_key
from verifier.core.errors import VerificationError

BIN = Path(sys.executable).parent


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GONGXIN_DATABASE_URL": "sqlite:///gongxin.db"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("done-when")
    assert _run(str(BIN / "gongxin"), "demo", "--entries", "1000", cwd=work).returncode == 0
    assert _run(str(BIN / "gongxin"), "export", "out", cwd=work).returncode == 0
    return work / "out"


def _verify_cli(bundle: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        str(BIN / "gongxin-verify"),
        str(bundle),
        "--log-key",
        str(bundle / "log.vkey"),
        cwd=bundle.parent,
    )


def _flip(src: Path, dst: Path, name: str, pos: int) -> None:
    shutil.copytree(src, dst)
    data = bytearray((src / name).read_bytes())
    data[pos] ^= 0x01
    (dst / name).write_bytes(bytes(data))


def test_demo_export_verifies(demo_export: Path) -> None:
    result = _verify_cli(demo_export)
    assert result.returncode == 0, result.stderr
    assert "1000 entries" in result.stdout
    assert (demo_export / "entries.jsonl").read_bytes().count(b"\n") == 1000


@pytest.mark.parametrize("name", ["entries.jsonl", "checkpoint"])
def test_cli_exits_1_on_sampled_byte_changes(demo_export: Path, tmp_path: Path, name: str) -> None:
    size = (demo_export / name).stat().st_size
    rng = random.Random(20261122)
    positions = sorted({0, size - 1, *rng.sample(range(size), 6)})
    for pos in positions:
        bundle = tmp_path / f"flip-{pos}"
        _flip(demo_export, bundle, name, pos)
        result = _verify_cli(bundle)
        assert result.returncode == 1, (name, pos, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "INVALID" in lines[0], lines


def test_every_checkpoint_byte_matters(demo_export: Path, tmp_path: Path) -> None:
    log_key = load_verifier_key(str(demo_export / "log.vkey"))
    bundle = tmp_path / "b"
    shutil.copytree(demo_export, bundle)
    original = (demo_export / "checkpoint").read_bytes()
    for pos in range(len(original)):
        data = bytearray(original)
        data[pos] ^= 0x01
        (bundle / "checkpoint").write_bytes(bytes(data))
        with pytest.raises(VerificationError):
            verify_bundle(bundle, log_key, workers=1)


def test_dense_sample_of_log_bytes_matters(demo_export: Path, tmp_path: Path) -> None:
    """Every 4999th byte of the log (≈100 positions across fields and kinds; the verifier
    tests flip every byte of smaller logs)."""
    log_key = load_verifier_key(str(demo_export / "log.vkey"))
    bundle = tmp_path / "b"
    shutil.copytree(demo_export, bundle)
    original = (demo_export / "entries.jsonl").read_bytes()
    for pos in range(0, len(original), 4999):
        data = bytearray(original)
        data[pos] ^= 0x20
        (bundle / "entries.jsonl").write_bytes(bytes(data))
        with pytest.raises(VerificationError):
            verify_bundle(bundle, log_key, workers=1)
