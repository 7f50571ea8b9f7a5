"""Bodies of the key-management kinds (FORMAT.md §7.3), as :mod:`verifier.rules.registry` checks them.

Only what can be checked from the body alone is here. Whether a granted key is new, whether a
revoked key exists and is still active, and who signed the genesis are registry rules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas._types import (
    KEY_ID_RULE,
    KEY_NAME_PATTERN,
    VERIFIER_KEY_RULE,
    KeyId,
    VerifierKeyText,
    WireModel,
    desc,
)
from verifier.core.keys import parse_verifier_key
from verifier.rules.kinds import MAX_AUTHORITIES, MAX_KEY_NAME

#: FORMAT.md §7.1, in sorted order.
Role = Literal["approver", "auditor", "authority", "finance_officer", "organiser", "service_desk"]


class LogGenesis(WireModel):
    """日志创世条目（第 0 条）：日志格式版本、日志名称、日志公钥和权威密钥。
    The genesis entry (entry 0): the log format, the log's origin, the log key and the
    authority keys (FORMAT.md §7.3)."""

    format: Literal[2] = Field(
        default=2,
        description=desc(
            "日志格式版本：2，签名覆盖日志名称；缺省表示第 1 版旧日志，其声明未绑定本日志",
            "The log format: 2, signatures cover the log's origin; absent in an old format-1 "
            "log, whose statements are not bound to it (FORMAT.md §3.2)",
        ),
    )
    origin: Annotated[str, Field(pattern=KEY_NAME_PATTERN, max_length=MAX_KEY_NAME)] = Field(
        description=desc(
            "日志名称，须等于日志公钥的名称，至多 128 个字符",
            "The log's origin, at most 128 characters; must equal the log key's name",
        )
    )
    log_key: VerifierKeyText = Field(
        description=desc(
            "日志公钥，只用于签署检查点",
            "The log key, which signs checkpoints only",
            VERIFIER_KEY_RULE,
        )
    )
    authorities: list[VerifierKeyText] = Field(
        min_length=1,
        max_length=MAX_AUTHORITIES,
        json_schema_extra={"uniqueItems": True},
        description=desc(
            "权威密钥列表，自第 0 条起拥有 authority 角色",
            "The authority keys, holding the role authority from entry 0",
            (
                "1–16 个；各密钥编号互不相同且不同于日志公钥的编号，大小写不同的同一编号视为相同。"
                "JSON Schema 只能检查字符串互不相同，其余由校验器检查",
                "1 … 16 keys; distinct key ids, none the log key's, where an id in upper case is "
                "the same as in lower case. JSON Schema only checks that the strings are "
                "distinct, the validator checks the rest",
            ),
        ),
    )

    @model_validator(mode="after")
    def _keys_agree(self) -> LogGenesis:
        log_key = parse_verifier_key(self.log_key)
        if self.origin != log_key.name:
            raise ValueError("origin 须等于日志公钥名称; origin must equal the log key's name")
        seen = {log_key.key_id_hex}
        for text in self.authorities:
            kid = parse_verifier_key(text).key_id_hex
            if kid in seen:
                raise ValueError(
                    f"权威密钥编号 {kid} 重复; authority key id {kid} is a duplicate or the log key's"
                )
            seen.add(kid)
        return self


class KeyGrant(WireModel):
    """授予密钥：为一名工作人员的公钥授予角色，自下一条起生效。
    Grant a key: give an official's key its roles, usable from the next entry on
    (FORMAT.md §7.2–§7.3)."""

    key: VerifierKeyText = Field(
        description=desc("被授予的公钥", "The key being granted", VERIFIER_KEY_RULE)
    )
    roles: list[Role] = Field(
        min_length=1,
        max_length=6,
        json_schema_extra={"uniqueItems": True},
        description=desc(
            "授予的角色",
            "The roles granted",
            (
                "非空、互不相同且按字母顺序排列；JSON Schema 无法表达排序，由校验器检查",
                "non-empty, distinct and in sorted order; JSON Schema cannot express the order, "
                "the validator checks it",
            ),
        ),
    )
    title: str = Field(
        min_length=1,
        max_length=200,
        description=desc(
            "持有人的岗位，如“街道财务科 会计”",
            "The holder's post, e.g. 街道财务科 会计",
            ("1–200 个字符", "1–200 characters"),
        ),
    )

    @model_validator(mode="after")
    def _sorted_roles(self) -> KeyGrant:
        if self.roles != sorted(set(self.roles)):
            raise ValueError("roles 须互不相同并按顺序排列; roles must be distinct and sorted")
        return self


class KeyRevoke(WireModel):
    """吊销密钥：该密钥此后不得再签署任何条目，吊销不可撤回。
    Revoke a key: it may sign no later entry; revocation is final (FORMAT.md §7.2–§7.3)."""

    key_id: KeyId = Field(
        description=desc(
            "被吊销的密钥编号（须为已授予且未吊销的密钥）",
            "Key id of the key revoked (granted and not yet revoked)",
            KEY_ID_RULE,
        )
    )
    reason: str = Field(
        min_length=1,
        max_length=500,
        description=desc(
            "吊销理由", "Why the key is revoked", ("1–500 个字符", "1–500 characters")
        ),
    )
