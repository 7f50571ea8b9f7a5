"""Headers every response carries: ``X-Content-Type-Options: nosniff`` (a browser must not
guess a JSON reply, a problem or a static file to be HTML or script).

A pure ASGI middleware (no per-request task, streaming bodies untouched). Problems raised as
500 are answered by Starlette's outermost error handler, outside every middleware, so
:meth:`api.problems.Problem.response` sets the header itself as well.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Added to every HTTP response's headers.
SECURITY_HEADERS: dict[str, str] = {"X-Content-Type-Options": "nosniff"}
_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]


class NoSniff:
    """Adds :data:`SECURITY_HEADERS` to each ``http.response.start`` that lacks them. O(1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _RAW if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
