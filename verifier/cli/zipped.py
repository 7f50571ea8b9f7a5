"""Export bundles as one zip file (the server's ``GET /v1/log/export``, docs/API.md §3).

:class:`ZipBundle` lets ``gongxin-verify`` take the downloaded zip as it is, without
extracting anything: ``checkpoint`` is read from its member (at most the caller's limit) and
``entries.jsonl`` is streamed from its member straight into the audit, its decompressed bytes
counted as they are read. The bundle files (FORMAT.md §9) are found by their base names, at
the archive's top level or in one folder, never by the paths the archive claims; other members
are never decompressed. Stdlib only.

Anything odd is refused before a byte is decompressed (:class:`InputError`, exit 2, naming the
member): more than :data:`MAX_MEMBERS` members or a central directory over
:data:`MAX_DIRECTORY_BYTES` (checked from the end record before :mod:`zipfile` reads the
directory, so a huge directory costs no memory); names that are absolute, climb out with
``..``, use ``\\`` or are given twice; encrypted members; compression methods other than
stored and deflate; symlinks; a directory or special file named like a bundle file; and any
member whose declared size exceeds its cap or :data:`MAX_RATIO` times its compressed size
(a zip bomb, also in members never read). Only stored and deflate are allowed because
:mod:`zipfile` decompresses bzip2 and LZMA without an output bound (one 4 KiB read can
expand to gigabytes before any count could stop it) and the exporter writes deflate only.
Declared sizes can be forged, so the real sizes are checked while reading as well: by the
cap (:class:`_Counted`) and by :mod:`zipfile` itself (it stops at the declared size and then
checks the CRC-32).
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from verifier.cli.files import open_regular
from verifier.core.bundle import BUNDLE_FILES, CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.errors import InputError

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "ZipBundle"]

#: Most members an export zip may hold (the exporter writes three).
MAX_MEMBERS = 8
#: Largest central directory accepted (the exporter's is a few hundred bytes).
MAX_DIRECTORY_BYTES = 64 << 10
#: Largest declared ratio of decompressed to compressed size (entry lines, full of hashes
#: and signatures, compress about 2:1) for a member over :data:`_SMALL` bytes.
MAX_RATIO = 100
_SMALL = 1 << 20
#: Declared-size caps of the members (``entries.jsonl``: see :meth:`ZipBundle.cap_entries`).
_CAPS = {CHECKPOINT_FILE: 1 << 20, LOG_VKEY_FILE: 64 << 10}
_OTHER_CAP = 1 << 20
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: What :mod:`zipfile` and :mod:`zlib` raise on a damaged archive or member.
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    OverflowError,
)
_END = struct.Struct("<4s4H2LH")  # end of central directory record
_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record


def _directory_extent(fh: BinaryIO, size: int) -> tuple[int, int] | None:
    """(member count, central directory bytes) as :mod:`zipfile` will read them: the end
    record is found the way ``zipfile._EndRecData`` finds it (last 22 bytes, else the last
    match within 64 KiB of comment), a zip64 record right before it wins. ``None``: no end
    record. Cost: reads at most ~64 KiB."""
    tail_len = min(size, _END.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = len(tail) - _END.size
    if at < 0:
        return None
    if not (tail[at : at + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            return None
    fields = _END.unpack_from(tail, at)
    count, cd_bytes = fields[4], fields[5]
    end_offset = size - tail_len + at
    if end_offset >= _LOCATOR.size + _END64.size:
        fh.seek(end_offset - _LOCATOR.size - _END64.size)
        data = fh.read(_END64.size + _LOCATOR.size)
        if data[_END64.size : _END64.size + 4] == b"PK\x06\x07" and data[:4] == b"PK\x06\x06":
            rec = _END64.unpack_from(data)
            count, cd_bytes = rec[7], rec[8]
    return count, cd_bytes


def _check_name(info: zipfile.ZipInfo, seen: set[str], where: str) -> PurePosixPath:
    """The member's name as a relative POSIX path; refuses unsafe or repeated names."""
    raw = info.orig_filename
    name = PurePosixPath(info.filename)
    if (
        not info.filename
        or "\\" in raw
        or "\0" in raw
        or raw.startswith("/")
        or (len(raw) > 1 and raw[1] == ":")
        or ".." in name.parts
    ):
        raise InputError(
            f"zip member {raw!r} has an unsafe name (absolute, '..', or '\\')", field=where
        )
    if info.filename in seen:
        raise InputError(f"the zip holds the member {raw!r} twice", field=where)
    seen.add(info.filename)
    return name


def _check_member(info: zipfile.ZipInfo, base: str | None, where: str) -> None:
    """Refuse encrypted members, other methods, links, special files and declared bombs.
    ``base`` is the bundle file this member is, if any."""
    label = f"zip member {info.filename}"
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    if stat.S_ISLNK(mode):
        raise InputError(f"{label} is a symbolic link", field=where)
    kind = stat.S_IFMT(mode)
    if base is not None and (info.is_dir() or kind not in (0, stat.S_IFREG)):
        raise InputError(f"{label} is a directory or special file, not a file", field=where)
    if info.flag_bits & 0x41:
        raise InputError(f"{label} is encrypted", field=where)
    if info.compress_type not in _METHODS:
        raise InputError(
            f"{label} uses compression method {info.compress_type}; only stored and deflate "
            "are accepted",
            field=where,
        )
    cap = _CAPS.get(base or "", _OTHER_CAP) if base != ENTRIES_FILE else None
    if cap is not None and info.file_size > cap:
        raise InputError(
            f"{label} declares {info.file_size} bytes, more than the {cap} it may hold",
            field=where,
        )
    if info.file_size > _SMALL and info.file_size > MAX_RATIO * info.compress_size:
        raise InputError(
            f"{label} declares {info.file_size} bytes from {info.compress_size} compressed "
            f"(more than {MAX_RATIO}:1): a zip bomb?",
            field=where,
        )


