"""The operator CLI ``gongxin``: usage errors exit 2, the database URL and the key
passphrase from the environment, and the hints it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.signing.keyfile import read_private_key

from .cli_driver import ORIGIN, PASSPHRASE, Log, fund, grant, policy, run, write_json

pytestmark = pytest.mark.usefixtures("cli_isolated")


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


def test_missing_passphrase_hint_names_only_real_options(tmp_path: Path) -> None:
    log = Log()
    run("keys", "new", "test-enc", "--encrypt", env={"GONGXIN_KEY_PASSPHRASE": PASSPHRASE})
    path = write_json(tmp_path / "f.json", fund(9))
    r = run("append", str(path), "--key", "test-enc.key", "--db", log.db, code=2)
    assert "GONGXIN_KEY_PASSPHRASE" in r.stderr
    assert "--passphrase" not in r.stderr
    # the option it names really does not exist
    run("append", str(path), "--key", "test-enc.key", "--db", log.db, "--passphrase", "x", code=2)
