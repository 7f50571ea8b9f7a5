"""The log at fixed paths for evaluators' scripts (docs/API.md §3)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, StreamingResponse

from api.export_cache import ExportCache, default_directory, file_chunks, tee_into
from api.export_stream import ExportResponse, busy, export_slots, rate_limited, zip_stream
from api.models import ConsistencyBody, InclusionBody
from api.problems import Problem
from api.state import ServerState, server
from ledger.cosigning import cosigned_note, newest_witnessed
from ledger.export import entry_pages

router = APIRouter(prefix="/v1/log", tags=["日志 log"])
State = Annotated[ServerState, Depends(server)]
_B64 = base64.b64encode
#: Most entry lines one ``GET /v1/log/entries`` returns (docs/API.md §3); the whole log is
#: ``GET /v1/log/export`` (capped in concurrency) or pages of this many.
MAX_ENTRIES_PAGE = 10_000


def _range(what: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise Problem(
            400,
            "request.parameter",
            f"{what} 须在 {low} 与 {high} 之间 must be between {low} and {high}",
            field=what,
        )
    return value


@router.get(
    "/checkpoint",
    summary="最新签名检查点 Latest signed checkpoint (C2SP)",
    response_class=PlainTextResponse,
)
def checkpoint(st: State) -> PlainTextResponse:
    """The latest checkpoint. With ``--witness-policy``: followed by the cosignature lines
    collected for it so far, and the header ``Gongxin-Witnessed: true`` once they satisfy
    the policy's quorum (``false`` until then)."""
    size, note = st.sync()
    if st.witness_policy is None:
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")
    cosigned = cosigned_note(st.ledger, size) or note
    witnessed = st.witnessed()
    done = witnessed is not None and witnessed[0] >= size
    return PlainTextResponse(
        cosigned,
        media_type="text/plain; charset=utf-8",
        headers={"Gongxin-Witnessed": "true" if done else "false"},
    )


@router.get("/key", summary="日志公钥 The log's public key", response_class=PlainTextResponse)
def log_key(st: State) -> PlainTextResponse:
    return PlainTextResponse(st.log_vkey + "\n", media_type="text/plain; charset=utf-8")


@router.get(
    "/entries",
    summary="条目（JSON Lines）Entry lines, byte-identical to entries.jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}}},
)
def entries(
    st: State,
    start: Annotated[int, Query(ge=0, description="first index 起始序号")] = 0,
    end: Annotated[
        int | None,
        Query(
            ge=0,
            description=f"end (exclusive) 结束序号（不含）; at most start + {MAX_ENTRIES_PAGE:,}, "
            f"default min(start + {MAX_ENTRIES_PAGE:,}, size)",
        ),
    ] = None,
) -> StreamingResponse:
    """Entry lines ``[start, end)``: at most :data:`MAX_ENTRIES_PAGE` (a larger range is 400
    naming ``end``), read in pages on a connection of their own
    (:func:`ledger.export.entry_pages`). Cost: O(end - start)."""
    size = st.sync()[0]
    if end is None:
        end = min(size, start + MAX_ENTRIES_PAGE)
    else:
        _range("end", end, 0, size)
    _range("start", start, 0, end)
    if end - start > MAX_ENTRIES_PAGE:
        raise Problem(
            400,
            "request.parameter",
            f"每次最多 {MAX_ENTRIES_PAGE} 条 at most {MAX_ENTRIES_PAGE} entries per request: "
            f"end - start must be ≤ {MAX_ENTRIES_PAGE} (fetch the log in pages, or "
            "GET /v1/log/export)",
            field="end",
        )
    return StreamingResponse(
        entry_pages(st.ledger, end, start=start), media_type="application/jsonl"
    )


