"""``gongxin backup`` while the server is writing, and ``gongxin restore`` into an empty
database of either kind: the backup is a prefix of the live log ending at a signed checkpoint,
the restored log passes ``gongxin-verify``, keeps the resident register, and continues the
same log when served again."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.residents import ResidentRegister
from ledger.signing.statements import sign_statement
from verifier.core.keys import parse_verifier_key

from .api_server import GONGXIN, DemoTemplate, live_server
from .pg_server import PgServer
from .receipt_check import check_receipt

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))
JSON = {"content-type": "application/json"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GONGXIN, *args], capture_output=True, text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def restore_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        pg: PgServer = request.getfixturevalue("pg")
        yield pg.create_database(f"restored_{len(list(tmp_path.parent.iterdir()))}")


def test_backup_while_writing_then_restore_and_continue(
    demo_log: DemoTemplate, restore_url: str, tmp_path: Path
) -> None:
    finance = demo_log.signer("finance_officer")
    stop = threading.Event()
    written: list[int] = []

    with live_server(demo_log, tmp_path / "live") as srv:

        def write() -> None:
            with srv.client() as http:
                k = 0
                while not stop.is_set():
                    k += 1
                    sub = sign_statement(
                        "fund.appropriate",
                        {
                            "fund_id": f"F-BK-{k}",
                            "fiscal_year": 2026,
                            "programme": "备份测试",
                            "source": "财政",
                            "amount_fen": k,
                        },
                        finance,
                        origin=DEMO_ORIGIN,
                    )
                    r = http.post("/v1/statements", content=sub.canonical(), headers=JSON)
                    assert r.status_code == 201, r.text
                    written.append(r.json()["index"])

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        done = run("backup", str(tmp_path / "backup.db"), "--db", srv.db_url)
        time.sleep(0.3)
        stop.set()
        writer.join(30)
        assert done.returncode == 0, done.stderr
        live_lines = list(Ledger.open(srv.db_url, create=False, replay=False).iter_lines())
    assert written and len(live_lines) > 2000

    done = run("restore", str(tmp_path / "backup.db"), "--db", restore_url)
    assert done.returncode == 0, done.stdout + done.stderr
    with Ledger.open(restore_url, create=False) as restored:
        size = restored.size
        lines = list(restored.iter_lines())
        export_bundle(restored, tmp_path / "export")
    assert 2000 < size <= len(live_lines)
    assert lines == live_lines[:size]  # a prefix of the live log, byte for byte
    verified = subprocess.run(
        [VERIFY, str(tmp_path / "export"), "--log-key", demo_log.log_vkey],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    resident = demo_log.residents()[0]
    with ResidentRegister.open(restore_url, create=False) as register:
        assert register.find_by_lookup_code(resident["lookup_code"]) == resident["resident_ref"]
    # Refused: restoring over a log.
    again = run("restore", str(tmp_path / "backup.db"), "--db", restore_url)
    assert again.returncode == 2 and "already holds a log" in again.stderr
    # The restored database continues the same log.
    served = DemoTemplate(demo_log.db, demo_log.keys, restore_url)
    with live_server(served, tmp_path / "after") as srv, srv.client() as http:
        sub = sign_statement(
            "fund.appropriate",
            {
                "fund_id": "F-BK-after",
                "fiscal_year": 2026,
                "programme": "恢复后",
                "source": "财政",
                "amount_fen": 1,
            },
            finance,
            origin=DEMO_ORIGIN,
        )
        r = http.post("/v1/statements", content=sub.canonical(), headers=JSON)
        assert r.status_code == 201, r.text
        assert r.json()["index"] == size
        check_receipt(r.json(), parse_verifier_key(demo_log.log_vkey), sub.statement.id)


def test_backup_refuses_to_overwrite_and_restore_refuses_garbage(
    demo_log: DemoTemplate, tmp_path: Path
) -> None:
    target = tmp_path / "b.db"
    target.write_bytes(b"x")
    done = run("backup", str(target), "--db", f"sqlite:///{demo_log.db}")
    assert done.returncode == 2 and target.read_bytes() == b"x"
    done = run("restore", str(target), "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert done.returncode == 2


def test_backup_keeps_the_witnesses_cosignatures(tmp_path: Path) -> None:
    """Cosignatures cannot be recomputed: a backup carries those of the checkpoints it holds
    and a restore puts them back (FORMAT.md §14)."""
    from ledger.backup import backup, restore
    from ledger.cosigning import cosigned_note, store_cosignature
    from witness.keys import WitnessSigner

    from .ledger_env import standard_ledger

    env = standard_ledger(tmp_path, url=f"sqlite:///{tmp_path / 'live.db'}")
    ledger = env.ledger
    size = ledger.size
    note = ledger.checkpoint_at(size)
    assert note is not None
    body = note[: note.index("\n\n") + 1].encode()
    signers = [WitnessSigner.generate(f"w{k}.example/witness") for k in range(2)]
    for signer in signers:
        store_cosignature(ledger, size, signer.public, signer.cosign(body))
    want = cosigned_note(ledger, size)
    assert want is not None and want.count("\n— ") == 3
    url = ledger.store.engine.url.render_as_string(hide_password=False)
    ledger.close()
    backup(url, tmp_path / "backup.db")
    restore(tmp_path / "backup.db", f"sqlite:///{tmp_path / 'restored.db'}")
    with Ledger.open(f"sqlite:///{tmp_path / 'restored.db'}", create=False) as restored:
        assert cosigned_note(restored, size) == want
