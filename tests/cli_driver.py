"""Drive the operator CLI ``gongxin`` (ledger/cli/) through typer's CliRunner, for the
``test_cli_*`` modules: :func:`run`, statement builders and :class:`Log`, a log made through the
CLI in the current directory. The tests run in tmp_path with the CLI's environment cleared
(the ``cli_isolated`` fixture, tests/conftest.py)."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from ledger.cli.main import app
from ledger.signing.keyfile import read_private_key
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import VerifierKey, parse_verifier_key

from .domain_bodies import policy_body, provider_body

ORIGIN = "gongxin.test/cli"
PASSPHRASE = "correct horse battery staple 正确"


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Result:
    """Invoke ``gongxin ARGS`` and require exit ``code``, with no unhandled exception."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"gongxin {' '.join(args)} crashed") from result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def stamp(delta: timedelta = timedelta(seconds=-1)) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def fund(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "fund.appropriate",
        "body": {
            "fund_id": f"F-{n}",
            "fiscal_year": 2026,
            "programme": "社区养老服务",
            "source": "财政",
            "amount_fen": 100_000 + n,
        },
        **extra,
    }


def policy() -> dict[str, Any]:
    """policy.set v1 (an authority signs it): funds and most domain kinds need it first."""
    return {"kind": "policy.set", "body": policy_body()}


def party() -> dict[str, Any]:
    """A party.register of a provider: a finance statement valid before any policy."""
    return {"kind": "party.register", "body": provider_body()}


def grant(vkey_file: Path, roles: list[str]) -> dict[str, Any]:
    return {
        "kind": "key.grant",
        "body": {"key": vkey_file.read_text().strip(), "roles": roles, "title": "街道财务科 会计"},
    }


class Log:
    """An initialised log created through the CLI in the current directory."""

    def __init__(self, db: str = "sqlite:///gongxin-test.db") -> None:
        self.db = db
        run("keys", "new", "test-authority")
        run("keys", "new", "test-finance")
        out = run(
            "init", "--origin", ORIGIN, "--authority-key", "test-authority.key", "--db", db
        ).stdout
        line = next(x for x in out.splitlines() if "log verifier key:" in x)
        self.log_vkey: VerifierKey = parse_verifier_key(line.split("log verifier key:")[1].strip())
        assert self.log_vkey.name == ORIGIN
        assert read_private_key(Path("gongxin-log.key")).verifier() == self.log_vkey

    def append(self, statement: dict[str, Any], key: str, code: int = 0) -> Result:
        path = write_json(Path(f"stmt-{os.urandom(4).hex()}.json"), statement)
        return run("append", str(path), "--key", key, "--db", self.db, code=code)

    def checkpoint(self) -> tuple[str, int, bytes]:
        note = run("checkpoint", "--db", self.db).stdout
        cp = open_checkpoint(note, self.log_vkey)
        return note, cp.size, cp.root

    def line(self, index: int) -> bytes:
        out = run("entry", str(index), "--db", self.db).stdout_bytes
        assert out.endswith(b"\n") and out.count(b"\n") == 1
        return out[:-1]


def b64list(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]