@router.get(
    "/proof/inclusion",
    summary="包含证明 Inclusion proof (RFC 9162 §2.1.3)",
    response_model=InclusionBody,
)
def inclusion(
    st: State,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    current = st.sync()[0]
    size = current if size is None else _range("size", size, 1, current)
    _range("index", index, 0, size - 1)
    p = st.ledger.inclusion_proof(index, size)
    return {
        "leaf_index": p.leaf_index,
        "tree_size": p.tree_size,
        "root": _B64(p.root).decode(),
        "inclusion_path": [_B64(h).decode() for h in p.path],
    }


@router.get(
    "/proof/consistency",
    summary="一致性证明 Consistency proof (RFC 9162 §2.1.4)",
    response_model=ConsistencyBody,
)
def consistency(
    st: State,
    size1: Annotated[int, Query(ge=1)],
    size2: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    current = st.sync()[0]
    size2 = current if size2 is None else _range("size2", size2, 1, current)
    _range("size1", size1, 1, size2)
    p = st.ledger.consistency_proof(size1, size2)
    return {
        "tree_size_1": p.size1,
        "tree_size_2": p.size2,
        "root_1": _B64(p.root1).decode(),
        "root_2": _B64(p.root2).decode(),
        "consistency_path": [_B64(h).decode() for h in p.path],
    }


def _open_cached(path: Path) -> BinaryIO | None:
    """The cached zip opened, or ``None`` if a newer export removed it just now."""
    try:
        return open(path, "rb")  # closed by file_chunks when the stream ends
    except OSError:
        return None


def export_cache(app: FastAPI, st: ServerState) -> ExportCache | None:
    """This app's export cache (:mod:`api.export_cache`), or ``None`` when disabled."""
    seconds = st.settings.export_cache_seconds
    if seconds <= 0:
        return None
    cache: ExportCache | None = getattr(app.state, "export_cache", None)
    if cache is None:
        cache = ExportCache(default_directory(st.settings.database_url), seconds)
        app.state.export_cache = cache
    return cache


@router.get(
    "/export",
    summary="导出包（zip）The export bundle as one zip download (FORMAT.md §9)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        429: {"description": "export.rate_limited: this address's downloads a minute are used"},
        503: {"description": "export.busy: every export slot is in use (Retry-After)"},
    },
)
async def export(request: Request, st: State) -> StreamingResponse:
    """The bundle of a recent checkpoint as a zip: the newest export built within
    ``--export-cache-seconds`` (default 60) if there is one (:mod:`api.export_cache`),
    else the latest checkpoint's, zipped while it is sent (:mod:`api.export_stream`) and
    kept for the next downloads. Either way exactly the entries its checkpoint covers (the
    file name gives the size). At most ``--exports-per-minute`` per client address (429
    ``export.rate_limited``) and ``--export-streams`` at a time per process (503
    ``export.busy``): a storm from one address costs refusals, not downloads."""
    # The slot is taken on the event loop: a refused download (503) costs no thread.
    limit = st.settings.export_streams
    slots = export_slots(request.app, limit)
    release = slots.try_acquire()
    if release is None:
        raise busy(limit)
    # Only downloads that got a slot count: a client retrying after 503 spends nothing.
    wait = st.export_limiter.check(st.client(request))
    if wait > 0:
        release()
        raise rate_limited(wait, st.settings.exports_per_minute)
    try:
        return await run_in_threadpool(_export_response, request, st, slots.pool, release)
    except BaseException:
        release()
        raise


def _export_checkpoint(st: ServerState) -> tuple[int, str, bool]:
    """(size, note, witnessed) of the checkpoint to export: the latest; with a witness
    policy, the newest one its quorum cosigned (as ``/checkpoint`` serves), or — while none
    is — the latest with the cosignatures collected so far, not witnessed."""
    size, note = st.sync()
    if st.witness_policy is None:
        return size, note, True
    witnessed = newest_witnessed(st.ledger, st.witness_policy)
    if witnessed is not None:
        return witnessed[0], witnessed[1], True
    return size, cosigned_note(st.ledger, size) or note, False


def _export_response(
    request: Request, st: ServerState, pool: Executor, release: Callable[[], None]
) -> StreamingResponse:
    """The download, from the export cache or built now (slot ``release`` held)."""
    origin = re.sub(r"[^A-Za-z0-9._-]", "_", st.ledger.origin or "log")
    cache = export_cache(request.app, st)
    cached = cache.fresh() if cache is not None else None
    opened = _open_cached(cached.path) if cached is not None else None
    body: Iterator[bytes]
    if cached is not None and opened is not None:
        size, body, chunk_pool = cached.size, file_chunks(opened), None  # a file: cheap
    else:
        size, note, witnessed = _export_checkpoint(st)
        zipped = zip_stream(
            entry_pages(st.ledger, size), note.encode("utf-8"), f"{st.log_vkey}\n".encode()
        )
        keep = cache is not None and witnessed  # never serve an unwitnessed one for a minute
        body = tee_into(zipped, cache.writer(size) if keep and cache is not None else None)
        chunk_pool = pool
    return ExportResponse(
        body,
        release,
        chunk_pool,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{origin}-{size}.zip"',
            "Cache-Control": "no-store",
        },
    )
