"""RFC 9457 problem details (docs/API.md §1): every error the API returns.

A :class:`Problem` is raised anywhere in a request; :func:`install` registers the handlers
that turn it — and FastAPI's own validation errors, unknown routes and anything unexpected —
into ``application/problem+json`` with a Chinese ``title`` and an English ``title_en``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.headers import SECURITY_HEADERS
from verifier.core.errors import GongxinError, InputError, VerificationError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gongxin.api")

#: Titles by HTTP status, Chinese and English.
TITLES: dict[int, tuple[str, str]] = {
    400: ("请求格式错误", "The request is malformed"),
    404: ("未找到", "Not found"),
    405: ("不支持该方法", "Method not allowed"),
    409: ("编号冲突", "Statement id already used for other content"),
    413: ("请求体过大", "Request body too large"),
    415: ("内容类型不支持", "Unsupported media type"),
    422: ("违反账本规则", "The entry breaks a ledger rule"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"),
    503: ("服务暂不可用", "Service unavailable"),
}


class Problem(Exception):
    """An error reply. ``code`` is a FORMAT.md rule id or an API code (docs/API.md §1)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        key_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.field, self.key_id, self.headers = field, key_id, headers

    def body(self) -> dict[str, Any]:
        title, title_en = TITLES.get(self.status, TITLES[500 if self.status >= 500 else 400])
        out: dict[str, Any] = {
            "type": f"urn:gongxin:problem:{self.code}",
            "title": title,
            "title_en": title_en,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.field:
            out["field"] = self.field
        if self.key_id:
            out["key_id"] = self.key_id
        return out

    def response(self) -> JSONResponse:
        # nosniff here too: a 500 is answered outside every middleware (api/headers.py).
        headers = {**SECURITY_HEADERS, **(self.headers or {})}
        return JSONResponse(
            self.body(), status_code=self.status, media_type=PROBLEM_JSON, headers=headers
        )


def from_error(exc: GongxinError) -> Problem:
    """The problem for a ledger or verifier error: ``statement.conflict`` → 409, a rule
    (:class:`VerificationError`, including ``InvalidEntry``) → 422, ``entry.canonical`` →
    400, ``entry.too_long`` → 413, any other :class:`InputError` → 400."""
    if isinstance(exc, VerificationError):
        status = {"statement.conflict": 409, "entry.canonical": 400, "entry.too_long": 413}.get(
            exc.rule, 422
        )
        return Problem(status, exc.rule, exc.detail, field=exc.field, key_id=exc.key_id)
    assert isinstance(exc, InputError)
    if exc.field == "database":
        return Problem(503, "log.unavailable", str(exc.message), field=exc.field)
    return Problem(400, "request.parameter", str(exc.message), field=exc.field)


#: Seconds a client is told to wait after the database failed (``Retry-After``).
DATABASE_RETRY_AFTER = 5


class DatabaseUnavailable(Exception):
    """The database itself failed (locked past its busy time-out, disk full, connection
    lost, an I/O error): nothing of the request was written; trying again later may work.
    Raised by :class:`api.sequencer.Sequencer` for every request of the failed group."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause

    def problem(self) -> Problem:
        return Problem(
            503,
            "server.database",
            "数据库暂不可用，未写入任何内容，请稍后重试 the database failed; nothing of this "
            "request was written — try again later",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )


def is_database_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the database's failure rather than the request's: any SQLAlchemy
    error (``OperationalError``: locked, disk full, I/O error, connection lost) or an
    ``OSError`` (a full or read-only disk)."""
    return isinstance(exc, SQLAlchemyError | OSError | DatabaseUnavailable)


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, "not_found", f"未找到{what} {ident}; no such {what.split()[-1]} {ident!r}")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(GongxinError)
    async def _gongxin(_: Request, exc: GongxinError) -> JSONResponse:
        return from_error(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return Problem(
            400,
            "request.parameter",
            f"参数无效 invalid parameter: {first.get('msg', 'invalid')}",
            field=where or None,
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else f"http.{exc.status_code}"
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        headers = dict(exc.headers) if exc.headers else None
        return Problem(exc.status_code, code, detail, headers=headers).response()

    @app.exception_handler(DatabaseUnavailable)
    async def _database(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("database failure on %s %s: %s", request.method, request.url.path, exc)
        return exc.problem().response()

    # Registered by class so that Starlette's inner ExceptionMiddleware answers them: an error
    # that reaches the catch-all ``Exception`` handler below is answered by the outer
    # ServerErrorMiddleware, which then re-raises it, and uvicorn cuts the connection (a read
    # that met a crashed PostgreSQL got "connection reset" instead of its 503 —
    # tests/test_api_database_failure_pg.py).
    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(OSError)
    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        return await _database(request, DatabaseUnavailable(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_database_failure(exc):  # a read that met the failed database
            return await _database(request, DatabaseUnavailable(exc))
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return Problem(
            500, "internal", "服务器内部错误，已记录 an internal error was logged"
        ).response()
