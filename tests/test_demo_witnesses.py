"""``scripts/demo`` with its two witnesses (issue 15), run for real: the script builds a small
demo log in a temporary directory (``GONGXIN_DEMO_DIR``, ``GONGXIN_DEMO_SETUP=0``: the
virtualenv is already set up), makes the witnesses' keys once, writes the witness policy,
starts ``gongxin witness serve`` twice and ``gongxin serve --witness-policy``; the served
checkpoint must carry both cosignatures and satisfy the policy, and stopping the script must
stop all three servers. ``GONGXIN_DEMO_SERVE=0`` stops after the report and starts none."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.api_server import free_port
from verifier.core.keys import parse_verifier_key
from verifier.witness.policy import check_cosigned, load_policy

REPO = Path(__file__).resolve().parent.parent
ENTRIES = "300"


def _env(demo: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGXIN_")}
    return env | {"GONGXIN_DEMO_SETUP": "0", "GONGXIN_DEMO_DIR": str(demo)} | extra


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _vkeys(demo: Path) -> list[str]:
    return [(demo / "witnesses" / d / "witness.vkey").read_text() for d in ("shenji", "jumin")]


def test_demo_serve_0_writes_policy_and_starts_nothing(tmp_path: Path) -> None:
    """The report run: exit 0, a valid policy naming 审计局 and 居民监督委员会 (quorum both),
    the witness private keys at mode 0600, no server left; a second run keeps the keys."""
    demo = tmp_path / "demo"
    ports = (free_port(), free_port())
    env = _env(demo, GONGXIN_DEMO_SERVE="0", GONGXIN_WITNESS_PORTS=f"{ports[0]} {ports[1]}")
    done = subprocess.run(
        [str(REPO / "scripts/demo"), "--entries", ENTRIES],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    policy = load_policy(demo / "witnesses.policy")
    assert [w.name for w in policy.witnesses] == ["审计局", "居民监督委员会"]
    assert [w.key.name for w in policy.witnesses] == [
        "shenji.example/witness",
        "jumin.example/witness",
    ]
    assert policy.describe() == "quorum 全体: 2 of 审计局, 居民监督委员会"
    assert (demo / "witnesses/shenji/witness.key").stat().st_mode & 0o777 == 0o600
    assert not any(_listening(p) for p in ports)
    first = _vkeys(demo)
    again = subprocess.run(
        [str(REPO / "scripts/demo"), "--entries", ENTRIES],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert _vkeys(demo) == first  # the witnesses' keys are made once


def test_demo_serves_a_cosigned_checkpoint_and_stops_cleanly(tmp_path: Path) -> None:
    """The serving run: ``/checkpoint`` carries the cosignatures of both witnesses and
    satisfies the policy; the README's ``gongxin-verify … --witness-policy`` accepts the
    served export; the residents' page pins the policy; SIGTERM to the script stops the
    server and both witnesses."""
    demo = tmp_path / "demo"
    port, w1, w2 = free_port(), free_port(), free_port()
    env = _env(demo, GONGXIN_PORT=str(port), GONGXIN_WITNESS_PORTS=f"{w1} {w2}")
    log = (tmp_path / "demo.out").open("wb")
    proc = subprocess.Popen(
        [str(REPO / "scripts/demo"), "--entries", ENTRIES],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        note = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "demo.out").read_text()[-3000:]
            try:
                note = httpx.get(base + "/checkpoint", timeout=2).text
            except httpx.TransportError:
                note = ""
            if note.count("\n— ") == 3:  # the log's line and two cosignatures
                break
            time.sleep(0.3)
        log_key = parse_verifier_key(
            (demo / "keys/gongxin.example_jiedao-001.vkey").read_text().strip()
        )
        policy = load_policy(demo / "witnesses.policy")
        opened, present = check_cosigned(note, log_key, policy)
        assert [w.name for w in present] == ["审计局", "居民监督委员会"]
        assert opened.checkpoint.size == int(ENTRIES)
        # README: verify a cosigned export requiring the quorum (exit 0); the demo's own
        # export, made before the witnesses ran, has no cosignatures (exit 1).
        (tmp_path / "witnessed.zip").write_bytes(httpx.get(base + "/v1/log/export").content)
        verify = [
            str(REPO / ".venv/bin/gongxin-verify"),
            "--log-key",
            str(demo / "keys/gongxin.example_jiedao-001.vkey"),
            "--witness-policy",
            str(demo / "witnesses.policy"),
        ]
        ok = subprocess.run([*verify, str(tmp_path / "witnessed.zip")], capture_output=True)
        assert ok.returncode == 0, ok.stderr.decode()
        bare = subprocess.run([*verify, str(demo / "export")], capture_output=True, text=True)
        assert bare.returncode == 1 and "cosignature.quorum" in bare.stderr, bare.stderr
        page = httpx.get(base + "/credits", timeout=5).text
        assert "shenji.example/witness+" in page and "居民监督委员会" in page
        assert all(_listening(p) for p in (port, w1, w2))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()
    deadline = time.monotonic() + 10
    while any(_listening(p) for p in (port, w1, w2)):
        assert time.monotonic() < deadline, "a server outlived scripts/demo"
        time.sleep(0.2)
