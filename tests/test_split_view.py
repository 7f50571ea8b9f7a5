"""Issue 15's Done-when: a log that shows two inconsistent views is caught.

The log key signs inconsistent views: copies of one demo log (same keys, same genesis, same
first 254 entries), each served by a real ``gongxin serve``, then given different appends —
view A grows to 256 entries (a power of two: the hard case for fork evidence), view B to 259,
view C to 256 with other entries. Two real witnesses (``gongxin witness serve``) that
cosigned A refuse B (422: the consistency proof from B's own server does not verify against
A's root) and C (409: same size, another root), so a verifier requiring both (quorum 2)
accepts only A. If the log instead splits its witnesses — each sees one view first and
cosigns it — each refuses the other view (422; 409: a witness never goes back to a smaller
tree), and quorum 2 rejects both views, while quorum 1 would accept either. A monitor
(``gongxin monitor``) that followed view A and then sees view B writes fork evidence that
``gongxin-verify fork`` accepts given only the log key; so does a monitor that follows B and
is handed A's checkpoint.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledger.demo.cast import DEMO_ORIGIN
from ledger.signing.statements import sign_statement
from tests.api_server import (
    GONGXIN,
    DemoTemplate,
    LiveServer,
    demo_template,
    free_port,
    live_server,
)
from tests.witness_procs import init_witness, running
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.witness.cosignature import WitnessKey
from verifier.witness.policy import WitnessPolicy, check_cosigned

VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))
BASE, SIZE_A, SIZE_B = 254, 256, 259


@dataclass
class Views:
    template: DemoTemplate
    a: LiveServer
    b: LiveServer
    log_key: VerifierKey
    base: LiveServer  # the common prefix, BASE entries: a log that is merely behind
    c: LiveServer  # a third view, as large as view A

    def note(self, server: LiveServer) -> str:
        r = httpx.get(server.url + "/checkpoint", timeout=10)
        assert r.status_code == 200, r.text
        return r.text


def _append(server: LiveServer, template: DemoTemplate, count: int, tag: str) -> None:
    finance = template.signer("finance_officer")
    with server.client() as http:
        for i in range(count):
            body = {
                "fund_id": f"F-SPLIT-{tag}-{i}",
                "fiscal_year": 2026,
                "programme": f"分叉演示 {tag}",
                "source": "财政",
                "amount_fen": 1000 + i,
            }
            data = sign_statement("fund.appropriate", body, finance, origin=DEMO_ORIGIN)
            r = http.post(
                "/v1/statements",
                content=data.canonical(),
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Views]:
    template = demo_template(tmp_path_factory.mktemp("split-demo"), BASE)
    work = tmp_path_factory.mktemp("split")
    with (
        live_server(template, work / "a") as a,
        live_server(template, work / "b") as b,
        live_server(template, work / "base") as base,
        live_server(template, work / "c") as c,
    ):
        _append(a, template, SIZE_A - BASE, "A")
        _append(b, template, SIZE_B - BASE, "B")
        _append(c, template, SIZE_A - BASE, "C")
        v = Views(template, a, b, parse_verifier_key(template.log_vkey), base, c)
        assert open_checkpoint(v.note(a), v.log_key).size == SIZE_A
        assert open_checkpoint(v.note(b), v.log_key).size == SIZE_B
        yield v


def _gongxin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GONGXIN, *args], capture_output=True, text=True, timeout=120, check=False
    )


@contextmanager
def witness(workdir: Path, name: str, log_vkey: str) -> Iterator[tuple[str, WitnessKey]]:
    """A real ``gongxin witness serve`` for the demo log on a free loopback port."""
    w = init_witness(workdir, name, DEMO_ORIGIN, log_vkey)
    with running(w):
        yield w.url, w.key


def add_checkpoint(url: str, old: int, proof: list[str], note: str) -> httpx.Response:
    """POST a C2SP tlog-witness add-checkpoint body (FORMAT.md §14)."""
    body = "\n".join([f"old {old}", *proof]) + "\n\n" + note
    return httpx.post(url + "/add-checkpoint", content=body.encode(), timeout=30)


def consistency_path(server: LiveServer, size1: int, size2: int) -> list[str]:
    r = httpx.get(
        server.url + "/v1/log/proof/consistency",
        params={"size1": size1, "size2": size2},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    path: list[str] = r.json()["consistency_path"]
    assert all(len(base64.b64decode(h)) == 32 for h in path)
    return path


def test_witnesses_that_cosigned_a_refuse_b_and_an_equal_size_c(
    views: Views, tmp_path: Path
) -> None:
    note_a, note_b, note_c = (views.note(x) for x in (views.a, views.b, views.c))
    assert (
        open_checkpoint(note_c, views.log_key).root != open_checkpoint(note_a, views.log_key).root
    )
    vkey = views.template.log_vkey
    with (
        witness(tmp_path / "w1", "witness.example/w1", vkey) as (url1, w1),
        witness(tmp_path / "w2", "witness.example/w2", vkey) as (url2, w2),
    ):
        cosignatures = []
        for url in (url1, url2):
            r = add_checkpoint(url, 0, [], note_a)
            assert r.status_code == 200, r.text
            cosignatures.append(r.text)
        # view B, with the consistency proof B's own server gives: it does not verify
        for url in (url2, url1):
            r = add_checkpoint(url, SIZE_A, consistency_path(views.b, SIZE_A, SIZE_B), note_b)
            assert r.status_code == 422, r.text
        # view C, as large as A but another tree: 409
        r = add_checkpoint(url2, SIZE_A, [], note_c)
        assert r.status_code == 409, r.text
    both = WitnessPolicy.simple([w1, w2], 2)
    opened, present = check_cosigned(note_a + "".join(cosignatures), views.log_key, both)
    assert opened.checkpoint.size == SIZE_A and len(present) == 2
    for note in (note_b, note_c):  # nobody cosigned these views
        with pytest.raises(VerificationError) as err:
            check_cosigned(note, views.log_key, both)
        assert err.value.rule == "cosignature.quorum"


def test_witnesses_refuse_the_other_view_and_quorum_2_rejects_both(
    views: Views, tmp_path: Path
) -> None:
    note_a, note_b = views.note(views.a), views.note(views.b)
    vkey = views.template.log_vkey
    with (
        witness(tmp_path / "w1", "witness.example/w1", vkey) as (url1, w1),
        witness(tmp_path / "w2", "witness.example/w2", vkey) as (url2, w2),
    ):
        # the log splits its witnesses: each sees one view first and cosigns it (a witness
        # cannot know what the others saw)
        r1 = add_checkpoint(url1, 0, [], note_a)
        assert r1.status_code == 200, r1.text
        r2 = add_checkpoint(url2, 0, [], note_b)
        assert r2.status_code == 200, r2.text
        # shown the other view, each refuses: B does not extend A (the proof, from B's own
        # server, does not verify against A's root) ...
        refused = add_checkpoint(url1, SIZE_A, consistency_path(views.b, SIZE_A, SIZE_B), note_b)
        assert refused.status_code == 422, refused.text
        assert "merkle.consistency" in refused.text
        # ... and a witness never goes back: A is smaller than the B it stored
        stale = add_checkpoint(url2, 0, [], note_a)
        assert (stale.status_code, stale.text) == (409, f"{SIZE_B}\n")
        assert add_checkpoint(url2, SIZE_B, [], note_a).status_code == 400
        # view A's own server gives a valid proof for A's history, which w1 accepts again
        assert add_checkpoint(url1, SIZE_A, [], note_a).status_code == 200

    cosigned_a, cosigned_b = note_a + r1.text, note_b + r2.text
    both = WitnessPolicy.simple([w1, w2], 2)
    for note in (cosigned_a, cosigned_b):
        with pytest.raises(VerificationError) as err:
            check_cosigned(note, views.log_key, both)
        assert err.value.rule == "cosignature.quorum"
    either = WitnessPolicy.simple([w1, w2], 1)  # what quorum 2 protects against
    assert check_cosigned(cosigned_a, views.log_key, either)[0].checkpoint.size == SIZE_A
    assert check_cosigned(cosigned_b, views.log_key, either)[0].checkpoint.size == SIZE_B
    # The same through the evaluator's command line: each view's bundle with its cosigned
    # checkpoint passes every rule, yet `--quorum 2` rejects it (exit 1); `--quorum 1` not.
    keys = ["--witness-key", str(w1), "--witness-key", str(w2)]
    for server, size, cosigned in ((views.a, SIZE_A, cosigned_a), (views.b, SIZE_B, cosigned_b)):
        bundle = tmp_path / f"bundle-{size}"
        bundle.mkdir()
        with server.client() as http:
            lines = http.get("/v1/log/entries", params={"start": 0, "end": size})
        assert lines.status_code == 200, lines.text
        (bundle / "entries.jsonl").write_bytes(lines.content)
        (bundle / "checkpoint").write_text(cosigned, encoding="utf-8")
        strict = _verify(str(bundle), "--log-key", vkey, *keys, "--quorum", "2")
        assert strict.returncode == 1 and "cosignature.quorum" in strict.stderr, strict.stderr
        lenient = _verify(str(bundle), "--log-key", vkey, *keys, "--quorum", "1")
        assert lenient.returncode == 0, lenient.stdout + lenient.stderr


def _monitor(
    url: str, views: Views, directory: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return _gongxin(
        "monitor",
        url,
        "--log-key",
        views.template.log_vkey,
        "--dir",
        str(directory),
        "--once",
        *extra,
    )


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VERIFY, *args], capture_output=True, text=True, timeout=120, check=False)


def test_monitor_catches_the_fork_and_its_evidence_convicts(views: Views, tmp_path: Path) -> None:
    vkey = views.template.log_vkey
    following_a = tmp_path / "a"
    r = _monitor(views.a.url, views, following_a)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"✓ 已核对 checked: size {SIZE_A} (+{SIZE_A} entries replayed)")
    copy = _verify(str(following_a / "log" / "current"), "--log-key", vkey)
    assert copy.returncode == 0, copy.stderr
    # the same log again: nothing new, still consistent
    again = _monitor(views.a.url, views, following_a)
    assert again.returncode == 0 and f"size {SIZE_A} (+0 entries" in again.stdout
    # now the log shows the monitor view B
    forked = _monitor(views.b.url, views, following_a)
    assert forked.returncode == 1, forked.stdout + forked.stderr
    evidence = following_a / f"fork-{SIZE_A}-{SIZE_B}.txt"
    assert f"✗ 日志分叉 log forked: the log key signed size {SIZE_A}" in forked.stderr
    assert str(evidence) in forked.stderr
    proven = _verify("fork", str(evidence), "--log-key", vkey)
    assert proven.returncode == 0, proven.stderr
    assert proven.stdout.startswith(f"✓ 分叉已证实 fork proven: the log key signed size {SIZE_A}")
    # the copy stayed at view A, and the journal remembers only what was accepted
    journal = (following_a / "checkpoints.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["size"] for line in journal] == [SIZE_A]
    assert _verify(str(following_a / "log" / "current"), "--log-key", vkey).returncode == 0

    # a monitor of view B handed view A's checkpoint (e.g. from a receipt) convicts too,
    # from its own copy: the same evidence, byte for byte
    note_a = tmp_path / "a.checkpoint"
    note_a.write_text(views.note(views.a), "utf-8")
    following_b = tmp_path / "b"
    r = _monitor(views.b.url, views, following_b, "--checkpoint", str(note_a))
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"size {SIZE_B} (+{SIZE_B} entries replayed)" in r.stdout
    second = following_b / f"fork-{SIZE_A}-{SIZE_B}.txt"
    assert second.read_bytes() == evidence.read_bytes()
    second.unlink()
    # ... and so does it when the log itself serves it view A (smaller: a "rollback")
    r = _monitor(views.a.url, views, following_b)
    assert r.returncode == 1, r.stdout + r.stderr
    assert second.read_bytes() == evidence.read_bytes()
    # while a log that is merely behind (the common prefix) is only stale, not forked
    r = _monitor(views.base.url, views, following_b)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"stale checkpoint: size {BASE} < {SIZE_B}, consistent" in r.stderr


def test_monitor_accepts_consistent_outside_checkpoints(views: Views, tmp_path: Path) -> None:
    older = tmp_path / "older.checkpoint"
    older.write_text(views.note(views.a), "utf-8")
    r = _monitor(views.a.url, views, tmp_path / "m", "--checkpoint", str(older))
    assert r.returncode == 0, r.stderr
    assert f"✓ 一致 consistent: {older} agrees with the copy" in r.stdout
    # a checkpoint ahead of the log cannot be judged: exit 2
    ahead = tmp_path / "ahead.checkpoint"
    ahead.write_text(views.note(views.b), "utf-8")
    r = _monitor(views.a.url, views, tmp_path / "m", "--checkpoint", str(ahead))
    assert r.returncode == 2 and "not judged" in r.stderr
    # the log unreachable with --once: exit 2; a bad key: exit 2
    dead = f"http://127.0.0.1:{free_port()}"
    assert _monitor(dead, views, tmp_path / "m").returncode == 2
    bad = _gongxin(
        "monitor", views.a.url, "--log-key", "nonsense", "--dir", str(tmp_path), "--once"
    )
    assert bad.returncode == 2
