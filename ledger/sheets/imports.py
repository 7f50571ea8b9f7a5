"""Spreadsheet imports: rows of payments or credit awards to statement bodies (pure).

:func:`plan_import` maps a :class:`~ledger.sheets.read.Table` to the bodies of ``payment.propose``
(``payments``) or ``credit.award`` (``credits``) statements, with every problem named by its
spreadsheet row and column. Cells are checked with the very field checks the verifier
applies to bodies (:data:`verifier.rules.kinds.KINDS`), plus within-file duplicates (a payment id,
an invoice of one contract, a resident's award for one activity) that the ledger would
refuse anyway.

Idempotency: each row's statement id is :func:`row_statement_id` — a UUIDv7 whose 48 time
bits and 74 random bits are taken from ``SHA-256(signer key id, kind, canonical body)`` — so
the same row signed by the same key always has the same id, wherever it sits in the file and
however often the file is imported. :func:`sign_rows` signs with a statement time the caller
fixes; Ed25519 is deterministic, so the same rows, key and time give identical bytes.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger.amounts import AmountError, fen_to_yuan, yuan_to_fen
from ledger.sheets.read import Table
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.core.canonical import canonical_bytes
from verifier.core.entry import Submission
from verifier.rules.kinds import KINDS

__all__ = [
    "IMPORT_KINDS",
    "ImportPlan",
    "PlannedRow",
    "RowError",
    "column_letter",
    "plan_import",
    "row_statement_id",
    "sign_rows",
]

#: A cell parser: the cell's value to the body value, or raises ``ValueError`` saying why.
CellParser = Callable[[Any], Any]


def _text(cell: Any) -> str:
    if isinstance(cell, bool):
        raise ValueError("应为文字 must be text")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # an id typed as a number, e.g. 2026001
    if isinstance(cell, datetime):
        raise ValueError("应为文字而不是日期 must be text, not a date")
    return str(cell).strip()


def _hex(cell: Any) -> str:
    return _text(cell).lower()


def _integer(cell: Any) -> int:
    if isinstance(cell, bool):
        raise ValueError("应为整数 must be a whole number")
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    text = str(cell).strip().replace(",", "")
    if text.isascii() and text.isdigit():
        return int(text)
    raise ValueError(f"应为整数 must be a whole number, not {str(cell).strip()!r}")


def _yuan(cell: Any) -> int:
    if isinstance(cell, datetime):
        raise ValueError("应为金额 must be an amount")
    try:
        return yuan_to_fen(cell if isinstance(cell, int | float | Decimal) else str(cell))
    except AmountError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Column:
    """A spreadsheet column: the body ``field`` it fills, its header names (Chinese first),
    and how a cell becomes the field's value."""

    field: str
    headers: tuple[str, ...]
    parse: CellParser


@dataclass(frozen=True)
class ImportKind:
    """What one ``--kind`` imports: the statement kind, its columns (several columns may
    fill one field, e.g. yuan or fen; a file must have exactly one of them), and the body
    members that together must not repeat within one file."""

    name: str
    kind: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...]


IMPORT_KINDS: dict[str, ImportKind] = {
    "payments": ImportKind(
        "payments",
        "payment.propose",
        (
            Column("payment_id", ("付款编号", "付款单号", "payment_id"), _text),
            Column("contract_id", ("合同编号", "合同号", "contract_id"), _text),
            Column("milestone_id", ("里程碑", "里程碑编号", "milestone_id"), _text),
            Column(
                "amount_fen",
                ("金额（元）", "付款金额（元）", "金额", "amount_yuan"),
                _yuan,
            ),
            Column("amount_fen", ("金额（分）", "付款金额（分）", "amount_fen"), _integer),
            Column("invoice_no", ("发票号", "发票号码", "invoice_no"), _text),
            Column(
                "invoice_sha256",
                ("发票哈希", "发票SHA256", "发票SHA-256", "invoice_sha256"),
                _hex,
            ),
        ),
        unique=(("payment_id",), ("contract_id", "invoice_no")),
    ),
    "credits": ImportKind(
        "credits",
        "credit.award",
        (
            Column("resident_ref", ("居民化名", "化名", "resident_ref"), _hex),
            Column("activity_id", ("活动编号", "activity_id"), _text),
            Column(
                "minutes",
                ("服务时长（分钟）", "时长（分钟）", "分钟", "服务分钟", "minutes"),
                _integer,
            ),
        ),
        unique=(("resident_ref", "activity_id"),),
    ),
}


def _norm(header: str) -> str:
    """Header matching ignores width (NFKC: （）→ ()), case, spaces, ``_ - ( )``: so
    ``金额（元）``, ``金额(元)``, ``amount_yuan`` and ``Amount (yuan)`` all match."""
    text = unicodedata.normalize("NFKC", header).lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-()")


