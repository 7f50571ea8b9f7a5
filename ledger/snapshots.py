"""Rule-state snapshots in the ledger's database (FORMAT.md §12.2): write one, load one.

A snapshot (table ``state_snapshots``) is the encoded rule state after ``size`` entries
(:mod:`verifier.rules.snapshot`, FORMAT.md §12.1) with the tree root at that size, the
encoding's version and its SHA-256 digest. It is a cache, never a source of truth:
:func:`load` uses the newest snapshot only if its version is supported, its size is within
the stored log, its root is the stored tree's at that size, its data has its digest and
decodes, and its ``prev`` is the stored leaf hash at that size; otherwise it logs one
warning line (logger ``gongxin.ledger``) saying why, and the caller replays from entry 0.

Writing runs in a transaction of its own (never inside an append), deletes all but the
:data:`KEEP` newest, and is atomic: a process killed while writing leaves the earlier
snapshots as they were. Cost: one encoding (about half a second at a million entries) and one
row of tens of megabytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.reads import tree_at
from ledger.store.contract import LedgerReader, LedgerStore, SnapshotInfo
from verifier.core import merkle
from verifier.core.compact_range import CompactRange
from verifier.core.entry import parse_entry_line
from verifier.core.errors import GongxinError
from verifier.rules import DomainRules
from verifier.rules.log_state import LogState
from verifier.rules.postings import Posting
from verifier.rules.snapshot import (
    SNAPSHOT_VERSION,
    SnapshotError,
    decode_state,
    encode_state,
    snapshot_digest,
)

#: How many snapshots a ledger keeps (the newest; the older one covers a damaged newest).
KEEP = 2
#: What ``gongxin serve`` writes a snapshot after, in entries (``--snapshot-every``).
DEFAULT_EVERY = 100_000

log = logging.getLogger("gongxin.ledger")


def write(store: LedgerStore, state: LogState, tree: CompactRange, created_at: str) -> SnapshotInfo:
    """Store ``state`` (at a committed size, with its ``tree`` of the same size) as a
    snapshot, in its own write transaction, keeping the :data:`KEEP` newest. Raises
    :class:`SnapshotError` for a state that cannot be encoded and whatever the database
    raises; nothing is written then. Cost: O(size of the state)."""
    if tree.size != state.size or state.size == 0:
        raise SnapshotError(f"state at {state.size} entries, tree at {tree.size}: not a snapshot")
    data = encode_state(state)
    info = SnapshotInfo(
        state.size, tree.root(), SNAPSHOT_VERSION, snapshot_digest(data), created_at
    )
    with store.begin_write() as tx:
        tx.put_snapshot(info, data, keep=KEEP)
        tx.commit()
    return info


def load(
    reader: LedgerReader, observer: Callable[[Posting], None] | None = None
) -> tuple[LogState, CompactRange, SnapshotInfo] | None:
    """The newest usable snapshot as (state, tree at its size, its row), or ``None`` when
    there is none (silently) or none is usable (one warning line naming why). The state's
    rulebook gets ``observer``. Cost: O(log n) reads per candidate plus one decoding."""
    candidates = reader.snapshots()
    if not candidates:
        return None
    last = reader.last_index()
    stored = 0 if last is None else last + 1
    refused: list[str] = []
    for info in candidates:
        found = _usable(reader, info, stored, observer)
        if isinstance(found, str):
            refused.append(f"snapshot at {info.size}: {found}")
            continue
        if refused:
            log.warning(
                "警告 warning: 状态快照不可用，改用较早的快照 an unusable state snapshot was "
                "ignored (%s); using the one at %d",
                "; ".join(refused),
                info.size,
            )
        return found[0], found[1], info
    log.warning(
        "警告 warning: 状态快照不可用，从头重放日志 state snapshot ignored, replaying the "
        "whole log (%s)",
        "; ".join(refused),
    )
    return None


def _usable(
    reader: LedgerReader,
    info: SnapshotInfo,
    stored: int,
    observer: Callable[[Posting], None] | None,
) -> tuple[LogState, CompactRange] | str:
    """The snapshot's state and tree if it passes every check, else why not."""
    if info.version != SNAPSHOT_VERSION:
        return f"encoding version {info.version} is not supported (this reads {SNAPSHOT_VERSION})"
    if not 0 < info.size <= stored:
        return f"the log holds only {stored} entries (a snapshot of another or a restored log)"
    tree = tree_at(reader, info.size)
    if tree.root() != info.root:
        return "its tree root is not this log's at that size (another log's snapshot)"
    data = reader.snapshot_data(info.size)
    if data is None or snapshot_digest(data) != info.digest:
        return "its data does not match its digest (damaged)"
    try:
        state = decode_state(data, observer=observer)
    except SnapshotError as exc:
        return str(exc)
    (_, line), *_ = reader.lines(info.size - 1, info.size)
    if state.size != info.size or state.prev != merkle.leaf_hash(line).hex():
        return "its state is not at its size in this log"
    return state, tree


def check_latest(store: LedgerStore) -> tuple[int, str]:
    """``gongxin db check-state``: replay the log from entry 0 up to the latest snapshot's
    size (keys, roles and rules re-applied; signatures not re-verified, as when opening) and
    compare. Returns (exit code, one line, Chinese first): 0 the snapshot's bytes equal the
    replayed state's encoding and its root the stored tree's, 1 they differ (or the log does
    not replay), 2 no snapshot or one in an encoding this version does not read. Cost: a
    full replay up to that size."""
    with store.reading() as reader:
        infos = reader.snapshots()
        if not infos:
            return 2, "✗ 没有状态快照 no state snapshot in this database"
        info = infos[0]
        if info.version != SNAPSHOT_VERSION:
            return 2, f"✗ 快照编码版本 {info.version} 不受支持 snapshot version is not supported"
        last = reader.last_index()
        if info.size > (0 if last is None else last + 1):
            return 1, f"✗ 状态快照超出日志 the snapshot at {info.size} is beyond the log"
        data = reader.snapshot_data(info.size) or b""
        state = LogState(rulebook=DomainRules())
        try:
            for idx, line in reader.entries_since(0):
                if idx >= info.size:
                    break
                entry = parse_entry_line(line, idx)
                state.check_and_apply(entry, merkle.leaf_hash(line), check_signatures=False)
        except GongxinError as exc:
            return 1, f"✗ 日志无法重放 the log does not replay: {exc}"
        root_ok = tree_at(reader, info.size).root() == info.root
    if root_ok and encode_state(state) == data:
        return 0, f"✓ 状态快照一致 the snapshot at {info.size} equals a replay from entry 0"
    what = "its bytes" if root_ok else "its tree root"
    return 1, f"✗ 状态快照不一致 the snapshot at {info.size} differs from a replay ({what})"


__all__ = ["DEFAULT_EVERY", "KEEP", "check_latest", "load", "write"]
