"""What the domain body modules share (:mod:`schemas.bodies`, :mod:`schemas.money_bodies`,
:mod:`schemas.credit_bodies`): the distinctness check of list members, optional members that are
absent rather than ``null`` (FORMAT.md §10, version 2.1), and descriptions used by several kinds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.config import JsonDict

from schemas._types import DATE_PATTERN, _real_date, desc, text_rule


def _distinct(keys: Sequence[Hashable], what: str) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} 不得重复; {what} values must be distinct")


def _distinct_by(zh: str, en: str, member: str) -> tuple[str, str]:
    return (
        f"{zh}；各项的 {member} 互不相同（JSON Schema 无法表达，由校验器检查）",
        f"{en}; items have distinct {member} values (JSON Schema cannot express this, the "
        "validator checks it)",
    )


REASON_DESC = desc("理由", "The reason", text_rule(500))


def _optional(schema: JsonDict) -> None:
    """An optional member (FORMAT.md §10, version 2.1): absent, never ``null``; its Python
    default ``None`` stays out of the published schema."""
    schema.pop("default", None)


def _optional_date(schema: JsonDict) -> None:
    _optional(schema)
    schema["format"] = "date"


#: :data:`Date` without its schema extras (pydantic does not compose them with a callable).
OptionalDate = Annotated[str, Field(pattern=DATE_PATTERN), AfterValidator(_real_date)]
OPTIONAL_RULE = ("可选，可缺省，不得为 null", "optional: may be absent, never null")
