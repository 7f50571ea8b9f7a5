"""``verifier.follow.mirror.Mirror`` following real ``gongxin serve`` processes through their
``/tile/`` endpoints: from nothing, then only the new entries; a second server with the same
log key and another history is a fork (:class:`Forked`, with a proof from the new tree's
tiles); tiles that lie (one changed byte, served by ``python -m http.server``) are refused
with ``tile.hash`` and leave the mirror as it was."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from tests.api_server import GONGXIN, DemoTemplate, LiveServer, live_server
from tests.test_follow_fetch import static_server
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.core.merkle import consistency_roots, verify_consistency
from verifier.follow.fetch import HttpFetcher
from verifier.follow.mirror import Forked, Mirror
from verifier.tiles.paths import tile_at

VERIFY = str(Path(GONGXIN).with_name("gongxin-verify"))


def append(server: LiveServer, count: int, tag: str) -> None:
    """Append ``count`` well-signed appropriations to the live log."""
    finance = server.template.signer("finance_officer")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for k in range(count):
            sub = sign_statement(
                "fund.appropriate",
                {
                    "fund_id": f"F-{tag}-{k}",
                    "fiscal_year": 2026,
                    "programme": "镜像测试",
                    "source": "财政",
                    "amount_fen": 100 + k,
                },
                finance,
                origin=DEMO_ORIGIN,
            )
            r = http.post(
                "/v1/statements",
                content=sub.canonical(),
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 201, r.text


def verify_dir(bundle: Path, key: VerifierKey) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VERIFY, str(bundle), "--log-key", str(key)], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def servers(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    work = tmp_path_factory.mktemp("mirror")
    with live_server(demo_log, work / "a") as a, live_server(demo_log, work / "b") as b:
        yield a, b


def test_follow_append_and_fork(servers: tuple[LiveServer, LiveServer], tmp_path: Path) -> None:
    a, b = servers
    key = parse_verifier_key(a.template.log_vkey)
    fetch_a = HttpFetcher(a.url)
    mirror = Mirror.open(tmp_path / "m", key)
    assert (mirror.size, mirror.note) == (0, None)

    first_note = fetch_a.checkpoint()
    first = mirror.update(first_note, fetch_a)
    assert first.old_size == 0 and first.new_size == first.entries_replayed == mirror.size > 0
    assert verify_dir(mirror.bundle, key).returncode == 0

    append(a, 300, "A")  # crosses at least one tile boundary
    note = fetch_a.checkpoint()
    second = mirror.update(note, fetch_a)
    assert (second.old_size, second.new_size) == (first.new_size, first.new_size + 300)
    assert second.entries_replayed == 300
    assert mirror.note == note.decode()
    reopened = Mirror.open(tmp_path / "m", key)
    assert (reopened.size, reopened.note) == (mirror.size, mirror.note)
    assert verify_dir(reopened.bundle, key).returncode == 0
    same = reopened.update(note, fetch_a)
    assert same.entries_replayed == 0 and reopened.size == second.new_size

    # Server B: the same log key, another history from the same prefix.
    fetch_b = HttpFetcher(b.url)
    append(b, 300, "B")
    with pytest.raises(Forked) as equal:
        reopened.update(fetch_b.checkpoint(), fetch_b)
    assert equal.value.rule == "checkpoint.inconsistent" and equal.value.proof == []
    assert equal.value.old_note == note.decode()
    append(b, 100, "B2")
    forked_note = fetch_b.checkpoint()
    with pytest.raises(Forked) as longer:
        reopened.update(forked_note, fetch_b)
    fork = longer.value
    new = open_checkpoint(forked_note, key)
    old = mirror.size
    assert fork.new_note == forked_note.decode() and fork.index == old - 1
    assert fork.proof and consistency_roots(old, new.size, fork.proof, mirror.root)[1] == new.root
    with pytest.raises(VerificationError):
        verify_consistency(old, new.size, fork.proof, mirror.root, new.root)
    assert Mirror.open(tmp_path / "m", key).size == old
    other = SignerKey.generate(key.name).verifier()
    with pytest.raises(InputError, match="another log"):
        Mirror.open(tmp_path / "m", other)
    with pytest.raises(VerificationError) as rollback:
        reopened.update(first_note, fetch_a)
    assert rollback.value.rule == "checkpoint.rollback"
    assert verify_dir(mirror.bundle, key).returncode == 0


def test_lying_tiles_leave_the_mirror_unchanged(
    servers: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    a, _ = servers
    key = parse_verifier_key(a.template.log_vkey)
    fetch_a = HttpFetcher(a.url)
    mirror = Mirror.open(tmp_path / "m", key)
    mirror.update(fetch_a.checkpoint(), fetch_a)
    size = mirror.size
    entries = (tmp_path / "m" / "entries.jsonl").read_bytes()
    append(a, 20, "L")
    site = tmp_path / "site"
    subprocess.run([GONGXIN, "tiles", str(site), "--db", a.db_url], check=True)
    note = (site / "checkpoint").read_bytes()
    new_size = open_checkpoint(note, key).size
    last_tile = tile_at(new_size, 0, (new_size - 1) // 256)
    assert last_tile is not None
    last = site / last_tile.bundle().path
    data = bytearray(last.read_bytes())
    data[-3] ^= 1  # one byte of the last entry, length unchanged
    last.write_bytes(bytes(data))
    with static_server(site) as url, pytest.raises(VerificationError) as caught:
        mirror.update(note, HttpFetcher(url), evidence=tmp_path / "evidence")
    assert caught.value.rule == "tile.hash" and caught.value.index is not None
    assert (tmp_path / "evidence" / "checkpoint").read_bytes() == note
    assert b'"rule": "tile.hash"' in (tmp_path / "evidence" / "error.json").read_bytes()
    assert mirror.size == size
    assert (tmp_path / "m" / "entries.jsonl").read_bytes() == entries
    assert Mirror.open(tmp_path / "m", key).size == size
    assert verify_dir(mirror.bundle, key).returncode == 0
    # Restored, the same site is followed.
    shutil.rmtree(site)
    subprocess.run([GONGXIN, "tiles", str(site), "--db", a.db_url], check=True)
    with static_server(site) as url:
        done = mirror.update((site / "checkpoint").read_bytes(), HttpFetcher(url))
    assert done.new_size >= new_size and done.entries_replayed == done.new_size - size
