"""Writing (docs/API.md §2): signed submissions in, receipts out."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.jsonbody import batch_items, read_body
from api.models import ReceiptBody, ReceiptsBody, submission_schema
from api.problems import Problem, from_error, not_found
from api.receipts import receipts_json, witnessed_json
from api.state import ServerState, server
from api.witnessing import prefer_wait, witnessed_receipts
from verifier.core.errors import GongxinError

log = logging.getLogger("gongxin.api")
router = APIRouter(prefix="/v1", tags=["写入 write"])
State = Annotated[ServerState, Depends(server)]


def _body_doc(schema: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": what,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _json(body: Any, status: int, timing: str, wait: float = 0.0) -> Response:
    """A JSON reply encoded with orjson (a batch's receipts are about 2 KB each)."""
    headers = {"Server-Timing": timing}
    if wait > 0:
        headers["Preference-Applied"] = f"wait={wait:g}"
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


async def _append(
    st: ServerState, items: list[bytes], *, single: bool = False, wait: float = 0.0
) -> tuple[list[dict[str, Any]], int, str]:
    """Append ``items`` through the sequencer; (receipts, status, Server-Timing value).
    With a witness policy the receipts say whether they are witnessed, after waiting up to
    ``wait`` seconds for the quorum (``Prefer: wait=N``; docs/API.md "Witnessing")."""
    if st.sequencer is None:
        raise Problem(503, "server.read_only", "只读服务 this server is read-only (no log key)")
    t0 = time.perf_counter()
    try:
        receipts = await st.sequencer.submit(items)
    except GongxinError as exc:
        problem = from_error(exc)
        if single and problem.field and problem.field.startswith("batch[0]"):
            problem.field = problem.field.removeprefix("batch[0]").lstrip(".") or None
        st.metrics.rejected.inc(label_value=problem.code)
        log.info(
            "write refused",
            extra={
                "event": "reject",
                "rule": problem.code,
                "field": problem.field,
                "statements": len(items),
            },
        )
        raise problem from None
    t1 = time.perf_counter()
    if st.witness_policy is None:
        body = await run_in_threadpool(receipts_json, st.ledger, receipts)
    else:
        body = await witnessed_receipts(st.ledger, st.witness_policy, receipts, wait)
    t2 = time.perf_counter()
    st.metrics.write_seconds.observe(t2 - t0)
    new = [r.index for r in receipts if not r.duplicate]
    log.info(
        "appended",
        extra={
            "event": "append",
            "statements": len(receipts),
            "new": len(new),
            "first_index": new[0] if new else None,
            "ms": round((t2 - t0) * 1000, 1),
        },
    )
    timing = f"append;dur={(t1 - t0) * 1000:.1f}, proof;dur={(t2 - t1) * 1000:.1f}"
    return body, 200 if all(r.duplicate for r in receipts) else 201, timing


@router.post(
    "/statements",
    summary="提交一条签名声明 Submit one signed statement",
    response_model=ReceiptBody,
    status_code=201,
    responses={200: {"model": ReceiptBody, "description": "重复提交 duplicate"}},
    openapi_extra=_body_doc(submission_schema(), "RFC 8785 canonical submission"),
)
async def submit_statement(request: Request, st: State) -> Response:
    """The body is one submission in RFC 8785 canonical JSON (FORMAT.md §3.3). 201 with the
    receipt; 200 with the original receipt for an identical resubmission; 409 for the same
    id with other content; 422 naming the rule for an invalid entry."""
    body = await read_body(request, st.settings.max_body)
    wait = prefer_wait(request.headers.get("prefer")) if st.witness_policy else 0.0
    receipts, status, timing = await _append(st, [body], single=True, wait=wait)
    return _json(receipts[0], status, timing, wait)


@router.post(
    "/statements/batch",
    summary="批量提交 Submit a batch atomically",
    response_model=ReceiptsBody,
    status_code=201,
    responses={200: {"model": ReceiptsBody, "description": "全部重复 all duplicates"}},
    openapi_extra=_body_doc(
        {"type": "array", "minItems": 1, "maxItems": 1000, "items": submission_schema()},
        "canonical JSON array of submissions",
    ),
)
async def submit_batch(request: Request, st: State) -> Response:
    """A canonical JSON array of 1 … 1000 submissions, appended all or nothing."""
    body = await read_body(request, st.settings.max_body)
    wait = prefer_wait(request.headers.get("prefer")) if st.witness_policy else 0.0
    receipts, status, timing = await _append(st, batch_items(body), wait=wait)
    return _json({"receipts": receipts}, status, timing, wait)


@router.get(
    "/statements/{statement_id}",
    summary="查询声明回执 Receipt of a logged statement",
    response_model=ReceiptBody,
    response_model_exclude_unset=True,
)
def get_statement(
    st: State,
    statement_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", max_length=36)],
) -> dict[str, Any]:
    st.sync()
    receipt = st.ledger.receipt_of(statement_id)
    if receipt is None:
        raise not_found("声明 statement", statement_id)
    if st.witness_policy is not None:
        return witnessed_json(st.ledger, [receipt], st.witnessed())[0]
    return receipts_json(st.ledger, [receipt])[0]
