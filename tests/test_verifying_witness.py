"""The verifying witness (issue 15, "done when"): a real ``python -m witness serve`` with a
log added ``--verify-rules`` fetches each checkpoint's new entries through the log's tiles,
published by a real static server (``python -m http.server`` over a directory written here
with the :mod:`verifier.tiles` codec), and replays the rulebook before cosigning.

The operator adversary holds every key: it appends, outside the ledger, a well-signed
appropriation and a well-signed award that overspends it, signs the checkpoint with the log
key and submits it with a correct consistency proof. The witness refuses it (422 naming
``fund.insufficient`` and the entry) and keeps the evidence; it cosigns the honest history
and an honest extension made the same way."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests import logfactory as lf
from tests.domain_bodies import contract_body
from tests.test_follow_fetch import static_server
from tests.test_witness_server import _witness, body, proof, serving, sizes
from verifier.core.checkpoint import open_checkpoint
from verifier.core.merkle import leaf_hash, node_hash
from verifier.tiles.codec import encode_bundle
from verifier.tiles.paths import TILE_WIDTH, changed_tiles
from verifier.witness.cosignature import open_cosigned_checkpoint, parse_witness_key
from witness.store import LogConfig, WitnessStore
from witness.verifying import MAX_EVIDENCE_PER_LOG, RuleChecker, _evidence_dir


def publish(site: Path, lines: list[bytes], note: str) -> None:
    """Write the tiles of the tree over ``lines`` (every tile, older partial ones kept) and
    ``checkpoint`` into ``site``, as ``gongxin tiles`` lays them out. Cost: O(len(lines))."""
    level_hashes = [leaf_hash(line) for line in lines]
    levels = []
    while level_hashes:
        levels.append(level_hashes)
        for _ in range(8):
            level_hashes = [
                node_hash(level_hashes[i], level_hashes[i + 1])
                for i in range(0, len(level_hashes) - 1, 2)
            ]
    for tile in changed_tiles(0, len(lines)):
        first = tile.index * TILE_WIDTH
        _write(site / tile.path, b"".join(levels[tile.level][first : first + tile.width]))
        if tile.level == 0:
            _write(site / tile.bundle().path, encode_bundle(lines[first : first + tile.width]))
    _write(site / "checkpoint", note.encode())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    return lf.build_log(tmp_path_factory.mktemp("log"), domain_entries=40)


def test_refuses_an_overspending_checkpoint(log: lf.BuiltLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    w = parse_witness_key(_witness("init", "witness.example/v", cwd=tmp_path).stdout.strip())
    vkey = log.log_key.verifier()
    first, second, *_ = sizes(log)
    with static_server(site) as tiles:
        authorities = [a for k in log.authorities for a in ("--authority-key", str(k.verifier()))]
        out = _witness(
            "add-log",
            log.origin,
            "--log-key",
            str(vkey),
            "--tiles",
            tiles,
            "--verify-rules",
            *authorities,
            cwd=tmp_path,
        )
        assert "verifying" in out.stdout
        with serving(tmp_path) as url:

            def post(old: int, lines: list[bytes], note: str) -> httpx.Response:
                return httpx.post(
                    url + "/add-checkpoint",
                    content=body(old, proof(lines, old, len(lines)), note),
                    timeout=60,
                )

            # Not yet published: the witness cannot check, says so, stores nothing.
            r = post(0, log.lines[:first], log.checkpoints[first])
            assert r.status_code == 503, r.text
            publish(site, log.lines[:first], log.checkpoints[first])
            r = post(0, log.lines[:first], log.checkpoints[first])
            assert r.status_code == 200, r.text
            publish(site, log.lines[:second], log.checkpoints[second])
            assert post(first, log.lines[:second], log.checkpoints[second]).status_code == 200
            publish(site, log.lines, log.checkpoint)
            assert post(second, log.lines, log.checkpoint).status_code == 200

            # The operator forges two well-signed entries: a fund of 1,000 fen, then an award
            # of 600,000 fen from it.
            finance = log.key("finance")
            fund = {
                "fund_id": "F-forged",
                "fiscal_year": 2026,
                "programme": "养老",
                "source": "财政",
                "amount_fen": 1000,
            }
            forged = [*log.lines, lf.forge_line(log.lines, finance, "fund.appropriate", fund)]
            over = contract_body("C-forged", "F-forged", lf.DAY)
            forged.append(lf.forge_line(forged, finance, "contract.award", over))
            forged_note = lf.sign_checkpoint_over(forged, log.log_key)
            publish(site, forged, forged_note)
            r = post(log.size, forged, forged_note)
            assert r.status_code == 422, r.text
            assert f"entry {log.size + 1}: [fund.insufficient]" in r.text, r.text
            evidence = Path(r.text.rsplit("evidence 证据: ", 1)[1].strip())
            assert (evidence / "checkpoint").read_text() == forged_note
            assert (evidence / "entries.jsonl").read_bytes() == b"".join(
                line + b"\n" for line in forged[log.size :]
            )
            error = json.loads((evidence / "error.json").read_text())
            assert (error["rule"], error["index"]) == ("fund.insufficient", log.size + 1)
            assert evidence.is_relative_to(tmp_path / "witness.db.evidence")
            # Sent again (the log's collector retries), the same note is refused the same
            # way and its evidence is not written twice.
            again = post(log.size, forged, forged_note)
            assert again.status_code == 422 and again.text == r.text
            assert [p for p in evidence.parent.iterdir()] == [evidence]

            # The honest extension, built the same way, is cosigned.
            honest = forged[:-1]
            honest_note = lf.sign_checkpoint_over(honest, log.log_key)
            publish(site, honest, honest_note)
            r = post(log.size, honest, honest_note)
            assert r.status_code == 200, r.text
            opened = open_cosigned_checkpoint(honest_note + r.text, vkey, [w])
            assert opened.count() == 1 and opened.checkpoint.size == log.size + 1


def test_evidence_is_bounded_per_log(tmp_path: Path) -> None:
    """A log that keeps submitting different refused checkpoints cannot fill the witness's
    disk: the first MAX_EVIDENCE_PER_LOG keep evidence, the rest none; a note refused again
    reuses its directory."""
    folder = tmp_path / "origin"
    for n in range(MAX_EVIDENCE_PER_LOG):
        where, fresh = _evidence_dir(folder, n, b"note %d" % n)
        assert fresh and where is not None
        where.mkdir(parents=True)
        (where / "error.json").write_text("{}")
    again, fresh = _evidence_dir(folder, 7, b"note 7")
    assert not fresh and again is not None and (again / "error.json").exists()
    assert _evidence_dir(folder, 10**6, b"another note") == (None, False)


def test_store_upgrade_keeps_old_witness_files(tmp_path: Path) -> None:
    """A state file of the first schema (no tiles columns) opens as plain logs."""
    db = tmp_path / "witness.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE logs (origin TEXT PRIMARY KEY, log_vkey TEXT NOT NULL);"
            "CREATE TABLE checkpoints (origin TEXT PRIMARY KEY REFERENCES logs(origin),"
            " size INTEGER NOT NULL CHECK (size >= 0), note TEXT NOT NULL);"
            "INSERT INTO logs VALUES ('a.example/log', 'a.example/log+0+key');"
        )
    store = WitnessStore(db)
    assert store.log_config("a.example/log") == LogConfig("a.example/log+0+key")
    assert store.log_key("a.example/log") == "a.example/log+0+key"
    config = LogConfig("a.example/log+0+key", "http://x/", True, ("k1", "k2"))
    store.add_log("a.example/log", config.log_vkey, config)
    assert WitnessStore(db).log_config("a.example/log") == config


def test_rule_checker_behind_the_mirror(log: lf.BuiltLog, tmp_path: Path) -> None:
    """A checkpoint older than the mirror (its cosignature failed to store after the mirror
    advanced) is accepted iff it is a prefix of the verified tree, read from the tiles."""
    site = tmp_path / "site"
    site.mkdir()
    publish(site, log.lines, log.checkpoint)
    first = sizes(log)[2]
    other = [
        *log.lines[: first - 1],
        lf.forge_line(
            log.lines[: first - 1],
            log.key("finance"),
            "fund.appropriate",
            {
                "fund_id": "F-x",
                "fiscal_year": 2026,
                "programme": "养老",
                "source": "财政",
                "amount_fen": 1,
            },
        ),
    ]
    checker = RuleChecker.beside(tmp_path / "witness.db")
    vkey = log.log_key.verifier()
    with static_server(site) as url:
        config = LogConfig(str(vkey), url, True)
        latest = open_checkpoint(log.checkpoint, vkey)
        assert checker.check(config, latest, log.checkpoint.encode()) is None
        older = open_checkpoint(log.checkpoints[first], vkey)
        assert checker.check(config, older, log.checkpoints[first].encode()) is None
        forked_note = lf.sign_checkpoint_over(other, log.log_key)
        forked = checker.check(config, open_checkpoint(forked_note, vkey), forked_note.encode())
        assert forked is not None and forked.status == 422
        assert "checkpoint.inconsistent" in forked.text
    down = checker.check(LogConfig(str(vkey), url, True), latest, log.checkpoint.encode())
    assert down is None  # same size, same root: nothing to fetch
    grown = [
        *log.lines,
        lf.forge_line(
            log.lines,
            log.key("finance"),
            "fund.appropriate",
            {
                "fund_id": "F-y",
                "fiscal_year": 2026,
                "programme": "养老",
                "source": "财政",
                "amount_fen": 1,
            },
        ),
    ]
    grown_note = lf.sign_checkpoint_over(grown, log.log_key)
    refused = checker.check(config, open_checkpoint(grown_note, vkey), grown_note.encode())
    assert refused is not None and refused.status == 503  # the tile server is gone
