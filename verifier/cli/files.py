"""Reading the verifier's input files: key strings or key files, bounded reads.

Every read is bounded while reading (never a whole file first), and every failure is an
:class:`~verifier.core.errors.InputError` naming the file (exit 2 on the command line).
"""

from __future__ import annotations

from pathlib import Path

from verifier.core.errors import InputError
from verifier.core.keys import PRIVATE_PREFIX, VerifierKey, parse_verifier_key

__all__ = ["load_verifier_key", "read_limited"]

MAX_KEY_FILE_BYTES = 64 * 1024
"""Largest key file read."""


def load_verifier_key(value: str) -> VerifierKey:
    """Accept a verifier key string, or a path to a file holding one (CLI helper).

    ``value`` is first tried as a key string; if that fails and a file named ``value``
    exists, the file (at most 64 KiB, UTF-8, one non-empty line plus optional surrounding
    whitespace) is read and parsed. Raises :class:`InputError` otherwise (``field`` is the
    file path when a file was read). Cost: one parse, plus one small file read.
    """
    if value.strip().startswith(PRIVATE_PREFIX):
        # Never echo a private key that was passed by mistake.
        raise InputError(
            "a private key was given where a verifier (public) key is expected",
            field="verifier key",
        )
    try:
        return parse_verifier_key(value.strip())
    except InputError as first:
        path = Path(value)
        try:
            is_file = path.is_file()
        except (OSError, ValueError):
            is_file = False
        if not is_file:
            raise InputError(
                f"{first.message}; and there is no file named {value!r}", field="verifier key"
            ) from None
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read verifier key file: {exc.strerror}", field=value) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InputError("verifier key file is too large", field=value)
    try:
        content = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("verifier key file is not UTF-8", field=value) from None
    if not content or "\n" in content:
        raise InputError("verifier key file must contain exactly one key line", field=value)
    try:
        return parse_verifier_key(content)
    except InputError as exc:
        raise InputError(exc.message, field=value) from None


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes of ``path`` (``what`` names it in errors); a larger file is
    an :class:`InputError`, checked while reading. Cost: one bounded read."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(
            f"{what} not found: {path}; pass the directory written by `gongxin export`",
            field=str(path),
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", field=str(path)) from None
    if len(data) > limit:
        raise InputError(
            f"{what} is larger than {limit} bytes; is this the right file?", field=str(path)
        )
    return data
