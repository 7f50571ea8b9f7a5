"""Refusals slow down when the server is busy (issue 13: hostile clients cannot hurt honest ones).

A client that keeps sending what the server refuses — bodies nested too deep, forged
signatures, oversize bodies, wrong look-up codes, downloads while every export slot is taken
— costs the server a little CPU per request, and a script that resends the moment it is
answered turns that into as much CPU as it likes. :class:`RefusalBrake` holds such answers
back for ``delay`` seconds before sending them, but only while this process has at least
``busy`` requests in flight: a quiet server answers every request at once (tests, a
mistyping officer), a loaded one makes each refused connection wait, so a client that waits
for its answer before sending again can cost at most ``1 / delay`` refusals a second per
connection. The wait is a sleeping coroutine (no thread, no CPU), bounded by the
connection cap (``--max-connections``) like any slow reply.

What counts as a refusal: :data:`BRAKED` statuses (a client error the client could have
avoided, or "busy" — 429 and 503 carry ``Retry-After``, which such a client ignores).
409 (a duplicate, an honest retry) and 2xx/3xx are never held. ``gongxin serve
--refusal-delay 0`` turns the brake off.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BRAKED", "DEFAULT_BUSY", "DEFAULT_DELAY", "RefusalBrake"]

#: Statuses held back under load: malformed, unauthorised, unknown, too large, wrong media
#: type, breaking a rule, too many, busy.
BRAKED = frozenset({400, 401, 403, 404, 405, 413, 415, 422, 429, 503})
#: Seconds a refusal waits while the process is busy.
DEFAULT_DELAY = 0.25
#: Requests in flight in this process from which it counts as busy.
DEFAULT_BUSY = 8


class RefusalBrake:
    """Pure ASGI middleware (module docstring). O(1) per request; no state per client."""

    def __init__(
        self, app: ASGIApp, delay: float = DEFAULT_DELAY, busy: int = DEFAULT_BUSY
    ) -> None:
        self.app = app
        self.delay = delay
        self.busy = busy
        #: Requests of this process between their start and their last message sent.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.delay <= 0:
            await self.app(scope, receive, send)
            return

        async def braked_send(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] in BRAKED
                and self.in_flight >= self.busy
            ):
                await asyncio.sleep(self.delay)
            await send(message)

        self.in_flight += 1
        try:
            await self.app(scope, receive, braked_send)
        finally:
            self.in_flight -= 1
