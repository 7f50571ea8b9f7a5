"""``gongxin``: the operator's command line (FORMAT.md describes every file it reads or writes).

The database comes from ``--db URL`` or ``GONGXIN_DATABASE_URL`` (default
``sqlite:///gongxin.db`` in the working directory). Private keys are read from files
(``--key``, ``--log-key-file``), decrypted with ``GONGXIN_KEY_PASSPHRASE`` when they are
encrypted, and never printed.

Exit codes: 0 success; 1 the ledger refused the input (a rule failed; nothing was written);
2 usage or input error. Errors are one line saying what to do.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.backup import backup, restore
from ledger.cli.db import db_app
from ledger.cli.demo import demo_command
from ledger.cli.import_sheets import import_command
from ledger.cli.officer import contract_app, fund_app, payment_app
from ledger.cli.options import DEFAULT_DB, DEFAULT_LOG_KEY, DbOption, LogKeyOption
from ledger.cli.options import fail as _fail
from ledger.cli.options import print_json as _print_json
from ledger.cli.options import reading as _reading
from ledger.cli.organiser import activity_app, credit_app
from ledger.cli.prove import proof_json as _proof_json
from ledger.cli.prove import prove_app
from ledger.cli.report import report_command
from ledger.cli.residents import residents_app
from ledger.cli.tiles import tiles_command
from ledger.log import Ledger
from ledger.signing.keyfile import read_private_key, write_private_key, write_verifier_key
from ledger.signing.keys import SignerKey
from ledger.signing.statements import canonicalize, sign_statement
from verifier.cli.files import load_verifier_key
from verifier.core.errors import GongxinError, InputError

app = typer.Typer(
    help="公信 Gongxin 账本运维工具 — operator CLI for the Gongxin signed ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="密钥管理 — create Ed25519 signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(prove_app, name="prove")
app.add_typer(residents_app, name="residents")
app.add_typer(db_app, name="db")
app.add_typer(fund_app, name="fund")
app.add_typer(contract_app, name="contract")
app.add_typer(payment_app, name="payment")
app.add_typer(activity_app, name="activity")
app.add_typer(credit_app, name="credit")
app.command("import")(import_command)
app.command("report")(report_command)
app.command("backup")(backup)
app.command("restore")(restore)
app.command("tiles")(tiles_command)
app.command("demo")(demo_command)

#: Entry-point group through which other packages add commands (``gongxin serve`` comes from
#: ``api.cli_serve``, so that ``ledger`` never imports ``api``: arrows point api → ledger).
COMMAND_GROUP = "gongxin.commands"


def _add_installed_commands() -> None:
    """Register every command of the :data:`COMMAND_GROUP` entry points (installed with the
    ``server`` extra). Cost: one metadata scan and the import of each command's module."""
    for ep in importlib.metadata.entry_points(group=COMMAND_GROUP):
        if any(c.name == ep.name for c in app.registered_commands) or any(
            g.name == ep.name for g in app.registered_groups
        ):
            continue
        loaded = ep.load()
        if isinstance(loaded, typer.Typer):  # a command group, e.g. `gongxin witness …`
            app.add_typer(loaded, name=ep.name)
        else:
            app.command(ep.name)(loaded)


_add_installed_commands()


def _passphrase() -> str | None:
    return os.environ.get("GONGXIN_KEY_PASSPHRASE") or None


def _read_key(path: Path, what: str) -> SignerKey:
    if not path.exists():
        hint = (
            "pass --log-key-file (or GONGXIN_LOG_KEY_FILE) with the file `gongxin init` created; "
            "after `gongxin demo` it is gongxin-demo-keys/gongxin.example_jiedao-001.key"
            if what == "log key"
            else "create one with `gongxin keys new NAME`, or pass the right path"
        )
        raise InputError(f"no such {what} file; {hint}", field=str(path))
    return read_private_key(path, _passphrase())


@keys_app.command("new")
def keys_new(
    name: Annotated[
        str, typer.Argument(help="密钥名称 key name (no spaces or '+'), e.g. jiedao-finance-1")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="输出目录 where to write NAME.key and NAME.vkey")
    ] = Path("."),
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt",
            help="用口令加密私钥 encrypt with a passphrase (GONGXIN_KEY_PASSPHRASE or prompt)",
        ),
    ] = False,
) -> None:
    """生成新的 Ed25519 密钥 — create a key: NAME.key (private, mode 0600) and NAME.vkey (public)."""
    try:
        key = SignerKey.generate(name)
        stem = name.replace("/", "_")
        passphrase = None
        if encrypt:
            passphrase = _passphrase() or typer.prompt(
                "口令 passphrase", hide_input=True, confirmation_prompt=True
            )
        write_private_key(out_dir / f"{stem}.key", key, passphrase)
        write_verifier_key(out_dir / f"{stem}.vkey", key.verifier())
    except GongxinError as exc:
        _fail(exc)
    typer.echo(f"私钥 private key: {out_dir / f'{stem}.key'} (mode 0600; keep it secret)")
    typer.echo(f"公钥 verifier key: {key.verifier()}")


