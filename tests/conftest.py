"""Shared test fixtures: where the public test vectors live, and the signed-note vector.

The vectors are copies kept in the repository, under ``tests/vectors/`` (their origins and
licences: ``tests/vectors/README.md``), so the suite needs nothing outside the checkout. A
missing vector fails the tests that need it; it is never skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from verifier.core.keys import VerifierKey, parse_verifier_key

from .api_server import DemoTemplate, demo_template
from .ledger_env import LedgerEnv, standard_ledger
from .pg_server import PgServer, pg_server

#: The public test vectors kept in the repository (RFC 6962 proofs, the signed-note vector).
VECTORS_DIR = Path(__file__).resolve().parent / "vectors"


def shared_dir() -> Path:
    """The directory holding ``vectors/``: ``tests/`` itself. Kept for the callers written
    when the vectors lived in ``../shared``; new code uses :data:`VECTORS_DIR`."""
    return VECTORS_DIR.parent


@pytest.fixture(scope="session")
def vec() -> dict[str, Any]:
    """The C2SP signed-note vector (from Go's sumdb/note tests)."""
    path = VECTORS_DIR / "signed-note.json"
    assert path.is_file(), f"signed-note vector not found at {path}"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def peter(vec: dict[str, Any]) -> VerifierKey:
    return parse_verifier_key(vec["vkey"])


@pytest.fixture(scope="session")
def enoch(vec: dict[str, Any]) -> VerifierKey:
    return parse_verifier_key(vec["other_vkey"])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[LedgerEnv]:
    """A ledger on a temporary SQLite file with the standard keys and a few entries."""
    e = standard_ledger(tmp_path)
    yield e
    e.ledger.close()


@pytest.fixture(scope="session")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """A 2,000-entry demo log with its keys and enrolled demo residents, built once per
    session; tests serve or open *copies* of it (``tests.api_server``)."""
    return demo_template(tmp_path_factory.mktemp("demo-log"), 2000)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """One real PostgreSQL server for the session (``tests.pg_server``); tests create their
    own databases in it."""
    with pg_server() as server:
        yield server


@pytest.fixture(scope="session")
def demo_log_pg(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """The same 2,000-entry demo log as :func:`demo_log`, in a PostgreSQL database (served in
    place, so tests using it share its state)."""
    url = pg.create_database("demo_log")
    return demo_template(tmp_path_factory.mktemp("demo-log-pg"), 2000, url=url)


@pytest.fixture
def cli_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path with none of the CLI's environment variables set (the ``test_cli_*``
    modules use it for every test)."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "GONGXIN_DATABASE_URL",
        "GONGXIN_KEY_PASSPHRASE",
        "GONGXIN_LOG_KEY_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
