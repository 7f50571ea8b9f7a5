"""A local copy of a log, advanced through the log's tiles with the full rulebook replayed:
what a verifying witness or a monitor keeps per log (FORMAT.md §9, §12.3, §13).

Layout of the mirror directory (``Mirror.open`` creates it)::

    entries.jsonl            every entry line and "\\n"; the first `size` lines are verified,
                             bytes past `entries.length` are an interrupted update's (cut off)
    current -> gen.<size>.x  symlink, swapped atomically on success
    gen.<size>.x/            checkpoint (the last verified note), verifier.state (§12.3),
                             entries.length (bytes of the verified lines), log.vkey, and
                             entries.jsonl -> ../entries.jsonl: together an export bundle (§9)

So ``directory/current`` is an export bundle of the verified tree that ``gongxin-verify`` can
check, as long as no update is running (an update appends to ``entries.jsonl`` first).

:meth:`Mirror.update` with a newer signed checkpoint: the note is opened with the log key; its
tiles are authenticated against its root (:class:`~verifier.tiles.reader.TileReader`); the old
root is recomputed from the NEW tree's tiles (:func:`~verifier.tiles.prove.root_at`: the old
tree is a prefix of the new one iff they agree — a :class:`Forked` otherwise); the entries
after the old size are fetched from their authenticated bundles, appended, and replayed with
:func:`~verifier.cli.incremental.advance` from the stored verifier state (every §8 rule, the
range extended to the new root). Only then is the new generation made current. Any failure
leaves the mirror at the old size (the appended bytes are cut off).

Cost of an update from ``n`` to ``m`` entries: O(log m) tiles for the roots; ``⌈(m−n)/256⌉+1``
entry bundles and their level-0 tiles; the replay of ``m − n`` entries; reading past the first
``n`` lines once (their newlines counted, nothing hashed); writing the rule state (O(state)).
Not thread-safe and not for two processes at once: callers serialise updates per mirror.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from verifier.audit.state import ResumePoint, VerifierState
from verifier.cli.incremental import advance
from verifier.cli.statefile import load_state, save_state
from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.core.merkle import EMPTY_ROOT
from verifier.tiles.paths import TILE_WIDTH
from verifier.tiles.prove import consistency_proof, root_at
from verifier.tiles.reader import Fetch, TileReader

__all__ = ["Forked", "Mirror", "Update", "keep_evidence"]

STATE_FILE = "verifier.state"
LENGTH_FILE = "entries.length"
CURRENT = "current"


class Forked(VerificationError):
    """The log signed two histories: ``new_note``'s tree does not extend ``old_note``'s (rule
    ``checkpoint.inconsistent``, at entry ``old size − 1``). ``proof`` is the consistency
    proof from the old size to the new one computed from the NEW tree's tiles: it reproduces
    the new root but not the old one (empty when the sizes are equal)."""

    def __init__(
        self,
        old_note: str,
        new_note: str,
        proof: list[bytes],
        *,
        detail: str = "",
        index: int | None = None,
    ) -> None:
        super().__init__(
            "checkpoint.inconsistent",
            detail or "the new checkpoint's tree does not extend the old one; 日志分叉",
            index=index,
        )
        self.old_note = old_note
        self.new_note = new_note
        self.proof = proof

    def with_index(self, index: int) -> Forked:
        return Forked(self.old_note, self.new_note, self.proof, detail=self.detail, index=index)


@dataclass(frozen=True)
class Update:
    """What one :meth:`Mirror.update` did."""

    old_size: int
    new_size: int
    entries_replayed: int
    seconds: float


class Mirror:
    """The mirror in ``directory`` of the log ``log_key`` (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        log_key: VerifierKey,
        authority_keys: Sequence[VerifierKey],
        state: VerifierState | None,
        length: int,
        workers: int | None,
    ) -> None:
        self.directory = directory
        self.log_key = log_key
        self.authority_keys = tuple(authority_keys)
        self.state = state
        self._length = length
        self.workers = workers

    @classmethod
    def open(
        cls,
        directory: Path,
        log_key: VerifierKey,
        authority_keys: Sequence[VerifierKey] = (),
        *,
        workers: int | None = 1,
    ) -> Mirror:
        """Open (creating it if missing) the mirror in ``directory``; cuts off the bytes of an
        interrupted update and removes its leftover directories. Raises :class:`InputError`
        (or :class:`~verifier.audit.state.StateRefused`) for a mirror of another log or a
        damaged one. ``workers``: replay worker processes (1: in-process). Cost: reading the
        state file and checking it (one Ed25519 verification, O(log size) hashes)."""
        directory.mkdir(parents=True, exist_ok=True)
        current = directory / CURRENT
        state = None
        length = 0
        if os.path.lexists(current):
            state = load_state(current / STATE_FILE)
            ResumePoint.open(state, log_key, str(current / STATE_FILE))  # its log, consistent
            length = _read_length(current / LENGTH_FILE)
        _cut(directory / ENTRIES_FILE, length)
        keep = os.readlink(current) if os.path.lexists(current) else None
        for child in directory.iterdir():
            if child.name.startswith(("gen.", "staging.")) and child.name != keep:
                shutil.rmtree(child, ignore_errors=True)
        return cls(directory, log_key, authority_keys, state, length, workers)

    @property
    def size(self) -> int:
        """Entries verified (0 before the first update)."""
        return 0 if self.state is None else self.state.size

    @property
    def root(self) -> bytes:
        """The root of the verified tree."""
        return EMPTY_ROOT if self.state is None else self.state.root

    @property
    def note(self) -> str | None:
        """The last verified checkpoint note, ``None`` before the first update."""
        return None if self.state is None else self.state.checkpoint

    @property
    def bundle(self) -> Path:
        """The export bundle of the verified tree (``directory/current``; exists after the
        first update)."""
        return self.directory / CURRENT

    def update(self, note: bytes, fetch: Fetch, evidence: Path | None = None) -> Update:
        """Advance to the tree of the signed checkpoint ``note`` whose tiles ``fetch`` serves
        (see the module docstring). Raises ``note.*``/``checkpoint.*`` for a note the log key
        did not sign, ``checkpoint.rollback`` for a smaller tree, :class:`Forked` for another
        history, ``tile.*`` for tiles that do not match the note, any §8 rule (with its
        entry index) for entries that break the rulebook, :class:`InputError` when fetching
        fails; the mirror is then unchanged. With ``evidence``, a
        :class:`VerificationError` also leaves there what it was about
        (:func:`keep_evidence`)."""
        try:
            return self._update(note, fetch)
        except VerificationError as exc:
            if evidence is not None:
                keep_evidence(evidence, self, note, exc)
            raise
        finally:
            _cut(self.directory / ENTRIES_FILE, self._length)

    def fetched(self) -> bytes:
        """The entry lines an update appended past the verified ones (during or right after a
        failed update, before it returns; empty otherwise). Cost: reading them."""
        with open(self.directory / ENTRIES_FILE, "rb") as fh:
            fh.seek(self._length)
            return fh.read()

    def _update(self, note: bytes, fetch: Fetch) -> Update:
        started = time.monotonic()
        cp = open_checkpoint(note, self.log_key)
        text = note.decode("utf-8")
        old = self.size
        if cp.size < old:
            raise VerificationError(
                "checkpoint.rollback",
                f"checkpoint of size {cp.size} is older than the mirror's {old}; 检查点回退",
            )
        if cp.size == old:
            if cp.root != self.root:
                raise Forked(self.note or "", text, [], index=max(old - 1, 0))
            return Update(old, old, 0, time.monotonic() - started)
        reader = TileReader(cp.size, cp.root, fetch)
        reader.verify_root()
        if old and root_at(reader, old) != self.root:
            raise Forked(self.note or "", text, consistency_proof(reader, old), index=old - 1)
        replayed = self._advance(reader, note)
        return Update(old, cp.size, replayed, time.monotonic() - started)

    def _advance(self, reader: TileReader, note: bytes) -> int:
        """Append the new entries, replay them in a staging generation, make it current."""
        length = self._append(reader)
        staging = Path(tempfile.mkdtemp(prefix="staging.", dir=self.directory))
        try:
            (staging / ENTRIES_FILE).symlink_to(Path("..") / ENTRIES_FILE)
            _write(staging / CHECKPOINT_FILE, note)
            _write(staging / LOG_VKEY_FILE, f"{self.log_key}\n".encode())
            _write(staging / LENGTH_FILE, f"{length}\n".encode())
            finished, state = advance(
                self.state,
                staging,
                self.log_key,
                where=str(self.bundle / STATE_FILE),
                authority_keys=self.authority_keys,
                workers=self.workers,
            )
            save_state(staging / STATE_FILE, state)
            self._commit(staging, state.size)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.state, self._length = state, length
        return state.size - finished.first

    def _append(self, reader: TileReader) -> int:
        """Fetch the authenticated bundles of the entries after ``size`` and append their
        lines to ``entries.jsonl`` (fsync'd); return its new length in bytes."""
        path = self.directory / ENTRIES_FILE
        old = self.size
        with open(path, "ab") as fh:
            fh.truncate(self._length)
            for n in range(old // TILE_WIDTH, -(-reader.size // TILE_WIDTH)):
                first = n * TILE_WIDTH
                try:
                    lines = reader.entries(n)
                except VerificationError as exc:
                    if exc.index is not None:
                        raise
                    raise exc.with_index(max(first, old)) from None
                for i, line in enumerate(lines[max(old - first, 0) :], start=max(first, old)):
                    if b"\n" in line:
                        raise VerificationError(
                            "tile.bundle", "entry holds a newline; 条目含换行符", index=i
                        )
                    fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            return os.fstat(fh.fileno()).st_size

    def _commit(self, staging: Path, size: int) -> None:
        """Rename ``staging`` to a generation and point ``current`` at it (atomic: a
        symlink renamed over the old one), then remove the old generation."""
        generation = Path(tempfile.mkdtemp(prefix=f"gen.{size}.", dir=self.directory))
        os.replace(staging, generation)
        link = self.directory / f".{CURRENT}.tmp"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(generation.name)
        previous = os.readlink(self.bundle) if os.path.lexists(self.bundle) else None
        os.replace(link, self.bundle)
        _fsync_dir(self.directory)
        if previous is not None:
            shutil.rmtree(self.directory / previous, ignore_errors=True)


def _read_length(path: Path) -> int:
    try:
        text = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the mirror's entries length: {exc}", field=str(path)
        ) from None
    if not text.isdigit():
        raise InputError("the mirror's entries length is damaged", field=str(path))
    return int(text)


