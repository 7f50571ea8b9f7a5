"""The witness (C2SP tlog-witness, FORMAT.md §14) as a real HTTP server (``python -m witness
serve`` under uvicorn) fed with a real log built by the ledger (tests/logfactory.py); its
cosignatures are checked with ``verifier.witness.cosignature``. Consistency proofs come from
the RFC 9162 reference code (tests/merkle_reference.py)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests import merkle_reference
from tests.api_server import free_port
from tests.logfactory import BuiltLog, build_log, sign_checkpoint_over
from verifier.core.checkpoint import open_checkpoint
from verifier.witness.cosignature import open_cosigned_checkpoint, parse_witness_key

REPO = Path(__file__).resolve().parent.parent


def _witness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "witness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


@contextmanager
def serving(workdir: Path) -> Iterator[str]:
    """``python -m witness serve`` on a free loopback port until the block ends."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "witness", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> BuiltLog:
    return build_log(tmp_path_factory.mktemp("log"), domain_entries=10)


@pytest.fixture
def workdir(tmp_path: Path, log: BuiltLog) -> Path:
    init = _witness("init", "witness.example/w1", cwd=tmp_path)
    (tmp_path / "witness.vkey").write_text(init.stdout.strip())
    assert (tmp_path / "witness.key").stat().st_mode & 0o777 == 0o600
    _witness("add-log", log.origin, "--log-key", str(log.log_key.verifier()), cwd=tmp_path)
    return tmp_path


def body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


def proof(log_lines: list[bytes], old: int, new: int) -> list[bytes]:
    if old in (0, new):
        return []
    return merkle_reference.proof(old, log_lines[:new])


def sizes(log: BuiltLog) -> list[int]:
    return sorted(s for s in log.checkpoints if s > 0)


def test_cosigns_a_growing_log_and_keeps_state_across_restart(workdir: Path, log: BuiltLog) -> None:
    w1 = parse_witness_key((workdir / "witness.vkey").read_text())
    first, second, *_ = sizes(log)
    with serving(workdir) as url:
        r = httpx.post(url + "/add-checkpoint", content=body(0, [], log.checkpoints[first]))
        assert r.status_code == 200, r.text
        opened = open_cosigned_checkpoint(
            log.checkpoints[first] + r.text, log.log_key.verifier(), [w1]
        )
        assert opened.count() == 1 and opened.checkpoint.size == first
        assert abs(opened.cosignatures[0].timestamp - time.time()) < 60
        # a stale old size: 409 with the stored size
        r = httpx.post(url + "/add-checkpoint", content=body(0, [], log.checkpoints[second]))
        assert (r.status_code, r.text, r.headers["content-type"]) == (
            409,
            f"{first}\n",
            "text/x.tlog.size",
        )
    with serving(workdir) as url:  # restarted: the stored size survived
        r = httpx.post(url + "/add-checkpoint", content=body(0, [], log.checkpoints[second]))
        assert (r.status_code, r.text) == (409, f"{first}\n")
        good = body(first, proof(log.lines, first, second), log.checkpoints[second])
        r = httpx.post(url + "/add-checkpoint", content=good)
        assert r.status_code == 200, r.text
        open_cosigned_checkpoint(log.checkpoints[second] + r.text, log.log_key.verifier(), [w1])
        # the same checkpoint again (old == size, same root): cosigned again
        r = httpx.post(url + "/add-checkpoint", content=body(second, [], log.checkpoints[second]))
        assert r.status_code == 200, r.text


def test_refusals(workdir: Path, log: BuiltLog) -> None:
    first, second, *_ = sizes(log)
    stranger = sign_checkpoint_over(log.lines[:first], log.key("auditor"), origin=None)
    with serving(workdir) as url:

        def post(content: bytes) -> httpx.Response:
            return httpx.post(url + "/add-checkpoint", content=content)

        assert post(body(0, [], log.checkpoints[first])).status_code == 200
        bad = proof(log.lines, first, second)
        bad[0] = bytes(32)
        assert post(body(first, bad, log.checkpoints[second])).status_code == 422
        assert post(body(first, [], log.checkpoints[second])).status_code == 422
        assert post(body(0, [], stranger)).status_code == 404
        # the log's origin, signed by another key with the log's name: 403
        forged_key = type(log.log_key).from_seed(log.origin, bytes(32))
        forged = sign_checkpoint_over(log.lines[:second], forged_key)
        assert post(body(first, proof(log.lines, first, second), forged)).status_code == 403
        assert post(body(second + 1, [], log.checkpoints[second])).status_code == 400
        assert post(b"old 01\n\n" + log.checkpoints[second].encode()).status_code == 400
        assert post(b"old 1\nnot-base64\n\n" + log.checkpoints[second].encode()).status_code == 400
        assert post(b"x" * (70 * 1024)).status_code == 413
        # nothing above moved the witness: the stored size is still the first
        assert post(body(0, [], log.checkpoints[first])).text == f"{first}\n"


def test_split_view_refused(workdir: Path, log: BuiltLog) -> None:
    """The log key signs two inconsistent checkpoints: the witness cosigns the first only."""
    first, second, *_ = sizes(log)
    forked = [*log.lines[: first - 1], b"forked entry", *log.lines[first:second]]
    fork_same_size = sign_checkpoint_over(forked[:first], log.log_key)
    fork_bigger = sign_checkpoint_over(forked, log.log_key)
    open_checkpoint(fork_bigger, log.log_key.verifier())  # a validly signed split view
    with serving(workdir) as url:

        def post(content: bytes) -> httpx.Response:
            return httpx.post(url + "/add-checkpoint", content=content)

        assert post(body(0, [], log.checkpoints[first])).status_code == 200
        assert post(body(first, [], fork_same_size)).status_code == 409
        assert post(body(first, proof(forked, first, second), fork_bigger)).status_code == 422
        assert post(body(0, [], log.checkpoints[first])).text == f"{first}\n"
        good = body(first, proof(log.lines, first, second), log.checkpoints[second])
        assert post(good).status_code == 200