def column_letter(position: int) -> str:
    """Spreadsheet column letter of a 0-based position: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


@dataclass(frozen=True)
class RowError:
    """A problem at spreadsheet ``row`` (1 = header) and ``column`` (letter, or ``None`` for
    the whole row), with the ``header`` text and a message (Chinese and English)."""

    row: int
    column: str | None
    header: str | None
    message: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行"
        where_en = f"row {self.row}"
        if self.column:
            where += f" {self.column} 列「{self.header}」"
            where_en += f", column {self.column}"
        return f"{where} ({where_en}): {self.message}"


@dataclass(frozen=True)
class PlannedRow:
    """A valid row: its spreadsheet row number, the statement body and the statement id."""

    row: int
    body: dict[str, Any]
    statement_id: str


@dataclass
class ImportPlan:
    """The rows to submit (all valid) or the errors that forbid submitting any."""

    kind: str
    fields: list[str]
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def preview(self) -> list[list[str]]:
        """The preview table: a header line, then one line per row (money also in yuan)."""
        head = ["行 row", *self.fields, "声明编号 statement id"]
        lines = [head]
        for r in self.rows:
            cells = [str(r.row)]
            for name in self.fields:
                value = r.body[name]
                cells.append(
                    f"{value} ({fen_to_yuan(value)} 元)" if name.endswith("_fen") else str(value)
                )
            lines.append([*cells, r.statement_id])
        return lines


def row_statement_id(signer_key_id: str, kind: str, body: dict[str, Any]) -> str:
    """The statement id of a row: a UUIDv7 (RFC 9562 §5.7 layout) whose 48-bit time and 74
    random bits come from ``SHA-256("gongxin/import/v1" ‖ signer key id ‖ kind ‖ JCS(body))``.
    Same signer, kind and body → same id. Precondition: ``body`` is JSON (canonicalisable)."""
    digest = hashlib.sha256(
        b"gongxin/import/v1\n"
        + signer_key_id.encode("ascii")
        + b"\n"
        + kind.encode("ascii")
        + b"\n"
        + canonical_bytes(body)
    ).digest()
    ms = int.from_bytes(digest[:6], "big")
    rand = int.from_bytes(digest[6:16], "big") & ((1 << 74) - 1)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _map_headers(
    spec: ImportKind, headers: list[str], errors: list[RowError]
) -> tuple[dict[int, Column], list[str]]:
    """Columns by position, and the headers that are ignored. Header errors go to ``errors``
    (row 1): a required column missing, or two columns filling one field."""
    aliases = {_norm(h): col for col in spec.columns for h in col.headers}
    by_position: dict[int, Column] = {}
    seen: dict[str, int] = {}
    ignored = []
    for pos, header in enumerate(headers):
        col = aliases.get(_norm(header)) if header else None
        if col is None:
            if header:
                ignored.append(header)
            continue
        if col.field in seen:
            first = seen[col.field]
            errors.append(
                RowError(
                    1,
                    column_letter(pos),
                    header,
                    f"与 {column_letter(first)} 列「{headers[first]}」重复（都填 {col.field}） — "
                    f"duplicates column {column_letter(first)}: both fill {col.field}",
                )
            )
            continue
        seen[col.field] = pos
        by_position[pos] = col
    for name in dict.fromkeys(c.field for c in spec.columns):
        if name not in seen:
            names = " / ".join(h for c in spec.columns if c.field == name for h in c.headers)
            errors.append(
                RowError(1, None, None, f"缺少列 missing column for {name}: one of {names}")
            )
    return by_position, ignored


def _cell(
    col: Column, cell: Any, checks: dict[str, Callable[[Any], tuple[str, str] | None]]
) -> tuple[Any, str | None]:
    """(the field value, ``None``) for a good cell, else (``None``, what is wrong)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None, f"必填 required ({col.field})"
    try:
        value = col.parse(cell)
    except ValueError as exc:
        return None, str(exc)
    problem = checks[col.field](value)
    if problem:
        return None, f"{col.field}{problem[0]} {problem[1]} (got {value!r})"
    return value, None


def plan_import(table: Table, import_kind: str, signer_key_id: str) -> ImportPlan:
    """Check every row of ``table`` for ``import_kind`` (``payments`` or ``credits``) and
    plan the statements a key with id ``signer_key_id`` (8 hex digits) would sign.

    Pure. Never raises for bad content: every problem is a :class:`RowError` in
    ``plan.errors`` (the plan must not be submitted unless ``plan.ok``). O(rows × columns).
    """
    spec = IMPORT_KINDS[import_kind]
    checks = KINDS[spec.kind].fields
    assert checks is not None
    plan = ImportPlan(spec.kind, list(checks))
    columns, plan.ignored_headers = _map_headers(spec, table.headers, plan.errors)
    if plan.errors:
        return plan
    first_seen: dict[tuple[Any, ...], int] = {}
    for number, cells in table.rows:
        body: dict[str, Any] = {}
        row_errors: list[RowError] = []
        for pos, col in columns.items():
            value, message = _cell(col, cells[pos] if pos < len(cells) else None, checks)
            if message is None:
                body[col.field] = value
            else:
                row_errors.append(RowError(number, column_letter(pos), table.headers[pos], message))
        if not row_errors:
            for members in spec.unique:
                key = (members, *(body[m] for m in members))
                if key in first_seen:
                    row_errors.append(
                        RowError(
                            number,
                            None,
                            None,
                            f"与第 {first_seen[key]} 行重复（{', '.join(members)}） — repeats "
                            f"row {first_seen[key]} ({', '.join(members)})",
                        )
                    )
                else:
                    first_seen[key] = number
        if row_errors:
            plan.errors.extend(row_errors)
            continue
        body = {name: body[name] for name in checks}  # the kind's member order
        KINDS[spec.kind].check_body(body, 0)  # the whole-body check; cannot fail here
        plan.rows.append(PlannedRow(number, body, row_statement_id(signer_key_id, spec.kind, body)))
    return plan


def sign_rows(
    plan: ImportPlan,
    rows: Sequence[PlannedRow],
    signer: SignerKey,
    at: datetime,
    origin: str | None,
) -> list[Submission]:
    """Sign ``rows`` of a valid ``plan`` with ``signer`` at statement time ``at`` for the log
    ``origin`` (``None``: a format-1 log; FORMAT.md §3.2), each with its
    :func:`row_statement_id`. Preconditions: ``plan.ok``; the plan was made for ``signer``'s
    key id. Deterministic: same rows, key, time and origin → identical bytes."""
    assert plan.ok
    return [
        sign_statement(
            plan.kind, r.body, signer, origin=origin, statement_id=r.statement_id, time=at
        )
        for r in rows
    ]
