"""``verify_bundle``: open an export bundle's files and drive its verification (FORMAT.md §9).

The judging is :class:`verifier.audit.bundle.BundleAudit` (steps 1–5 are numbered there and
here); this module opens the bundle — a directory (:class:`verifier.cli.files.DirectoryBundle`:
nothing but regular files, bounded reads) or an export zip (:class:`verifier.cli.zipped.ZipBundle`:
members streamed, never extracted) — chooses in-process or worker-process checking
(:mod:`verifier.cli.chunks`) and returns the verdict.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from verifier.audit.bundle import BundleAudit, Observer
from verifier.audit.lines import MAX_LINE_BYTES, Reader, skip_lines
from verifier.audit.state import ResumePoint
from verifier.audit.verdict import AuditReport
from verifier.cli.chunks import run_parallel
from verifier.cli.files import DirectoryBundle, open_regular
from verifier.cli.parallel import default_workers
from verifier.cli.zipped import ZipBundle
from verifier.core.bundle import ENTRIES_FILE
from verifier.core.checkpoint import EMPTY_ROOT, Checkpoint, open_checkpoint_as
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey

__all__ = [
    "MAX_CHECKPOINT_BYTES",
    "SMALL_EXPORT_BYTES",
    "BundleSource",
    "Finished",
    "audit_bundle",
    "open_bundle",
    "verify_bundle",
]

#: Largest checkpoint file read (a checkpoint is a few hundred bytes).
MAX_CHECKPOINT_BYTES = 1 << 20
#: With ``workers=None``, exports smaller than this are verified in-process (no pool start).
SMALL_EXPORT_BYTES = 512 << 10


class BundleSource(Protocol):
    """Where a bundle's files come from (a directory or a zip); every failure to read them is
    an :class:`InputError` naming the file."""

    def read_checkpoint(self, limit: int) -> bytes:
        """The checkpoint's bytes, at most ``limit``."""

    def open_entries(self) -> tuple[BinaryIO, int]:
        """``entries.jsonl`` as a stream, and its (declared) size for progress."""

    def cap_entries(self, max_bytes: int) -> None:
        """Refuse ``entries.jsonl`` beyond ``max_bytes`` where it could be a bomb (a zip)."""

    def close(self) -> None:
        """Release the source."""


def verify_bundle(
    directory: Path,
    log_key: VerifierKey,
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    builder: Observer | None = None,
) -> AuditReport:
    """Verify the export bundle ``directory`` (a directory or an export zip, see
    :func:`open_bundle`) under ``log_key`` (FORMAT.md §8, §9).

    ``authority_keys``, if given, must be exactly the genesis authority keys.
    ``previous_checkpoint`` is a signed checkpoint seen earlier (note text); the export must
    extend it. ``workers`` worker processes do the stateless work (default: one per CPU;
    ``1`` runs everything in this process). ``progress(bytes_done, bytes_total)`` is called
    after each chunk. ``builder``, if given, is fed every posting and entry as they are
    replayed (in this process, also with workers); after a successful return,
    ``builder.build()`` gives the traceability report (FORMAT.md §10.6). Returns an
    :class:`AuditReport`; raises :class:`VerificationError` naming the first failing entry,
    or :class:`InputError` for unusable input.
    Cost: one Ed25519 verification per signature; memory O(log n) plus bounded buffers
    (plus the builder's figures and index lists when one is given).
    """
    return audit_bundle(
        directory, log_key, authority_keys, previous_checkpoint, workers, progress, builder
    ).report


@dataclass(frozen=True)
class Finished:
    """A successful :func:`audit_bundle`: the finished audit (its rule state and range), the
    report, the checkpoint text verified and the first entry replayed (0: all of them)."""

    audit: BundleAudit
    report: AuditReport
    note: str
    first: int


def audit_bundle(
    directory: Path,
    log_key: VerifierKey,
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    builder: Observer | None = None,
    resume: ResumePoint | None = None,
) -> Finished:
    """:func:`verify_bundle`, returning the finished audit as well; with ``resume`` (a
    verifier state, FORMAT.md §12.3), the bundle must extend that state (else
    :class:`~verifier.audit.state.StateRefused` or ``checkpoint.inconsistent``) and only the
    entries after it are replayed — unless ``builder`` or a ``previous_checkpoint`` smaller
    than the state needs every entry, in which case all are (and the state's checkpoint is
    checked as an earlier one). Cost: as :func:`verify_bundle`, for the entries replayed;
    skipping the others reads their bytes once."""
    started = time.monotonic()
    n = default_workers() if workers is None else workers
    if n < 1:
        raise InputError("workers must be at least 1", field="workers")
    source = open_bundle(Path(directory))
    try:
        audit, n, note, first = _audit(
            source,
            log_key,
            authority_keys,
            previous_checkpoint,
            n,
            workers,
            progress,
            builder,
            resume,
        )
    finally:
        source.close()
    # Step 4: size and root.
    audit.finish()
    report = audit.report(time.monotonic() - started, n)
    return Finished(audit, report, note.decode("utf-8"), first)


