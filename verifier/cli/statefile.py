"""Reading and writing verifier state files (FORMAT.md §12.3; the format is
:mod:`verifier.audit.state`).

:func:`load_state` reads at most :data:`~verifier.audit.state.MAX_STATE_BYTES` (checked while
reading) of a regular file and decodes it; :func:`save_state` writes atomically: a temporary
file in the same directory, ``fsync``, ``rename`` over the old file, ``fsync`` of the
directory — a crash leaves the old state or the new one, never half of one. Every failure is
an :class:`~verifier.core.errors.InputError` (exit 2) naming the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from verifier.audit.state import MAX_STATE_BYTES, VerifierState, decode_verifier_state
from verifier.cli.files import read_limited
from verifier.core.errors import InputError

__all__ = ["check_state_path", "load_state", "save_state"]


def check_state_path(path: Path) -> bool:
    """Whether a state file exists at ``path``; raises :class:`InputError` when one could not
    be written there (checked before a long verification): a missing directory, or a path
    that exists but is not a regular file."""
    if os.path.lexists(path):
        if not path.is_file():
            raise InputError(f"{path} exists and is not a regular file", field="--state")
        return True
    if not path.parent.is_dir():
        raise InputError(f"directory {path.parent} does not exist", field="--state")
    return False


def load_state(path: Path) -> VerifierState:
    """Read and decode the state file ``path`` (refused with
    :class:`~verifier.audit.state.StateRefused` or :class:`InputError`, exit 2, unless it is
    a complete, undamaged state of a known version). Cost: one bounded read and one SHA-256."""
    data = read_limited(path, MAX_STATE_BYTES, "state file", field=str(path), hint="")
    return decode_verifier_state(data, str(path))


def save_state(path: Path, state: VerifierState) -> None:
    """Write ``state`` to ``path`` atomically (see the module docstring). Cost: one write of
    the encoded state and two ``fsync``."""
    data = state.encode()
    where = str(path)
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write the state file: {exc.strerror}", field=where) from None
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise InputError(f"cannot write the state file: {exc.strerror}", field=where) from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    with contextlib.suppress(OSError):  # not every platform can open a directory
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
