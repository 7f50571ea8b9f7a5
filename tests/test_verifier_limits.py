"""``gongxin-verify`` never blocks on, nor reads, anything but regular files, and runs in bounded
memory: special files in every input position are refused at once (exit 2), and the real
console script, under a 256 MB address-space limit, refuses zip bombs (exit 2) and verifies a
normal export (exit 0) within a time limit."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import zip_cases as zc
from tests.test_fuzz_verifier import run_main, verify, write_bundle
from verifier.core.bundle import BUNDLE_FILES

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")

VERIFY = Path(sys.executable).with_name("gongxin-verify")
MEMORY_LIMIT = 256 << 20
TIME_LIMIT = 60


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with _cwd(path.parent):  # AF_UNIX paths are short: bind by the relative name
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path.name)
        sock.close()


def _directory(path: Path) -> None:
    path.mkdir()


def _link_to_fifo(path: Path) -> None:
    target = path.with_name(path.name + ".fifo")
    os.mkfifo(target)
    path.symlink_to(target)


def _link_to_device(path: Path) -> None:
    path.symlink_to("/dev/zero")


SPECIAL: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "socket": _socket,
    "directory": _directory,
    "symlink-to-fifo": _link_to_fifo,
    "symlink-to-dev-zero": _link_to_device,
}


def _special(path: Path, kind: str) -> Path:
    if path.exists() or path.is_symlink():
        path.unlink()
    SPECIAL[kind](path)
    return path


def _refused(status: int, err: str, name: str) -> None:
    assert status == 2, err
    assert err.startswith("✗ 输入错误 input error:") and err.count("\n") == 1, err
    assert name in err and "not a file" in err, err


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("name", BUNDLE_FILES)
def test_special_bundle_files_exit_2_at_once(tmp_path: Path, name: str, kind: str) -> None:
    bundle = write_bundle(tmp_path / "b", zc.good_files())
    _special(bundle / name, kind)
    _refused(*verify(bundle), name)


@pytest.mark.parametrize("kind", ["fifo", "socket", "symlink-to-dev-zero"])
def test_special_files_as_options_exit_2_at_once(tmp_path: Path, kind: str) -> None:
    bundle = write_bundle(tmp_path / "b", zc.good_files())
    special = _special(tmp_path / "special", kind)
    _refused(*verify(bundle, key=special), "verifier key file")
    _refused(*verify(bundle, "--previous-checkpoint", str(special)), "--previous-checkpoint")
    status, err = verify(special)  # DIR itself
    assert status == 2 and err.count("\n") == 1, err


@pytest.mark.parametrize("position", range(3))
def test_special_light_mode_files_exit_2_at_once(tmp_path: Path, position: int) -> None:
    files = [tmp_path / "line", tmp_path / "proof.json", tmp_path / "checkpoint"]
    files[0].write_bytes(zc.good_files()["entries.jsonl"].splitlines()[0])
    files[1].write_text('{"leaf_index": 0, "tree_size": 1, "inclusion_path": []}')
    files[2].write_bytes(zc.good_files()["checkpoint"])
    _special(files[position], "fifo")
    status, err = run_main(["inclusion", *map(str, files), "--log-key", str(zc.LOG_VKEY)])
    what = ("ENTRY_LINE_FILE", "PROOF_FILE", "CHECKPOINT")[position]
    _refused(status, err, what)


# ------------------------------------------------------------------------ bounded memory


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _console(*args: str | Path) -> tuple[int, str, float]:
    """The installed console script under :data:`MEMORY_LIMIT`; (status, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(VERIFY), *map(str, args), "--log-key", str(zc.LOG_VKEY)],
        preexec_fn=_limit_memory,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIME_LIMIT,
    )
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1 GiB of zeros as a deflate member (declared honestly, and declared small) and 256 MiB
    as a bzip2 member: each far beyond the 256 MB the verifier may use."""
    d = tmp_path_factory.mktemp("bombs")
    out = {}
    for name, data in (
        ("deflate", zc.deflate_bomb(1 << 30)),
        ("deflate-forged", zc.deflate_bomb(1 << 30, declared=65536)),
        ("bzip2", zc.bzip2_bomb(256 << 20)),
    ):
        out[name] = d / f"{name}.zip"
        out[name].write_bytes(data)
    return out


@pytest.mark.parametrize("name", ["deflate", "deflate-forged", "bzip2"])
def test_console_script_refuses_zip_bombs_in_bounded_memory(
    bombs: dict[str, Path], name: str
) -> None:
    status, err, seconds = _console(bombs[name])
    assert status == 2, err
    assert err.startswith("✗ 输入错误 input error:") and err.count("\n") == 1, err
    assert "entries.jsonl" in err or "method 12" in err, err
    assert seconds < TIME_LIMIT


@pytest.mark.parametrize("workers", ["1", "2"])
def test_console_script_verifies_an_export_in_bounded_memory(tmp_path: Path, workers: str) -> None:
    archive = tmp_path / "export.zip"
    archive.write_bytes(zc.bundle_zip())
    for target in (zc.GOOD, archive):
        status, err, seconds = _console(target, "--workers", workers, "-q")
        assert status == 0, err
        assert seconds < TIME_LIMIT
