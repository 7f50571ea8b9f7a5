"""``gongxin-verify`` on export zips: good ones verify wherever the files sit, nothing is
extracted, and the checks the corpus does not cover (caps counted while reading, zip64 end
records, members beside the bundle, worker processes) hold. The crash classes themselves are
in ``tests/corpus`` (``tests/test_verifier_corpus.py``)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest

from tests import zip_cases as zc
from tests.test_fuzz_verifier import verify
from verifier.cli.zipped import ZipBundle
from verifier.core.errors import InputError

GOOD = zc.good_files()


def _write(tmp_path: Path, data: bytes, name: str = "export.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("folder", ["gongxin-export/", ""])
@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_good_zips_verify(tmp_path: Path, folder: str, method: int) -> None:
    members = [(folder + name, data) for name, data in GOOD.items()]
    members += [("README.txt", b"hello"), ("a/b/entries.jsonl", b"ignored: too deep"), ("d/", b"")]
    status, err = verify(_write(tmp_path, zc.make_zip(members, method=method)))
    assert status == 0, err


def test_nothing_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "tmp"
    empty.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(empty))
    monkeypatch.setenv("TMPDIR", str(empty))
    assert verify(_write(tmp_path, zc.bundle_zip()))[0] == 0
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize(
    ("drop", "members", "message"),
    [
        (
            "entries.jsonl",
            [("a/entries.jsonl", GOOD["entries.jsonl"]), ("b/entries.jsonl", b"")],
            "twice",
        ),
        ("checkpoint", [], "has no checkpoint"),
        ("entries.jsonl", [], "has no entries.jsonl"),
        ("", [("notes.txt", bytes(2 << 20))], "notes.txt declares 2097152 bytes"),
        ("log.vkey", [("log.vkey", bytes(100 << 10))], "log.vkey declares 102400 bytes"),
    ],
)
def test_zip_layout_errors_exit_2(
    tmp_path: Path, drop: str, members: list[tuple[str, bytes]], message: str
) -> None:
    base = [(n, d) for n, d in GOOD.items() if n != drop]
    status, err = verify(_write(tmp_path, zc.make_zip([*base, *members])))
    assert status == 2, err
    assert message in err and err.count("\n") == 1, err


def test_entries_are_capped_while_reading(tmp_path: Path) -> None:
    """The declared size is checked first; the count while reading catches what it misses."""
    bundle = ZipBundle(_write(tmp_path, zc.bundle_zip()))
    try:
        with pytest.raises(InputError, match="declares"):
            bundle.cap_entries(100)
        fh, size = bundle.open_entries()
        assert size == len(GOOD["entries.jsonl"])
        assert bundle.entries is not None
        bundle.entries.limit = 100  # as if the header had lied
        with pytest.raises(InputError, match="holds more than 100 bytes"):
            fh.readline(65536)
        fh.close()
    finally:
        bundle.close()


def test_the_checkpoint_is_capped_while_reading(tmp_path: Path) -> None:
    bundle = ZipBundle(_write(tmp_path, zc.bundle_zip()))
    try:
        with pytest.raises(InputError, match="holds more than 10 bytes"):
            bundle.read_checkpoint(10)
        assert bundle.read_checkpoint(1 << 20) == GOOD["checkpoint"]
    finally:
        bundle.close()


def _zip64(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The bundle zip with a zip64 end record (written by zipfile with a tiny zip64 limit)."""
    with monkeypatch.context() as m:
        m.setattr(zipfile, "ZIP64_LIMIT", 16)
        return zc.bundle_zip()


def test_zip64_end_records_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _zip64(monkeypatch)
    assert b"PK\x06\x06" in data
    assert verify(_write(tmp_path, data))[0] == 0
    # A zip64 record claiming a million members is refused before the directory is read.
    at = data.rfind(b"PK\x06\x06")
    forged = bytearray(data)
    forged[at + 32 : at + 40] = (1_000_000).to_bytes(8, "little")
    status, err = verify(_write(tmp_path, bytes(forged), "forged.zip"))
    assert status == 2 and "1000000 members" in err, err


def test_worker_processes_read_the_zip_and_its_damage(tmp_path: Path) -> None:
    status, err = verify(_write(tmp_path, zc.bundle_zip()), "--workers", "2")
    assert status == 0, err
    bomb = _write(tmp_path, zc.deflate_bomb(4 << 20, declared=len(GOOD["entries.jsonl"])), "b.zip")
    status, err = verify(bomb, "--workers", "2")
    assert status == 2 and "Bad CRC-32" in err, err


def test_a_file_that_is_not_a_zip_exit_2(tmp_path: Path) -> None:
    status, err = verify(_write(tmp_path, b"PK\x03\x04 not really", "x.zip"))
    assert status == 2 and "neither a directory nor a zip" in err, err
