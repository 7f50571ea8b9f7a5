"""The single writer: group commit of concurrent submissions (FORMAT.md §8, docs/API.md §2).

Every write request hands its submissions to :meth:`Sequencer.submit` and awaits them. One
writer thread appends: whatever arrived while the previous transaction ran is appended as
*one* transaction — one fsync, one checkpoint signature — so concurrent clients share the
cost (group commit). Each request keeps its own atomicity
(:meth:`ledger.log.Ledger.append_requests`): a request that breaks a rule is undone alone
inside that transaction, so one client's bad statement never fails another client's good
one, and costs no extra transaction.

A failure of the database itself (:func:`api.problems.is_database_failure`: locked past its
busy time-out, disk full, I/O error, connection lost) fails the whole group — nothing of it
was written — and every request of it gets :class:`api.problems.DatabaseUnavailable` (503
``server.database`` with ``Retry-After``). Anything else that escapes the transaction (a bug
a crafted submission reaches) must not fail the other clients: the group is then appended
again one request per transaction, so that only the request that raises it fails.

The same lock (:attr:`Sequencer.lock`) guards the in-memory state for readers (domain reads,
traces, residents' look-ups), which run in the thread pool and hold it briefly.

Every ``snapshot_every`` entries (``gongxin serve --snapshot-every``; 0: never), and once
more when it stops, the writer thread stores a rule-state snapshot (FORMAT.md §12.2) after
the group's receipts are handed out, holding the lock, so that the state is the committed
one. A failed snapshot only logs a warning.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.metrics import Metrics
from api.problems import DatabaseUnavailable, is_database_failure
from ledger.log import Ledger
from ledger.records import Receipt
from ledger.snapshots import DEFAULT_EVERY
from verifier.core.errors import GongxinError

#: The most submissions one group may carry (a group is one transaction).
MAX_GROUP = 2000


@dataclass
class _Request:
    submissions: Sequence[bytes]
    future: asyncio.Future[list[Receipt]]
    loop: asyncio.AbstractEventLoop = field(repr=False)


class Sequencer:
    """Serialises appends to ``ledger``."""

    def __init__(
        self, ledger: Ledger, metrics: Metrics | None = None, snapshot_every: int = DEFAULT_EVERY
    ) -> None:
        self.ledger = ledger
        self.metrics = metrics or Metrics()
        self.snapshot_every = snapshot_every
        self.lock = threading.Lock()
        self._pending: list[_Request] = []
        self._wake = threading.Condition()
        self._closed = False
        #: ``time.monotonic()`` of the last submission or finished group (0: none yet).
        self._last_active = 0.0
        #: Whether the writer thread is appending a group right now.
        self._appending = False
        self._thread = threading.Thread(target=self._run, name="gongxin-writer", daemon=True)
        self._thread.start()

    async def submit(self, submissions: Sequence[bytes]) -> list[Receipt]:
        """Append ``submissions`` atomically; their receipts in order. Raises what
        :meth:`ledger.log.Ledger.append_batch` would raise for them alone (or the database's
        failure)."""
        loop = asyncio.get_running_loop()
        req = _Request(submissions, loop.create_future(), loop)
        with self._wake:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            self._pending.append(req)
            self._last_active = time.monotonic()
            self._wake.notify()
        return await req.future

    def recently_busy(self, window: float = 1.0) -> bool:
        """Whether a group is being appended or writes are queued, or a submission arrived or
        a group finished within the last ``window`` seconds: look-ups from repeat addresses
        then yield (:mod:`api.ratelimit` ``LookupLimiter.repeat_may_derive``). O(1), no lock
        (a stale answer is harmless)."""
        return (
            self._appending or bool(self._pending) or time.monotonic() - self._last_active < window
        )

    def close(self) -> None:
        """Finish the queued groups, then stop the writer thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # -- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending and self._closed:
                    self._snapshot(at_exit=True)
                    return
                group: list[_Request] = []
                taken = 0
                while self._pending and (
                    not group or taken + len(self._pending[0].submissions) <= MAX_GROUP
                ):
                    req = self._pending.pop(0)
                    group.append(req)
                    taken += len(req.submissions)
            # A group can take longer than recently_busy's window (a large batch, the first
            # append starting the verification workers): busy all along, not just at its ends.
            self._appending = True
            try:
                self._append_group(group)
            finally:
                self._appending = False
                self._last_active = time.monotonic()
            self._snapshot(at_exit=False)

    def _snapshot(self, *, at_exit: bool) -> None:
        """Store a snapshot when ``snapshot_every`` entries came since the last one, or at
        exit when any did. Cost: O(state) (about a second at 1M entries), rarely."""
        every, ledger = self.snapshot_every, self.ledger
        if every <= 0:
            return
        with self.lock:
            since = ledger.size - ledger.snapshot_size
            if since >= every or (at_exit and since > 0):
                ledger.write_snapshot()

    def _append_group(self, group: list[_Request]) -> None:
        """Append the group's requests in one transaction; settle each with its receipts or
        its rejection, or all of them with the database's failure."""
        try:
            outcomes = self._append([req.submissions for req in group])
        except BaseException as exc:  # the writer thread must settle every future
            if is_database_failure(exc) or len(group) == 1:
                failure = DatabaseUnavailable(exc) if is_database_failure(exc) else exc
                for req in group:
                    _resolve(req, failure)
                return
            # Not the database: isolate the culprit, one request per transaction.
            for req in group:
                self._append_group([req])
            return
        for req, outcome in zip(group, outcomes, strict=True):
            _resolve(req, outcome)

    def _append(self, requests: list[Sequence[bytes]]) -> list[list[Receipt] | GongxinError]:
        with self.lock:
            outcomes = self.ledger.append_requests(requests)
        accepted = [o for o in outcomes if not isinstance(o, GongxinError)]
        if accepted:
            self.metrics.appended.inc(sum(1 for rs in accepted for r in rs if not r.duplicate))
            self.metrics.groups.inc()
            self.metrics.group_size.observe(sum(len(rs) for rs in accepted))
        return outcomes


def _resolve(req: _Request, outcome: list[Receipt] | BaseException) -> None:
    def settle() -> None:
        if req.future.done():
            return
        if isinstance(outcome, BaseException):
            req.future.set_exception(outcome)
        else:
            req.future.set_result(outcome)

    req.loop.call_soon_threadsafe(settle)


__all__ = ["MAX_GROUP", "Sequencer"]