def open_bundle(path: Path) -> BundleSource:
    """The bundle at ``path``: a directory, or an export zip (:class:`ZipBundle`). Raises
    :class:`InputError` for anything else (a missing path, a special file, a file that is not
    a zip archive). The caller closes it."""
    if path.is_dir():
        return DirectoryBundle(path)
    if ZipBundle.is_zip(path):
        return ZipBundle(path)
    if os.path.lexists(path):
        open_regular(path, "DIR", "DIR").close()  # names a FIFO, device, broken link …
        raise InputError(
            f"{path} is neither a directory nor a zip archive (a damaged download?)", field="DIR"
        )
    return DirectoryBundle(path)  # not found


def _audit(
    source: BundleSource,
    log_key: VerifierKey,
    authority_keys: Sequence[VerifierKey],
    previous_checkpoint: str | bytes | None,
    n: int,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
    builder: Observer | None,
    resume: ResumePoint | None,
) -> tuple[BundleAudit, int, bytes, int]:
    """Steps 1–3 and 5 of :func:`audit_bundle` on ``source``; returns the audit (step 4 is
    the caller's), the number of processes used, the checkpoint's bytes and the first entry
    replayed."""
    # Both files must be there before anything is judged (a missing file is an input error).
    fh, total = source.open_entries()
    with fh:
        note = source.read_checkpoint(MAX_CHECKPOINT_BYTES)
        # Step 1: the checkpoint, under the given log key only.
        cp = open_checkpoint_as(note, log_key, "checkpoint")
        source.cap_entries(cp.size * (MAX_LINE_BYTES + 1))
        previous = _previous(cp, log_key, previous_checkpoint)
        audit = BundleAudit(cp, log_key, authority_keys, previous, Reader(fh), builder)
        try:
            first = 0 if resume is None else _resume(audit, resume, previous, fh)
            if workers is None and total - audit.reader.offset < SMALL_EXPORT_BYTES:
                n = 1
            # Steps 2, 3 and 5 (second part), entry by entry.
            if n == 1:
                audit.run_inline(progress, total)
            else:
                registry = audit.state.registry
                known = [rec.key for rec in registry.keys.values()]
                origin = audit.state.message_origin
                run_parallel(audit, audit.reader, n, progress, total, known, origin)
        except OSError as exc:
            raise InputError(
                f"cannot read {ENTRIES_FILE}: {exc.strerror}", field=ENTRIES_FILE
            ) from None
        except VerificationError as exc:
            if resume is None:
                raise
            raise resume.translate(exc) from None
    return audit, n, note, first


def _resume(
    audit: BundleAudit, resume: ResumePoint, previous: Checkpoint | None, fh: BinaryIO
) -> int:
    """Start ``audit`` from the verifier state ``resume`` (FORMAT.md §12.3); returns the
    first entry to replay: the state's size, or 0 when every entry must be replayed (an
    observer, or a previous checkpoint older than the state), the state's checkpoint then
    being checked as an earlier one. Refuses a state the bundle does not extend."""
    cp = audit.cp
    resume.check_bundle(cp)
    size = resume.size
    if audit.builder is not None or (previous is not None and previous.size < size):
        audit.add_check(resume.checkpoint, "state")
        return 0
    if previous is not None and previous.size == size and previous.root != resume.state.root:
        raise VerificationError(
            "checkpoint.inconsistent",
            f"the previous checkpoint (size {size}) and the verifier state (size {size}) "
            "have different roots: the log forked; 日志分叉",
            index=size - 1,
            field="previous_checkpoint",
        )
    resume.attach(audit, audit.log_key)
    stream, offset, found = skip_lines(fh, size)
    if found < size:
        raise VerificationError(
            "export.size",
            f"entries.jsonl ends after {found} entries but the checkpoint covers {cp.size}: "
            f"entry {found} is missing; 条目缺失",
            index=found,
        )
    audit.reader = reader = Reader(stream)
    reader.next_index, reader.offset = size, offset
    return size


def _previous(
    cp: Checkpoint, log_key: VerifierKey, previous_checkpoint: str | bytes | None
) -> Checkpoint | None:
    """Step 5 (first part): the previous checkpoint — same key, not larger."""
    if previous_checkpoint is None:
        return None
    previous = open_checkpoint_as(previous_checkpoint, log_key, "previous_checkpoint")
    if previous.size > cp.size:
        raise VerificationError(
            "checkpoint.rollback",
            f"the previous checkpoint covers {previous.size} entries, the export's "
            f"only {cp.size}: the log was rolled back; 日志被回滚",
            field="previous_checkpoint",
        )
    if previous.size == 0 and previous.root != EMPTY_ROOT:
        raise VerificationError(
            "checkpoint.inconsistent",
            "the previous checkpoint has size 0 but not the empty tree's root; 空检查点根哈希错误",
            field="previous_checkpoint",
        )
    return previous
