"""The log at fixed paths for evaluators' scripts (docs/API.md §3)."""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from api.export_stream import ExportResponse, busy, export_slots, zip_stream
from api.models import ConsistencyBody, InclusionBody
from api.problems import Problem
from api.state import ServerState, server
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
    return PlainTextResponse(st.sync()[1], media_type="text/plain; charset=utf-8")


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


@router.get(
    "/export",
    summary="导出包（zip）The export bundle as one zip download (FORMAT.md §9)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        503: {"description": "export.busy: every export slot is in use (Retry-After)"},
    },
)
def export(request: Request, st: State) -> StreamingResponse:
    """The bundle of the latest checkpoint, zipped while it is sent (:mod:`api.export_stream`):
    exactly the entries that checkpoint covers, no temporary copy. At most
    ``--export-streams`` at a time per process; the excess gets 503 ``export.busy``."""
    limit = st.settings.export_streams
    release = export_slots(request.app, limit).try_acquire()
    if release is None:
        raise busy(limit)
    try:
        size, note = st.sync()
        body = zip_stream(
            entry_pages(st.ledger, size), note.encode("utf-8"), f"{st.log_vkey}\n".encode()
        )
        origin = re.sub(r"[^A-Za-z0-9._-]", "_", st.ledger.origin or "log")
        return ExportResponse(
            body,
            release,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{origin}-{size}.zip"',
                "Cache-Control": "no-store",
            },
        )
    except BaseException:
        release()
        raise
