"""Writes the crash/hang corpus of ``tests/corpus/`` (README.md there names every class).

Each case is a directory ``<class>/`` holding ``bundle.zip`` or the bundle files, and
``expected.json`` (the exit status and the rule or a fragment of the one-line message). The
cases are small edits of the committed good bundle (``tests/bundles/good``); ``log.vkey`` is a
copy of the key that verifies it, so the corpus stands on its own. Rebuild with::

    .venv/bin/python -m tests.corpus.generate
"""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Any

from tests import zip_cases as zc

HERE = Path(__file__).resolve().parent


def _zip_cases() -> dict[str, tuple[bytes, dict[str, Any]]]:
    good = zc.good_files()
    members = [(zc.FOLDER + name, data) for name, data in good.items()]
    deflated = zc.bundle_zip()
    tail = deflated.rfind(b"PK\x01\x02")
    start = deflated.find(b"PK\x03\x04", 1)
    damaged = bytearray(deflated)
    damaged[start + 120 : start + 130] = b"\xff" * 10  # inside the first member's data
    return {
        "zip-bzip2-bomb": (zc.bzip2_bomb(64 << 20), {"message": "compression method 12"}),
        "zip-lzma-method": (
            zc.make_zip(members, method=zipfile.ZIP_LZMA),
            {"message": "compression method 14"},
        ),
        "zip-deflate-bomb": (zc.deflate_bomb(16 << 20), {"message": "a zip bomb?"}),
        "zip-deflate-bomb-forged-size": (
            zc.deflate_bomb(16 << 20, declared=1000),
            {"message": "Bad CRC-32"},
        ),
        "zip-corrupt-deflate": (bytes(damaged), {"message": "is damaged"}),
        "zip-encrypted-flag": (zc.set_field(deflated, "flags", 1), {"message": "is encrypted"}),
        "zip-duplicate-name": (zc.make_zip(members + members[:1]), {"message": "twice"}),
        "zip-traversing-name": (
            zc.make_zip([("../" + n, d) for n, d in good.items()]),
            {"message": "unsafe name"},
        ),
        "zip-absolute-name": (
            zc.make_zip([("/" + n, d) for n, d in good.items()]),
            {"message": "unsafe name"},
        ),
        "zip-symlink-member": (
            zc.make_zip(members, mode=stat.S_IFLNK | 0o777),
            {"message": "symbolic link"},
        ),
        "zip-directory-member": (
            zc.make_zip([*members[1:], (zc.FOLDER + "entries.jsonl/", b"")]),
            {"message": "a directory or special file"},
        ),
        "zip-too-many-members": (
            zc.make_zip(members + [(f"extra-{i}", b"") for i in range(20)]),
            {"message": "at most 8 members"},
        ),
        "zip-truncated": (deflated[:tail], {"message": "neither a directory nor a zip"}),
    }


def _line_cases() -> dict[str, tuple[dict[str, bytes], dict[str, Any]]]:
    """Entry-line classes: the good bundle's checkpoint with only its genesis line (entry 0),
    edited: the verdict is at entry 0, before the missing entries matter."""
    good = zc.good_files()
    lines = good["entries.jsonl"].splitlines(keepends=True)
    first = lines[0].rstrip(b"\n")

    def with_first(line: bytes) -> dict[str, bytes]:
        return {**good, "entries.jsonl": line + b"\n"}

    nested = first.replace(b'"index":0', b'"index":0,"x":' + b"[" * 5000 + b"]" * 5000, 1)
    huge = first.replace(b'"index":0', b'"index":0,"x":' + b"9" * 5000, 1)
    long = first[:-1] + b',"x":"' + b"a" * 70_000 + b'"}'
    date_min = first.replace(b"2026-", b"0001-")
    date_max = first.replace(b"2026-", b"9999-")
    return {
        "line-deep-nesting": (with_first(nested), {"rule": "entry.canonical", "index": 0}),
        "line-huge-number": (with_first(huge), {"rule": "entry.canonical", "index": 0}),
        "line-too-long": (with_first(long), {"rule": "export.line_too_long", "index": 0}),
        "line-date-0001": (with_first(date_min), {"index": 0}),
        "line-date-9999": (with_first(date_max), {"index": 0}),
    }


def corpus() -> dict[str, bytes]:
    """Every generated file, by path relative to ``tests/corpus``."""
    out: dict[str, bytes] = {"log.vkey": zc.LOG_VKEY.read_bytes()}

    def expect(name: str, status: int, extra: dict[str, Any]) -> None:
        body = {"exit": status, **extra}
        out[f"{name}/expected.json"] = (json.dumps(body, indent=2) + "\n").encode()

    for name, (data, extra) in _zip_cases().items():
        out[f"{name}/bundle.zip"] = data
        expect(name, 2, extra)
    for name, (files, extra) in _line_cases().items():
        for base, data in files.items():
            out[f"{name}/{base}"] = data
        expect(name, 1, extra)
    return out


def main() -> None:
    for path in HERE.iterdir():
        if path.is_dir() and path.name != "__pycache__":
            shutil.rmtree(path)
    for rel, data in corpus().items():
        target = HERE / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


if __name__ == "__main__":
    main()
