"""Response bodies of the API (docs/API.md), as pydantic models: they make the OpenAPI
document exact, which is what clients and the schemathesis run check replies against."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProblemBody(BaseModel):
    """RFC 9457 problem details, with Chinese and English titles."""

    type: str
    title: str
    title_en: str
    status: int
    detail: str
    code: str
    field: str | None = None
    key_id: str | None = None


class ReceiptBody(BaseModel):
    """A receipt (docs/API.md §2): where the entry is, the signed checkpoint, the inclusion
    proof. The same members as :mod:`verifier.core.receipt`, which builds and checks it."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, description="the entry's 0-based index in the log")
    statement_id: str = Field(description="the logged statement's id")
    leaf_hash: str = Field(
        pattern="^[0-9a-f]{64}$", description="SHA-256(0x00 ‖ entry), 64 lower-case hex digits"
    )
    entry: str = Field(description="the canonical entry line as logged (FORMAT.md §4)")
    tree_size: int = Field(ge=1, description="the size of the tree the checkpoint signs")
    checkpoint: str = Field(description="signed checkpoint note (C2SP) covering the entry")
    inclusion_path: list[str] = Field(
        description="RFC 9162 inclusion proof of the leaf at index in the tree of tree_size "
        "leaves, standard base64 hashes"
    )
    duplicate: bool = Field(description="false only in the reply to the request that logged it")
    witnessed: bool | None = Field(
        default=None,
        description="only with a witness policy (docs/API.md «Witnessing»): whether the "
        "checkpoint carries cosignatures satisfying its quorum",
    )


class ReceiptsBody(BaseModel):
    receipts: list[ReceiptBody]


class InclusionBody(BaseModel):
    leaf_index: int
    tree_size: int
    root: str
    inclusion_path: list[str]


class ConsistencyBody(BaseModel):
    tree_size_1: int
    tree_size_2: int
    root_1: str
    root_2: str
    consistency_path: list[str]


class Health(BaseModel):
    status: str
    tree_size: int
    origin: str | None


class FundBody(BaseModel):
    fund_id: str
    source: str
    fiscal_year: int
    programme: str
    appropriated_fen: int
    contracted_fen: int
    paid_fen: int
    unallocated_fen: int
    index: int


class MilestoneBody(BaseModel):
    milestone_id: str
    amount_fen: int
    committed_fen: int
    paid_fen: int


class ContractBody(BaseModel):
    contract_id: str
    fund_id: str
    provider: str
    total_fen: int
    paid_fen: int
    milestones: list[MilestoneBody]
    index: int


class PaymentBody(BaseModel):
    payment_id: str
    contract_id: str
    milestone_id: str
    amount_fen: int
    invoice_no: str
    proposer: str
    state: str
    index: int


class ProviderBody(BaseModel):
    party_id: str
    name: str
    uscc: str
    contracts: list[str]
    contracted_fen: int
    paid_fen: int
    index: int


class Page(BaseModel):
    total: int
    offset: int
    items: list[Any]


class FundPage(Page):
    items: list[FundBody]


class ContractPage(Page):
    items: list[ContractBody]


class PaymentPage(Page):
    items: list[PaymentBody]


class ProviderPage(Page):
    items: list[ProviderBody]


class TraceEntryBody(BaseModel):
    index: int
    kind: str
    log_time: str
    signer: str
    signer_title: str | None
    leaf_hash: str
    description: str
    postings: list[dict[str, Any]]
    balance_after_points: int | None = None


class TracePage(BaseModel):
    after: int
    limit: int
    entries_total: int
    next_after: int | None = Field(description="pass as ?after= for the next page; null: last")


class TraceBody(BaseModel):
    target: str
    id: str
    log_size: int
    entries: list[TraceEntryBody]
    summary: dict[str, Any]
    page: TracePage


class LookupRequest(BaseModel):
    code: str = Field(max_length=64, description="13-character lookup code 查询码")


class LotBody(BaseModel):
    month: str
    community: str
    points: int
    expires_after: str


class HistoryItem(BaseModel):
    index: int
    kind: str
    log_time: str
    change_points: int
    balance_after: int
    description: str
    entry: str
    leaf_hash: str
    inclusion_path: list[str]


class ResidentBody(BaseModel):
    resident_ref: str
    balance_points: int
    lots: list[LotBody]
    history: list[HistoryItem]
    tree_size: int
    checkpoint: str
    log_key: str


def _inline(value: Any, defs: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in value.items() if k not in ("$defs", "$id")}
    if isinstance(value, list):
        return [_inline(v, defs) for v in value]
    return value


@cache
def submission_schema() -> dict[str, Any]:
    """The generated JSON Schema of a submission (``schemas/json``), self-contained for
    embedding in the OpenAPI document."""
    path = Path(__file__).resolve().parent.parent / "schemas" / "json" / "submission.schema.json"
    raw = json.loads(path.read_text("utf-8"))
    out = _inline(raw, raw.get("$defs", {}))
    out.pop("$schema", None)
    return dict(out)
