"""The operator CLI ``gongxin``: keys, init, append (receipts, idempotence, rule
rejections) and the proofs it prints, driven through typer's CliRunner in tmp_path."""

from __future__ import annotations

import base64
import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.signing.keyfile import read_private_key
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import parse_verifier_key

from .cli_driver import PASSPHRASE, Log, b64list, fund, grant, party, policy, run, stamp
from .hand_entries import replay

pytestmark = pytest.mark.usefixtures("cli_isolated")


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
