"""``verify_bundle``: open an export bundle's files and drive its verification (FORMAT.md §9).

The judging is :class:`verifier.audit.bundle.BundleAudit` (steps 1–5 are numbered there and
here); this module opens the files (bounded reads, nothing but regular files), chooses
in-process or worker-process checking (:mod:`verifier.cli.chunks`) and returns the verdict.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from verifier.audit.bundle import BundleAudit, Observer
from verifier.audit.lines import Reader
from verifier.audit.verdict import AuditReport
from verifier.cli.chunks import run_parallel
from verifier.cli.files import read_limited
from verifier.cli.parallel import default_workers
from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE
from verifier.core.checkpoint import EMPTY_ROOT, Checkpoint, open_checkpoint_as
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey

__all__ = ["MAX_CHECKPOINT_BYTES", "SMALL_EXPORT_BYTES", "verify_bundle"]

#: Largest checkpoint file read (a checkpoint is a few hundred bytes).
MAX_CHECKPOINT_BYTES = 1 << 20
#: With ``workers=None``, exports smaller than this are verified in-process (no pool start).
SMALL_EXPORT_BYTES = 512 << 10


def verify_bundle(
    directory: Path,
    log_key: VerifierKey,
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    builder: Observer | None = None,
) -> AuditReport:
    """Verify the export bundle in ``directory`` under ``log_key`` (FORMAT.md §8, §9).

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
    started = time.monotonic()
    directory = Path(directory)
    n = default_workers() if workers is None else workers
    if n < 1:
        raise InputError("workers must be at least 1", field="workers")
    if not directory.is_dir():
        raise InputError(
            f"export directory not found: {directory}; pass the directory written by "
            "`gongxin export`",
            field="DIR",
        )
    # Both files must be there before anything is judged (a missing file is an input error).
    note = read_limited(directory / CHECKPOINT_FILE, MAX_CHECKPOINT_BYTES, "checkpoint file")
    entries_path = directory / ENTRIES_FILE
    try:
        fh = entries_path.open("rb")
    except FileNotFoundError:
        raise InputError(
            f"{ENTRIES_FILE} not found in {directory}; pass the directory written by "
            "`gongxin export`",
            field=str(entries_path),
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {ENTRIES_FILE}: {exc.strerror}", field=str(entries_path)
        ) from None
    with fh:
        # Step 1: the checkpoint, under the given log key only.
        cp = open_checkpoint_as(note, log_key, "checkpoint")

        # Step 5 (first part): the previous checkpoint — same key, not larger.
        previous: Checkpoint | None = None
        if previous_checkpoint is not None:
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
                    "the previous checkpoint has size 0 but not the empty tree's root; "
                    "空检查点根哈希错误",
                    field="previous_checkpoint",
                )

        reader = Reader(fh)
        audit = BundleAudit(cp, log_key, authority_keys, previous, reader, builder)
        total = os.fstat(fh.fileno()).st_size
        if workers is None and total < SMALL_EXPORT_BYTES:
            n = 1
        # Steps 2, 3 and 5 (second part), entry by entry.
        try:
            if n == 1:
                audit.run_inline(progress, total)
            else:
                run_parallel(audit, reader, n, progress, total)
        except OSError as exc:
            raise InputError(
                f"cannot read {ENTRIES_FILE}: {exc.strerror}", field=str(entries_path)
            ) from None
    # Step 4: size and root.
    audit.finish()
    return audit.report(time.monotonic() - started, n)
