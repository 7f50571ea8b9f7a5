"""Reading the verifier's input files: key strings or key files, bounded reads, bundle folders.

Every input file is opened by :func:`open_regular`: its type is checked with ``stat`` before it
is opened (a FIFO, socket, device or directory — or a symlink to one — is refused at once), it
is opened non-blocking (a FIFO swapped in between can never block) and checked again with
``fstat`` on the open descriptor. Every read is bounded while reading (never a whole file
first), and every failure is an :class:`~verifier.core.errors.InputError` naming the file
(exit 2 on the command line).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.errors import InputError
from verifier.core.keys import PRIVATE_PREFIX, VerifierKey, parse_verifier_key

K = TypeVar("K")

__all__ = ["DirectoryBundle", "load_verifier_key", "open_regular", "read_limited"]

MAX_KEY_FILE_BYTES = 64 * 1024
"""Largest key file read."""

_EXPORT_HINT = "; pass the directory written by `gongxin export`"
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, what: str, field: str | None = None, hint: str = "") -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symlinks to one are followed).

    ``what`` names the file in errors, ``field`` is the error's field (default: the path),
    ``hint`` is appended to the "not found" message. Raises :class:`InputError` for a missing
    or unreadable file and for anything but a regular file — checked before opening and again
    on the open descriptor; the open never blocks. Cost: two ``stat`` calls and one ``open``.
    """
    where = str(path) if field is None else field
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise InputError(f"{what} is {_kind(before.st_mode)}, not a file: {path}", field=where)
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}{hint}", field=where) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read {what} {path}: {reason}", field=where) from None
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise InputError(f"{what} is {_kind(after.st_mode)}, not a file: {path}", field=where)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(
    path: Path, limit: int, what: str, field: str | None = None, hint: str = _EXPORT_HINT
) -> bytes:
    """Read at most ``limit`` bytes of the regular file ``path`` (:func:`open_regular`;
    ``what`` names it in errors); a larger file is an :class:`InputError`, checked while
    reading. Cost: one bounded read."""
    where = str(path) if field is None else field
    with open_regular(path, what, where, hint) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read {what}: {exc.strerror}", field=where) from None
    if len(data) > limit:
        raise InputError(
            f"{what} is larger than {limit} bytes; is this the right file? ({path})", field=where
        )
    return data


def load_verifier_key(value: str) -> VerifierKey:
    """Accept a verifier key string, or a path to a file holding one (CLI helper).

    ``value`` is first tried as a key string; if that fails and a file named ``value``
    exists, the file (at most 64 KiB, UTF-8, one non-empty line plus optional surrounding
    whitespace; a regular file, see :func:`open_regular`) is read and parsed. Raises
    :class:`InputError` otherwise (``field`` is the file path when a file was read).
    Cost: one parse, plus one small file read.
    """
    if value.strip().startswith(PRIVATE_PREFIX):
        # Never echo a private key that was passed by mistake.
        raise InputError(
            "a private key was given where a verifier (public) key is expected",
            field="verifier key",
        )
    return load_key(value, parse_verifier_key, "verifier key")


def load_key(value: str, parse: Callable[[str], K], what: str) -> K:
    """``parse(value)``, or, if that fails and a file named ``value`` exists, ``parse`` of
    that file's one line (at most 64 KiB, UTF-8, a regular file). :class:`InputError`
    naming ``what`` (or the file) otherwise. Cost: one parse, plus one small file read."""
    try:
        return parse(value.strip())
    except InputError as first:
        try:
            exists = os.path.lexists(value)
        except (OSError, ValueError):
            exists = False
        if not exists:
            raise InputError(
                f"{first.message}; and there is no file named {value!r}", field=what
            ) from None
    data = read_limited(Path(value), MAX_KEY_FILE_BYTES, f"{what} file", value, "")
    try:
        content = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError(f"{what} file is not UTF-8", field=value) from None
    if not content or "\n" in content:
        raise InputError(f"{what} file must contain exactly one key line", field=value)
    try:
        return parse(content)
    except InputError as exc:
        raise InputError(exc.message, field=value) from None


class DirectoryBundle:
    """An export bundle as a directory (FORMAT.md §9): the source
    :func:`verifier.cli.bundle.verify_bundle` reads. Only regular files are read
    (:func:`open_regular`); ``log.vkey`` is never read (the log key comes from the caller),
    but if present it must be a regular file too, like the others."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InputError(
                f"export directory not found: {directory}; pass the directory written by "
                "`gongxin export` or the zip GET /v1/log/export downloads",
                field="DIR",
            )
        self.directory = directory
        vkey = directory / LOG_VKEY_FILE
        if os.path.lexists(vkey):
            open_regular(vkey, LOG_VKEY_FILE).close()

    def read_checkpoint(self, limit: int) -> bytes:
        """The ``checkpoint`` file's bytes (at most ``limit``)."""
        return read_limited(self.directory / CHECKPOINT_FILE, limit, "checkpoint file")

    def open_entries(self) -> tuple[BinaryIO, int]:
        """``entries.jsonl`` opened for reading, and its size in bytes."""
        path = self.directory / ENTRIES_FILE
        fh = open_regular(path, ENTRIES_FILE, hint=f" in {self.directory}{_EXPORT_HINT}")
        return fh, os.fstat(fh.fileno()).st_size

    def cap_entries(self, max_bytes: int) -> None:
        """No cap for a plain file: the audit reads it line by line, each line bounded."""

    def close(self) -> None:
        """Nothing to release (the caller closes what :meth:`open_entries` returned)."""
