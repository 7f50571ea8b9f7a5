"""The log at fixed paths for evaluators' scripts (docs/API.md §3)."""

from __future__ import annotations

import base64
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.models import ConsistencyBody, InclusionBody
from api.problems import Problem
from api.state import ServerState, server
from ledger.export import export_bundle
from verifier.core.bundle import BUNDLE_FILES

router = APIRouter(prefix="/v1/log", tags=["日志 log"])
State = Annotated[ServerState, Depends(server)]
_B64 = base64.b64encode


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
    end: Annotated[int | None, Query(ge=0, description="end (exclusive) 结束序号（不含）")] = None,
) -> StreamingResponse:
    size = st.sync()[0]
    end = size if end is None else _range("end", end, 0, size)
    _range("start", start, 0, end)

    def lines() -> Iterator[bytes]:
        for line in st.ledger.iter_lines(start, end):
            yield line + b"\n"

    return StreamingResponse(lines(), media_type="application/jsonl")


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
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def export(st: State) -> FileResponse:
    """Writes the bundle to a temporary directory (consistent by construction: exactly the
    entries its checkpoint covers), zips it and streams the file. O(n) time and disk."""
    work = Path(tempfile.mkdtemp(prefix="gongxin-export-"))
    try:
        bundle = work / "gongxin-export"
        st.sync()
        size = export_bundle(st.ledger, bundle)
        archive = work / "export.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in BUNDLE_FILES:
                zf.write(bundle / name, f"gongxin-export/{name}")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    origin = (st.ledger.origin or "log").replace("/", "_")
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"{origin}-{size}.zip",
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
