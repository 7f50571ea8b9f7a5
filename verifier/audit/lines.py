"""Reading ``entries.jsonl`` in bounded chunks of lines (FORMAT.md §9).

:class:`Reader` reads the file in chunks of at most :data:`CHUNK_LINES` lines (and about
:data:`CHUNK_BYTES` bytes), never further than asked, and never more than
:data:`MAX_LINE_BYTES` of one line: memory stays bounded whatever the file holds. A last line
without a newline, or one too long, ends the reading as the chunk's ``tail``.
"""

from __future__ import annotations

import io
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any

from verifier.core.entry import Entry
from verifier.core.errors import VerificationError

__all__ = ["CHUNK_BYTES", "CHUNK_LINES", "MAX_LINE_BYTES", "Chunk", "Reader", "skip_lines"]

#: Lines per chunk (a chunk also ends after :data:`CHUNK_BYTES`). The parallel verifier holds
#: ``2 × workers`` chunks in flight, parsed: 500 lines keep that window at ~5 MB (2,000 lines
#: cost ~19 MiB more peak RSS at the same speed; docs/PERFORMANCE.md, issue 14 second pass).
CHUNK_LINES = 500
CHUNK_BYTES = 1 << 20
#: :func:`skip_lines` reads this much at a time.
SKIP_BLOCK = 1 << 20
#: FORMAT.md §4, §9: the longest entry line, without its newline (rule ``export.line_too_long``
#: from 65,536 bytes on): C2SP tlog-tiles entry bundles give each entry a 16-bit length.
MAX_LINE_BYTES = 65_535


@dataclass(slots=True)
class Chunk:
    """Consecutive lines of ``entries.jsonl`` (newlines removed).

    ``tail`` is a last line that did not end with a newline (end of file) or that exceeded
    :data:`MAX_LINE_BYTES` (``tail_too_long``); reading stops after it.
    """

    first: int
    lines: list[bytes]
    end_offset: int
    tail: bytes | None = None
    tail_too_long: bool = False
    #: parse-in-workers mode: a :func:`check_chunk` result; main-parses mode: one bool per
    #: triple of :func:`verifier.cli.parallel.verify_triples`.
    future: Future[Any] | None = None
    # Main-parses mode only: the parsed entries and their leaf hashes (up to the first parse
    # error, kept in ``error``), and (line, signature, public key) of each submitted triple.
    entries: list[Entry] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    slots: list[tuple[int, int, bytes]] = field(default_factory=list)
    error: VerificationError | None = None

    @property
    def end(self) -> int:
        """Index after the last complete line."""
        return self.first + len(self.lines)


class Reader:
    """Reads ``entries.jsonl`` in chunks; never more than asked (bounded memory)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.next_index = 0
        self.offset = 0
        self.eof = False

    def read(self) -> Chunk | None:
        if self.eof:
            return None
        readline = self.fh.readline
        limit = MAX_LINE_BYTES + 1
        lines: list[bytes] = []
        chunk = Chunk(self.next_index, lines, self.offset)
        size = 0
        while len(lines) < CHUNK_LINES and size < CHUNK_BYTES:
            line = readline(limit)
            if not line:
                self.eof = True
                break
            self.offset += len(line)
            if line[-1] != 0x0A:
                chunk.tail = line
                chunk.tail_too_long = len(line) == limit
                self.eof = True
                break
            lines.append(line[:-1])
            size += len(line)
        chunk.end_offset = self.offset
        self.next_index += len(lines) + (chunk.tail is not None)
        if not lines and chunk.tail is None:
            return None
        return chunk


class _Prefixed(io.RawIOBase):
    """``head``, then the rest of ``rest`` (which it never closes): a stream that cannot seek
    back, continued after :func:`skip_lines` read past the line it stopped at."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def skip_lines(fh: IO[bytes], n: int) -> tuple[IO[bytes], int, int]:
    """Pass over the first ``n`` lines of ``fh`` without looking at them (incremental
    verification, FORMAT.md §12.3): newlines are counted in blocks of :data:`SKIP_BLOCK`
    bytes. Returns the stream to read on (``fh`` itself, repositioned, when it can seek; else
    a buffered stream over the bytes read past the line and the rest of ``fh``), the number
    of bytes skipped and the number of lines found — fewer than ``n`` only when ``fh`` ended
    first. Cost: reads ``n`` lines' bytes once; memory one block."""
    seen = offset = 0
    while seen < n:
        block = fh.read(SKIP_BLOCK)
        if not block:
            break
        count = block.count(b"\n")
        if seen + count < n:
            seen += count
            offset += len(block)
            continue
        at = -1
        for _ in range(n - seen):
            at = block.index(b"\n", at + 1)
        seen = n
        offset += at + 1
        rest = block[at + 1 :]
        if rest and fh.seekable():
            fh.seek(-len(rest), io.SEEK_CUR)
        elif rest:
            return io.BufferedReader(_Prefixed(rest, fh), 1 << 16), offset, seen
    return fh, offset, seen