def _cut(path: Path, length: int) -> None:
    """Cut ``entries.jsonl`` to ``length`` bytes (creating it); a shorter file is damage."""
    with open(path, "ab") as fh:
        have = os.fstat(fh.fileno()).st_size
        if have < length:
            raise InputError(
                f"{path} has {have} bytes, the verified entries {length}; 镜像损坏",
                field=str(path),
            )
        if have > length:
            fh.truncate(length)
            os.fsync(fh.fileno())


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def keep_evidence(directory: Path, mirror: Mirror, note: bytes, error: VerificationError) -> None:
    """Write what a refused update was about into ``directory`` (created): ``checkpoint``
    (the refused note), ``previous_checkpoint`` (the mirror's, when it has one),
    ``entries.jsonl`` (the entry lines fetched after the mirror's size, already checked
    against the note's tree, possibly fewer than it has) and ``error.json`` (the rule, detail,
    entry index, the sizes, and for a :class:`Forked` its proof in base64). Together with the
    mirror's bundle a third party can re-run the verification. Cost: writing them, fsync'd."""
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / CHECKPOINT_FILE, note)
    if mirror.note is not None:
        _write(directory / "previous_checkpoint", mirror.note.encode("utf-8"))
    _write(directory / ENTRIES_FILE, mirror.fetched())
    info: dict[str, object] = {
        **error.as_dict(),
        "origin": mirror.log_key.name,
        "mirror_size": mirror.size,
        "first_entry_index": mirror.size,
    }
    if isinstance(error, Forked):
        info["proof"] = [base64.b64encode(h).decode("ascii") for h in error.proof]
    _write(directory / "error.json", orjson.dumps(info, option=orjson.OPT_INDENT_2) + b"\n")
    _fsync_dir(directory)
