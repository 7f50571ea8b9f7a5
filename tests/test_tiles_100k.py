"""Issue 15, done-when: a 100,000-entry log read through its tiles over real HTTP reproduces
the root of its signed checkpoint, and every entry equals the stored line (~60 s: most of it
builds the demo log)."""

from __future__ import annotations

from pathlib import Path

from ledger.log import Ledger
from tests.api_server import demo_template, live_server
from tests.test_tiles_serving import read_all

ENTRIES = 100_000


def test_read_100k_log_through_tiles(tmp_path: Path) -> None:
    template = demo_template(tmp_path / "template", ENTRIES)
    with live_server(template, tmp_path / "server", startup_timeout=120) as server:
        size, lines = read_all(server.url, template.log_vkey)
        assert size >= ENTRIES
        with Ledger.open(server.db_url, create=False, replay=False) as ledger:
            assert lines == list(ledger.iter_lines(0, size))
