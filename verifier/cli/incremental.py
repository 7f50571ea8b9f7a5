"""Incremental verification: ``gongxin-verify DIR --log-key K --state FILE`` (FORMAT.md §12.3).

The library API a witness or monitor keeps too: :func:`advance` verifies a bundle from a
:class:`~verifier.audit.state.VerifierState` (or from nothing) and returns the new state;
:func:`verify_with_state` is the same with the state kept in a file
(:mod:`verifier.cli.statefile`: bounded read, atomic write), written only after success.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from verifier.audit.bundle import Observer
from verifier.audit.state import ResumePoint, VerifierState, state_after
from verifier.cli.bundle import Finished, audit_bundle
from verifier.cli.statefile import check_state_path, load_state, save_state
from verifier.core.keys import VerifierKey

__all__ = ["advance", "state_line", "verify_with_state"]


def advance(
    state: VerifierState | None,
    directory: Path,
    log_key: VerifierKey,
    *,
    where: str = "state",
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    builder: Observer | None = None,
) -> tuple[Finished, VerifierState]:
    """Verify the bundle ``directory`` after ``state`` (``None``: from entry 0) and return the
    verdict and the state it ends in. Refuses (:class:`~verifier.audit.state.StateRefused`,
    exit 2) a state of another log, inconsistent in itself, or ahead of the bundle; raises
    :class:`~verifier.core.errors.VerificationError` for an invalid bundle, or
    ``checkpoint.inconsistent`` when its history is not the state's (a fork). ``builder``
    (a report) needs every entry: then all are replayed. ``where`` names the state in errors.
    Cost: the replay of the entries after the state, plus reading past the others."""
    resume = None if state is None else ResumePoint.open(state, log_key, where)
    finished = audit_bundle(
        directory,
        log_key,
        authority_keys,
        previous_checkpoint,
        workers,
        progress,
        builder,
        resume,
    )
    return finished, state_after(finished.audit, finished.note)


def verify_with_state(
    directory: Path,
    log_key: VerifierKey,
    state_path: Path,
    *,
    authority_keys: Sequence[VerifierKey] = (),
    previous_checkpoint: str | bytes | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    builder: Observer | None = None,
) -> tuple[Finished, bool]:
    """:func:`advance` from the state in ``state_path`` (from nothing when there is no such
    file), then the new state written over it — only when the bundle is valid. Returns the
    verdict and whether a state was read. Cost: as :func:`advance`, plus reading and writing
    the state file."""
    existed = check_state_path(state_path)
    state = load_state(state_path) if existed else None
    finished, new = advance(
        state,
        directory,
        log_key,
        where=str(state_path),
        authority_keys=authority_keys,
        previous_checkpoint=previous_checkpoint,
        workers=workers,
        progress=progress,
        builder=builder,
    )
    save_state(state_path, new)
    return finished, existed


def state_line(finished: Finished, state_path: Path, existed: bool) -> str:
    """The line ``gongxin-verify --state`` prints after success: what was replayed."""
    size = finished.report.tree_size
    if not existed:
        return (
            f"增量验证 incremental: no state yet, verified all {size:,} entries; "
            f"wrote state {state_path}"
        )
    if finished.first == 0:
        return (
            f"增量验证 incremental: every entry needed (--report, --ocds or an older "
            f"--previous-checkpoint): replayed all {size:,} entries; updated state {state_path}"
        )
    if finished.first == size:
        return f"增量验证 incremental: no new entries since state {state_path} ({size:,} entries)"
    return (
        f"增量验证 incremental: replayed entries {finished.first:,}–{size - 1:,} "
        f"from state {state_path}"
    )
