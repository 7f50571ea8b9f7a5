"""The FastAPI application (docs/API.md): ``create_app(settings)``.

Routes by audience: writing (:mod:`api.routes_write`), the log for evaluators
(:mod:`api.routes_log`), public domain reads (:mod:`api.routes_domain`), residents
(:mod:`api.routes_residents` and the ``/credits`` page), plus ``/healthz`` and an offline
``/docs`` page. The ledger is opened (and replayed) when the app starts and closed when it
stops; queued writes are finished first.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from api import (
    credits_page,
    openapi,
    problems,
    routes_domain,
    routes_log,
    routes_proof,
    routes_residents,
    routes_tiles,
    routes_write,
)
from api.brake import RefusalBrake
from api.headers import NoSniff
from api.memory import pin_mmap_threshold
from api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from api.models import Health
from api.settings import Settings
from api.state import ServerState
from verifier.cli.runtime import tune_for_long_lived_heap

DESCRIPTION = """公信账本接口：提交签名声明、读取日志与证明、公开资金信息、居民积分查询。
Gongxin ledger API: submit signed statements, read the log and its proofs, public fund
information, residents' credits. Errors are RFC 9457 problem+json (docs/API.md)."""


#: Environment variable carrying :class:`Settings` (JSON) to worker processes.
SETTINGS_ENV = "GONGXIN_SERVE_SETTINGS"


def app_from_env() -> FastAPI:
    """The app of a worker process started by ``gongxin serve --workers N`` (a uvicorn
    factory): settings from :data:`SETTINGS_ENV`, the key passphrase from
    ``GONGXIN_KEY_PASSPHRASE``."""
    return create_app(
        Settings.from_json(os.environ[SETTINGS_ENV], os.environ.get("GONGXIN_KEY_PASSPHRASE"))
    )


def create_app(settings: Settings, *, state: ServerState | None = None) -> FastAPI:
    """The application for ``settings``. The ledger opens at start-up (O(n) replay), unless
    an open ``state`` is given (tests, benchmarks); either way it is closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pin_mmap_threshold()  # each worker process: see api/memory.py
        opened = state if state is not None else ServerState.open(settings)
        # Keep the cyclic GC off what start-up built (the replayed state, imports, the app): a
        # full collection walks every tracked object, and a 20k-entry server holds ~100k of
        # them (measured: 48–71 ms per full collection, a stall for every request in flight);
        # see verifier/cli/runtime.py. Once per worker, after the ledger is open; cost: one
        # full collection, now.
        tune_for_long_lived_heap()
        app.state.server = opened
        app.state.log_vkey = opened.log_vkey
        collecting = _start_witnessing(opened)
        try:
            yield
        finally:
            if collecting is not None:
                collecting.cancel()
                with suppress(asyncio.CancelledError):
                    await collecting
            app.state.server = None
            opened.close()

    app = FastAPI(
        title="公信 Gongxin",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(NoSniff)
    app.add_middleware(RefusalBrake, delay=settings.refusal_delay)
    problems.install(app)
    openapi.install(app)
    for module in (
        routes_write,
        routes_log,
        routes_domain,
        routes_residents,
        routes_tiles,
        routes_proof,
    ):
        app.include_router(module.router)
    _mount_pages(app)

    @app.get("/healthz", summary="健康检查 Health", response_model=Health, tags=["运维 ops"])
    def healthz(request: Request) -> dict[str, Any]:
        st: ServerState | None = getattr(request.app.state, "server", None)
        if st is None:
            return {"status": "starting", "tree_size": 0, "origin": None}
        return {"status": "ok", "tree_size": st.sync()[0], "origin": st.ledger.origin}

    if settings.metrics:
        _mount_metrics(app)
    return app


def _start_witnessing(st: ServerState) -> asyncio.Task[None] | None:
    """With a witness policy and the log key, the cosignature collector
    (:mod:`api.witnessing`; one per deployment through its lease) as a background task."""
    if st.witness_policy is None or st.sequencer is None:
        return None
    from api.witnessing import Collector

    return asyncio.create_task(Collector(st.ledger, st.witness_policy, st.sync).run())


def _mount_metrics(app: FastAPI) -> None:
    """``/metrics`` — only with ``gongxin serve --metrics`` (otherwise 404): the figures
    tell an outsider how busy the log is and which rules refuse what."""

    @app.get(
        "/metrics",
        summary="运行指标 Prometheus metrics (only with --metrics)",
        tags=["运维 ops"],
        response_class=PlainTextResponse,
    )
    def metrics(request: Request) -> PlainTextResponse:
        st: ServerState | None = getattr(request.app.state, "server", None)
        if st is None:
            return PlainTextResponse("", media_type=METRICS_CONTENT_TYPE)
        return PlainTextResponse(
            st.metrics.render(st.ledger.published()[0]), media_type=METRICS_CONTENT_TYPE
        )


def _mount_pages(app: FastAPI) -> None:
    """``/docs`` from the local Swagger UI files (government intranets have no CDN) and the
    residents' ``/credits`` page."""
    app.mount(
        "/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="公信 Gongxin API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
            # No online validator badge: nothing may leave the intranet.
            swagger_ui_parameters={"validatorUrl": None},
        )

    credits_page.mount(app)
