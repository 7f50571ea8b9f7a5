"""What the domain body modules share (:mod:`schemas.bodies`, :mod:`schemas.money_bodies`,
:mod:`schemas.credit_bodies`): the distinctness check of list members and its field validator,
optional members that are absent rather than ``null`` (FORMAT.md §10, version 2.1), and
descriptions used by several kinds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from operator import attrgetter
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator
from pydantic.config import JsonDict

from schemas._types import DATE_PATTERN, _real_date, desc, text_rule


def _distinct(keys: Sequence[Hashable], what: str) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} 不得重复; {what} values must be distinct")


def distinct_items(field: str, member: str | None = None) -> Any:
    """A pydantic field validator for the list ``field``: its items — or, with ``member``,
    that attribute of each item — must be distinct, else a value error naming ``member`` (or
    ``field``). Bind it in the model's body (``_x_distinct = distinct_items("x")``); it runs
    after the list's own validation. Cost: O(n) per validation, n the list's length."""
    key = attrgetter(member) if member is not None else None

    def check(v: list[Any]) -> list[Any]:
        _distinct(v if key is None else [key(item) for item in v], member or field)
        return v

    return field_validator(field)(check)


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
