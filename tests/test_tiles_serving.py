"""C2SP tlog-tiles served by a real ``gongxin serve`` and written by ``gongxin tiles DIR``:
a client reads the whole log through tiles with :class:`verifier.tiles.reader.TileReader`
and reproduces the signed checkpoint's root; the directory equals what the server serves,
byte for byte; the directory is updated incrementally."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.log import Ledger
from tests.api_server import GONGXIN, DemoTemplate, LiveServer, live_server
from tests.ledger_env import all_checkpoints
from verifier.core.checkpoint import open_checkpoint
from verifier.core.keys import parse_verifier_key
from verifier.tiles.paths import Tile, changed_tiles
from verifier.tiles.reader import TileReader


@pytest.fixture(scope="module")
def served(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path_factory.mktemp("tiles-server")) as s:
        yield s


def read_all(server_url: str, log_vkey: str) -> tuple[int, list[bytes]]:
    """Open the served checkpoint, then read every entry through authenticated tiles."""
    with httpx.Client(base_url=server_url, timeout=30) as client:
        cp = open_checkpoint(client.get("/checkpoint").text, parse_verifier_key(log_vkey))

        def fetch(path: str) -> bytes:
            r = client.get("/" + path)
            r.raise_for_status()
            return r.content

        reader = TileReader(cp.size, cp.root, fetch)
        reader.verify_root()
        lines: list[bytes] = []
        for n in range(-(-cp.size // 256)):
            lines += reader.entries(n)
    return cp.size, lines


def test_read_log_through_tiles(served: LiveServer) -> None:
    size, lines = read_all(served.url, served.template.log_vkey)
    with Ledger.open(served.db_url, create=False, replay=False) as ledger:
        assert lines == list(ledger.iter_lines(0, size))


def test_headers_and_errors(served: LiveServer) -> None:
    with served.client() as c:
        cp = c.get("/checkpoint")
        size = int(cp.text.split("\n")[1])
        assert cp.headers["content-type"] == "text/plain; charset=utf-8"
        assert "max-age=5" in cp.headers["cache-control"]
        tiles = list(changed_tiles(0, size))
        full = next(t for t in tiles if not t.partial)
        r = c.get("/" + full.path)
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-type"] == "application/octet-stream"
        assert len(r.content) == 8192
        partial = next(t for t in tiles if t.partial)
        r = c.get("/" + partial.path)
        assert r.status_code == 200 and "immutable" not in r.headers["cache-control"]
        assert c.get("/" + partial.bundle().path).status_code == 200
        beyond = [
            Tile(0, size // 256 + 1),  # past the end
            Tile(0, size // 256),  # the full tile of the partial one: not yet
            Tile(0, size // 256, min(255, size % 256 + 1)),  # wider than the tree has
            Tile(0, size // 256 + 1, entries=True),
            Tile(5, 0, 1),
        ]
        for t in beyond:
            r = c.get("/" + t.path)
            assert r.status_code == 404, t.path
            assert r.headers["content-type"].startswith("application/problem+json")
        for bad in ["tile/0/x000/001", "tile/0/1", "tile/64/000", "tile/0/000.p/256", "tile/x"]:
            r = c.get("/" + bad)
            assert r.status_code == 400, bad
            assert r.json()["code"] == "tile.path"


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file()
    }


def test_directory_equals_server(served: LiveServer, tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    subprocess.run([GONGXIN, "tiles", str(out), "--db", served.db_url], check=True)
    files = _files(out)
    size = int(files["checkpoint"].split(b"\n")[1])
    want = {t.path for t in changed_tiles(0, size)}
    want |= {t.bundle().path for t in changed_tiles(0, size) if t.level == 0}
    assert set(files) == want | {"checkpoint"}
    with served.client() as c:
        for path, data in files.items():
            assert c.get("/" + path).content == data, path


def test_incremental_directory(demo_log: DemoTemplate, tmp_path: Path) -> None:
    """Written at three checkpoint sizes in turn, the directory holds what one run at the last
    size writes, plus the older partial tiles; full tiles are never rewritten."""
    sizes = sorted(all_checkpoints(demo_log.db))
    steps = [sizes[len(sizes) // 3], sizes[2 * len(sizes) // 3], sizes[-1]]
    inc, fresh = tmp_path / "inc", tmp_path / "fresh"
    stamps: dict[str, int] = {}
    for step in steps:
        subprocess.run(
            [GONGXIN, "tiles", str(inc), "--db", demo_log.db_url, "--size", str(step)],
            check=True,
            capture_output=True,
        )
        for path, _ in _files(inc).items():
            if "/" in path and ".p/" not in path:
                now = (inc / path).stat().st_mtime_ns
                assert stamps.setdefault(path, now) == now, f"{path} rewritten"
    subprocess.run([GONGXIN, "tiles", str(fresh), "--db", demo_log.db_url], check=True)
    got, want = _files(inc), _files(fresh)
    assert {p: got[p] for p in want} == want
    assert all(".p/" in p for p in set(got) - set(want))
    # Another log's directory is refused.
    (fresh / "checkpoint").write_text("other.example/log\n5\nAAAA\n", encoding="utf-8")
    r = subprocess.run([GONGXIN, "tiles", str(fresh), "--db", demo_log.db_url], capture_output=True)
    assert r.returncode == 2
