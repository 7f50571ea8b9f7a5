"""Spreadsheet imports (``ledger.sheets.read``, ``ledger.sheets.imports``,
``ledger.amounts``): reading CSV
and xlsx, header aliases, errors by row and column, exact yuan → fen, and deterministic
statement ids and bytes."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.amounts import AmountError, fen_to_yuan, yuan_to_fen
from ledger.sheets.imports import column_letter, plan_import, row_statement_id, sign_rows
from ledger.sheets.read import Table, read_csv_bytes, read_table
from tests.keyring import key
from verifier.core.entry import parse_submission
from verifier.core.errors import InputError
from verifier.rules.kinds import KINDS

SIGNER = key("finance")
KID = SIGNER.key_id_hex
AT = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
INV = hashlib.sha256(b"invoice").hexdigest()

PAYMENTS_CSV = (
    "付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希,备注\n"
    f'P-1,HT-1,M1,"12,345.67",INV-1,{INV},首笔\n'
    "\n"
    f"P-2,HT-1,M2,0.29,INV-2,{INV.upper()},\n"
)
WANT = [
    {
        "payment_id": "P-1",
        "contract_id": "HT-1",
        "milestone_id": "M1",
        "amount_fen": 1_234_567,
        "invoice_no": "INV-1",
        "invoice_sha256": INV,
    },
    {
        "payment_id": "P-2",
        "contract_id": "HT-1",
        "milestone_id": "M2",
        "amount_fen": 29,
        "invoice_no": "INV-2",
        "invoice_sha256": INV,
    },
]


def plan(text: str, kind: str = "payments") -> Any:
    return plan_import(read_csv_bytes(text.encode("utf-8")), kind, KID)


def errors(text: str, kind: str = "payments") -> list[tuple[int, str | None, str]]:
    return [(e.row, e.column, e.message) for e in plan(text, kind).errors]


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.encode("gb18030"),
        lambda t: t.replace("\n", "\r\n").encode("gb18030"),
    ],
    ids=["utf-8", "utf-8 with BOM", "gb18030", "gb18030 CRLF"],
)
def test_csv_encodings_give_the_same_rows(encode: Any) -> None:
    p = plan_import(read_csv_bytes(encode(PAYMENTS_CSV)), "payments", KID)
    assert p.ok, p.errors
    assert [r.body for r in p.rows] == WANT
    assert [r.row for r in p.rows] == [2, 4]  # the blank row 3 is skipped, not renumbered
    assert p.ignored_headers == ["备注"]


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(
        [
            "payment_id",
            "Contract ID",
            "milestone_id",
            "Amount (yuan)",
            "invoice_no",
            "invoice_sha256",
        ]
    )
    ws.append(["P-1", "HT-1", "M1", 12345.67, "INV-1", INV])
    ws.append(["P-2", "HT-1", "M2", 0.29, "INV-2", INV.upper()])
    ws.append([None] * 6)
    ws.append([2026001, "HT-1", "M3", 100, 77, INV])  # ids typed as numbers; whole yuan
    book.create_sheet("其他").append(["ignored"])
    path = tmp_path / "pay.xlsx"
    book.save(path)
    p = plan_import(read_table(path), "payments", KID)
    assert p.errors == [] or [str(e) for e in p.errors] == []
    assert [r.body for r in p.rows][:2] == WANT
    assert p.rows[2].body["payment_id"] == "2026001" and p.rows[2].body["amount_fen"] == 10_000
    assert p.rows[2].body["invoice_no"] == "77" and p.rows[2].row == 5


def test_unreadable_inputs_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError):
        read_table(tmp_path / "a.txt")
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError):
        read_table(tmp_path / "fake.xlsx")
    with pytest.raises(InputError):
        read_csv_bytes(b"\n\n")
    with pytest.raises(InputError):
        read_csv_bytes(b"\xff\xfe\x00\x81\x30")  # neither UTF-8 nor GB18030


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        "付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希",
        "付款单号,合同号,里程碑编号,金额(元),发票号码,发票SHA-256",
        "payment_id,contract_id,milestone_id,amount_yuan,invoice_no,invoice_sha256",
        " Payment ID , CONTRACT-ID,Milestone_Id,Amount Yuan,Invoice No,Invoice SHA256",
        "发票哈希,金额,里程碑,合同编号,付款编号,发票号",  # any order
    ],
)
def test_header_aliases(headers: str) -> None:
    names = [h.strip() for h in headers.split(",")]
    values = {
        "付款": "P-1",
        "payment": "P-1",
        "合同": "HT-1",
        "contract": "HT-1",
        "里程碑": "M1",
        "milestone": "M1",
        "金额": '"12,345.67"',
        "amount": '"12,345.67"',
        "发票号": "INV-1",
        "invoice no": "INV-1",
        "发票哈希": INV,
        "发票sha": INV,
        "invoice sha": INV,
    }

    def value(h: str) -> str:
        low = h.lower().replace("_", " ").replace("-", " ")
        for prefix, v in sorted(values.items(), key=lambda kv: -len(kv[0])):
            if low.startswith(prefix):
                return v
        raise AssertionError(h)

    p = plan(headers + "\n" + ",".join(value(h) for h in names) + "\n")
    assert p.ok, [str(e) for e in p.errors]
    assert p.rows[0].body == WANT[0]


def test_fen_column_instead_of_yuan() -> None:
    p = plan(
        f"付款编号,合同编号,里程碑,金额（分）,发票号,发票哈希\nP-1,HT-1,M1,1234567,INV-1,{INV}\n"
    )
    assert p.ok and p.rows[0].body["amount_fen"] == 1_234_567


def test_header_errors_are_on_row_1() -> None:
    both = errors(
        f"付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希,amount_fen\nP,C,M,1,I,{INV},100\n"
    )
    assert [(r, c) for r, c, _ in both] == [(1, "G")]
    assert "amount_fen" in both[0][2]
    missing = errors("付款编号,合同编号,金额（元）,发票号\nP,C,1,I\n")
    assert {r for r, _, _ in missing} == {1}
    text = " ".join(m for _, _, m in missing)
    assert "milestone_id" in text and "invoice_sha256" in text and "payment_id" not in text


# -- rows ------------------------------------------------------------------------------------


def test_errors_name_row_and_column() -> None:
    text = (
        "付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希\n"
        f"P-1,HT-1,M1,100.00,INV-1,{INV}\n"  # row 2: fine
        f"P-2,HT 1,M1,1.234,INV-2,{INV}\n"  # row 3: id with a space; 3 decimals
        "\n"  # row 4: blank
        f",HT-1,M1,0,INV-3,{INV[:-1]}\n"  # row 5: missing id; zero; short digest
        f"P-1,HT-1,M2,5,INV-9,{INV}\n"  # row 6: repeats row 2's payment id
        f"P-7,HT-1,M2,-5,INV-1,{INV}\n"  # row 7: negative; repeats row 2's invoice
    )
    p = plan(text)
    got = [(e.row, e.column) for e in p.errors]
    assert got == [(3, "B"), (3, "D"), (5, "A"), (5, "D"), (5, "F"), (6, None), (7, "D")]
    assert "2 decimals" in p.errors[1].message and "必填" in p.errors[2].message
    assert "between" in p.errors[3].message or "1…" in p.errors[3].message
    assert "row 2" in p.errors[5].message
    assert str(p.errors[0]).startswith("第 3 行 B 列「合同编号」 (row 3, column B)")
    assert not p.ok and [r.row for r in p.rows] == [2]


def test_the_same_body_checks_as_the_verifier() -> None:
    """Every value a plan accepts passes ``verifier.rules.kinds``; each rejected value here is
    one the verifier rejects too."""
    p = plan(PAYMENTS_CSV)
    for r in p.rows:
        KINDS["payment.propose"].check_body(r.body, 0)
    too_much = errors(
        f"付款编号,合同编号,里程碑,金额（元）,发票号,发票哈希\nP,C,M,100000000000.01,I,{INV}\n"
    )
    assert [(r, c) for r, c, _ in too_much] == [(2, "D")]  # over 10^13 fen


def test_credits() -> None:
    ref = hashlib.md5(b"r").hexdigest()
    text = (
        "居民化名,活动编号,服务时长（分钟）\n"
        f"{ref.upper()},A-1,90\n"
        f"{ref},A-2,1441\n"
        f"{ref},A-1,30\n"  # a second award for the same activity
        f"{ref[:-1]},A-3,1.5\n"
    )
    p = plan(text, "credits")
    assert p.rows[0].body == {"resident_ref": ref, "activity_id": "A-1", "minutes": 90}
    assert [(e.row, e.column) for e in p.errors] == [(3, "C"), (4, None), (5, "A"), (5, "C")]
    assert p.kind == "credit.award"


def test_column_letters() -> None:
    assert [column_letter(n) for n in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


# -- yuan to fen -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("0.01", 1),
        ("12345.67", 1_234_567),
        ("12,345.67", 1_234_567),
        ("1,234,567", 123_456_700),
        (" ¥12,345.6 ", 1_234_560),
        ("12345.67元", 1_234_567),
        ("100000000000.00", 10**13),
        (0.29, 29),  # 0.29 * 100 == 28.999999999999996 in binary floating point
        (0.1, 10),
        (1.05, 105),
        (7, 700),
        (Decimal("19.99"), 1999),
    ],
)
def test_yuan_to_fen_is_exact(value: Any, fen: int) -> None:
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize(
    "value",
    ["1.234", "0.001", "-5", "1,23.00", "12,3456", "1e3", "", "十元", "1.", ".5", 1.234, True],
)
def test_bad_amounts_are_refused_not_rounded(value: Any) -> None:
    with pytest.raises(AmountError):
        yuan_to_fen(value)


@given(st.integers(min_value=0, max_value=10**13))
def test_yuan_round_trips(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen
    assert yuan_to_fen(fen_to_yuan(fen).replace(",", "")) == fen
    # a spreadsheet cell holding the amount as a binary float still converts exactly
    assert yuan_to_fen(float(Decimal(fen) / 100)) == fen


# -- deterministic ids and bytes -------------------------------------------------------------


def test_ids_and_bytes_are_deterministic() -> None:
    a, b = plan(PAYMENTS_CSV), plan(PAYMENTS_CSV)
    assert [r.statement_id for r in a.rows] == [r.statement_id for r in b.rows]
    sa = [s.canonical() for s in sign_rows(a, a.rows, SIGNER, AT, "gongxin.test/import")]
    sb = [s.canonical() for s in sign_rows(b, b.rows, SIGNER, AT, "gongxin.test/import")]
    assert sa == sb
    other = [s.canonical() for s in sign_rows(a, a.rows, SIGNER, AT, "gongxin.test/other")]
    assert [s[:-200] for s in other] != [s[:-200] for s in sa]  # the signatures name the log
    for data, row in zip(sa, a.rows, strict=True):
        sub = parse_submission(data)
        assert sub.statement.id == row.statement_id and sub.statement.body == row.body
        assert sub.statement.time == "2026-05-04T08:00:00Z" and sub.statement.signer == KID
        u = uuid.UUID(row.statement_id)
        assert u.version == 7 and u.variant == uuid.RFC_4122


def test_ids_depend_on_content_and_signer_not_position() -> None:
    base = plan(PAYMENTS_CSV)
    head, row1, _blank, row2 = PAYMENTS_CSV.rstrip("\n").split("\n")
    swapped = plan("\n".join([head, row2, row1]) + "\n")
    assert {r.statement_id for r in swapped.rows} == {r.statement_id for r in base.rows}
    edited = plan("\n".join([head, row1.replace("12,345.67", "12,345.68"), row2]) + "\n")
    assert edited.rows[0].statement_id != base.rows[0].statement_id
    assert edited.rows[1].statement_id == base.rows[1].statement_id
    other = plan_import(
        read_csv_bytes(PAYMENTS_CSV.encode()), "payments", key("approver").key_id_hex
    )
    assert not {r.statement_id for r in other.rows} & {r.statement_id for r in base.rows}
    body = base.rows[0].body
    assert row_statement_id(KID, "payment.propose", body) == base.rows[0].statement_id
    assert row_statement_id(KID, "payment.approve", body) != base.rows[0].statement_id


def test_an_empty_table_plans_nothing() -> None:
    p = plan_import(
        Table(["付款编号", "合同编号", "里程碑", "金额（元）", "发票号", "发票哈希"], []),
        "payments",
        KID,
    )
    assert p.ok and p.rows == []
