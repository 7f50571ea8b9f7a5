"""``gongxin residents``: the off-ledger resident register (居民登记册, docs/RESIDENTS.md).

Same database as the ledger: ``--db URL`` or ``GONGXIN_DATABASE_URL`` (default
``sqlite:///gongxin.db``). Exit codes: 0 success; 1 erasure cancelled or not finished
(see ``purge``); 2 usage or input error (including an unknown register number).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from ledger.cli.options import DEFAULT_DB, DbOption
from ledger.residents import ErasureIncomplete, ResidentRegister, format_lookup_code
from verifier.core.errors import GongxinError, InputError

residents_app = typer.Typer(
    help="居民登记册 — the off-ledger resident register: enrol, look up, erase (PIPL Art. 47).",
    no_args_is_help=True,
)


def _fail(exc: GongxinError) -> NoReturn:
    if isinstance(exc, ErasureIncomplete):
        typer.echo(f"✗ 擦除未完成 erasure incomplete: {exc}", err=True)
        raise typer.Exit(1)
    if isinstance(exc, InputError):
        typer.echo(f"✗ 输入错误 input error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"✗ 错误 error: {exc}", err=True)
    raise typer.Exit(1)


@contextmanager
def _register(db: str, *, create: bool = False) -> Iterator[ResidentRegister]:
    """Open the register; any Gongxin error becomes one line and an exit code."""
    try:
        with ResidentRegister.open(db, create=create) as register:
            yield register
    except GongxinError as exc:
        _fail(exc)


@residents_app.command("enrol")
def enrol(
    community: Annotated[
        str, typer.Option("--community", help="社区标识 community identifier, e.g. chunjiang")
    ],
    name: Annotated[str, typer.Option("--name", help="姓名 name (1–50 characters)")],
    id_number: Annotated[
        str | None,
        typer.Option("--id-number", help="居民身份证号码 resident ID number (18 characters)"),
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="手机号 mobile number (11 digits)")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """登记居民 — enrol a resident; prints the register number, resident_ref and lookup code."""
    with _register(db, create=True) as register:
        e = register.enrol(community, name, id_number, phone)
    typer.echo(f"✓ 已登记 enrolled in community {e.community}")
    typer.echo(f"登记号 register number: {e.register_no}")
    typer.echo(f"账本化名 resident_ref: {e.resident_ref}")
    _show_code(e.lookup_code)


def _show_code(code: str) -> None:
    typer.echo(f"查询码 lookup code: {format_lookup_code(code)}")
    typer.echo("  查询码只显示这一次，请交给居民本人 — shown only once; give it to the resident.")


@residents_app.command("new-code")
def new_code(
    register_no: Annotated[str, typer.Argument(help="登记号 register number, R…")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """换发查询码 — give REGISTER_NO a new 13-character lookup code (lost code, or an old
    8-character one, which no longer works); the previous code stops working at once."""
    with _register(db) as register:
        code = register.new_code(register_no)
    typer.echo(f"✓ 已换发 new lookup code for {register_no.strip()}")
    _show_code(code)


@residents_app.command("ref")
def ref(
    register_no: Annotated[str, typer.Argument(help="登记号 register number, R…")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """查询化名 — print the resident_ref of REGISTER_NO."""
    with _register(db) as register:
        typer.echo(register.ref_of(register_no))


@residents_app.command("erase")
def erase(
    register_no: Annotated[str, typer.Argument(help="登记号 register number, R…")],
    yes: Annotated[
        bool, typer.Option("--yes", help="不再确认 do not ask for confirmation")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """擦除居民个人信息 — erase a resident from the register (irreversible; the log stays valid)."""
    with _register(db) as register:
        current = register.ref_of(register_no)
        if not yes and not typer.confirm(
            f"确认擦除登记号 {register_no.strip()}（化名 {current}）？此操作不可撤销 — "
            "erase this resident? This cannot be undone",
            default=False,
        ):
            typer.echo("未擦除 not erased", err=True)
            raise typer.Exit(1)
        erased = register.erase(register_no)
    typer.echo(f"✓ 已擦除 erased: {register_no.strip()}")
    typer.echo(f"化名 {erased} 已无法关联到任何人 — resident_ref {erased} is now unlinkable.")


@residents_app.command("purge")
def purge(db: DbOption = DEFAULT_DB) -> None:
    """完成擦除 — finish an erasure that reported the write-ahead log busy."""
    with _register(db) as register:
        register.purge()
    typer.echo("✓ 已清理 purged: old copies of erased rows removed (PostgreSQL: best effort)")
