"""The export cache (api/export_cache.py): one zip a minute for every download, published
atomically, never more than one complete export kept, and a cache that cannot be written
never fails a download."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.export_cache import STALE_PART, ExportCache, file_chunks, tee_into


def _chunks(*parts: bytes, fail: bool = False) -> Iterator[bytes]:
    yield from parts
    if fail:
        raise RuntimeError("the database went away")


def test_built_once_then_served_until_it_is_old(tmp_path: Path) -> None:
    cache = ExportCache(tmp_path / "c", max_age=60)
    assert cache.fresh() is None
    writer = cache.writer(10)
    assert writer is not None
    assert cache.writer(10) is None  # another stream is writing it
    assert b"".join(tee_into(_chunks(b"ab", b"cd"), writer)) == b"abcd"
    got = cache.fresh()
    assert got is not None and got.size == 10 and got.path.read_bytes() == b"abcd"
    assert oct((tmp_path / "c").stat().st_mode & 0o777) == "0o700"
    assert cache.fresh(now=time.time() + 61) is None  # too old: the next download builds
    newer = cache.writer(12)
    assert newer is not None
    assert b"".join(tee_into(_chunks(b"xyz"), newer)) == b"xyz"
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["export-12.zip"]
    with open(got.path.with_name("export-12.zip"), "rb") as fh:
        assert b"".join(file_chunks(fh, 2)) == b"xyz" and fh.closed


@pytest.mark.parametrize("how", ["error", "client gone"])
def test_an_unfinished_stream_leaves_nothing(tmp_path: Path, how: str) -> None:
    cache = ExportCache(tmp_path)
    stream = tee_into(_chunks(b"a", b"b", fail=how == "error"), cache.writer(5))
    if how == "error":
        with pytest.raises(RuntimeError):
            list(stream)
    else:
        next(stream)
        stream.close()  # type: ignore[attr-defined]  # a generator
    assert list(tmp_path.iterdir()) == [] and cache.fresh() is None


def test_a_cache_that_cannot_be_written_fails_no_download(tmp_path: Path) -> None:
    cache = ExportCache(tmp_path)
    writer = cache.writer(3)
    assert writer is not None
    os.close(writer._fd)  # type: ignore[arg-type]  # as if the disk were gone
    assert b"".join(tee_into(_chunks(b"a", b"b"), writer)) == b"ab"
    assert list(tmp_path.iterdir()) == []
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    assert ExportCache(blocked / "sub").writer(1) is None  # no directory: no cache


def test_a_dead_writers_part_is_taken_over(tmp_path: Path) -> None:
    cache = ExportCache(tmp_path)
    assert cache.writer(7) is not None  # never finished: its process died
    part = tmp_path / "export-7.zip.part"
    old = time.time() - STALE_PART - 1
    os.utime(part, (old, old))
    assert cache.writer(7) is not None
