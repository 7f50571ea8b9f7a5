"""Public domain reads (docs/API.md §4, 政府信息公开): funds, contracts, payments, providers
and their traces, from the replayed rulebook state (FORMAT.md §10) and the ``postings``
index in the database (:mod:`ledger.postings`). Every object names the entry that created it
(``index``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query

from api.models import (
    ContractBody,
    ContractPage,
    FundBody,
    FundPage,
    PaymentBody,
    PaymentPage,
    ProviderBody,
    ProviderPage,
    TraceBody,
)
from api.problems import not_found
from api.state import ServerState, server
from ledger.postings import trace_postings
from ledger.trace import TARGET_NAMES, assemble_trace
from verifier.rules.funds import Contract, Fund, FundBook, Party, Payment

router = APIRouter(prefix="/v1", tags=["信息公开 public information"])
State = Annotated[ServerState, Depends(server)]
Offset = Annotated[int, Query(ge=0, description="skip this many 跳过条数")]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many 最多条数")]
MAX_TRACE_PAGE = 1000
"""Most entries one ``/v1/trace`` reply carries (issue 13: every listing is paged)."""
DEFAULT_TRACE_PAGE = 200
Ident = Annotated[str, Path(min_length=1, max_length=128)]
T = TypeVar("T")


def _page(items: Iterable[T], offset: int, limit: int, to_json: Callable[[T], Any]) -> Any:
    values = list(items)
    return {
        "total": len(values),
        "offset": offset,
        "items": [to_json(v) for v in values[offset : offset + limit]],
    }


def fund_json(f: Fund) -> dict[str, Any]:
    return {
        "fund_id": f.fund_id,
        "source": f.source,
        "fiscal_year": f.fiscal_year,
        "programme": f.programme,
        "appropriated_fen": f.appropriated,
        "contracted_fen": f.contracted,
        "paid_fen": f.paid,
        "unallocated_fen": f.unallocated,
        "index": f.index,
    }


def contract_json(c: Contract) -> dict[str, Any]:
    return {
        "contract_id": c.contract_id,
        "fund_id": c.fund_id,
        "provider": c.provider,
        "total_fen": c.total,
        "paid_fen": c.paid,
        "milestones": [
            {
                "milestone_id": mid,
                "amount_fen": m.amount,
                "committed_fen": m.committed,
                "paid_fen": m.paid,
            }
            for mid, m in c.milestones.items()
        ],
        "index": c.index,
    }


def payment_json(p: Payment) -> dict[str, Any]:
    return {
        "payment_id": p.payment_id,
        "contract_id": p.contract_id,
        "milestone_id": p.milestone_id,
        "amount_fen": p.amount,
        "invoice_no": p.invoice_no,
        "proposer": p.proposer,
        "state": p.state,
        "index": p.index,
    }


def _provider_json(book: FundBook) -> Callable[[Party], dict[str, Any]]:
    by_provider: dict[str, list[Contract]] = {}
    for c in book.contracts.values():
        by_provider.setdefault(c.provider, []).append(c)

    def to_json(p: Party) -> dict[str, Any]:
        mine = by_provider.get(p.party_id, [])
        return {
            "party_id": p.party_id,
            "name": p.name,
            "uscc": p.uscc,
            "contracts": [c.contract_id for c in mine],
            "contracted_fen": sum(c.total for c in mine),
            "paid_fen": sum(c.paid for c in mine),
            "index": p.index,
        }

    return to_json


def _book(st: ServerState) -> FundBook:
    rules = st.ledger.state.rulebook
    book = getattr(rules, "funds", None)
    assert isinstance(book, FundBook)
    return book


@router.get("/funds", summary="资金列表 Funds", response_model=FundPage)
def funds(st: State, offset: Offset = 0, limit: Limit = 100) -> Any:
    with st.reading():
        return _page(_book(st).funds.values(), offset, limit, fund_json)


@router.get("/funds/{fund_id}", summary="资金 One fund", response_model=FundBody)
def fund(st: State, fund_id: Ident) -> Any:
    with st.reading():
        f = _book(st).funds.get(fund_id)
        if f is None:
            raise not_found("资金 fund", fund_id)
        return fund_json(f)


@router.get("/contracts", summary="合同列表 Contracts", response_model=ContractPage)
def contracts(st: State, offset: Offset = 0, limit: Limit = 100) -> Any:
    with st.reading():
        return _page(_book(st).contracts.values(), offset, limit, contract_json)


@router.get(
    "/contracts/{contract_id}",
    summary="合同 One contract",
    response_model=ContractBody,
)
def contract(st: State, contract_id: Ident) -> Any:
    with st.reading():
        c = _book(st).contracts.get(contract_id)
        if c is None:
            raise not_found("合同 contract", contract_id)
        return contract_json(c)


@router.get("/payments", summary="付款列表 Payments", response_model=PaymentPage)
def payments(st: State, offset: Offset = 0, limit: Limit = 100) -> Any:
    with st.reading():
        return _page(_book(st).payments.values(), offset, limit, payment_json)


@router.get(
    "/payments/{payment_id}",
    summary="付款 One payment",
    response_model=PaymentBody,
)
def payment(st: State, payment_id: Ident) -> Any:
    with st.reading():
        p = _book(st).payments.get(payment_id)
        if p is None:
            raise not_found("付款 payment", payment_id)
        return payment_json(p)


def _providers(book: FundBook) -> list[Party]:
    return [p for p in book.parties.values() if p.type != "community"]


@router.get("/providers", summary="服务商列表 Providers", response_model=ProviderPage)
def providers(st: State, offset: Offset = 0, limit: Limit = 100) -> Any:
    with st.reading():
        book = _book(st)
        return _page(_providers(book), offset, limit, _provider_json(book))


@router.get(
    "/providers/{party_id}",
    summary="服务商 One provider",
    response_model=ProviderBody,
)
def provider(st: State, party_id: Ident) -> Any:
    with st.reading():
        book = _book(st)
        p = book.parties.get(party_id)
        if p is None or p.type == "community":
            raise not_found("服务商 provider", party_id)
        return _provider_json(book)(p)


@router.get(
    "/trace/{target}/{ident}",
    summary="追溯 Trace a fund, contract, payment or provider",
    response_model=TraceBody,
)
def trace(
    st: State,
    target: Annotated[str, Path(pattern="^(fund|contract|payment|provider)$")],
    ident: Ident,
    after: Annotated[
        int, Query(ge=-1, description="entries after this index 从此序号之后 (-1: from the start)")
    ] = -1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_TRACE_PAGE, description="at most this many entries 最多条目数")
    ] = DEFAULT_TRACE_PAGE,
) -> Any:
    """The chain of entries behind the object, as ``gongxin trace --json`` prints it:
    index, log time, kind, signer and post title, leaf hash, amounts — one page of at most
    ``limit`` entries after index ``after``; ``page.next_after`` continues (``null`` on the
    last page). The summary always covers every entry. From the ``postings`` index
    (:mod:`ledger.postings`): O(log n + k) postings, and only the page's entries are read."""
    size = st.sync()[0]
    with st.ledger.engine.connect() as conn:
        postings, own = trace_postings(conn, target, ident, size)
        if not own:
            raise not_found(TARGET_NAMES[target], ident)
        indices = sorted({p.index for p in postings})
        later = [i for i in indices if i > after]
        page = set(later[:limit])
        shown = [p for p in postings if p.index in page]
        result = assemble_trace(st.ledger, target, ident, size, shown, own, conn=conn)
    body = result.to_json()
    body["page"] = {
        "after": after,
        "limit": limit,
        "entries_total": len(indices),
        "next_after": later[limit - 1] if len(later) > limit else None,
    }
    return body
