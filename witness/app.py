"""The witness's HTTP interface (FastAPI): ``POST /add-checkpoint`` (C2SP tlog-witness).

The body is read chunk by chunk and refused with 413 as soon as it exceeds
:data:`witness.protocol.MAX_BODY`, before any parsing; the decision (signature check, proof,
fsync'd store, cosignature) runs in the thread pool so the event loop never blocks on it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from witness.protocol import MAX_BODY, Witness


def create_app(witness: Witness, max_body: int = MAX_BODY) -> FastAPI:
    """The ASGI app serving ``witness``."""
    app = FastAPI(title="Gongxin witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            return Response(b"request body too large\n", 413, media_type="text/plain")
        chunks: list[bytes] = []
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_body:
                return Response(b"request body too large\n", 413, media_type="text/plain")
            chunks.append(chunk)
        reply = await run_in_threadpool(witness.add_checkpoint, b"".join(chunks))
        # The content type exactly as given (tlog-witness asks for bare ``text/x.tlog.size``;
        # Starlette would append a charset to a ``media_type``).
        return Response(reply.body, reply.status, headers={"content-type": reply.content_type})

    return app
