"""Fuzzing ``gongxin-verify`` in-process: whatever the bundle holds, the exit status is 0, 1
or 2 — never 3 (an exception escaping the checks), never a hang — and a failure is one line.

The inputs are mutations of the committed known-good bundle (``tests/bundles/good``): random
bytes; line and JSON edits (bit flips, truncation, duplicated, deleted and swapped lines, deep
nesting, huge numbers, the extreme dates 0001-01-01 and 9999-12-31, very long lines); and
export zips with corrupt bytes, other compression methods, flags and names. Derandomized and
bounded (about 30 s in all), so CI sees the same examples every run. A crash class found here
is kept as a case under ``tests/corpus/`` (``tests/test_verifier_corpus.py``).
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import zip_cases as zc
from verifier.cli.main import main

FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: Seconds one verification may take before it counts as a hang.
HANG_SECONDS = 20

GOOD = zc.good_files()
LINES = GOOD["entries.jsonl"].splitlines(keepends=True)
_DATE = re.compile(rb"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(rb"(?<=:)\d+")


class Hang(Exception):
    """A verification ran longer than :data:`HANG_SECONDS`."""


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no verdict after {seconds} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_main(argv: list[str]) -> tuple[int, str]:
    """``gongxin-verify ARGV`` in-process, failing on a hang; (status, stderr)."""
    err = io.StringIO()
    with (
        _deadline(HANG_SECONDS),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        status = main(argv)
    return status, err.getvalue()


def verify(path: Path, *extra: str, key: Path = zc.LOG_VKEY) -> tuple[int, str]:
    """``gongxin-verify PATH --log-key KEY --workers 1 -q``, in-process; (status, stderr)."""
    return run_main([str(path), "--log-key", str(key), "--workers", "1", "-q", *extra])


def check(path: Path) -> None:
    """The property: exit 0, 1 or 2; on failure one line starting with ✗ (plus, for a valid
    format-1 log, its one warning line)."""
    status, err = verify(path)
    assert status in (0, 1, 2), err
    failures = [line for line in err.splitlines() if line.startswith("✗")]
    if status:
        assert len(failures) == 1 and err.startswith("✗"), err


def write_bundle(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


# ------------------------------------------------------------------------------- mutations


def _nest(line: bytes, depth: int) -> bytes:
    """Replace the line's first number value by a list nested ``depth`` deep."""
    return _NUMBER.sub(b"[" * depth + b"1" + b"]" * depth, line, count=1)


def _mutate_line(line: bytes, op: str, n: int, data: bytes) -> bytes:
    body = line.rstrip(b"\n")
    if op == "flip" and body:
        i = n % len(body)
        return body[:i] + bytes([body[i] ^ (1 << (n % 8))]) + body[i + 1 :] + b"\n"
    if op == "truncate":
        return body[: n % (len(body) + 1)] + b"\n"
    if op == "nest":
        return _nest(body, 1 + n % 5000) + b"\n"
    if op == "huge_number":
        return _NUMBER.sub(b"9" * (1 + n % 5000), body, count=1) + b"\n"
    if op == "float":
        return _NUMBER.sub([b"1e999999", b"-0", b"1.5", b"01", b"-1"][n % 5], body, count=1) + b"\n"
    if op in ("date_min", "date_max"):
        day = b"0001-01-01" if op == "date_min" else b"9999-12-31"
        return _DATE.sub(day, body) + b"\n"
    if op == "long":
        return body[:-1] + b',"x":"' + b"a" * (60_000 + n % 20_000) + b'"}\n'
    if op == "garbage":
        return data + b"\n"
    return line


LINE_OPS = st.sampled_from(
    ["flip", "truncate", "nest", "huge_number", "float", "date_min", "date_max", "long", "garbage"]
)


@st.composite
def entries_files(draw: st.DrawFn) -> bytes:
    """``entries.jsonl`` of the good bundle with a few line edits."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["line", "line", "line", "dup", "del", "swap", "cut"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if not lines:
            break
        if what == "line":
            op, n = draw(LINE_OPS), draw(st.integers(0, 1 << 20))
            lines[i] = _mutate_line(lines[i], op, n, draw(st.binary(max_size=64)))
        elif what == "dup":
            lines.insert(i, lines[i])
        elif what == "del":
            del lines[i]
        elif what == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines = [*lines[:i], lines[i][: draw(st.integers(0, len(lines[i])))]]
    return b"".join(lines)


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, bytes]:
    """The good bundle's files with one of them mutated (or replaced by random bytes)."""
    files = dict(GOOD)
    target = draw(st.sampled_from(["entries", "entries", "entries", "checkpoint", "random"]))
    if target == "entries":
        files["entries.jsonl"] = draw(entries_files())
    elif target == "checkpoint":
        note = bytearray(files["checkpoint"])
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(note) - 1))
            note[i] = draw(st.integers(0, 255))
        files["checkpoint"] = bytes(note[: draw(st.integers(0, len(note)))])
    else:
        name = draw(st.sampled_from(["entries.jsonl", "checkpoint"]))
        files[name] = draw(st.binary(max_size=2048))
    return files


@st.composite
def zips(draw: st.DrawFn) -> bytes:
    """An export zip of the good bundle with structural damage."""
    what = draw(
        st.sampled_from(["bytes", "method", "flags", "size", "csize", "names", "truncate", "tail"])
    )
    files = draw(bundles()) if draw(st.booleans()) else dict(GOOD)
    data = zc.bundle_zip(files)
    if what == "bytes":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if what in ("method", "flags", "size", "csize"):
        value = draw(
            st.sampled_from([0, 1, 8, 9, 12, 14, 93, 99, 0xFFFF, 0xFFFFFFFF])
            if what != "flags"
            else st.integers(0, 0xFFFF)
        )
        return zc.set_field(data, what, value & (0xFFFF if what in ("method", "flags") else ~0))
    if what == "names":
        name = draw(
            st.sampled_from(
                [
                    "../entries.jsonl",
                    "/entries.jsonl",
                    "C:entries.jsonl",
                    "a\\entries.jsonl",
                    "entries.jsonl/",
                    "a/b/c/entries.jsonl",
                    "",
                    "gongxin-export/entries.jsonl",
                ]
            )
        )
        members = [(zc.FOLDER + n, d) for n, d in files.items()] + [(name, b"x")]
        return zc.make_zip(members)
    if what == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    return data + draw(st.binary(min_size=1, max_size=64))


# ------------------------------------------------------------------------------- properties


@FUZZ
@given(files=bundles())
def test_mutated_directory_bundles_exit_0_1_or_2(files: dict[str, bytes], tmp_path: Path) -> None:
    check(write_bundle(tmp_path / "b", files))


@FUZZ
@given(data=zips())
def test_mutated_zip_bundles_exit_0_1_or_2(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    check(path)


@settings(FUZZ, max_examples=60)
@given(data=st.binary(max_size=4096))
def test_random_bytes_as_a_zip_or_a_checkpoint_exit_2(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(b"PK\x03\x04" + data + b"PK\x05\x06" + bytes(18))
    assert verify(path)[0] == 2
    bundle = write_bundle(tmp_path / "b", {**GOOD, "checkpoint": data})
    status, err = verify(bundle)
    assert status in (1, 2), err
