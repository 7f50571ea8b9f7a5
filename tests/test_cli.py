"""The operator CLI ``gongxin`` (ledger/cli/), driven through typer's CliRunner in tmp_path."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ledger import proofs
from ledger.cli.main import app
from ledger.signing.keyfile import read_private_key
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import VerifierKey, parse_verifier_key

from .domain_bodies import policy_body, provider_body
from .hand_entries import replay

ORIGIN = "gongxin.test/cli"
PASSPHRASE = "correct horse battery staple 正确"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command inside tmp_path with none of the CLI's environment variables set."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "GONGXIN_DATABASE_URL",
        "GONGXIN_KEY_PASSPHRASE",
        "GONGXIN_LOG_KEY_FILE",
    ):
        monkeypatch.delenv(var, raising=False)


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


# -- keys ------------------------------------------------------------------------------------


def test_keys_new_writes_0600_key_and_prints_only_the_verifier_key(tmp_path: Path) -> None:
    result = run("keys", "new", "jiedao-finance-1")
    key_file, vkey_file = tmp_path / "jiedao-finance-1.key", tmp_path / "jiedao-finance-1.vkey"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().strip()
    assert secret.startswith("PRIVATE+KEY+jiedao-finance-1+")
    vkey = parse_verifier_key(vkey_file.read_text().strip())
    assert read_private_key(key_file).verifier() == vkey
    assert str(vkey) in result.stdout
    secret_b64 = secret.split("+", 4)[4]  # base64 may itself contain "+"
    for text in (result.stdout, result.stderr):
        assert "PRIVATE+KEY" not in text
        assert secret_b64 not in text and secret_b64[4:40] not in text
    # never overwritten
    run("keys", "new", "jiedao-finance-1", code=2)
    assert key_file.read_text().strip() == secret


def test_keys_new_encrypt(tmp_path: Path) -> None:
    result = run("keys", "new", "enc", "--encrypt", env={"GONGXIN_KEY_PASSPHRASE": PASSPHRASE})
    data = (tmp_path / "enc.key").read_text()
    assert data.startswith("gongxin-encrypted-private-key/v1\n")
    assert "PRIVATE+KEY" not in data and PASSPHRASE not in result.output
    assert stat.S_IMODE((tmp_path / "enc.key").stat().st_mode) == 0o600
    key = read_private_key(tmp_path / "enc.key", PASSPHRASE)
    assert str(key.verifier()) in result.stdout
    assert key.private_key_string() not in result.output


# -- init, append, proofs --------------------------------------------------------------------


def test_init_append_checkpoint_and_proofs() -> None:
    log = Log()
    note1, size1, root1 = log.checkpoint()
    assert size1 == 1
    # a grant, then a finance statement signed with the granted key (a party registration:
    # valid before any policy.set, unlike a fund)
    r1 = json.loads(
        log.append(
            grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key"
        ).stdout
    )
    note2, size2, root2 = log.checkpoint()
    assert (r1["index"], r1["tree_size"], r1["duplicate"], size2) == (1, 2, False, 2)
    assert r1["checkpoint"] == note2
    r2 = json.loads(log.append(party(), "test-finance.key").stdout)
    note3, size3, root3 = log.checkpoint()
    assert (r2["index"], r2["tree_size"], size3) == (2, 3, 3)

    lines = [log.line(i) for i in range(3)]
    for r, root in ((r1, root2), (r2, root3)):
        leaf = merkle.leaf_hash(lines[r["index"]])
        assert bytes.fromhex(r["leaf_hash"]) == leaf
        cp = open_checkpoint(r["checkpoint"], log.log_vkey)
        assert cp.root == root
        proof = r["inclusion_proof"]
        assert (proof["leaf_index"], proof["tree_size"]) == (r["index"], r["tree_size"])
        merkle.verify_inclusion(
            leaf, r["index"], cp.size, b64list(proof["inclusion_path"]), cp.root
        )

    # prove inclusion 1 --size 2, against the signed size-2 checkpoint
    p = json.loads(run("prove", "inclusion", "1", "--size", "2", "--db", log.db).stdout)
    assert (p["leaf_index"], p["tree_size"]) == (1, 2)
    assert base64.b64decode(p["root"]) == root2
    merkle.verify_inclusion(merkle.leaf_hash(lines[1]), 1, 2, b64list(p["inclusion_path"]), root2)
    # default size: the current tree
    p = json.loads(run("prove", "inclusion", "0", "--db", log.db).stdout)
    merkle.verify_inclusion(merkle.leaf_hash(lines[0]), 0, 3, b64list(p["inclusion_path"]), root3)

    # prove consistency 1 2, and 1 3 / 2 3 against the signed checkpoints
    for a, b, ra, rb in ((1, 2, root1, root2), (1, 3, root1, root3), (2, 3, root2, root3)):
        c = json.loads(run("prove", "consistency", str(a), str(b), "--db", log.db).stdout)
        assert (c["tree_size_1"], c["tree_size_2"]) == (a, b)
        assert (base64.b64decode(c["root_1"]), base64.b64decode(c["root_2"])) == (ra, rb)
        merkle.verify_consistency(a, b, b64list(c["consistency_path"]), ra, rb)
    # the entries re-verify from scratch
    replay(lines)
    assert note1 != note2 != note3


def test_append_is_idempotent_by_statement_id() -> None:
    log = Log()
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    statement = fund(5, id="6d1f1b0e-8a0b-4f0a-9c7e-2b7b9e0c1d2e", time=stamp())
    first = json.loads(log.append(statement, "test-finance.key").stdout)
    again = json.loads(log.append(statement, "test-finance.key").stdout)
    assert (again["index"], again["duplicate"], first["duplicate"]) == (first["index"], True, False)
    assert log.checkpoint()[1] == first["tree_size"]


def test_rule_rejection_exits_1_with_one_line_naming_the_rule() -> None:
    log = Log()
    size = log.checkpoint()[1]
    # the authority does not hold finance_officer
    r = log.append(fund(1), "test-authority.key", code=1)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "[role.forbidden]" in lines[0]
    assert r.stdout == ""
    # a key that was never granted
    r = log.append(fund(2), "test-finance.key", code=1)
    assert len(r.stderr.strip().splitlines()) == 1 and "[key.unknown]" in r.stderr
    # a statement signed 8 days ago
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    r = log.append(fund(3, time=stamp(timedelta(days=-8))), "test-finance.key", code=1)
    assert len(r.stderr.strip().splitlines()) == 1 and "[statement.time]" in r.stderr
    # a body the kind does not allow
    bad = fund(4)
    bad["body"]["amount_fen"] = 0
    r = log.append(bad, "test-finance.key", code=1)
    assert "[entry.body]" in r.stderr
    assert log.checkpoint()[1] == size + 1  # only the grant was written


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    log = Log()
    statement = write_json(tmp_path / "ok.json", fund(1))
    # missing statement file, missing key file, missing log key file
    run("append", "missing.json", "--key", "test-authority.key", "--db", log.db, code=2)
    run("append", str(statement), "--key", "nope.key", "--db", log.db, code=2)
    run(
        "append", str(statement), "--key", "test-authority.key", "--db", log.db,
        "--log-key-file", "nope.key", code=2,
    )  # fmt: skip
    # bad JSON, and JSON of the wrong shape
    (tmp_path / "bad.json").write_text('{"kind": "fund.appropriate", "body": ')
    run("append", "bad.json", "--key", "test-authority.key", "--db", log.db, code=2)
    write_json(tmp_path / "shape.json", {"kind": "fund.appropriate"})
    run("append", "shape.json", "--key", "test-authority.key", "--db", log.db, code=2)
    write_json(tmp_path / "extra.json", {**fund(1), "signer": "x"})
    run("append", "extra.json", "--key", "test-authority.key", "--db", log.db, code=2)
    # a database without a log
    run("checkpoint", "--db", "sqlite:///other.db", code=2)
    run("prove", "inclusion", "0", "--db", "sqlite:///other.db", code=2)
    # out-of-range proof arguments, missing arguments, unknown options
    run("prove", "inclusion", "5", "--size", "2", "--db", log.db, code=2)
    run("prove", "consistency", "0", "1", "--db", log.db, code=2)
    run("prove", "consistency", "2", "1", "--db", log.db, code=2)
    run("entry", "7", "--db", log.db, code=2)
    run("append", code=2)
    run("checkpoint", "--no-such-option", code=2)
    # init again on the same database
    run("init", "--origin", ORIGIN, "--authority-key", "test-authority.key", "--db", log.db, code=2)
    # a log key file that belongs to another log
    run("keys", "new", "gongxin.test/other")
    run(
        "append", str(statement), "--key", "test-authority.key", "--db", log.db,
        "--log-key-file", "gongxin.test_other.key", code=2,
    )  # fmt: skip
    assert log.checkpoint()[1] == 1


@pytest.mark.parametrize("url", ["bogus://x", "not a url", "sqlite:////nonexistent-dir/x/y.db"])
def test_unusable_database_url_exits_2(url: str) -> None:
    run("checkpoint", "--db", url, code=2)


def test_append_into_an_empty_database_is_a_usage_error(tmp_path: Path) -> None:
    run("keys", "new", "test-authority")
    run("keys", "new", ORIGIN)
    auth = read_private_key(tmp_path / "test-authority.key")
    log_key = read_private_key(tmp_path / "gongxin.test_cli.key")
    genesis = {
        "kind": "log.genesis",
        "body": {
            "authorities": [str(auth.verifier())],
            "log_key": str(log_key.verifier()),
            "origin": ORIGIN,
        },
    }
    write_json(tmp_path / "genesis.json", genesis)
    run(
        "append", "genesis.json", "--key", "test-authority.key", "--db", "sqlite:///empty.db",
        "--log-key-file", "gongxin.test_cli.key", code=2,
    )  # fmt: skip


def test_database_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'env.db'}"
    (tmp_path / "sub").mkdir()
    env = {"GONGXIN_DATABASE_URL": url}
    run("keys", "new", "test-authority")
    run("init", "--origin", ORIGIN, "--authority-key", "test-authority.key", env=env)
    assert (tmp_path / "sub" / "env.db").exists()
    assert not (tmp_path / "gongxin.db").exists()
    note = run("checkpoint", env=env).stdout
    assert note.startswith(f"{ORIGIN}\n1\n")
    run("checkpoint", code=2)  # without it: the default ./gongxin.db holds no log
    # --db wins over the environment
    run("checkpoint", "--db", "sqlite:///elsewhere.db", env=env, code=2)


def test_encrypted_key_with_passphrase_from_environment(tmp_path: Path) -> None:
    log = Log()
    env = {"GONGXIN_KEY_PASSPHRASE": PASSPHRASE}
    run("keys", "new", "test-enc", "--encrypt", env=env)
    log.append(grant(Path("test-enc.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    path = write_json(tmp_path / "f.json", fund(9))
    args = ("append", str(path), "--key", "test-enc.key", "--db", log.db)
    r = run(*args, code=2)  # no passphrase
    assert "GONGXIN_KEY_PASSPHRASE" in r.stderr
    run(*args, code=2, env={"GONGXIN_KEY_PASSPHRASE": "wrong"})
    receipt = json.loads(run(*args, env=env).stdout)
    assert receipt["index"] == 3  # genesis, grant, policy, then this fund
    line = log.line(3)
    assert (
        json.loads(line)["statement"]["signer"]
        == read_private_key(tmp_path / "test-enc.key", PASSPHRASE).key_id_hex
    )
    assert PASSPHRASE not in json.dumps(receipt)


# -- export and the verifier --------------------------------------------------------------------


def _export(log: Log, directory: str) -> Path:
    run("export", directory, "--db", log.db)
    return Path(directory)


def test_export_bundle_is_valid(tmp_path: Path) -> None:
    log = Log()
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    log.append(fund(1), "test-finance.key")
    out = _export(log, "bundle")
    data = (out / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    lines = data[:-1].split(b"\n")
    cp = open_checkpoint((out / "checkpoint").read_text(), log.log_vkey)
    assert cp.size == len(lines) == 4
    assert proofs.root_of(merkle.leaf_hash(x) for x in lines) == cp.root
    assert parse_verifier_key((out / "log.vkey").read_text().strip()) == log.log_vkey
    replay(lines)
    # a directory with other files is refused, unless --force
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    run("export", "busy", "--db", log.db, code=2)
    run("export", "busy", "--db", log.db, "--force")
    assert (tmp_path / "busy" / "entries.jsonl").read_bytes() == data


def test_export_verifies_with_gongxin_verify(tmp_path: Path) -> None:
    log = Log()
    log.append(grant(Path("test-finance.vkey"), ["finance_officer"]), "test-authority.key")
    log.append(policy(), "test-authority.key")
    log.append(fund(1), "test-finance.key")
    out = _export(log, "bundle")
    key_file = tmp_path / "published-log.vkey"
    key_file.write_text(str(log.log_vkey) + "\n")
    exe = Path(sys.executable).with_name("gongxin-verify")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "verifier.cli"]
    ok = subprocess.run(
        [*cmd, str(out), "--log-key", str(key_file)], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # light mode with the files `gongxin entry`, `prove inclusion` and `checkpoint` print
    (tmp_path / "line").write_bytes(log.line(1) + b"\n")
    (tmp_path / "proof.json").write_text(run("prove", "inclusion", "1", "--db", log.db).stdout)
    (tmp_path / "cp").write_text(log.checkpoint()[0])
    light = [*cmd, "inclusion", "line", "proof.json", "cp", "--log-key", str(key_file)]
    ok = subprocess.run(light, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "line").write_bytes(log.line(2) + b"\n")
    bad = subprocess.run(light, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    # and a tampered bundle does not verify
    entries = (out / "entries.jsonl").read_bytes()
    (out / "entries.jsonl").write_bytes(entries.replace(b"100001", b"100002"))
    bad = subprocess.run(
        [*cmd, str(out), "--log-key", str(key_file)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr


# -- demo ---------------------------------------------------------------------------------------


def _demo(directory: str, *args: str, code: int = 0) -> Result:
    Path(directory).mkdir(exist_ok=True)
    return run(
        "demo", "--db", f"sqlite:///{directory}/demo.db", "--keys-dir", f"{directory}/keys",
        *args, code=code,
    )  # fmt: skip


def _demo_export(directory: str) -> dict[str, bytes]:
    run("export", f"{directory}/out", "--db", f"sqlite:///{directory}/demo.db")
    return {p.name: p.read_bytes() for p in sorted(Path(directory, "out").iterdir())}


def test_demo_is_deterministic() -> None:
    _demo("a", "--entries", "300", "--seed", "7")
    _demo("b", "--entries", "300", "--seed", "7")
    _demo("c", "--entries", "300", "--seed", "8")
    a, b, c = _demo_export("a"), _demo_export("b"), _demo_export("c")
    assert set(a) == {"entries.jsonl", "checkpoint", "log.vkey"}
    assert a == b
    assert a["entries.jsonl"].count(b"\n") == 300
    assert c["entries.jsonl"] != a["entries.jsonl"]
    assert c["checkpoint"] != a["checkpoint"]
    # the keys written are the same too
    keys_a = {p.name: p.read_bytes() for p in Path("a/keys").iterdir()}
    keys_b = {p.name: p.read_bytes() for p in Path("b/keys").iterdir()}
    assert keys_a == keys_b and any(n.endswith(".key") for n in keys_a)
    for name in keys_a:
        if name.endswith(".key"):
            assert stat.S_IMODE(Path("a/keys", name).stat().st_mode) == 0o600


def test_demo_refuses_an_existing_database_without_force() -> None:
    _demo("d", "--entries", "20", "--seed", "3")
    before = _demo_export("d")
    r = _demo("d", "--entries", "50", "--seed", "4", code=2)
    assert "--force" in r.stderr
    run("export", "d/out", "--db", "sqlite:///d/demo.db")
    assert {p.name: p.read_bytes() for p in Path("d/out").iterdir()} == before
    _demo("d", "--entries", "50", "--seed", "4", "--force")
    after = _demo_export("d")
    assert after["entries.jsonl"].count(b"\n") == 50


@pytest.mark.parametrize("n", [1, 2, 13, 14, 97])
def test_demo_entries_gives_exactly_n(n: int) -> None:
    r = _demo("n", "--entries", str(n), "--seed", "2")
    assert f"{n} entries" in r.stdout
    data = _demo_export("n")["entries.jsonl"]
    assert data.count(b"\n") == n
    lines = data[:-1].split(b"\n")
    replay(lines)
    cp = open_checkpoint(
        Path("n/out/checkpoint").read_text(),
        parse_verifier_key(Path("n/out/log.vkey").read_text().strip()),
    )
    assert cp.size == n


def test_demo_rejects_zero_entries() -> None:
    _demo("z", "--entries", "0", code=2)


def test_missing_passphrase_hint_names_only_real_options(tmp_path: Path) -> None:
    log = Log()
    run("keys", "new", "test-enc", "--encrypt", env={"GONGXIN_KEY_PASSPHRASE": PASSPHRASE})
    path = write_json(tmp_path / "f.json", fund(9))
    r = run("append", str(path), "--key", "test-enc.key", "--db", log.db, code=2)
    assert "GONGXIN_KEY_PASSPHRASE" in r.stderr
    assert "--passphrase" not in r.stderr
    # the option it names really does not exist
    run("append", str(path), "--key", "test-enc.key", "--db", log.db, "--passphrase", "x", code=2)
