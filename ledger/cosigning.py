"""Witnesses' cosignatures of the log's own checkpoints (FORMAT.md §14): storing them,
reading a checkpoint with its cosignatures, and finding the newest one the witness policy's
quorum has cosigned. The collector that asks the witnesses is :mod:`api.witnessing`.

A cosignature is stored only after it verified over the stored checkpoint of its size
(:func:`store_cosignature`), so every stored line is valid; they are kept in the
``cosignatures`` table (migration 0005) through :class:`ledger.store.contract.CosignatureStore`.
:func:`collector_lease` makes sure at most one process of a deployment asks the witnesses.
"""

from __future__ import annotations

import fcntl
import functools
import os
import time
from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.log import Ledger
from ledger.store.contract import CosignatureStore
from verifier.core.errors import GongxinError, InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.witness.cosignature import WitnessKey, open_cosigned_checkpoint
from verifier.witness.policy import WitnessPolicy, check_cosigned

#: Newest cosigned sizes :func:`newest_witnessed` examines (older ones are superseded).
SCAN_SIZES = 16
#: PostgreSQL session advisory lock of the collector (``"wtns"``; the sequencer's is "gong").
PG_COLLECTOR_LOCK = 0x77746E73


def _store(ledger: Ledger) -> CosignatureStore | None:
    """The ledger's store as a :class:`CosignatureStore`, or ``None`` if it keeps none."""
    store = ledger.store
    if not all(hasattr(store, m) for m in ("add_cosignature", "cosignatures", "cosigned_sizes")):
        return None
    return store  # type: ignore[return-value]


def _log_key(ledger: Ledger) -> VerifierKey:
    if ledger.log_vkey is None:
        raise InputError("the log is empty; run `gongxin init` first", field="database")
    return ledger.log_vkey


def store_cosignature(ledger: Ledger, size: int, witness: WitnessKey, reply: str) -> str:
    """Verify ``reply`` (an add-checkpoint 200 body: one or more note signature lines) as
    ``witness``'s cosignature of the stored checkpoint of ``size`` and store the line.
    Returns the line. :class:`VerificationError` (``cosignature.signature`` or
    ``cosignature.missing``) when no line is a valid cosignature by ``witness``;
    :class:`InputError` if the log has no checkpoint of ``size``. Cost: one read, one
    Ed25519 verification per line, one INSERT."""
    note = ledger.checkpoint_at(size)
    if note is None:
        raise InputError(f"the log issued no checkpoint of size {size}", field="size")
    for raw in reply.splitlines():
        line = raw + "\n"
        try:
            opened = open_cosigned_checkpoint(note + line, _log_key(ledger), [witness])
        except GongxinError as exc:
            if getattr(exc, "rule", "") == "cosignature.signature":
                raise  # the witness's own line, and it does not verify
            continue  # not a signature line
        if opened.count() == 1:
            received = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            store = _store(ledger)
            if store is None:
                raise TypeError("this ledger's store keeps no cosignatures")
            store.add_cosignature((size, str(witness), line, received))
            return line
    raise VerificationError(
        "cosignature.missing",
        f"the reply holds no cosignature by witness {witness.name}+{witness.key_id_hex}",
        key_id=witness.key_id_hex,
    )


def cosigned_note(ledger: Ledger, size: int) -> str | None:
    """The log-signed checkpoint of ``size`` with every stored cosignature line appended
    after the log's signature line, ordered by witness key (stable); ``None`` if the log
    issued no checkpoint of ``size`` (a store without cosignatures: the note alone). Cost:
    two indexed reads."""
    note = ledger.checkpoint_at(size)
    store = _store(ledger)
    if note is None or store is None:
        return note
    return note + "".join(row[2] for row in store.cosignatures(size))


@functools.lru_cache(maxsize=64)
def _quorum_met(note: str, log_key: VerifierKey, policy: WitnessPolicy) -> bool:
    """Whether ``note``'s cosignatures satisfy ``policy`` (remembered: the same note is asked
    about on every ``GET /checkpoint`` until a newer one is witnessed)."""
    try:
        check_cosigned(note, log_key, policy)
    except VerificationError:
        return False
    return True


def newest_witnessed(ledger: Ledger, policy: WitnessPolicy) -> tuple[int, str] | None:
    """(size, cosigned note) of the newest checkpoint whose stored cosignatures satisfy the
    policy's quorum (:func:`verifier.witness.policy.check_cosigned`), or ``None`` if none
    of the :data:`SCAN_SIZES` newest cosigned checkpoints does. With ``quorum none`` that is
    the newest stored checkpoint. Cost: 1 + 2 × (sizes examined) indexed reads; the Ed25519
    verifications of a note are remembered."""
    if policy.quorum is None:
        with ledger.store.reading() as reader:
            latest = reader.latest_checkpoint()
        if latest is None:
            return None
        size = int(latest.split("\n", 2)[1])
        note = cosigned_note(ledger, size)
        return None if note is None else (size, note)
    log_key, store = _log_key(ledger), _store(ledger)
    for size in [] if store is None else store.cosigned_sizes(SCAN_SIZES):
        note = cosigned_note(ledger, size)
        if note is not None and _quorum_met(note, log_key, policy):
            return size, note
    return None


@dataclass
class Lease:
    """Held by at most one process per database: :func:`collector_lease`. Released by
    :meth:`release` or when the process ends (the OS drops the file lock; PostgreSQL the
    session lock with the connection)."""

    _fd: int | None = None
    _conn: Connection | None = None

    def held(self) -> bool:
        """Whether the lease is still held (PostgreSQL: one query; the lock goes if the
        connection broke)."""
        if self._conn is None:
            return True
        try:
            return bool(
                self._conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objid = %s",
                    (PG_COLLECTOR_LOCK,),
                ).scalar()
            )
        except Exception:
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
        if self._conn is not None:
            self._conn.invalidate()  # close the session: the advisory lock goes with it
            self._conn.close()
            self._conn = None


def collector_lease(ledger: Ledger) -> Lease | None:
    """Try (without waiting) to become the one process that collects cosignatures for this
    database; ``None`` if another holds it. SQLite: an exclusive ``flock`` on
    ``<database>-witnessing.lock`` beside the file (every process of a SQLite log is on this
    machine); an in-memory database: always granted. PostgreSQL: the session advisory lock
    :data:`PG_COLLECTOR_LOCK` on a connection kept open for the lease (any machine).
    Cost: one system call or one query."""
    engine = ledger.engine
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            got = conn.exec_driver_sql(
                "SELECT pg_try_advisory_lock(%s)", (PG_COLLECTOR_LOCK,)
            ).scalar()
            conn.commit()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return None
        return Lease(_conn=conn)
    path = engine.url.database
    if not path or path == ":memory:":
        return Lease()
    fd = os.open(f"{path}-witnessing.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return Lease(_fd=fd)
