"""Cosigning latency of the witness (C2SP tlog-witness, FORMAT.md §14).

What it measures: a synthetic log of ``--leaves`` random leaves whose log key signs a
checkpoint every ``--step`` leaves; each checkpoint is submitted with its consistency proof
(``ledger.proofs``) to

1. ``Witness.add_checkpoint`` in process (parse, log-signature check, proof, fsync'd SQLite
   commit, cosignature), and
2. ``python -m witness serve`` (one uvicorn worker) on 127.0.0.1 from one keep-alive
   ``httpx.Client``,

one request at a time, each to a fresh state file. Reported: p50/p99/max per request, beside
the raw one-core Ed25519 verification rate measured in the same run (``bench/primitives.py``).
Requests are built before timing. The fsync dominates on most disks.

Run::

    . .venv/bin/activate
    python bench/witness.py [--leaves 65536] [--step 64]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import primitives as P

from ledger.proofs import Node, consistency_proof, peak_nodes
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from tests.test_witness_server import _witness, serving
from verifier.core.checkpoint import Checkpoint
from verifier.core.compact_range import fold
from verifier.core.merkle import leaf_hash, node_hash
from witness.keys import WitnessSigner
from witness.protocol import Witness
from witness.store import WitnessStore

ORIGIN = "bench.example/log"


def all_nodes(leaves: list[bytes]) -> dict[Node, bytes]:
    """Every complete aligned subtree hash ``(level, k)`` of the tree over ``leaves``."""
    nodes: dict[Node, bytes] = {(0, i): leaf_hash(d) for i, d in enumerate(leaves)}
    level, width = 0, len(leaves)
    while width > 1:
        for k in range(width // 2):
            nodes[(level + 1, k)] = node_hash(nodes[(level, 2 * k)], nodes[(level, 2 * k + 1)])
        level, width = level + 1, width // 2
    return nodes


def build_requests(leaves: int, step: int, log_key: SignerKey) -> list[bytes]:
    """One add-checkpoint body per ``step`` leaves, each extending the previous."""
    data = [os.urandom(64) for _ in range(leaves)]
    nodes = all_nodes(data)
    bodies, old = [], 0
    for size in range(step, leaves + 1, step):
        proof = consistency_proof(old, size, nodes) if old else []
        root = root_at(size, nodes)
        note = sign_checkpoint(Checkpoint(ORIGIN, size, root), log_key)
        lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
        bodies.append(("\n".join(lines) + "\n\n" + note).encode())
        old = size
    return bodies


def root_at(size: int, nodes: dict[Node, bytes]) -> bytes:
    """The root of the first ``size`` leaves, from their peaks."""
    return fold([nodes[n] for n in peak_nodes(size)])


def summary(name: str, seconds: list[float]) -> tuple[str, str, str, str, str]:
    ms = [s * 1000 for s in seconds]
    return (
        name,
        f"{len(ms)}",
        f"{statistics.median(ms):.2f} ms",
        f"{P.pct(ms, 0.99):.2f} ms",
        f"{max(ms):.2f} ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=65536)
    parser.add_argument("--step", type=int, default=64)
    args = parser.parse_args()
    P.banner("witness cosigning latency")
    print(P.machine_line())
    log_key = SignerKey.generate(ORIGIN)
    bodies = build_requests(args.leaves, args.step, log_key)
    with tempfile.TemporaryDirectory() as tmp:
        store = WitnessStore(Path(tmp) / "in-process.db")
        store.add_log(ORIGIN, str(log_key.verifier()))
        witness = Witness(store, WitnessSigner.generate("bench.example/w1"))
        inproc = []
        for body in bodies:
            t0 = time.perf_counter()
            reply = witness.add_checkpoint(body)
            inproc.append(time.perf_counter() - t0)
            assert reply.status == 200, reply.body
        work = Path(tmp) / "served"
        work.mkdir()
        _witness("init", "bench.example/w2", cwd=work)
        _witness("add-log", ORIGIN, "--log-key", str(log_key.verifier()), cwd=work)
        http = []
        with serving(work) as url, httpx.Client(base_url=url, timeout=30) as client:
            for body in bodies:
                t0 = time.perf_counter()
                r = client.post("/add-checkpoint", content=body)
                http.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
    raw = P.median_of(lambda: P.ed25519_rate_1core(P.make_samples().triples), 3)[0]
    P.table(
        [
            summary("in process (Witness.add_checkpoint)", inproc),
            summary("HTTP POST /add-checkpoint, keep-alive", http),
        ],
        header=["path", "requests", "p50", "p99", "max"],
    )
    print(f"raw Ed25519 verify, 1 core (pynacl): {raw:,.0f} /s ({1000 / raw:.3f} ms each)")


if __name__ == "__main__":
    main()