@app.command()
def init(
    origin: Annotated[
        str, typer.Option("--origin", help="日志名称 log origin, e.g. gongxin.example/jiedao-001")
    ],
    authority_key: Annotated[
        Path,
        typer.Option(
            "--authority-key", help="权威私钥文件 authority private key file (signs genesis)"
        ),
    ],
    extra_authority: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-authority",
            help="其他权威公钥 further authority verifier keys (string or file)",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    log_key_file: LogKeyOption = Path(DEFAULT_LOG_KEY),
) -> None:
    """创建新日志 — create the log: a new log key (if the file is missing) and the genesis entry."""
    try:
        authority = _read_key(authority_key, "authority key")
        extra = [str(load_verifier_key(v)) for v in extra_authority or []]
        with Ledger.open(db) as probe:
            if probe.size:
                raise InputError(
                    "this database already holds a log; choose another --db", field="database"
                )
        if log_key_file.exists():
            log_key = read_private_key(log_key_file, _passphrase())
            if log_key.name != origin:
                raise InputError(
                    f"log key is named {log_key.name!r} but the origin is {origin!r}",
                    field=str(log_key_file),
                )
        else:
            log_key = SignerKey.generate(origin)
            write_private_key(log_key_file, log_key, _passphrase())
        auths = [str(authority.verifier()), *extra]
        body = {
            "authorities": auths,
            "format": 2,  # FORMAT.md §7.3: every signature names this log's origin
            "log_key": str(log_key.verifier()),
            "origin": origin,
        }
        genesis = sign_statement("log.genesis", body, authority, origin=origin)
        with Ledger.open(db, log_key=log_key) as ledger:
            ledger.initialize(genesis.canonical())
            typer.echo(f"✓ 已创建日志 created log {origin} in {db}")
            typer.echo(f"日志公钥 log verifier key: {ledger.log_vkey}")
            typer.echo(f"日志私钥 log private key: {log_key_file}")
    except GongxinError as exc:
        _fail(exc)


def _submission(template: Any, key: Path | None, ledger: Ledger, file: Path) -> bytes:
    """What ``gongxin append`` appends: ``template`` signed with ``key`` for this log (its
    origin, FORMAT.md §3.2), or, without ``key``, ``template`` as an already signed
    submission (canonical JSON re-encoded; the ledger verifies its signatures)."""
    signed = isinstance(template, dict) and template.keys() == {"signatures", "statement"}
    if signed and key is None:
        return canonicalize(template)
    if (
        signed
        or key is None
        or not isinstance(template, dict)
        or not {"kind", "body"} <= template.keys()
        or not template.keys() <= {"kind", "body", "id", "time"}
    ):
        raise InputError(
            'with --key, an object with "kind" and "body" (and optional "id", "time"); '
            'without it, a signed submission {"signatures": …, "statement": …}',
            field=str(file),
        )
    sub = sign_statement(
        template["kind"],
        template["body"],
        _read_key(key, "signing key"),
        origin=ledger.state.message_origin,  # this log's (None: a format-1 log)
        statement_id=template.get("id"),
        time=template.get("time"),
    )
    return sub.canonical()


@app.command()
def append(
    file: Annotated[
        Path,
        typer.Argument(
            help='声明 JSON 文件 statement file: {"kind": …, "body": {…}} (optional "id", '
            '"time"); or, without --key, a signed submission {"signatures", "statement"}'
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="签名人私钥文件 the signing official's private key file"),
    ] = None,
    db: DbOption = DEFAULT_DB,
    log_key_file: LogKeyOption = Path(DEFAULT_LOG_KEY),
) -> None:
    """签名并追加一条声明 — sign a statement with --key for this log and append it (or append a
    submission signed elsewhere); prints the receipt and proof."""
    try:
        try:
            template = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read statement JSON: {exc}", field=str(file)) from None
        with Ledger.open(db, log_key=_read_key(log_key_file, "log key")) as ledger:
            receipt = ledger.append(_submission(template, key, ledger, file))
            proof = ledger.inclusion_proof(receipt.index, receipt.tree_size)
    except GongxinError as exc:
        _fail(exc)
    out = receipt.to_json()
    out["inclusion_proof"] = _proof_json(proof.leaf_index, proof.tree_size, proof.path)
    _print_json(out)


