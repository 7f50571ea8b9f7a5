"""A small real demo log, its export bundle and witnesses that cosign its checkpoint, for the
tests of ``gongxin-verify``'s witness options and of tlog-proof files (FORMAT.md §15)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from witness.keys import WitnessSigner

BIN = Path(sys.executable).parent
GONGXIN = str(BIN / "gongxin")
VERIFY = str(BIN / "gongxin-verify")
LOG_VKEY = "gongxin.example_jiedao-001.vkey"


@dataclass(frozen=True)
class Demo:
    """A demo database (``db`` URL), its trusted log key file and an exported bundle."""

    db: str
    log_vkey: Path
    bundle: Path

    @property
    def note(self) -> str:
        return (self.bundle / "checkpoint").read_text(encoding="utf-8")

    @property
    def body(self) -> bytes:
        """The checkpoint text (what cosignatures sign)."""
        note = self.note
        return note[: note.index("\n\n") + 1].encode("utf-8")


def run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [str(a) for a in args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def build_demo(directory: Path, entries: int = 120) -> Demo:
    """``gongxin demo --entries N`` then ``gongxin export``. Cost: ~2 s."""
    db = f"sqlite:///{directory / 'demo.db'}"
    keys = directory / "keys"
    for args in (
        (GONGXIN, "demo", "--entries", str(entries), "--db", db, "--keys-dir", keys),
        (GONGXIN, "export", directory / "bundle", "--db", db),
    ):
        r = run(*args)
        assert r.returncode == 0, r.stderr
    return Demo(db, keys / LOG_VKEY, directory / "bundle")


def witnesses(n: int = 3) -> list[WitnessSigner]:
    """``n`` fixed witness keys w0.example … (deterministic seeds)."""
    return [WitnessSigner(f"w{i}.example", bytes([i + 1]) * 32) for i in range(n)]


def cosigned_bundle(demo: Demo, target: Path, lines: list[str]) -> Path:
    """A copy of the demo bundle whose checkpoint carries ``lines`` after its signature."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo.bundle / "entries.jsonl", target / "entries.jsonl")
    (target / "checkpoint").write_text(demo.note + "".join(lines), encoding="utf-8")
    return target


def key_files(directory: Path, signers: list[WitnessSigner]) -> list[str]:
    """Write each witness's verifier key to ``<name>.vkey``; return the paths."""
    out = []
    for s in signers:
        path = directory / f"{s.public.name}.vkey"
        path.write_text(f"{s.public}\n", encoding="utf-8")
        out.append(str(path))
    return out
