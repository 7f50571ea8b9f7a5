"""Residents' credits by lookup code (docs/API.md §5), each history entry with its inclusion
proof against the checkpoint in the same reply, so the phone page can check it itself.

The reply holds no personal data: the pseudonym, and what the public log holds anyway.
Every reply to a look-up, error or not, carries ``Cache-Control: no-store``.

Admission (api/ratelimit.py), cheapest first: the client's own token bucket (its address
from :func:`api.ratelimit.client_address`), the body (≤ 4 KiB) and the code's form (malformed
→ 404, a retired 8-digit code → 404 ``lookup.code_retired``, neither costs a derivation),
then — while this worker is writing, for an address that has looked up before lately — a
share of one derivation a second (``LookupLimiter.repeat_may_derive``, else 429), then a slot among the worker's derivation slots (≤ 1 s wait, else 429), then scrypt.
"""

from __future__ import annotations

import base64
import calendar
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.jsonbody import read_body, strict_json
from api.models import LookupRequest, ResidentBody
from api.problems import Problem
from api.ratelimit import Busy
from api.state import ServerState, server
from ledger.cosigning import cosigned_note
from ledger.postings import credits_of
from ledger.residents import RetiredLookupCode, normalize_lookup_code
from ledger.trace import lines_at
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.reports.figures import CREDIT_SIGN
from verifier.reports.tracing import describe
from verifier.rules.credits import CreditBook

router = APIRouter(prefix="/v1/residents", tags=["居民 residents"])
State = Annotated[ServerState, Depends(server)]


NO_STORE = {"Cache-Control": "no-store"}


def _too_many(wait: int, why: str) -> Problem:
    return Problem(
        429,
        "rate_limited",
        f"{why}，请 {wait} 秒后再试 too many look-ups; retry in {wait} s",
        headers={"Retry-After": str(wait), **NO_STORE},
    )


def expires_after(month: str, expiry_months: int) -> str:
    """The last day on which points earned in ``month`` (``YYYY-MM``) are valid: the end of
    month M + expiry_months − 1 (FORMAT.md §10.4, ``credit.expire``)."""
    n = int(month[:4]) * 12 + int(month[5:7]) - 1 + expiry_months - 1
    year, mon = divmod(n, 12)
    return f"{year:04d}-{mon + 1:02d}-{calendar.monthrange(year, mon + 1)[1]:02d}"


@router.post(
    "/lookup",
    summary="按查询码查询积分 A resident's credits by lookup code",
    response_model=ResidentBody,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LookupRequest.model_json_schema()}},
        }
    },
)
async def lookup(request: Request, response: Response, st: State) -> dict[str, Any]:
    """Balance, lots with expiry dates and history, with inclusion proofs. Throttled per
    client address; at most one key derivation per core at once (429 with ``Retry-After``
    for either). Never cached (``Cache-Control: no-store``)."""
    response.headers.update(NO_STORE)
    try:
        return await _lookup(request, st)
    except Problem as problem:
        problem.headers = {**(problem.headers or {}), **NO_STORE}
        raise


async def _lookup(request: Request, st: State) -> dict[str, Any]:
    client = st.client(request)
    wait = st.limiter.check(client)
    if wait:
        st.metrics.lookups.inc(label_value="rate_limited")
        raise _too_many(int(wait) + 1, "查询过于频繁")
    value = strict_json(await read_body(request, 4096))
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, str) or len(code) > 64:
        raise Problem(400, "request.json", "须提供查询码 code is required", field="code")
    try:
        canonical = normalize_lookup_code(code)
    except RetiredLookupCode as exc:
        st.metrics.lookups.inc(label_value="not_found")
        raise Problem(404, "lookup.code_retired", str(exc), field="code") from None
    priority = st.limiter.used(client)
    writing = st.sequencer is not None and st.sequencer.recently_busy()
    if canonical is not None and not st.limiter.repeat_may_derive(priority, writing):
        st.metrics.lookups.inc(label_value="rate_limited")
        raise _too_many(2, "查询繁忙")
    try:
        ref = None
        if canonical is not None:
            ref = await st.limiter.derivations.derive(
                st.register.find_by_lookup_code, canonical, priority=priority
            )
    except Busy:
        st.metrics.lookups.inc(label_value="rate_limited")
        raise _too_many(1, "查询繁忙") from None
    st.metrics.lookups.inc(label_value="found" if ref else "not_found")
    if ref is None:
        raise Problem(
            404, "not_found", "查询码无效或已注销 no resident has this lookup code", field="code"
        )
    return await run_in_threadpool(resident_view, st, ref)


def resident_view(st: ServerState, ref: str) -> dict[str, Any]:
    """The reply for ``ref``: the lots from the replayed state, the history from the
    ``postings`` index (:mod:`ledger.postings`). O(k log n) for k history entries."""
    with st.reading():
        size, note = st.ledger.published()
        credits = getattr(st.ledger.state.rulebook, "credits", None)
        assert isinstance(credits, CreditBook)
        lots = list(credits.lots.get(ref, ()))
        policy = getattr(st.ledger.state.rulebook, "policy", None)
        expiry = policy.expiry_months if policy is not None else 0
    changes: dict[int, int] = {}
    with st.ledger.engine.connect() as conn:
        for p in credits_of(conn, ref, size):
            changes[p.index] = changes.get(p.index, 0) + CREDIT_SIGN[p.event] * p.amount
    indices = sorted(changes)
    paths = st.ledger.inclusion_proofs(indices, size) if indices else []
    history, balance = [], 0
    for (index, line), path in zip(lines_at(st.ledger, indices), paths, strict=True):
        entry = parse_entry_line(line, index)
        balance += changes[index]
        history.append(
            {
                "index": index,
                "kind": entry.statement.kind,
                "log_time": entry.log_time,
                "change_points": changes[index],
                "balance_after": balance,
                "description": describe(entry),
                "entry": line.decode("utf-8"),
                "leaf_hash": merkle.leaf_hash(line).hex(),
                "inclusion_path": [base64.b64encode(h).decode() for h in path],
            }
        )
    return {
        "resident_ref": ref,
        "balance_points": balance,
        "lots": [
            {
                "month": month,
                "community": community,
                "points": points,
                "expires_after": expires_after(month, expiry) if expiry else "",
            }
            for month, community, points in lots
        ],
        "history": history,
        "tree_size": size,
        # With --witness-policy: the witnesses' cosignature lines collected so far for this
        # checkpoint follow the log's (the /credits page names them and checks the quorum).
        "checkpoint": note if st.witness_policy is None else cosigned_note(st.ledger, size) or note,
        "log_key": st.log_vkey,
    }
