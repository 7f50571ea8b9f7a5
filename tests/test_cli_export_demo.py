"""The operator CLI ``gongxin``: ``export`` (a bundle ``gongxin-verify`` accepts) and
``demo`` (deterministic demo logs of exactly n entries)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from ledger import proofs
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import parse_verifier_key

from .cli_driver import Log, fund, grant, policy, run
from .hand_entries import replay

pytestmark = pytest.mark.usefixtures("cli_isolated")


def _export(log: Log, directory: str) -> Path:
    run("export", directory, "--db", log.db)
    return Path(directory)


def test_export_bundle_is_valid(tmp_path: Path) -> None:
    log = Log()
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    log.append(fund(1), "test-finance.key")
    out = _export(log, "bundle")
    data = (out / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    lines = data[:-1].split(b"\n")
    cp = open_checkpoint((out / "checkpoint").read_text(), log.log_vkey)
    assert cp.size == len(lines) == 4
    assert proofs.root_of(merkle.leaf_hash(x) for x in lines) == cp.root
    assert parse_verifier_key((out / "log.vkey").read_text().strip()) == log.log_vkey
    replay(lines)
    # a directory with other files is refused, unless --force
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    run("export", "busy", "--db", log.db, code=2)
    run("export", "busy", "--db", log.db, "--force")
    assert (tmp_path / "busy" / "entries.jsonl").read_bytes() == data


def test_export_verifies_with_gongxin_verify(tmp_path: Path) -> None:
    log = Log()
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    log.append(fund(1), "test-finance.key")
    out = _export(log, "bundle")
    key_file = tmp_path / "published-log.vkey"
    key_file.write_text(str(log.log_vkey) + "\n")
    exe = Path(sys.executable).with_name("gongxin-verify")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "verifier.cli"]
    ok = subprocess.run(
        [*cmd, str(out), "--log-key", str(key_file)], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # light mode with the files `gongxin entry`, `prove inclusion` and `checkpoint` print
    (tmp_path / "line").write_bytes(log.line(1) + b"\n")
    (tmp_path / "proof.json").write_text(run("prove", "inclusion", "1", "--db", log.db).stdout)
    (tmp_path / "cp").write_text(log.checkpoint()[0])
    light = [*cmd, "inclusion", "line", "proof.json", "cp", "--log-key", str(key_file)]
    ok = subprocess.run(light, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "line").write_bytes(log.line(2) + b"\n")
    bad = subprocess.run(light, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    # and a tampered bundle does not verify
    entries = (out / "entries.jsonl").read_bytes()
    (out / "entries.jsonl").write_bytes(entries.replace(b"100001", b"100002"))
    bad = subprocess.run(
        [*cmd, str(out), "--log-key", str(key_file)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr


# -- demo ---------------------------------------------------------------------------------------


def _demo(directory: str, *args: str, code: int = 0) -> Result:
    Path(directory).mkdir(exist_ok=True)
    return run(
        "demo", "--db", f"sqlite:///{directory}/demo.db", "--keys-dir", f"{directory}/keys",
        *args, code=code,
    )  # fmt: skip


def _demo_export(directory: str) -> dict[str, bytes]:
    run("export", f"{directory}/out", "--db", f"sqlite:///{directory}/demo.db")
    return {p.name: p.read_bytes() for p in sorted(Path(directory, "out").iterdir())}


def test_demo_is_deterministic() -> None:
    _demo("a", "--entries", "300", "--seed", "7")
    _demo("b", "--entries", "300", "--seed", "7")
    _demo("c", "--entries", "300", "--seed", "8")
    a, b, c = _demo_export("a"), _demo_export("b"), _demo_export("c")
    assert set(a) == {"entries.jsonl", "checkpoint", "log.vkey"}
    assert a == b
    assert a["entries.jsonl"].count(b"\n") == 300
    assert c["entries.jsonl"] != a["entries.jsonl"]
    assert c["checkpoint"] != a["checkpoint"]
    # the keys written are the same too
    keys_a = {p.name: p.read_bytes() for p in Path("a/keys").iterdir()}
    keys_b = {p.name: p.read_bytes() for p in Path("b/keys").iterdir()}
    assert keys_a == keys_b and any(n.endswith(".key") for n in keys_a)
    for name in keys_a:
        if name.endswith(".key"):
            assert stat.S_IMODE(Path("a/keys", name).stat().st_mode) == 0o600


def test_demo_refuses_an_existing_database_without_force() -> None:
    _demo("d", "--entries", "20", "--seed", "3")
    before = _demo_export("d")
    r = _demo("d", "--entries", "50", "--seed", "4", code=2)
    assert "--force" in r.stderr
    run("export", "d/out", "--db", "sqlite:///d/demo.db")
    assert {p.name: p.read_bytes() for p in Path("d/out").iterdir()} == before
    _demo("d", "--entries", "50", "--seed", "4", "--force")
    after = _demo_export("d")
    assert after["entries.jsonl"].count(b"\n") == 50


@pytest.mark.parametrize("n", [1, 2, 13, 14, 97])
def test_demo_entries_gives_exactly_n(n: int) -> None:
    r = _demo("n", "--entries", str(n), "--seed", "2")
    assert f"{n} entries" in r.stdout
    data = _demo_export("n")["entries.jsonl"]
    assert data.count(b"\n") == n
    lines = data[:-1].split(b"\n")
    replay(lines)
    cp = open_checkpoint(
        Path("n/out/checkpoint").read_text(),
        parse_verifier_key(Path("n/out/log.vkey").read_text().strip()),
    )
    assert cp.size == n


def test_demo_rejects_zero_entries() -> None:
    _demo("z", "--entries", "0", code=2)
