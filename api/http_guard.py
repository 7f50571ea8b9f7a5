"""Time-outs for slow clients, which uvicorn lacks: an HTTP/1.1 protocol (h11) that closes a
connection whose request *headers* take longer than ``header_timeout`` seconds to arrive, or
whose request *body* takes longer than ``body_timeout`` — counted from the connection's
first byte (or the end of the previous response), not reset by each byte, so a client
dribbling one byte at a time (slowloris) is cut off like a silent one.

uvicorn's own ``timeout_keep_alive`` is cancelled by any byte received, and it has no
header or body time-out at all. ``gongxin serve`` passes :class:`GuardedH11Protocol` as
uvicorn's ``http`` protocol and the time-outs through :data:`TIMEOUTS_ENV` (read when a
worker imports this module, so ``--workers N`` children get them too).
"""

from __future__ import annotations

import asyncio
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Environment variable carrying "header_timeout,body_timeout" (seconds) to every worker.
TIMEOUTS_ENV = "GONGXIN_HTTP_TIMEOUTS"
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0


def timeouts() -> tuple[float, float]:
    """(header, body) time-outs in seconds from :data:`TIMEOUTS_ENV`, else the defaults."""
    raw = os.environ.get(TIMEOUTS_ENV, "")
    try:
        header, body = (float(x) for x in raw.split(","))
    except ValueError:
        return DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT
    return header, body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a header deadline and a body deadline (module doc).
    Cost: one timer per connection, re-armed once per request."""

    header_timeout, body_timeout = timeouts()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: object = h11.IDLE
        super().connection_made(transport)
        self._arm(self.header_timeout, h11.IDLE)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self.header_timeout, h11.IDLE)
            self._follow()  # a pipelined request may already have been read

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    # -- deadlines ------------------------------------------------------------------

    def _follow(self) -> None:
        """Move the deadline on as the client's side of h11 advances: headers read → the
        body's deadline; body read → none (the response is ours to send)."""
        state = self.conn.their_state
        if state is self._phase:
            return
        if state is h11.SEND_BODY:
            self._arm(self.body_timeout, h11.SEND_BODY)
        elif state is not h11.IDLE:
            self._cancel()
            self._phase = state

    def _arm(self, seconds: float, phase: object) -> None:
        self._cancel()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.logger.info("closing a slow client's connection (%s)", self._phase)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
