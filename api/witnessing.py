"""The collector: the log asks its witnesses to cosign (C2SP tlog-witness; FORMAT.md §14).

With ``gongxin serve --witness-policy FILE``, every policy witness that has a URL is sent the
newest published checkpoint by ``POST <url>/add-checkpoint`` (body: ``old N``, the
consistency proof from ``N``, an empty line, the note). A 200 reply is verified and its
cosignature line stored (:func:`ledger.cosigning.store_cosignature`); a 409 with a
``text/x.tlog.size`` body tells the size the witness has: it is adopted and the request
retried once with a new proof; anything else (another status, a time-out, a refused
connection, a reply that is too long or does not verify) backs that witness off
exponentially (1 s doubling to :data:`BACKOFF_CAP`, jittered) and is logged once per change
of its condition (``gongxin.witnessing`` JSON logs).

Never in the way of appends: the collector is one asyncio task of the event loop (started in
the app's lifespan), every database call runs in the thread pool, and each witness has at
most one request in flight (time-outs :data:`TIMEOUT` per operation, twice that in all).
When checkpoints come faster than a witness answers they are coalesced: its next request is
for the newest checkpoint then.

One collector per deployment: ``gongxin serve --workers N`` runs the app (and so this task)
in N processes, and several servers may share a PostgreSQL log. Each task first takes
:func:`ledger.cosigning.collector_lease` (a ``flock`` beside a SQLite file; a PostgreSQL
session advisory lock), which one process holds until it stops; the others try again every
:data:`LEASE_RETRY` seconds, so a successor takes over when the holder dies. Every process
serves what is stored, whichever collected it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.concurrency import run_in_threadpool

from api.receipts import witnessed_json
from ledger.cosigning import Lease, collector_lease, newest_witnessed, store_cosignature
from ledger.log import Ledger
from ledger.records import Receipt
from verifier.core.errors import GongxinError
from verifier.witness.policy import PolicyWitness, WitnessPolicy

log = logging.getLogger("gongxin.witnessing")

TIMEOUT = 5.0
"""Seconds per HTTP operation (connect, send, each read); a request gets twice this in all."""
POLL = 0.25
"""Seconds between looks at the newest checkpoint."""
BACKOFF_BASE, BACKOFF_CAP = 1.0, 30.0
"""A failing witness is retried after 1, 2, 4 … seconds, at most :data:`BACKOFF_CAP`."""
LEASE_RETRY = 5.0
"""Seconds between attempts to take the collector lease, and between checks it is held."""
MAX_REPLY = 16 * 1024
"""Longest add-checkpoint reply read (a cosignature line is about 150 bytes)."""
MAX_WAIT = 30.0
"""Longest a write may wait for the quorum (``Prefer: wait=N``)."""
SIZE_TYPE = "text/x.tlog.size"


class _Failure(Exception):
    """One failed exchange: ``kind`` (stable, for the logs' once-per-change) and detail."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


@dataclass
class Peer:
    """What the collector knows of one witness: the size it has (0 until learnt), the
    largest size it cosigned for this collector, its back-off, whether a request is in
    flight, and its condition as last logged."""

    witness: PolicyWitness
    size: int = 0
    cosigned: int = 0
    failures: int = 0
    next_try: float = 0.0
    busy: bool = False
    condition: str = "new"


class Collector:
    """Asks the policy's witnesses to cosign the log's newest checkpoint (module docstring).

    ``latest`` returns (size, note) of the newest published checkpoint with the ledger
    refreshed (``ServerState.sync``); it and the ledger's proofs run in the thread pool."""

    def __init__(
        self,
        ledger: Ledger,
        policy: WitnessPolicy,
        latest: Callable[[], tuple[int, str]],
        *,
        timeout: float = TIMEOUT,
        poll: float = POLL,
    ) -> None:
        self.ledger, self.latest = ledger, latest
        self.timeout, self.poll = timeout, poll
        self.peers = [Peer(w) for w in policy.witnesses if w.url is not None]
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Collect until cancelled. Never raises but :class:`asyncio.CancelledError`."""
        if not self.peers:
            return
        lease: Lease | None = None
        checked = 0.0
        limits = httpx.Timeout(self.timeout)
        async with httpx.AsyncClient(timeout=limits, trust_env=False) as client:
            try:
                while True:
                    now = time.monotonic()
                    if lease is None or now - checked > LEASE_RETRY:
                        lease = await self._lease(lease)
                        checked = now
                    if lease is None:
                        await asyncio.sleep(LEASE_RETRY)
                        continue
                    await self._round(client)
                    await asyncio.sleep(self.poll)
            finally:
                for task in list(self._tasks):
                    task.cancel()
                if lease is not None:
                    lease.release()

    async def _lease(self, lease: Lease | None) -> Lease | None:
        """The lease, still held or newly taken; ``None`` (logged once) if another has it."""
        try:
            if lease is not None and await run_in_threadpool(lease.held):
                return lease
            if lease is not None:
                lease.release()
            got = await run_in_threadpool(collector_lease, self.ledger)
        except Exception as exc:  # the database is down: try again later
            log.warning("witnessing lease unavailable", extra={"error": str(exc)[:200]})
            return None
        if got is not None and lease is None:
            log.info(
                "collecting cosignatures",
                extra={
                    "event": "witness.collect",
                    "witnesses": [p.witness.name for p in self.peers],
                },
            )
        return got

    async def _round(self, client: httpx.AsyncClient) -> None:
        """Start a request to every idle, due witness that lacks the newest checkpoint."""
        try:
            size, note = await run_in_threadpool(self.latest)
        except Exception as exc:
            log.warning("cannot read the checkpoint", extra={"error": str(exc)[:200]})
            return
        now = time.monotonic()
        for peer in self.peers:
            if peer.busy or peer.cosigned >= size or now < peer.next_try:
                continue
            peer.busy = True
            task = asyncio.create_task(self._ask(client, peer, size, note))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _ask(self, client: httpx.AsyncClient, peer: Peer, size: int, note: str) -> None:
        try:
            async with asyncio.timeout(4 * self.timeout):  # two exchanges at most
                await self._submit(client, peer, size, note)
        except _Failure as f:
            self._failed(peer, f.kind, f.detail)
        except TimeoutError:
            self._failed(peer, "timeout", f"no answer in {4 * self.timeout:g} s")
        except httpx.TimeoutException as exc:
            self._failed(peer, "timeout", type(exc).__name__)
        except httpx.HTTPError as exc:
            self._failed(peer, "unreachable", f"{type(exc).__name__}: {exc}"[:200])
        except GongxinError as exc:
            self._failed(peer, "invalid", str(exc)[:200])
        except Exception as exc:  # a database failure: try again later
            self._failed(peer, "error", f"{type(exc).__name__}: {exc}"[:200])
        else:
            self._succeeded(peer, size)
        finally:
            peer.busy = False

    async def _submit(self, client: httpx.AsyncClient, peer: Peer, size: int, note: str) -> None:
        """Send checkpoint ``size`` from the witness's size; on 409 adopt its size and try
        once more. Raises :class:`_Failure` or what the client / verification raises."""
        url = f"{peer.witness.url}/add-checkpoint"
        for _ in range(2):
            old = peer.size
            if old > size:
                raise _Failure("ahead", f"the witness has size {old}, the log {size}")
            proof = await run_in_threadpool(self._proof, old, size)
            body = "".join([f"old {old}\n", *(p + "\n" for p in proof), "\n", note])
            status, ctype, text = await _post(client, url, body.encode("utf-8"))
            if status == 200:
                await run_in_threadpool(
                    store_cosignature, self.ledger, size, peer.witness.key, text
                )
                peer.size = peer.cosigned = size
                return
            if status == 409 and ctype.startswith(SIZE_TYPE):
                stated = text.strip()
                if not stated.isdigit() or len(stated) > 19:
                    raise _Failure("bad-reply", f"409 with size {stated[:40]!r}")
                peer.size = int(stated)
                continue
            raise _Failure(f"http-{status}", text.strip()[:200])
        raise _Failure("conflict", f"409 twice; the witness has size {peer.size}")

    def _proof(self, old: int, size: int) -> list[str]:
        if old in (0, size):
            return []
        path = self.ledger.consistency_proof(old, size).path
        return [base64.b64encode(h).decode("ascii") for h in path]

    def _failed(self, peer: Peer, kind: str, detail: str) -> None:
        peer.failures += 1
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (peer.failures - 1))
        delay *= random.uniform(0.5, 1.0)
        peer.next_try = time.monotonic() + delay
        if peer.condition != kind:
            peer.condition = kind
            log.warning(
                "witness failed",
                extra={
                    "event": "witness.failure",
                    "witness": peer.witness.name,
                    "url": peer.witness.url,
                    "kind": kind,
                    "detail": detail,
                    "retry_in_s": round(delay, 1),
                },
            )

    def _succeeded(self, peer: Peer, size: int) -> None:
        if peer.condition != "ok":
            log.info(
                "witness cosigned" if peer.condition == "new" else "witness recovered",
                extra={"event": "witness.ok", "witness": peer.witness.name, "size": size},
            )
        peer.condition, peer.failures, peer.next_try = "ok", 0, 0.0


async def _post(client: httpx.AsyncClient, url: str, body: bytes) -> tuple[int, str, str]:
    """POST ``body``; (status, content type, text of at most :data:`MAX_REPLY` bytes)."""
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    async with client.stream("POST", url, content=body, headers=headers) as reply:
        data = bytearray()
        async for chunk in reply.aiter_bytes():
            data += chunk
            if len(data) > MAX_REPLY:
                raise _Failure("bad-reply", f"reply longer than {MAX_REPLY} bytes")
        ctype = reply.headers.get("content-type", "")
        return reply.status_code, ctype, data.decode("utf-8", "replace")


async def wait_witnessed(
    ledger: Ledger, policy: WitnessPolicy, size: int, seconds: float, *, every: float = 0.2
) -> tuple[int, str] | None:
    """The newest witnessed (size, note) once it covers ``size`` entries, waiting at most
    ``seconds`` (capped at :data:`MAX_WAIT`); ``None`` on time-out. Polls the database every
    ``every`` seconds from the thread pool (the collector may run in another process);
    while asleep it holds no thread and no connection."""
    deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WAIT)
    while True:
        found = await run_in_threadpool(newest_witnessed, ledger, policy)
        if found is not None and found[0] >= size:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        await asyncio.sleep(min(every, left))


def prefer_wait(header: str | None) -> float:
    """Seconds a write asks to wait for the quorum: the ``wait`` preference of an RFC 7240
    ``Prefer`` header (``Prefer: wait=10``), capped at :data:`MAX_WAIT`; 0 if absent or
    not a number."""
    for pref in (header or "").split(","):
        name, _, value = pref.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                seconds = float(value.strip().strip('"'))
            except ValueError:
                return 0.0
            return min(max(seconds, 0.0), MAX_WAIT) if seconds == seconds else 0.0
    return 0.0


async def witnessed_receipts(
    ledger: Ledger, policy: WitnessPolicy, receipts: Sequence[Receipt], wait: float
) -> list[dict[str, Any]]:
    """The receipts' JSON (:func:`api.receipts.witnessed_json`) against the newest witnessed
    checkpoint, after waiting up to ``wait`` seconds for one that covers them all. Without
    waiting, entries this request appended are answered unwitnessed without a look-up (the
    collector has not even seen their checkpoint)."""
    found: tuple[int, str] | None = None
    if wait > 0 and receipts:
        cover = max(r.index for r in receipts) + 1
        found = await wait_witnessed(ledger, policy, cover, wait)
    elif any(r.duplicate for r in receipts):  # entries just appended are not witnessed yet
        found = await run_in_threadpool(newest_witnessed, ledger, policy)
    return await run_in_threadpool(witnessed_json, ledger, receipts, found)
