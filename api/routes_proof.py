"""``GET /v1/entries/{index}/tlog-proof``: an offline proof of one entry (C2SP tlog-proof,
FORMAT.md §15), to check with ``gongxin-verify proof FILE --log-key K``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.problems import Problem
from api.state import ServerState, server
from ledger.cosigning import cosigned_note
from ledger.tlog_proof import tlog_proof

router = APIRouter(prefix="/v1/entries", tags=["日志 log"])
State = Annotated[ServerState, Depends(server)]


@router.get(
    "/{index}/tlog-proof",
    summary="离线证明 Offline proof of one entry (C2SP tlog-proof)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def entry_tlog_proof(st: State, index: Annotated[int, Path(ge=0, le=2**63 - 1)]) -> Response:
    """The entry line, its inclusion path and a checkpoint: with ``--witness-policy``, the
    newest one the policy's quorum cosigned that covers the entry (else the latest, with the
    cosignatures collected so far); without, the latest. 404 for an index not yet logged.
    Cost: a few indexed reads and O(log n) hashing."""
    size, note = st.sync()
    if index >= size:
        raise Problem(404, "not_found", f"条目 {index} 尚不存在 no entry {index} yet (size {size})")
    witnessed = st.witnessed()
    if witnessed is not None and index < witnessed[0]:
        size, note = witnessed
    elif st.witness_policy is not None:
        note = cosigned_note(st.ledger, size) or note
    data = tlog_proof(st.ledger, index, size, note)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="entry-{index}.tlog-proof"'},
    )
