"""``gongxin tiles DIR``: the log as C2SP tlog-tiles files for any static web server or CDN
(FORMAT.md §13) — the same bytes ``GET /checkpoint`` and ``GET /tile/…`` serve.

Incremental: ``DIR/checkpoint`` says which tree size the directory holds; only tiles that are
new or grew since then are written (:func:`ledger.tiles.changed_files`), full tiles are never
rewritten, older partial tiles stay (a client holding an older checkpoint may still ask for
them) and the new checkpoint is written last, so a reader of the directory never sees a
checkpoint whose tiles are missing. Every file is written under a temporary name, fsync'd and
renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from verifier.core.errors import GongxinError, InputError


@dataclass(frozen=True)
class TilesWritten:
    """What one run did: the tree size now in the directory, the size before, files written
    and full tiles that were already there (skipped)."""

    size: int
    old_size: int
    written: int
    skipped: int


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory, fsync'd, then
    renamed over it (POSIX rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _old_size(directory: Path, checkpoint_at: Callable[[int], str | None]) -> int:
    """The size of the checkpoint already in ``directory`` (0 if none). Raises
    :class:`InputError` unless it is, byte for byte, the ledger's own checkpoint of that size
    (``checkpoint_at``): not another log, not a directory edited by hand."""
    path = directory / "checkpoint"
    if not path.exists():
        return 0
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if len(lines) < 3 or not lines[1].isdigit() or len(lines[1]) > 19:
        raise InputError(f"{path} is not a checkpoint", field="DIR")
    if checkpoint_at(int(lines[1])) != text:
        raise InputError(
            f"{path} is not this log's checkpoint of size {lines[1]}; use an empty directory",
            field="DIR",
        )
    return int(lines[1])


def write_tiles(db: str, directory: Path, size: int | None = None) -> TilesWritten:
    """Bring ``directory`` up to the ledger's latest checkpoint (or its checkpoint of ``size``
    entries). Raises :class:`InputError` for an unusable database, directory or size. Cost: one read per changed tile, O(new entries)
    bytes written plus ≤ 2 partial tiles per level."""
    from ledger.log import Ledger
    from ledger.tiles import changed_files

    ledger = Ledger.open(db, create=False, replay=False)
    try:
        if size is None:
            size, note = ledger.published()
        else:
            stored = ledger.checkpoint_at(size) if 0 < size <= ledger.size else None
            if stored is None:
                raise InputError(f"the log issued no checkpoint of size {size}", field="--size")
            note = stored
        old = _old_size(directory, ledger.checkpoint_at)
        if old > size:
            raise InputError(f"{directory} holds a larger tree ({old}) than the log", field="DIR")
        written = skipped = 0
        with ledger.store.reading() as reader:
            for tile, data in changed_files(reader, old, size):
                target = directory / tile.path
                if not tile.partial and target.exists():
                    skipped += 1  # full tiles never change
                    continue
                _atomic_write(target, data)
                written += 1
        _atomic_write(directory / "checkpoint", note.encode("utf-8"))
        return TilesWritten(size, old, written + 1, skipped)
    finally:
        ledger.close()


def tiles_command(
    directory: Annotated[Path, typer.Argument(help="输出目录 directory to write (or update)")],
    size: Annotated[
        int | None,
        typer.Option("--size", help="写某一较早检查点的树 the tree of an earlier checkpoint"),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """瓦片 — write the log as C2SP tlog-tiles files (checkpoint, tile/…, tile/entries/…) for
    a static web server; run again to add what is new (full tiles are never rewritten)."""
    try:
        out = write_tiles(db, directory, size)
    except GongxinError as exc:
        typer.echo(f"✗ 写瓦片失败 tiles failed: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"✓ 已写瓦片 tiles for {out.size} entries in {directory} (was {out.old_size}):"
        f" {out.written} files written, {out.skipped} full tiles already there"
    )
