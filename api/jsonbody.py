"""Reading request bodies (docs/API.md §1–§2): a size limit, the media type, strict JSON.

Submissions are passed on as the exact bytes received — the ledger requires RFC 8785
canonical JSON (FORMAT.md §2) and names the first offence. Other bodies (a resident's
look-up) are parsed strictly: duplicate member names and non-integer numbers are refused.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from api.problems import Problem
from verifier.core.canonical import MAX_DEPTH, CanonicalError, canonical_bytes, parse_canonical

#: Default body limit: 8 MiB, a batch of 1,000 large submissions with room to spare.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
#: The most submissions one batch may carry.
MAX_BATCH = 1000


async def read_body(request: Request, limit: int, *, json_only: bool = True) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413) before reading it all, and
    (with ``json_only``) any ``Content-Type`` other than ``application/json`` (415)."""
    if json_only:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Problem(
                415,
                "request.media_type",
                "请以 application/json 提交 send the body as application/json",
                field="Content-Type",
            )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "request.too_large",
        f"请求体超过 {limit} 字节 the body is over the limit of {limit} bytes; split the batch",
    )


def batch_items(body: bytes) -> list[bytes]:
    """The canonical bytes of each submission in a batch body (a canonical JSON array of
    1 … :data:`MAX_BATCH` objects, each nested at most ``MAX_DEPTH`` deep like an entry line).
    A canonical array's members are canonical, so each re-encoding equals the bytes the client
    sent. Cost: O(len(body))."""
    try:
        value = parse_canonical(body, "$", MAX_DEPTH + 1)
    except CanonicalError as exc:
        raise Problem(400, "entry.canonical", exc.message, field=exc.field) from None
    if not isinstance(value, list) or not value:
        raise Problem(
            400, "request.json", "须为非空数组 the body must be a non-empty JSON array", field="$"
        )
    if len(value) > MAX_BATCH:
        raise Problem(
            413,
            "request.too_large",
            f"一批最多 {MAX_BATCH} 条 at most {MAX_BATCH} submissions per batch",
            field="$",
        )
    for k, item in enumerate(value):
        if not isinstance(item, dict):
            raise Problem(
                400, "request.json", "每项须为对象 each item must be an object", field=f"[{k}]"
            )
    return [canonical_bytes(item) for item in value]


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text} is not an integer")


def strict_json(body: bytes) -> Any:
    """Parse ``body`` as UTF-8 JSON with no duplicate member names and no non-integer
    numbers; :class:`Problem` 400 ``request.json`` otherwise (also for nesting so deep that
    the parser gives up)."""
    try:
        return json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except _Duplicate as exc:
        raise Problem(
            400, "request.json", f"重复字段 duplicate member name {exc}", field=str(exc)
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Problem(400, "request.json", f"不是合法的 JSON: not valid JSON: {exc}") from None
