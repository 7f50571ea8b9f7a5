"""A real, throw-away PostgreSQL server for the tests: ``initdb`` in a temporary directory,
``pg_ctl start`` on a free loopback port, trust authentication, one database per request.

The binaries come from the machine (Debian's ``postgresql`` package, which ``scripts/setup``
installs when missing): ``/usr/lib/postgresql/<version>/bin`` or ``$PATH``. PostgreSQL refuses
to run as root, so under root the cluster belongs to the ``postgres`` system user. If no
server binaries are found the PostgreSQL tests FAIL (never skip): CI must prove them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from .api_server import free_port


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (newest version first), or fail the test."""
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"PostgreSQL's {name} not found: run scripts/setup (installs Debian's postgresql); "
            "the PostgreSQL tests must run, they are not optional"
        )
    return found


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    port: int
    datadir: Path
    #: ``pg_ctl -o`` options the cluster was started with, and its log file.
    options: str = ""
    log: Path | None = None

    def crash(self) -> None:
        """Stop the server as a crash would (``pg_ctl stop -m immediate``: no checkpoint,
        connections cut); :meth:`start` brings it back with crash recovery."""
        subprocess.run(
            _as_owner([pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start the (stopped) server again on the same port and wait until it accepts."""
        _start(self.datadir, self.options, self.log)
        _wait_accepting(self.port)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def pg_server() -> Iterator[PgServer]:
    """Start a fresh cluster; stop it and delete it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="gongxin-pg-"))
    datadir, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        _as_owner(
            [
                pg_bin("initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=on"
    _start(datadir, options, root / "server.log")
    try:
        _wait_accepting(port)
        yield PgServer(port, datadir, options, root / "server.log")
    finally:
        subprocess.run(
            _as_owner([pg_bin("pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _start(datadir: Path, options: str, log: Path | None) -> None:
    subprocess.run(
        _as_owner(
            [
                pg_bin("pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                *(["-l", str(log)] if log is not None else []),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )


def _wait_accepting(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
