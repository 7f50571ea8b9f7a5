"""Ed25519 verification spread over worker processes (both cores of the machine).

Used by the ledger for large batches and by the verifier for whole logs. The workers are
stateless: they receive ``(public_key, message, signature)`` triples and answer one bool each.
Their answers are *pre-verification*: a signature a worker rejected, or checked under another
key than the registry's, is verified again in-process, and a crashed worker only means
everything is verified in-process. A worker's "valid" is trusted like an in-process check,
because the workers run this same code. Cost: one pickled round trip per chunk; ~10k
verifications/s per core with pynacl.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from verifier.core.keys import verify_ed25519

Triple = tuple[bytes, bytes, bytes]


def verify_triples(triples: Sequence[Triple]) -> list[bool]:
    """Verify each (public key, message, signature); pure, runs in a worker."""
    return [verify_ed25519(pub, msg, sig) for pub, msg, sig in triples]


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on, at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, forked where the platform allows (cheap start, the
    parent's modules already imported), spawned elsewhere."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


class SignaturePool:
    """A lazily started process pool for Ed25519 verification.

    ``workers <= 1`` means verify in-process (no pool). Close it with :meth:`close` or use it
    as a context manager.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = process_pool(self.workers)
        return self._pool

    def submit(self, triples: Sequence[Triple]) -> Future[list[bool]]:
        """Start verifying ``triples`` in a worker; the future yields one bool per triple.

        A pool broken by a crashed worker is replaced once, transparently."""
        try:
            return self._executor().submit(verify_triples, list(triples))
        except BrokenProcessPool:
            self.close()
            return self._executor().submit(verify_triples, list(triples))

    def verify_all(self, triples: Sequence[Triple], min_parallel: int = 256) -> list[bool]:
        """Verify ``triples`` using every worker; small inputs are verified in-process."""
        if self.workers <= 1 or len(triples) < min_parallel:
            return verify_triples(triples)
        n = self.workers
        step = (len(triples) + n - 1) // n
        futures = [self.submit(triples[k : k + step]) for k in range(0, len(triples), step)]
        out: list[bool] = []
        for f in futures:
            out.extend(f.result())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SignaturePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
