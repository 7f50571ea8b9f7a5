"""Checking an ``.xlsx`` (a zip of XML parts) before :mod:`openpyxl` opens it, with every
size checked while decompressing.

:func:`check_xlsx` takes the file's bytes (at most :data:`~ledger.sheets.table.MAX_FILE_BYTES`)
and refuses, as an :class:`InputError` naming the part:

- a central directory of more than :data:`MAX_MEMBERS` members or :data:`MAX_DIRECTORY_BYTES`
  bytes (read from the end record before :mod:`zipfile` builds its directory);
- an encrypted member, a compression method other than stored or deflate (:mod:`zipfile`
  inflates bzip2 and LZMA without an output bound), a member declaring more than
  :data:`MAX_PART_BYTES` or more than :data:`MAX_RATIO` times its compressed size, or more
  than :data:`MAX_TOTAL_BYTES` in all;
- while decompressing each member: more bytes than it declared or than the caps (counted;
  :mod:`zipfile` also stops at the declared size and checks the CRC-32), and any XML
  ``<!DOCTYPE`` or ``<!ENTITY`` (an xlsx has none; entity expansion is how XML bombs work);
- the shared-strings part (found as :mod:`openpyxl` finds it, by its content type) streamed
  through :func:`xml.etree.ElementTree.iterparse`: more than :data:`MAX_SHARED_STRINGS`
  strings, more than :data:`MAX_SHARED_CHARS` characters in all, or malformed XML (with its
  line and column).

Cost: one decompression of every member (bounded by the caps) and one parse of the shared
strings; memory: a 64 KiB buffer and one string at a time.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from xml.etree import ElementTree

from ledger.sheets.table import one_line
from verifier.core.errors import InputError

__all__ = [
    "DAMAGED",
    "MAX_DIRECTORY_BYTES",
    "MAX_MEMBERS",
    "MAX_PART_BYTES",
    "MAX_RATIO",
    "MAX_SHARED_CHARS",
    "MAX_SHARED_STRINGS",
    "MAX_TOTAL_BYTES",
    "check_xlsx",
]

#: Most members (parts) an xlsx may hold; a plain workbook has about ten.
MAX_MEMBERS = 512
#: Largest central directory, in bytes.
MAX_DIRECTORY_BYTES = 256 << 10
#: Largest decompressed part (a 100,000-row sheet is ~50 MB of XML).
MAX_PART_BYTES = 128 << 20
#: Largest decompressed total of all parts.
MAX_TOTAL_BYTES = 256 << 10 << 10
#: Largest ratio of decompressed to compressed size for a part over :data:`_SMALL` bytes
#: (sheet XML deflates about 10:1).
MAX_RATIO = 100
_SMALL = 1 << 20
#: Most shared strings (distinct texts of the workbook) and their total characters.
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_CHARS = 32_000_000

_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_CONTENT_TYPES = "[Content_Types].xml"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_CHUNK = 64 << 10
#: What :mod:`zipfile`, :mod:`zlib` and :mod:`openpyxl` raise on a damaged file.
DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    ElementTree.ParseError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    OverflowError,
)
_END = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")


def _directory_extent(data: bytes) -> tuple[int, int] | None:
    """(member count, central directory bytes) from the end record, found as
    ``zipfile._EndRecData`` finds it (a zip64 record right before it wins); ``None``: none."""
    tail_start = max(0, len(data) - _END.size - 0xFFFF)
    at = len(data) - _END.size
    if at < 0:
        return None
    if not (data[at : at + 4] == b"PK\x05\x06" and data[-2:] == b"\0\0"):
        at = data.rfind(b"PK\x05\x06", tail_start)
        if at < 0 or len(data) - at < _END.size:
            return None
    fields = _END.unpack_from(data, at)
    count, cd_bytes = fields[4], fields[5]
    start = at - _LOCATOR.size - _END64.size
    locator = start + _END64.size
    if (
        start >= 0
        and data[start : start + 4] == b"PK\x06\x06"
        and data[locator : locator + 4] == b"PK\x06\x07"
    ):
        rec = _END64.unpack_from(data, start)
        count, cd_bytes = rec[7], rec[8]
    return count, cd_bytes


def _open_zip(data: bytes, where: str) -> zipfile.ZipFile:
    extent = _directory_extent(data)
    if extent is None:
        raise InputError("不是 xlsx（zip）文件 not an xlsx (zip) file", field=where)
    count, cd_bytes = extent
    if count > MAX_MEMBERS or cd_bytes > MAX_DIRECTORY_BYTES:
        raise InputError(
            f"xlsx 的 zip 目录过大 the zip directory lists {count} members in {cd_bytes} bytes "
            f"(at most {MAX_MEMBERS} in {MAX_DIRECTORY_BYTES})",
            field=where,
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except DAMAGED as exc:
        raise InputError(f"无法读取 xlsx bad zip file: {one_line(exc)}", field=where) from None


def _check_declared(infos: list[zipfile.ZipInfo], where: str) -> None:
    total = 0
    for info in infos:
        label = f"xlsx part {one_line(info.filename, 80)}"
        if info.flag_bits & 0x41:
            raise InputError(f"{label} is encrypted", field=where)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(
                f"{label} uses compression method {info.compress_type}; only stored and "
                "deflate are accepted",
                field=where,
            )
        if info.file_size > MAX_PART_BYTES or (
            info.file_size > _SMALL and info.file_size > MAX_RATIO * info.compress_size
        ):
            raise InputError(
                f"{label} declares {info.file_size} bytes from {info.compress_size} compressed "
                f"(at most {MAX_PART_BYTES}, and {MAX_RATIO}:1): a zip bomb?",
                field=where,
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise InputError(
            f"xlsx parts declare {total} bytes in all, more than {MAX_TOTAL_BYTES}", field=where
        )


def _scan_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> int:
    """Decompress one member, counting its bytes and looking for DTDs; its size."""
    label = f"xlsx part {one_line(info.filename, 80)}"
    count = 0
    tail = b""
    try:
        with zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                count += len(chunk)
                if count > info.file_size or count > MAX_PART_BYTES:
                    raise InputError(f"{label} holds more than it declares", field=where)
                window = tail + chunk
                if any(marker in window for marker in _FORBIDDEN):
                    raise InputError(
                        f"{label} has a DOCTYPE or ENTITY declaration (refused: XML bomb?)",
                        field=where,
                    )
                tail = chunk[-16:]
    except DAMAGED as exc:
        raise InputError(f"{label} is damaged: {one_line(exc)}", field=where) from None
    return count


def _shared_strings_part(zf: zipfile.ZipFile, where: str) -> str | None:
    try:
        root = ElementTree.fromstring(zf.read(_CONTENT_TYPES))
    except KeyError:
        raise InputError(f"xlsx has no {_CONTENT_TYPES}", field=where) from None
    except DAMAGED as exc:
        raise InputError(f"xlsx part {_CONTENT_TYPES}: {one_line(exc)}", field=where) from None
    for child in root:
        if child.get("ContentType") == _SHARED_STRINGS_TYPE:
            return (child.get("PartName") or "").lstrip("/")
    return None


def _check_shared_strings(zf: zipfile.ZipFile, name: str, where: str) -> None:
    label = f"xlsx part {one_line(name, 80)}"
    count = chars = 0
    try:
        with zf.open(name) as member:
            root = None
            for event, element in ElementTree.iterparse(member, events=("start", "end")):
                if root is None:
                    root = element  # the <sst>: emptied after each string, kept small
                if event == "start":
                    continue
                if element.tag == f"{_NS}t":
                    chars += len(element.text or "")
                elif element.tag == f"{_NS}si":
                    count += 1
                    root.clear()
                    if count > MAX_SHARED_STRINGS or chars > MAX_SHARED_CHARS:
                        raise InputError(
                            f"{label}: more than {MAX_SHARED_STRINGS} shared strings or "
                            f"{MAX_SHARED_CHARS} characters in them",
                            field=where,
                        )
    except KeyError:
        raise InputError(f"{label} is missing", field=where) from None
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"{label}: XML 格式错误 malformed XML at line {line}, column {column}", field=where
        ) from None
    except DAMAGED as exc:
        raise InputError(f"{label} is damaged: {one_line(exc)}", field=where) from None


def check_xlsx(data: bytes, where: str) -> None:
    """Refuse ``data`` unless it is a zip whose parts pass the checks of the module
    docstring. Raises :class:`InputError` naming ``where`` and the part."""
    zf = _open_zip(data, where)
    with zf:
        infos = zf.infolist()
        _check_declared(infos, where)
        total = 0
        for info in infos:
            total += _scan_member(zf, info, where)
            if total > MAX_TOTAL_BYTES:
                raise InputError(f"xlsx parts hold more than {MAX_TOTAL_BYTES} bytes", field=where)
        shared = _shared_strings_part(zf, where)
        if shared is not None:
            _check_shared_strings(zf, shared, where)
