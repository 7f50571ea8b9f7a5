"""Officers' commands: sign one statement locally and submit it to the API (docs/OFFICERS.md).

``gongxin fund appropriate|donate``, ``gongxin contract award``, ``gongxin payment
propose|approve|reject`` (``gongxin activity register`` and ``gongxin credit award|redeem``:
:mod:`ledger.cli.organiser`).
Each option fills one body member (FORMAT.md §10); money is typed in yuan
(``--amount-yuan 12,345.67``, converted exactly to fen) or in fen (``--amount-fen``). The
body is checked locally with the verifier's own body checks, signed with ``--key`` (the
private key never leaves the machine), submitted to ``--server``, and the receipt verified
with the pinned ``--log-key``. Exit codes as in :mod:`ledger.cli.submit`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.amounts import AmountError, yuan_to_fen
from ledger.cli.submit import (
    DEFAULT_SERVER,
    JsonOption,
    KeyFileOption,
    PinnedLogKeyOption,
    ServerOption,
    connect,
    officer_errors,
    print_json,
    read_signer,
    receipt_line,
)
from ledger.signing.statements import sign_statement
from verifier.core.errors import InputError, VerificationError
from verifier.rules.kinds import KINDS

fund_app = typer.Typer(help="资金 — appropriate a fund, record a donation.", no_args_is_help=True)
contract_app = typer.Typer(
    help="合同 — award a purchase-of-service contract.", no_args_is_help=True
)
payment_app = typer.Typer(help="付款 — propose, approve or reject a payment.", no_args_is_help=True)

IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        help="声明编号（UUID；重试时沿用同一编号）statement id; reuse it to retry safely "
        "(default: a new UUIDv7)",
        show_default=False,
    ),
]
YuanOption = Annotated[
    str | None,
    typer.Option("--amount-yuan", help="金额（元），如 12,345.67 — amount in yuan (≤ 2 decimals)"),
]
FenOption = Annotated[int | None, typer.Option("--amount-fen", help="金额（分）amount in fen")]


def _money(yuan: str | None, fen: int | None, name: str = "amount") -> int:
    """Exactly one of ``--NAME-yuan`` / ``--NAME-fen``, as integer fen."""
    if (yuan is None) == (fen is None):
        raise InputError(f"give exactly one of --{name}-yuan and --{name}-fen", field=name)
    if fen is not None:
        return fen
    assert yuan is not None
    try:
        return yuan_to_fen(yuan)
    except AmountError as exc:
        raise InputError(str(exc), field=f"--{name}-yuan") from None


def _digest(hex_value: str | None, file: Path | None, name: str) -> str:
    """Exactly one of ``--NAME-sha256 HEX`` / ``--NAME-file PATH`` (hashed here)."""
    if (hex_value is None) == (file is None):
        raise InputError(f"give exactly one of --{name}-sha256 and --{name}-file", field=name)
    if file is None:
        assert hex_value is not None
        return hex_value.strip().lower()
    return _file_sha256(file)


def _file_sha256(file: Path) -> str:
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", field=str(file)) from None


def submit_body(
    kind: str,
    body: dict[str, Any],
    key: Path,
    server: str,
    log_key: str | None,
    as_json: bool,
    statement_id: str | None,
) -> None:
    """Check ``body`` locally, sign it with ``key`` for the server's log (its origin, read
    from the genesis the pinned log key signed), submit it, verify and print the receipt."""
    with officer_errors():
        try:
            KINDS[kind].check_body(body, 0)
        except VerificationError as exc:
            raise InputError(
                exc.detail, field=(exc.field or "").removeprefix("statement.")
            ) from None
        signer = read_signer(key)
        with connect(server, log_key) as client:
            origin = client.signing_origin()  # the log this statement is signed for
            submission = sign_statement(
                kind, body, signer, origin=origin, statement_id=statement_id
            )
            receipt = client.submit(submission)
    if as_json:
        print_json(receipt.to_json())
    else:
        typer.echo(receipt_line(kind, receipt))


# -- funds -----------------------------------------------------------------------------------


@fund_app.command("appropriate")
def fund_appropriate(
    fund_id: Annotated[str, typer.Option("--fund-id", help="资金编号 fund id, e.g. F-2026-YL")],
    fiscal_year: Annotated[int, typer.Option("--fiscal-year", help="预算年度 fiscal year")],
    programme: Annotated[str, typer.Option("--programme", help="项目名称 programme")],
    source: Annotated[
        str, typer.Option("--source", help="资金来源 source: 财政 | 社区基金 | 捐赠")
    ],
    key: KeyFileOption,
    amount_yuan: YuanOption = None,
    amount_fen: FenOption = None,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """拨款 — appropriate a fund (fund.appropriate, finance officer)."""
    with officer_errors():
        amount = _money(amount_yuan, amount_fen)
    body = {
        "fund_id": fund_id,
        "fiscal_year": fiscal_year,
        "programme": programme,
        "source": source,
        "amount_fen": amount,
    }
    submit_body("fund.appropriate", body, key, server, log_key, as_json, statement_id)


@fund_app.command("donate")
def fund_donate(
    donation_id: Annotated[str, typer.Option("--donation-id", help="捐赠编号 donation id")],
    fund_id: Annotated[str, typer.Option("--fund-id", help="资金编号 fund id")],
    donor: Annotated[
        str,
        typer.Option("--donor", help="捐赠方（主体编号或台账编号，不得是自然人）donor reference"),
    ],
    key: KeyFileOption,
    amount_yuan: YuanOption = None,
    amount_fen: FenOption = None,
    receipt_sha256: Annotated[
        str | None, typer.Option("--receipt-sha256", help="捐赠收据 SHA-256 receipt digest")
    ] = None,
    receipt_file: Annotated[
        Path | None,
        typer.Option("--receipt-file", help="捐赠收据文件（计算其 SHA-256）receipt file"),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """捐赠入账 — record a donation to a fund (fund.donate, finance officer)."""
    with officer_errors():
        body = {
            "donation_id": donation_id,
            "fund_id": fund_id,
            "donor": donor,
            "amount_fen": _money(amount_yuan, amount_fen),
            "receipt_sha256": _digest(receipt_sha256, receipt_file, "receipt"),
        }
    submit_body("fund.donate", body, key, server, log_key, as_json, statement_id)


# -- contracts -------------------------------------------------------------------------------


def _milestone(text: str) -> dict[str, Any]:
    """``ID;AMOUNT_YUAN;DUE;DELIVERABLE`` → a milestone object (the deliverable may hold
    further ``;``)."""
    parts = text.split(";", 3)
    if len(parts) != 4:
        raise InputError(
            "里程碑格式 ID;金额（元）;到期日;交付物 — use ID;AMOUNT_YUAN;YYYY-MM-DD;DELIVERABLE",
            field="--milestone",
        )
    mid, amount, due, deliverable = (p.strip() for p in parts)
    try:
        fen = yuan_to_fen(amount)
    except AmountError as exc:
        raise InputError(str(exc), field=f"--milestone {mid}") from None
    return {"milestone_id": mid, "amount_fen": fen, "due": due, "deliverable": deliverable}


@contract_app.command("award")
def contract_award(
    contract_id: Annotated[str, typer.Option("--contract-id", help="合同编号 contract id")],
    fund_id: Annotated[str, typer.Option("--fund-id", help="资金编号 fund id")],
    provider: Annotated[str, typer.Option("--provider", help="服务机构主体编号 provider party id")],
    title: Annotated[str, typer.Option("--title", help="合同名称 title")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="采购方式 procurement method: 公开招标 | 邀请招标 | 竞争性谈判 | 竞争性磋商 | "
            "询价 | 单一来源 | 框架协议",
        ),
    ],
    milestone: Annotated[
        list[str],
        typer.Option(
            "--milestone",
            help='里程碑（可重复）"编号;金额（元）;到期日;交付物" — repeatable '
            '"ID;AMOUNT_YUAN;YYYY-MM-DD;DELIVERABLE"',
        ),
    ],
    key: KeyFileOption,
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="证明材料 SHA-256（可重复）evidence digest, repeatable"),
    ] = None,
    evidence_file: Annotated[
        list[Path] | None,
        typer.Option("--evidence-file", help="证明材料文件（可重复，计算 SHA-256）evidence file"),
    ] = None,
    total_yuan: Annotated[
        str | None,
        typer.Option("--total-yuan", help="合同总额（元），缺省为里程碑之和 total in yuan"),
    ] = None,
    total_fen: Annotated[
        int | None, typer.Option("--total-fen", help="合同总额（分）total in fen")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """授予合同 — award a purchase-of-service contract with its milestones (contract.award,
    finance officer). The total defaults to the sum of the milestones."""
    with officer_errors():
        milestones = [_milestone(m) for m in milestone]
        if total_yuan is None and total_fen is None:
            total = sum(m["amount_fen"] for m in milestones)
        else:
            total = _money(total_yuan, total_fen, "total")
        digests = [e.strip().lower() for e in evidence or []]
        digests += [_file_sha256(f) for f in evidence_file or []]
        if not digests:
            raise InputError("give --evidence or --evidence-file at least once", field="evidence")
        body = {
            "contract_id": contract_id,
            "fund_id": fund_id,
            "provider": provider,
            "title": title,
            "method": method,
            "total_fen": total,
            "milestones": milestones,
            "evidence": digests,
        }
    submit_body("contract.award", body, key, server, log_key, as_json, statement_id)


# -- payments --------------------------------------------------------------------------------

PaymentIdOption = Annotated[str, typer.Option("--payment-id", help="付款编号 payment id")]


@payment_app.command("propose")
def payment_propose(
    payment_id: PaymentIdOption,
    contract_id: Annotated[str, typer.Option("--contract-id", help="合同编号 contract id")],
    milestone_id: Annotated[str, typer.Option("--milestone-id", help="里程碑编号 milestone id")],
    invoice_no: Annotated[str, typer.Option("--invoice-no", help="发票号码 invoice number")],
    key: KeyFileOption,
    amount_yuan: YuanOption = None,
    amount_fen: FenOption = None,
    invoice_sha256: Annotated[
        str | None, typer.Option("--invoice-sha256", help="发票 SHA-256 invoice digest")
    ] = None,
    invoice_file: Annotated[
        Path | None, typer.Option("--invoice-file", help="发票文件（计算其 SHA-256）invoice file")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """申请付款 — propose a payment against a contract milestone (payment.propose, finance
    officer). At or above the policy's threshold it waits for an approver."""
    with officer_errors():
        body = {
            "payment_id": payment_id,
            "contract_id": contract_id,
            "milestone_id": milestone_id,
            "amount_fen": _money(amount_yuan, amount_fen),
            "invoice_no": invoice_no,
            "invoice_sha256": _digest(invoice_sha256, invoice_file, "invoice"),
        }
    submit_body("payment.propose", body, key, server, log_key, as_json, statement_id)


@payment_app.command("approve")
def payment_approve(
    payment_id: PaymentIdOption,
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """审批通过 — approve a pending payment (payment.approve, approver; not its proposer)."""
    body = {"payment_id": payment_id}
    submit_body("payment.approve", body, key, server, log_key, as_json, statement_id)


@payment_app.command("reject")
def payment_reject(
    payment_id: PaymentIdOption,
    reason: Annotated[str, typer.Option("--reason", help="驳回理由 reason")],
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """驳回 — reject a pending payment (payment.reject, approver)."""
    body = {"payment_id": payment_id, "reason": reason}
    submit_body("payment.reject", body, key, server, log_key, as_json, statement_id)
