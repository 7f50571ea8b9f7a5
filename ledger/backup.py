"""Backup and restore (``gongxin backup`` / ``gongxin restore``), for SQLite and PostgreSQL.

A backup is one SQLite file holding, from **one read snapshot** of the source database, the
ledger tables (``meta``, ``entries``, ``merkle_nodes``, ``checkpoints``), the witnesses'
``cosignatures`` of those checkpoints (they cannot be recomputed, only collected again for
newer checkpoints) and the resident register (``community_secrets``, ``resident_register``). It may be taken while the server
runs: appends commit whole transactions, and the snapshot (SQLite: one deferred read
transaction in WAL mode; PostgreSQL: ``REPEATABLE READ``) sees each of them completely or
not at all — a backup holds a prefix of the log ending at a signed checkpoint.

It is written under a temporary name, fsync'd and renamed into place, so a crash never leaves
a half-written backup under the final name. Restoring copies it into an empty database of
either kind, then checks it: a full replay of every entry under the rules (FORMAT.md §8, §10)
and the replayed Merkle root against the last signed checkpoint. The restored database
continues the same log (the server needs the same log key).

The resident register holds names, ID numbers and lookup-code hashes: a backup is personal
data and must be stored encrypted and access-controlled; residents erased after a backup was
taken are still in that backup (docs/RESIDENTS.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, insert, inspect, select

from ledger.store import engine as storage
from ledger.store import migrate, schema
from verifier.core import compact_range, merkle
from verifier.core.checkpoint import parse_checkpoint_body
from verifier.core.errors import InputError, VerificationError
from verifier.core.note import open_note

#: Tables copied, in order, with the columns they are read in order of.
_LEDGER_TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (storage.meta, ("name",)),
    (storage.checkpoints, ("size",)),
    (storage.merkle_nodes, ("level", "idx")),
    (storage.entries, ("idx",)),
)
#: Tables copied when the source has them (a backup taken before migration 0005 has none).
_OPTIONAL_TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (schema.cosignatures, ("size", "witness")),
)
_REGISTER_TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (schema.community_secrets, ("community",)),
    (schema.resident_register, ("register_no",)),
)
_PAGE = 5_000


@dataclass(frozen=True)
class BackupInfo:
    """What a backup or a restore holds: ``size`` entries up to ``checkpoint``."""

    size: int
    checkpoint: str
    rows: int


def backup(source_url: str, destination: Path, *, force: bool = False) -> BackupInfo:
    """Snapshot the database at ``source_url`` into the SQLite file ``destination``.

    Refuses to overwrite an existing file unless ``force``. Cost: O(database size) reads and
    writes; the server keeps appending meanwhile (the snapshot does not block writers).
    """
    destination = Path(destination)
    if destination.exists() and not force:
        raise InputError("exists; choose a new file or pass --force", field=str(destination))
    if not destination.resolve().parent.is_dir():
        raise InputError("the backup's directory does not exist", field=str(destination))
    tmp = destination.with_name(f".{destination.name}.tmp")
    tmp.unlink(missing_ok=True)
    source = storage.open_engine(source_url, must_exist=True)
    target = storage.open_engine(f"sqlite:///{tmp}")
    try:
        migrate.create_schema(target)
        with source.connect() as src:
            if source.dialect.name == "postgresql":
                src = src.execution_options(isolation_level="REPEATABLE READ")
            with src.begin():
                info = _copy(src, target, with_register=_has_register(source))
    except BaseException:
        target.dispose()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        source.dispose()
    target.dispose()
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, destination)
    return info


def restore(backup_file: Path, destination_url: str) -> BackupInfo:
    """Copy the backup ``backup_file`` into the empty database at ``destination_url`` and
    check it: a full replay under the rules, and the Merkle root — recomputed from the
    entries and as stored — against the last checkpoint's.

    Raises :class:`InputError` if the destination already holds a log or the file is not a
    backup, :class:`VerificationError` if the restored log does not check. Cost: O(size).
    """
    from ledger.log import Ledger

    backup_file = Path(backup_file)
    if not backup_file.is_file():
        raise InputError("no such backup file", field=str(backup_file))
    source = storage.open_engine(f"sqlite:///{backup_file}", must_exist=True)
    target = storage.open_engine(destination_url)
    try:
        if not inspect(source).has_table(storage.entries.name):
            raise InputError("not a Gongxin backup", field=str(backup_file))
        if inspect(target).has_table(storage.entries.name):
            with target.connect() as conn:
                if conn.execute(select(func.count()).select_from(storage.entries)).scalar():
                    raise InputError(
                        "the destination already holds a log; restore into an empty database",
                        field="database",
                    )
        if migrate.current_revision(source) is None:
            raise InputError("not a Gongxin backup (no ledger tables)", field=str(backup_file))
        migrate.create_schema(target)  # backups of older versions restore at the new schema
        with source.connect() as src, src.begin():
            info = _copy(src, target, with_register=_has_register(source))
    finally:
        source.dispose()
        target.dispose()
    with Ledger.open(destination_url, create=False) as ledger:  # replays every entry
        if ledger.size != info.size or ledger.latest_checkpoint() != info.checkpoint:
            raise VerificationError(
                "restore.mismatch", "the restored log does not end at the backup's checkpoint"
            )
        assert ledger.log_vkey is not None
        root = parse_checkpoint_body(open_note(info.checkpoint, [ledger.log_vkey]).text).root
        tree = compact_range.CompactRange()
        for line in ledger.iter_lines():
            tree.append(merkle.leaf_hash(line))
        if tree.root() != root or ledger.tree.root() != root:
            raise VerificationError(
                "restore.root", "the restored entries do not hash to the checkpoint's root"
            )
    return info


def _has_register(engine: Engine) -> bool:
    return inspect(engine).has_table(schema.resident_register.name)


def _copy(src: Connection, target: Engine, *, with_register: bool) -> BackupInfo:
    """Copy every table from the open snapshot ``src`` into ``target`` (one transaction)."""
    note = src.execute(
        select(storage.checkpoints.c.note).order_by(storage.checkpoints.c.size.desc()).limit(1)
    ).scalar()
    if note is None:
        raise InputError("the database holds no log", field="database")
    vkey = src.execute(
        select(storage.meta.c.value).where(storage.meta.c.name == "log_vkey")
    ).scalar_one()
    from verifier.core.keys import parse_verifier_key

    size = parse_checkpoint_body(open_note(note, [parse_verifier_key(vkey)]).text).size
    rows = 0
    present = set(inspect(src).get_table_names())
    optional = tuple(t for t in _OPTIONAL_TABLES if t[0].name in present)
    tables = _LEDGER_TABLES + optional + (_REGISTER_TABLES if with_register else ())
    with target.begin() as dst:
        for table, order in tables:
            query = select(table).order_by(*(table.c[name] for name in order))
            if table is storage.entries:
                query = query.where(storage.entries.c.idx < size)
            elif table is storage.checkpoints:
                query = query.where(storage.checkpoints.c.size <= size)
            elif table is schema.cosignatures:
                query = query.where(schema.cosignatures.c.size <= size)
            result = src.execution_options(stream_results=True).execute(query)
            while page := result.fetchmany(_PAGE):
                dst.execute(insert(table), [dict(r._mapping) for r in page])
                rows += len(page)
    return BackupInfo(size, note, rows)
