"""The monitor's loop: fetch the log's checkpoint, advance the verified copy through the tiles,
remember what was accepted, and turn any inconsistency into fork evidence (FORMAT.md §16).

Outcomes (exit status of ``gongxin monitor``): 0 every checkpoint checked out (``--once``);
1 the log broke a rule or forked (one line naming the rule; with a fork, the evidence file's
path); 2 nothing was judged (bad option or directory, or the log unreachable with ``--once``;
with ``--interval`` network errors are retried with back-off). A checkpoint smaller than the
copy is only stale (a warning) when the copy agrees with it, and fork evidence otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.evidence import from_local_copy, from_new_view, write_evidence
from monitor.journal import Journal
from verifier.core.bundle import ENTRIES_FILE
from verifier.core.checkpoint import open_checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.follow.fetch import FetchError, HttpFetcher
from verifier.follow.mirror import Forked, Mirror
from verifier.witness.fork import ForkProof

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
MAX_BACKOFF = 300.0
COPY_DIR = "log"
"""Subdirectory of ``--dir`` holding the verified copy (:class:`Mirror`): ``DIR/log/current``
is an export bundle with the verifier state, ``gongxin-verify DIR/log/current --log-key K``
re-checks it."""


@dataclass
class Settings:
    """What ``gongxin monitor`` was asked to do. ``interval`` ``None`` means ``--once``;
    ``others`` are checkpoints obtained elsewhere (notes), compared once the copy is as large."""

    url: str
    log_key: VerifierKey
    directory: Path
    authority_keys: Sequence[VerifierKey] = ()
    interval: float | None = None
    timeout: float = 30.0
    others: list[tuple[str, str]] = field(default_factory=list)  # (where, note)


class Stop(Exception):
    """End the loop with ``status`` (the line was printed)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Monitor:
    """One monitored log: a :class:`Mirror` in ``DIR/log``, a :class:`Journal` and the
    evidence files in ``DIR``. ``say`` prints one line (stdout), ``warn`` one line (stderr)."""

    def __init__(
        self, settings: Settings, say: Callable[[str], None], warn: Callable[[str], None]
    ) -> None:
        self.s = settings
        self.say = say
        self.warn = warn
        settings.directory.mkdir(parents=True, exist_ok=True)
        self.mirror = Mirror.open(
            settings.directory / COPY_DIR, settings.log_key, tuple(settings.authority_keys)
        )
        self.journal = Journal(settings.directory)
        self.fetch = HttpFetcher(settings.url, settings.timeout)

    def step(self) -> None:
        """Fetch and check the log's checkpoint once, then the pending outside checkpoints.
        Raises :class:`Stop` (1) on a fork or a broken rule, :class:`FetchError` when the log
        cannot be reached, :class:`InputError` otherwise. Cost: the tiles since the last
        step, and a replay of their entries."""
        note_bytes = self.fetch.checkpoint()
        try:
            update = self.mirror.update(note_bytes, self.fetch)
        except Forked as fork:
            self._convict_new_view(fork)
        except VerificationError as exc:
            if exc.rule != "checkpoint.rollback":
                self.warn(f"✗ 日志违规 log broke a rule: {exc.one_line()}")
                raise Stop(EXIT_INVALID) from None
            # an older checkpoint (e.g. a stale cache): a fork only if the copy disagrees
            note = note_bytes.decode("utf-8")
            self._compare(("the log's checkpoint", note))
            size = open_checkpoint(note, self.s.log_key).size
            self.warn(f"… 旧检查点 stale checkpoint: size {size} < {self.mirror.size}, consistent")
            return
        note = note_bytes.decode("utf-8")
        cp = open_checkpoint(note, self.s.log_key)
        self.journal.append(cp, note)
        self.say(
            f"✓ 已核对 checked: size {update.new_size} (+{update.entries_replayed} entries"
            f" replayed) in {update.seconds:.2f} s, root {cp.root[:4].hex()}…"
        )
        self._compare_others()

    def _convict_new_view(self, fork: Forked) -> None:
        try:
            data, proof = from_new_view(
                fork.old_note, fork.new_note, fork.proof, self.s.log_key, self.fetch
            )
        except (VerificationError, InputError) as exc:
            self.warn(f"✗ 日志分叉 log forked: {fork} — but no evidence could be built: {exc}")
            raise Stop(EXIT_INVALID) from None
        self._report(data, proof)

    def _report(self, data: bytes, proof: ForkProof) -> None:
        path = write_evidence(self.s.directory, data, proof)
        self.warn(f"✗ 日志分叉 log forked: {proof.describe()}; 证据 evidence: {path}")
        raise Stop(EXIT_INVALID)

    def _compare_others(self) -> None:
        """Judge each outside checkpoint that the copy now covers; keep the others."""
        pending = []
        for where, note in self.s.others:
            size = open_checkpoint(note, self.s.log_key).size
            if self.mirror.note is None or size > self.mirror.size:
                pending.append((where, note))
                continue
            self._compare((where, note))
            self.say(f"✓ 一致 consistent: {where} agrees with the copy")
        self.s.others = pending

    def _compare(self, other: tuple[str, str]) -> None:
        """Judge a checkpoint no larger than the copy against it; :class:`Stop` (1) with
        evidence written if they are inconsistent."""
        own = self.mirror.note
        if own is None:  # nothing verified yet: nothing to compare with
            return
        entries = self.mirror.directory / ENTRIES_FILE
        found = from_local_copy(other[1], own, entries, self.s.log_key)
        if found is not None:
            self._report(*found)

    def run(self) -> int:
        """Loop until ``--once`` is done, a fork or violation, or an interrupt. Returns the
        exit status."""
        failures = 0
        while True:
            try:
                self.step()
                failures = 0
            except Stop as stop:
                return stop.status
            except FetchError as exc:
                if self.s.interval is None:
                    self.warn(f"✗ 无法访问 log unreachable: {exc}")
                    return EXIT_USAGE
                failures = min(failures + 1, 16)
                delay = min(MAX_BACKOFF, self.s.interval * 2**failures)
                self.warn(f"… 无法访问 log unreachable ({exc}); retrying in {delay:.0f} s")
                time.sleep(delay)
                continue
            if self.s.interval is None:
                for where, note in self.s.others:
                    size = open_checkpoint(note, self.s.log_key).size
                    self.warn(
                        f"✗ 未核对 not judged: {where} (size {size}) is ahead of the log"
                        f" ({self.mirror.size})"
                    )
                return EXIT_USAGE if self.s.others else EXIT_OK
            time.sleep(self.s.interval)