@app.command()
def checkpoint(db: DbOption = DEFAULT_DB) -> None:
    """打印最新签名检查点 — print the latest signed checkpoint (C2SP tlog-checkpoint)."""
    with _reading(db) as ledger:
        sys.stdout.write(ledger.latest_checkpoint())


@app.command()
def entry(
    index: Annotated[int, typer.Argument(help="条目序号 entry index")], db: DbOption = DEFAULT_DB
) -> None:
    """打印一条日志条目 — print entry INDEX exactly as logged (one canonical JSON line)."""
    with _reading(db) as ledger:
        if not 0 <= index < ledger.size:
            raise InputError(f"index must be between 0 and {ledger.size - 1}", field="index")
        sys.stdout.buffer.write(next(ledger.iter_lines(index, index + 1)) + b"\n")


class TraceTarget(StrEnum):
    """What ``gongxin trace`` follows."""

    fund = "fund"
    contract = "contract"
    payment = "payment"
    resident = "resident"


@app.command()
def trace(
    target: Annotated[
        TraceTarget,
        typer.Argument(help="追溯对象 what to trace: fund | contract | payment | resident"),
    ],
    ident: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="编号 its id: fund_id, contract_id, payment_id, or a resident's resident_ref "
            "(see `gongxin residents ref`)",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 print JSON")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """追溯 — the chain of entries behind one fund, contract, payment or resident: index, kind,
    log time, signer, leaf hash, amounts. Indexed look-ups in the postings table (milliseconds;
    the first trace after `gongxin db upgrade` fills the table once, O(n)); an unknown ID
    exits 2."""
    from ledger.trace import trace_ledger
    from ledger.trace_text import render_text

    with _reading(db) as ledger:
        result = trace_ledger(ledger, target.value, ident)
    if as_json:
        _print_json(result.to_json())
    else:
        sys.stdout.write(render_text(result))


@app.command()
def export(
    directory: Annotated[
        Path | None, typer.Argument(help="输出目录 output directory (optional with --ocds)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="覆盖目录中的旧文件 write into a non-empty directory")
    ] = False,
    ocds: Annotated[
        Path | None,
        typer.Option(
            "--ocds",
            help="另写出 OCDS 1.1.5 发布包 also write the contracts as an OCDS release package",
        ),
    ] = None,
    ocid_prefix: Annotated[
        str, typer.Option("--ocid-prefix", help="OCID 前缀 the registered OCID prefix")
    ] = "ocds-xxxxxx",
    witnessed: Annotated[
        Path | None,
        typer.Option(
            "--witnessed",
            metavar="POLICY",
            help="只导出到见证策略法定数已副署的最新检查点 end the bundle at the newest "
            "checkpoint the quorum of this witness policy cosigned",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """导出审计包 — write entries.jsonl, checkpoint and log.vkey for gongxin-verify; with
    --ocds, the contracts as an OCDS 1.1.5 release package (verifier/reports/ocds.py)."""
    from ledger.export import export_bundle, export_ocds
    from verifier.reports.ocds import PLACEHOLDER_PREFIX

    if directory is None and ocds is None:
        _fail(
            InputError(
                "name an output directory, --ocds OUT.json, or both; 请指定输出目录或 --ocds"
            )
        )
    with _reading(db) as ledger:
        if directory is not None:
            policy = None
            if witnessed is not None:
                from verifier.witness.policy import load_policy

                policy = load_policy(witnessed)
            n = export_bundle(ledger, directory, force=force, witnessed=policy)
            typer.echo(f"✓ 已导出 exported {n} entries to {directory}")
            typer.echo(
                f"  验证 verify: gongxin-verify {directory} --log-key {directory / 'log.vkey'}"
            )
        if ocds is not None:
            releases = export_ocds(ledger, ocds, ocid_prefix)
            typer.echo(f"✓ 已导出 OCDS: {releases} releases to {ocds}")
            if ocid_prefix == PLACEHOLDER_PREFIX:
                typer.echo(
                    f"警告 warning: OCID prefix {PLACEHOLDER_PREFIX} is a placeholder — register a "
                    "prefix with the Open Contracting Partnership and pass --ocid-prefix",
                    err=True,
                )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