class _Counted(io.RawIOBase):
    """A zip member's decompressed bytes, refused beyond ``limit`` (counted while reading);
    every :mod:`zipfile` / :mod:`zlib` failure becomes an :class:`InputError` naming it."""

    def __init__(self, member: BinaryIO, name: str, where: str, limit: int | None) -> None:
        self.member, self.name, self.where, self.limit = member, name, where, limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self.member.read(len(buffer))
        except _DAMAGED as exc:
            raise InputError(
                f"zip member {self.name} is damaged: {exc}", field=self.where
            ) from None
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise InputError(
                f"zip member {self.name} holds more than {self.limit} bytes (a zip bomb?)",
                field=self.where,
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.member.close()
        super().close()


class ZipBundle:
    """An export zip opened for verification (see the module docstring); the source
    :func:`verifier.cli.bundle.verify_bundle` reads. Call :meth:`close` when done.
    Raises :class:`InputError` for anything but a plain export zip.
    Cost: reads the end record and the (bounded) central directory."""

    def __init__(self, path: Path) -> None:
        self.path, self.where = path, str(path)
        self.fh = open_regular(path, "export zip")
        try:
            self.zf = self._open()
            self.members = self._select()
        except BaseException:
            self.close()
            raise
        self.entries: _Counted | None = None

    @staticmethod
    def is_zip(path: Path) -> bool:
        """``path`` is a regular file that ends like a zip archive."""
        try:
            with open_regular(path, "export zip") as fh:
                return zipfile.is_zipfile(fh)
        except InputError:
            return False

    def _open(self) -> zipfile.ZipFile:
        size = self.fh.seek(0, io.SEEK_END)
        extent = _directory_extent(self.fh, size)
        if extent is None:
            raise InputError("not a zip file (no end of central directory)", field=self.where)
        count, cd_bytes = extent
        if count > MAX_MEMBERS or cd_bytes > MAX_DIRECTORY_BYTES:
            raise InputError(
                f"the zip lists {count} members in {cd_bytes} bytes; an export zip holds at "
                f"most {MAX_MEMBERS} members",
                field=self.where,
            )
        self.fh.seek(0)
        try:
            zf = zipfile.ZipFile(self.fh)
        except _DAMAGED as exc:
            raise InputError(f"cannot read the zip: {exc}", field=self.where) from None
        if len(zf.infolist()) > MAX_MEMBERS:
            zf.close()
            raise InputError(f"the zip holds more than {MAX_MEMBERS} members", field=self.where)
        return zf

    def _select(self) -> dict[str, zipfile.ZipInfo]:
        found: dict[str, zipfile.ZipInfo] = {}
        seen: set[str] = set()
        for info in self.zf.infolist():
            name = _check_name(info, seen, self.where)
            base = name.name if len(name.parts) <= 2 and name.name in BUNDLE_FILES else None
            _check_member(info, base, self.where)
            if base is None:
                continue
            if base in found:
                raise InputError(f"the zip holds {base} twice", field=self.where)
            found[base] = info
        for required in BUNDLE_FILES[:2]:
            if required not in found:
                raise InputError(
                    f"not an export bundle: the zip has no {required}", field=self.where
                )
        return found

    def _open_member(self, base: str, limit: int | None) -> _Counted:
        info = self.members[base]
        try:
            member = self.zf.open(info)
        except _DAMAGED as exc:
            raise InputError(
                f"zip member {info.filename} is damaged: {exc}", field=self.where
            ) from None
        return _Counted(member, info.filename, self.where, limit)  # type: ignore[arg-type]

    def read_checkpoint(self, limit: int) -> bytes:
        """The ``checkpoint`` member's bytes (at most ``limit``, counted while reading)."""
        with self._open_member(CHECKPOINT_FILE, limit) as raw:
            return io.BufferedReader(raw).read()

    def open_entries(self) -> tuple[BinaryIO, int]:
        """The ``entries.jsonl`` member as a stream (no copy), and its declared size."""
        self.entries = self._open_member(ENTRIES_FILE, None)
        return io.BufferedReader(self.entries, 1 << 16), self.members[ENTRIES_FILE].file_size

    def cap_entries(self, max_bytes: int) -> None:
        """``entries.jsonl`` may hold at most ``max_bytes`` (declared, and counted while
        reading): the checkpoint's tree size times the longest line and its newline."""
        info = self.members[ENTRIES_FILE]
        if info.file_size > max_bytes:
            raise InputError(
                f"zip member {info.filename} declares {info.file_size} bytes, more than the "
                f"{max_bytes} the checkpoint's entries can take",
                field=self.where,
            )
        if self.entries is not None:
            self.entries.limit = max_bytes

    def close(self) -> None:
        """Release the archive (idempotent)."""
        zf = getattr(self, "zf", None)
        if zf is not None:
            zf.close()
        self.fh.close()
