"""Statements, submissions and log entries (FORMAT.md §3–§4), mirroring :mod:`verifier.core.entry`.

The ``body`` of a statement is any JSON object here; its shape depends on ``kind`` and is
described by the body schemas (:data:`schemas.BODY_MODELS`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from schemas._types import (
    KEY_ID_RULE,
    KIND_PATTERN,
    MAX_JSON_INT,
    SHA256_RULE,
    SIGNATURE_PATTERN,
    UUID_PATTERN,
    KeyId,
    LogTime,
    Sha256Hex,
    Time,
    WireModel,
    desc,
)
from verifier.core.canonical import CanonicalError, check_profile

#: FORMAT.md §3.3.
MAX_SIGNATURES = 8


def _in_profile(v: dict[str, Any]) -> dict[str, Any]:
    try:
        check_profile(v)
    except CanonicalError as exc:
        raise ValueError(f"不符合规范 JSON 子集; {exc.message} at {exc.field}") from None
    return v


class Signature(WireModel):
    """一个 Ed25519 签名，覆盖 "gongxin/statement/v2\\n"、日志名称、"\\n" 与规范化的声明
    （第 1 版旧日志：覆盖 "gongxin/statement/v1\\n" 与规范化的声明）。
    One Ed25519 signature over "gongxin/statement/v2\\n", the log's origin, "\\n" and the
    canonical statement (in an old format-1 log: "gongxin/statement/v1\\n" and the canonical
    statement), FORMAT.md §3.2–§3.3."""

    key_id: KeyId = Field(
        description=desc("签名密钥的编号", "Key id of the signing key", KEY_ID_RULE)
    )
    sig: Annotated[str, Field(pattern=SIGNATURE_PATTERN)] = Field(
        description=desc(
            "签名：64 字节的标准 base64（带填充，88 个字符）",
            "Signature: standard padded base64 of 64 bytes (88 characters)",
        )
    )


class Statement(WireModel):
    """声明：工作人员签署的内容。A statement: what an official signs (FORMAT.md §3.1)."""

    kind: Annotated[str, Field(pattern=KIND_PATTERN)] = Field(
        description=desc(
            "条目类型，点分小写，如 key.grant、fund.appropriate",
            "Entry kind, dotted lower case, e.g. key.grant, fund.appropriate",
        )
    )
    id: Annotated[str, Field(pattern=UUID_PATTERN)] = Field(
        description=desc(
            "客户端选定的小写 UUID（宜用 UUIDv7），用作幂等键",
            "Client-chosen lower-case UUID (preferably UUIDv7), the idempotency key",
        )
    )
    time: Time = Field(
        description=desc(
            "签署时间，RFC 3339 UTC：YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z，须为真实时间",
            "When it was signed, RFC 3339 UTC YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z, a real date and time",
        )
    )
    signer: KeyId = Field(
        description=desc("签署人的密钥编号", "Key id of the signing official", KEY_ID_RULE)
    )
    body: Annotated[dict[str, Any], AfterValidator(_in_profile)] = Field(
        description=desc(
            "正文：其结构由 kind 决定，见 <kind>.schema.json",
            "Body: its shape depends on kind, see <kind>.schema.json",
            (
                "与整个声明一样须在规范 JSON 子集内：成员名为 ASCII，数值只能是 ±(2^53−1) 内的"
                "整数，不得有小数；由校验器检查",
                "like the whole statement it must lie in the canonical JSON profile of "
                "FORMAT.md §2: ASCII member names, numbers only integers within ±(2^53−1), no "
                "fractions; the validator checks this",
            ),
        )
    )


def _check_signatures(signatures: list[Signature], signer: str) -> None:
    kids = [s.key_id for s in signatures]
    if len(set(kids)) != len(kids):
        raise ValueError("同一密钥重复签名; two signatures by one key")
    if kids[0] != signer:
        raise ValueError(
            f"第一个签名须为签署人所签; the first signature is by {kids[0]}, "
            f"but statement.signer is {signer}"
        )


SIGNATURES_RULE = (
    "1–8 个签名，密钥编号互不相同，第一个须由 statement.signer 签署；"
    "JSON Schema 无法表达后两项，由校验器检查",
    "1 … 8 signatures with distinct key ids, the first by statement.signer; JSON Schema "
    "cannot express the last two, the validator checks them",
)


class Submission(WireModel):
    """提交：客户端提交的已签名声明（规范化 JSON）。
    A submission: a signed statement as a client submits it, canonical JSON
    (FORMAT.md §3.3)."""

    signatures: list[Signature] = Field(
        min_length=1,
        max_length=MAX_SIGNATURES,
        description=desc(
            "签名，第一个之后的为会签",
            "Signatures, all after the first co-signatures",
            SIGNATURES_RULE,
        ),
    )
    statement: Statement = Field(description=desc("被签署的声明", "The statement signed"))

    @model_validator(mode="after")
    def _signatures_match(self) -> Submission:
        _check_signatures(self.signatures, self.statement.signer)
        return self


class Entry(WireModel):
    """日志条目：提交内容加上日志添加的字段；存为一行规范化 JSON，即 Merkle 叶子数据。
    A log entry: the submission plus the log's own fields, stored as one line of canonical
    JSON that is exactly its Merkle leaf data (FORMAT.md §4)."""

    index: int = Field(
        ge=0,
        le=MAX_JSON_INT,
        description=desc(
            "从 0 开始的序号，等于其 Merkle 叶子序号",
            "0-based position, equal to its Merkle leaf index",
            ("整数 0 至 2^53−1", "an integer 0 … 2^53−1"),
        ),
    )
    log_time: LogTime = Field(
        description=desc(
            "日志接收时间，RFC 3339 UTC，恰好 6 位小数：YYYY-MM-DDTHH:MM:SS.ffffffZ",
            "When the log accepted it, RFC 3339 UTC with exactly six fractional digits, "
            "YYYY-MM-DDTHH:MM:SS.ffffffZ",
        )
    )
    prev: Sha256Hex = Field(
        description=desc(
            "前一条目的叶子哈希；第 0 条为 64 个 0",
            "Leaf hash of the entry before; 64 zeros for entry 0",
            SHA256_RULE,
        )
    )
    signatures: list[Signature] = Field(
        min_length=1,
        max_length=MAX_SIGNATURES,
        description=desc(
            "签名，第一个之后的为会签",
            "Signatures, all after the first co-signatures",
            SIGNATURES_RULE,
        ),
    )
    statement: Statement = Field(description=desc("被签署的声明", "The statement signed"))

    @model_validator(mode="after")
    def _signatures_match(self) -> Entry:
        _check_signatures(self.signatures, self.statement.signer)
        return self
