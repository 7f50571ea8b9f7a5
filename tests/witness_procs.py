"""Real witness processes for the log-cosigning tests: ``gongxin witness serve`` on a chosen
loopback port (so a stopped witness can come back at the same URL), and a deliberately bad
"witness" HTTP server (:mod:`tests.bad_witness`) that answers 500, garbage, or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from verifier.witness.cosignature import WitnessKey, parse_witness_key

from .api_server import GONGXIN, free_port

REPO = Path(__file__).resolve().parent.parent


@dataclass
class WitnessDir:
    """An initialised witness: its directory, key and port (fixed for restarts)."""

    workdir: Path
    key: WitnessKey
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def init_witness(workdir: Path, name: str, origin: str, log_vkey: str) -> WitnessDir:
    """``gongxin witness init`` and ``add-log`` in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> str:
        done = subprocess.run(
            [GONGXIN, "witness", *args], cwd=workdir, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    key = parse_witness_key(run("init", name).strip())
    run("add-log", origin, "--log-key", log_vkey)
    return WitnessDir(workdir, key, free_port())


def _wait_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class WitnessProcess:
    """``gongxin witness serve`` for a :class:`WitnessDir`, started and stopped at will
    (always on the same port)."""

    def __init__(self, w: WitnessDir) -> None:
        self.w = w
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.w.workdir / "witness.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [GONGXIN, "witness", "serve", "--port", str(self.w.port)],
                cwd=self.w.workdir,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        _wait_up(self.w.url, self.proc, f"witness {self.w.key.name}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@contextmanager
def running(w: WitnessDir) -> Iterator[WitnessProcess]:
    """``gongxin witness serve`` for ``w`` until the block ends."""
    proc = WitnessProcess(w)
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()


@contextmanager
def bad_witness() -> Iterator[str]:
    """:mod:`tests.bad_witness` on a free port; its URL (append ``/500``, ``/garbage``,
    ``/hang`` or ``/huge`` as a witness URL)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bad_witness", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc, "the bad witness")
        yield url
    finally:
        _stop(proc)
