"""Stored cosignatures (ledger.cosigning, migration 0005) on SQLite and PostgreSQL: only
verified cosignatures are stored; ``cosigned_note`` appends them in a stable order;
``newest_witnessed`` finds the newest checkpoint whose cosignatures satisfy the policy's
quorum; one collector lease per database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cosigning import (
    collector_lease,
    cosigned_note,
    newest_witnessed,
    store_cosignature,
)
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.core.errors import VerificationError
from verifier.witness.policy import WitnessPolicy, check_cosigned, parse_policy
from witness.keys import WitnessSigner

from .api_server import GONGXIN
from .ledger_env import LedgerEnv, standard_ledger
from .pg_server import PgServer

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerEnv:
    url = None
    if request.param == "postgresql":
        pg: PgServer = request.getfixturevalue("pg")
        url = pg.create_database(f"cosign_{abs(hash(str(tmp_path))) % 10**9}")
    e = standard_ledger(tmp_path, url=url)
    request.addfinalizer(e.ledger.close)
    return e


def _signers() -> tuple[WitnessSigner, WitnessSigner, WitnessSigner]:
    return (
        WitnessSigner.generate("w.example/a"),
        WitnessSigner.generate("w.example/b"),
        WitnessSigner.generate("w.example/c"),
    )


def _policy(ledger: Ledger, a: WitnessSigner, b: WitnessSigner, c: WitnessSigner) -> WitnessPolicy:
    return parse_policy(
        f"log {ledger.log_vkey}\n"
        f"witness A {a.public}\nwitness B {b.public}\nwitness C {c.public}\n"
        "group AB all A B\nquorum AB\n"
    )


def _cosign(ledger: Ledger, signer: WitnessSigner, size: int) -> str:
    note = ledger.checkpoint_at(size)
    assert note is not None
    line = signer.cosign(note[: note.rindex("\n\n") + 1].encode())
    return store_cosignature(ledger, size, signer.public, line)


def _sizes(env: LedgerEnv) -> list[int]:
    return sorted({r.tree_size for r in env.receipts})


def test_cosigned_note_and_newest_witnessed(env: LedgerEnv) -> None:
    ledger = env.ledger
    a, b, c = _signers()
    policy = _policy(ledger, a, b, c)
    small, big = _sizes(env)[-3], _sizes(env)[-1]
    assert cosigned_note(ledger, small) == ledger.checkpoint_at(small)
    assert cosigned_note(ledger, 10**9) is None
    assert newest_witnessed(ledger, policy) is None
    _cosign(ledger, a, small)
    _cosign(ledger, c, small)
    assert newest_witnessed(ledger, policy) is None  # C is not in the quorum
    _cosign(ledger, b, small)
    found = newest_witnessed(ledger, policy)
    assert found is not None and found[0] == small
    opened, present = check_cosigned(found[1], ledger.log_vkey, policy)  # type: ignore[arg-type]
    assert [w.name for w in present] == ["A", "B", "C"] and opened.count() == 3
    # stable: the lines follow the log's, ordered by witness key
    lines = found[1].splitlines(keepends=True)[-3:]
    keys = sorted(str(s.public) for s in (a, b, c))
    assert [ln.split(" ")[1] for ln in lines] == [k.split("+")[0] for k in keys]
    assert cosigned_note(ledger, small) == found[1]
    # one witness at the bigger size does not move the witnessed checkpoint; both do
    _cosign(ledger, a, big)
    assert newest_witnessed(ledger, policy) == found
    _cosign(ledger, b, big)
    newest = newest_witnessed(ledger, policy)
    assert newest is not None and newest[0] == big
    # the same cosignature again is ignored
    _cosign(ledger, b, big)
    assert cosigned_note(ledger, big) == newest[1]
    # quorum none: the newest checkpoint
    none = parse_policy(f"witness A {a.public}\nquorum none\n")
    latest = newest_witnessed(ledger, none)
    assert latest is not None and latest[0] == ledger.size


def test_only_verified_cosignatures_are_stored(env: LedgerEnv) -> None:
    ledger = env.ledger
    a, _, _ = _signers()
    small, big = _sizes(env)[-2], _sizes(env)[-1]
    other = ledger.checkpoint_at(small)
    assert other is not None
    wrong = a.cosign(other[: other.rindex("\n\n") + 1].encode())
    with pytest.raises(VerificationError) as caught:
        store_cosignature(ledger, big, a.public, wrong)  # a line over another checkpoint
    assert caught.value.rule == "cosignature.signature"
    with pytest.raises(VerificationError) as caught:
        store_cosignature(ledger, big, a.public, "hello\n— nobody AAAA\n")
    assert caught.value.rule == "cosignature.missing"
    assert cosigned_note(ledger, big) == ledger.checkpoint_at(big)


def test_export_writes_the_cosigned_note(env: LedgerEnv, tmp_path: Path) -> None:
    ledger = env.ledger
    a = _signers()[0]
    _cosign(ledger, a, ledger.size)
    export_bundle(ledger, tmp_path / "bundle")
    note = (tmp_path / "bundle" / "checkpoint").read_text("utf-8")
    assert note == cosigned_note(ledger, ledger.size)
    assert note.count("\n— ") == 2
    done = subprocess.run(
        [VERIFY, str(tmp_path / "bundle"), "--log-key", str(ledger.log_vkey)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_collector_lease_per_database(env: LedgerEnv) -> None:
    first = collector_lease(env.ledger)
    assert first is not None and first.held()
    assert collector_lease(env.ledger) is None
    first.release()
    again = collector_lease(env.ledger)
    assert again is not None
    again.release()


def test_export_witnessed_ends_at_the_quorums_checkpoint(env: LedgerEnv, tmp_path: Path) -> None:
    ledger = env.ledger
    a, b, c = _signers()
    policy = tmp_path / "policy"
    policy.write_text(
        f"witness A {a.public}\nwitness B {b.public}\ngroup AB all A B\nquorum AB\n", "utf-8"
    )
    url = str(ledger.engine.url.render_as_string(hide_password=False))

    def export(out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GONGXIN, "export", str(out), "--witnessed", str(policy), "--db", url],
            capture_output=True,
            text=True,
        )

    refused = export(tmp_path / "none")
    assert refused.returncode == 2 and "quorum" in refused.stderr
    small = _sizes(env)[-3]
    _cosign(ledger, a, small)
    _cosign(ledger, b, small)
    _cosign(ledger, c, ledger.size)
    done = export(tmp_path / "bundle")
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "bundle" / "entries.jsonl").read_bytes().count(b"\n")
    assert lines == small < ledger.size
    assert (tmp_path / "bundle" / "checkpoint").read_text("utf-8") == cosigned_note(ledger, small)
    verified = subprocess.run(
        [VERIFY, str(tmp_path / "bundle"), "--log-key", str(ledger.log_vkey)],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
