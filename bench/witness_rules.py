"""Cosigning latency of a verifying witness (FORMAT.md §14, ``witness/verifying.py``): the
price of replaying the rulebook before cosigning.

What it measures: the demo log of ``--entries`` entries (``gongxin demo``) served by a real
``gongxin serve`` (its ``/tile/…`` endpoints); checkpoints signed with the log key every
``--per`` entries, each submitted with its consistency proof to a real ``python -m witness
serve`` (one uvicorn worker, one keep-alive ``httpx.Client``, one request at a time):

1. plain: ``add-log`` without ``--verify-rules`` (signature, proof, fsync'd SQLite, cosign);
2. verifying: ``add-log --tiles URL --verify-rules`` — the same, plus fetching the ``--per``
   new entries through authenticated tiles over HTTP and replaying them from the witness's
   verifier state (the first request replays the first ``--per`` entries from genesis).

Reported: p50/p99/max per request (= per ``--per`` new entries) for both, beside the raw
one-core Ed25519 sign and verify rates measured in the same run. Requests are built before
timing.

Run::

    . .venv/bin/activate
    python bench/witness_rules.py [--entries 20000] [--per 1000]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import nacl.signing
import primitives as P

from ledger.log import Ledger
from ledger.proofs import consistency_proof
from ledger.signing.keyfile import read_private_key
from ledger.signing.notes import sign_checkpoint
from tests.api_server import demo_template, live_server
from tests.test_witness_server import _witness, serving
from verifier.core.checkpoint import Checkpoint
from verifier.core.compact_range import CompactRange
from verifier.core.merkle import leaf_hash


def build_requests(db_url: str, key_file: Path, per: int, entries: int) -> list[bytes]:
    """One add-checkpoint body per ``per`` entries of the log in ``db_url``."""
    key = read_private_key(key_file)
    with Ledger.open(db_url, create=False, replay=False) as ledger:
        lines = list(ledger.iter_lines(0, entries))
    nodes: dict[tuple[int, int], bytes] = {}
    tree = CompactRange()
    bodies, old = [], 0
    for i, line in enumerate(lines):
        for level, index, h in tree.append(leaf_hash(line)):
            nodes[(level, index)] = h
        size = i + 1
        if size % per:
            continue
        proof = consistency_proof(old, size, nodes) if old else []
        note = sign_checkpoint(Checkpoint(key.name, size, tree.root()), key)
        head = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
        bodies.append(("\n".join(head) + "\n\n" + note).encode())
        old = size
    return bodies


def run(work: Path, vkey: str, origin: str, bodies: list[bytes], *extra: str) -> list[float]:
    """Submit ``bodies`` in order to a fresh witness in ``work``; the seconds of each."""
    work.mkdir()
    _witness("init", "bench.example/w", cwd=work)
    _witness("add-log", origin, "--log-key", vkey, *extra, cwd=work)
    seconds = []
    with serving(work) as url, httpx.Client(base_url=url, timeout=300) as client:
        for body in bodies:
            t0 = time.perf_counter()
            r = client.post("/add-checkpoint", content=body)
            seconds.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return seconds


def summary(name: str, seconds: list[float]) -> tuple[str, str, str, str, str]:
    ms = [s * 1000 for s in seconds]
    return (
        name,
        f"{len(ms)}",
        f"{statistics.median(ms):.1f} ms",
        f"{P.pct(ms, 0.99):.1f} ms",
        f"{max(ms):.1f} ms",
    )


def sign_rate(seconds: float = 1.0) -> float:
    """Raw Ed25519 signatures per second, one core (pynacl), 100-byte messages."""
    key = nacl.signing.SigningKey.generate()
    msg, n = b"x" * 100, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            key.sign(msg)
        n += 200
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--per", type=int, default=1000)
    args = parser.parse_args()
    P.banner("verifying witness: cosigning latency with and without rulebook replay")
    print(P.machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        template = demo_template(root / "demo", args.entries)
        print(f"demo log of {args.entries:,} entries built in {time.perf_counter() - t0:.0f} s")
        with live_server(template, root / "server") as server:
            bodies = build_requests(server.db_url, template.log_key, args.per, args.entries)
            vkey = template.log_vkey
            origin = vkey.split("+", 1)[0]
            plain = run(root / "plain", vkey, origin, bodies)
            verifying = run(
                root / "verifying", vkey, origin, bodies, "--tiles", server.url, "--verify-rules"
            )
    raw_verify = P.median_of(lambda: P.ed25519_rate_1core(P.make_samples().triples), 3)[0]
    raw_sign = P.median_of(sign_rate, 3)[0]
    P.table(
        [
            summary("plain witness", plain),
            summary(f"verifying (+{args.per:,} entries replayed)", verifying),
            summary("verifying, after the first request", verifying[1:]),
        ],
        header=["witness", "requests", "p50", "p99", "max"],
    )
    extra = statistics.median(verifying[1:]) - statistics.median(plain)
    print(
        f"replay cost ≈ {extra * 1000:.0f} ms per {args.per:,} entries "
        f"({args.per / extra:,.0f} entries/s fetched and replayed)"
    )
    print(f"raw Ed25519, 1 core (pynacl): verify {raw_verify:,.0f} /s, sign {raw_sign:,.0f} /s")
    print(
        f"  ({args.per:,} signature checks alone ≈ {args.per / raw_verify * 1000:.0f} ms; "
        "demo entries carry 1–2 signatures each)"
    )


if __name__ == "__main__":
    main()
