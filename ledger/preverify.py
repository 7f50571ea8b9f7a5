"""Step 2 of the append pipeline: signature pre-verification in worker processes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from verifier.cli.parallel import SignaturePool
from verifier.core.entry import Submission

#: Fewer submissions than this in one append are verified in-process only.
PARALLEL_MIN = 64
#: Submissions per job sent to the worker pool.
PREVERIFY_CHUNK = 256


class PreVerification:
    """Step 2 of the append pipeline: signatures verified ahead, in worker processes.

    Advisory only: :meth:`LogState.check_and_apply` skips re-verifying a signature only when
    the key recorded here is the registry's key for it at that index; everything else (keys
    granted inside the batch, failures) is verified in-process. Without a pool nothing is
    pre-verified.

    Submissions are numbered in the order they are :meth:`add`-ed (positions across every
    request of one append) and sent to the workers every :data:`PREVERIFY_CHUNK`, so that the
    workers verify while the caller parses the rest.

    ``origin`` is what the log's signatures cover (FORMAT.md §3.2): the log state's
    :attr:`~verifier.rules.log_state.LogState.message_origin`, so that the workers verify over
    exactly the message the log state does (``None``: format 1's message).
    """

    def __init__(
        self, pool: SignaturePool | None, keys: Mapping[str, Any], origin: str | None
    ) -> None:
        self.pool = pool
        self.keys = keys
        self.origin = origin
        self._chunks: list[tuple[int, list[tuple[int, int, bytes]], Future[list[bool]]]] = []
        self._slots: dict[int, list[bytes | None]] = {}
        self._pending: list[Submission] = []
        self._next = 0

    def add(self, sub: Submission) -> int:
        """Queue ``sub``; returns its position (for :meth:`get`). O(1) amortised."""
        position = self._next
        self._next += 1
        if self.pool is not None:
            self._pending.append(sub)
            if len(self._pending) >= PREVERIFY_CHUNK:
                self.flush()
        return position

    def flush(self) -> None:
        """Send the queued submissions to the workers now."""
        if self._pending:
            self.submit(self._next - len(self._pending), self._pending, self.keys)
            self._pending = []

    def submit(self, start: int, chunk: Sequence[Submission], keys: Mapping[str, Any]) -> None:
        """Queue the signatures of ``chunk`` (positions ``start…``) whose keys are known."""
        if self.pool is None:
            return
        triples: list[tuple[bytes, bytes, bytes]] = []
        where: list[tuple[int, int, bytes]] = []
        for k, sub in enumerate(chunk, start):
            message = None
            for n, sig in enumerate(sub.signatures):
                rec = keys.get(sig.key_id)
                if rec is None:
                    continue
                if message is None:
                    message = sub.statement.message(self.origin)
                triples.append((rec.key.public_key, message, sig.sig))
                where.append((k, n, rec.key.public_key))
            self._slots[k] = [None] * len(sub.signatures)
        if triples:
            self._chunks.append((start, where, self.pool.submit(triples)))

    def get(self, k: int) -> list[bytes | None] | None:
        """The pre-verified key per signature of position ``k`` (waits for its chunk; asking
        again, e.g. when a request is retried, returns the same answer)."""
        while self._chunks and self._chunks[0][0] <= k:
            _, where, future = self._chunks.pop(0)
            try:
                results = future.result()
            except Exception:  # a crashed worker: everything is re-verified in-process
                continue
            for (pos, n, pub), ok in zip(where, results, strict=True):
                if ok:
                    self._slots[pos][n] = pub
        return self._slots.get(k)
