"""A real Gongxin server for end-to-end tests: a demo log in a SQLite file, and
``gongxin serve`` (uvicorn) on a free loopback port, driven over real HTTP.

``demo_template(dir, entries)`` builds the demo log once (with keys and enrolled demo
residents); ``live_server(template, workdir)`` copies it and serves the copy, so every test
module gets a fresh log. Everything is local: only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.keyfile import read_private_key
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement

LOG_KEY_NAME = "gongxin.example_jiedao-001"
GONGXIN = str(Path(sys.executable).with_name("gongxin"))


@dataclass(frozen=True)
class DemoTemplate:
    """A built demo log: ``db`` (SQLite file), ``keys`` (directory of demo keys); or, with
    ``url``, a demo log in that (PostgreSQL) database, served as it is rather than copied."""

    db: Path
    keys: Path
    url: str | None = None

    @property
    def db_url(self) -> str:
        return self.url or f"sqlite:///{self.db}"

    @property
    def log_key(self) -> Path:
        return self.keys / f"{LOG_KEY_NAME}.key"

    @property
    def log_vkey(self) -> str:
        return (self.keys / f"{LOG_KEY_NAME}.vkey").read_text("utf-8").strip()

    def signer(self, role: str, skip: int = 0) -> SignerKey:
        """A demo key that holds ``role`` and is not revoked at the end of the log (the demo
        rotates keys), skipping the first ``skip`` such keys."""
        from ledger.log import Ledger

        with Ledger.open(self.db_url, create=False) as ledger:
            keys = ledger.state.registry.keys
        found = []
        for path in sorted(self.keys.glob("*.key")):
            key = read_private_key(path)
            rec = keys.get(key.key_id.hex())
            if rec is not None and role in rec.roles and rec.revoked_at is None:
                found.append(key)
        if len(found) <= skip:
            raise LookupError(f"the demo has no {skip + 1} active keys with role {role}")
        return found[skip]

    def residents(self) -> list[dict[str, str]]:
        """The enrolled demo residents (community, register_no, resident_ref, lookup_code,
        balance_points), busiest first per community."""
        with (self.keys / "demo-residents.csv").open(encoding="utf-8") as fh:
            return list(csv.DictReader(fh))


def appropriations(
    template: DemoTemplate, fund_prefix: str, count: int, *, programme: str = "运维"
) -> list[bytes]:
    """``count`` signed ``fund.appropriate`` submissions (canonical bytes) by the demo's
    finance officer, for funds ``{fund_prefix}-0`` … (all accepted if the prefix is new; k-th
    amount 1,000 + k fen). Cost: one look-up of the key (opens the log), ``count`` signatures."""
    finance = template.signer("finance_officer")
    return [
        sign_statement(
            "fund.appropriate",
            {
                "fund_id": f"{fund_prefix}-{k}",
                "fiscal_year": 2026,
                "programme": programme,
                "source": "财政",
                "amount_fen": 1_000 + k,
            },
            finance,
            origin=DEMO_ORIGIN,
        ).canonical()
        for k in range(count)
    ]


def demo_template(directory: Path, entries: int = 2000, url: str | None = None) -> DemoTemplate:
    """Build the demo log of ``entries`` entries into ``directory`` (once), or into the empty
    database at ``url``."""
    db, keys = directory / "demo.db", directory / "keys"
    if url is not None or not db.exists():
        subprocess.run(
            [
                GONGXIN,
                "demo",
                "--entries",
                str(entries),
                "--db",
                url or f"sqlite:///{db}",
                "--keys-dir",
                str(keys),
            ],
            check=True,
            capture_output=True,
        )
    return DemoTemplate(db, keys, url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db_url: str
    template: DemoTemplate
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def output(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


@contextmanager
def live_server(
    template: DemoTemplate, workdir: Path, *extra_args: str, startup_timeout: float = 60
) -> Iterator[LiveServer]:
    """Copy the template's SQLite database into ``workdir`` (a PostgreSQL template is served
    in place) and serve it with ``gongxin serve`` on a free loopback port until the block
    ends (then SIGINT: a graceful stop)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if template.url is None:
        db = workdir / "gongxin.db"
        shutil.copyfile(template.db, db)
        db_url = f"sqlite:///{db}"
    else:
        db_url = template.url
    port = free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                GONGXIN,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--db",
                db_url,
                "--log-key-file",
                str(template.log_key),
                "--log-level",
                "warning",
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = LiveServer(f"http://127.0.0.1:{port}", db_url, template, process, log_path)
    try:
        _wait_ready(server, startup_timeout)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gongxin serve exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gongxin serve did not become ready in {timeout} s:\n{server.output()}")
