"""The verifying witness (issue 15, beyond CT): before it cosigns a checkpoint of a log added
with ``--verify-rules``, the witness fetches the new entries through the log's tiles and
replays the whole rulebook on them (:class:`verifier.follow.mirror.Mirror`, one per origin,
kept in ``<state>.mirrors/``). A checkpoint whose entries break a rule is refused — though
every entry may be well signed: the operator holds all the keys — and what it was about is
kept in ``<state>.evidence/<origin>/<size>-<digest>/`` (the refused note, the fetched
entries, the error; :func:`verifier.follow.mirror.keep_evidence`).

Evidence is bounded, since the one who submits checkpoints is the party the witness checks:
the same refused note sent again (the log's collector retries) reuses its directory, named
by the note's SHA-256, instead of writing another copy; and at most
:data:`MAX_EVIDENCE_PER_LOG` directories are kept per origin — the first ones, which show
when the log first went wrong. Beyond that a refusal says that no evidence was kept.

Replies (FORMAT.md §14): 422 with the rule, the entry index and the evidence directory when
the entries break a rule, the tiles do not match the note, or the log's tiles show another
history; 503 when the tiles cannot be fetched or the mirror cannot be used (nothing judged:
the log may submit again). Runs under the witness's per-origin lock.

Cost per checkpoint of ``m − n`` new entries: the mirror's update (fetching O(⌈(m−n)/256⌉)
bundles and O(log m) tiles, replaying the entries, reading past the old ones once).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.follow.fetch import HttpFetcher
from verifier.follow.mirror import Mirror
from verifier.tiles.prove import root_at
from verifier.tiles.reader import TileReader
from witness.store import LogConfig

__all__ = ["MAX_EVIDENCE_PER_LOG", "Refusal", "RuleChecker"]

#: Evidence directories kept per origin (each holds at most the entries of one refused
#: checkpoint); refusals beyond this keep none.
MAX_EVIDENCE_PER_LOG = 100


@dataclass(frozen=True)
class Refusal:
    """Why a checkpoint is not cosigned: the HTTP status and the text to answer."""

    status: int
    text: str


class RuleChecker:
    """Mirrors in ``mirrors``, evidence in ``evidence``, tiles fetched with ``timeout``
    seconds per socket operation. Thread-safe across origins; callers serialise per origin."""

    def __init__(self, mirrors: Path, evidence: Path, timeout: float = 10.0) -> None:
        self.mirrors = mirrors
        self.evidence = evidence
        self.timeout = timeout
        self._open: dict[str, tuple[LogConfig, Mirror]] = {}
        self._guard = threading.Lock()

    @classmethod
    def beside(cls, state: Path, timeout: float = 10.0) -> RuleChecker:
        """The directories beside the witness state file ``state``: ``<state>.mirrors`` and
        ``<state>.evidence`` (created when first needed; absolute, so replies name them)."""
        state = state.absolute()
        return cls(
            state.with_name(state.name + ".mirrors"),
            state.with_name(state.name + ".evidence"),
            timeout,
        )

    def check(self, config: LogConfig, cp: Checkpoint, note: bytes) -> Refusal | None:
        """``None`` when the entries of ``cp`` (a note already opened with the log key and
        consistent with the witness's stored checkpoint) pass the rulebook, else the
        refusal (see the module docstring)."""
        if config.tiles_url is None:
            return Refusal(503, "verifying log without a tiles URL; 未配置瓦片地址")
        try:
            mirror = self._mirror(cp.origin, config)
            fetch = HttpFetcher(config.tiles_url, self.timeout)
            if cp.size < mirror.size:
                return _behind(mirror, cp, fetch)
            where, fresh = _evidence_dir(self.evidence / quote(cp.origin, safe=""), cp.size, note)
            try:
                mirror.update(note, fetch, evidence=where if fresh else None)
            except VerificationError as exc:
                if where is None:
                    kept = (
                        f"no evidence kept (limit of {MAX_EVIDENCE_PER_LOG} reached); 证据已达上限"
                    )
                else:
                    kept = f"evidence 证据: {where}"
                return Refusal(422, f"{exc.one_line()}\n{kept}")
        except VerificationError as exc:  # a mirror ahead of this checkpoint, forked
            return Refusal(422, exc.one_line())
        except InputError as exc:
            return Refusal(503, f"cannot check the new entries, try again; 暂时无法核验: {exc}")
        return None

    def _mirror(self, origin: str, config: LogConfig) -> Mirror:
        with self._guard:
            cached = self._open.get(origin)
        if cached is not None and cached[0] == config:
            return cached[1]
        key = parse_verifier_key(config.log_vkey)
        authorities: list[VerifierKey] = [parse_verifier_key(k) for k in config.authority_keys]
        mirror = Mirror.open(self.mirrors / quote(origin, safe=""), key, authorities, workers=1)
        with self._guard:
            self._open[origin] = (config, mirror)
        return mirror


def _evidence_dir(folder: Path, size: int, note: bytes) -> tuple[Path | None, bool]:
    """(where the evidence of refusing ``note`` goes, whether to write it): the directory
    named by ``size`` and the note's SHA-256 under ``folder`` — already written (``False``)
    when the same note was refused before — or ``None`` when ``folder`` already holds
    :data:`MAX_EVIDENCE_PER_LOG` directories. Cost: one directory listing."""
    where = folder / f"{size}-{hashlib.sha256(note).hexdigest()[:32]}"
    if (where / "error.json").exists():
        return where, False
    try:
        held = sum(1 for p in folder.iterdir() if p.is_dir())
    except FileNotFoundError:
        held = 0
    if held >= MAX_EVIDENCE_PER_LOG:
        return None, False
    return where, True


def _behind(mirror: Mirror, cp: Checkpoint, fetch: HttpFetcher) -> Refusal | None:
    """A checkpoint older than the mirror (a cosignature that failed to store after the mirror
    advanced): its entries were verified as a prefix iff its root is the mirror tree's root
    at its size, read from the authenticated tiles of the mirror's tree."""
    reader = TileReader(mirror.size, mirror.root, fetch)
    if root_at(reader, cp.size) == cp.root:
        return None
    return Refusal(
        422,
        f"[checkpoint.inconsistent] the tree of size {cp.size} is not a prefix of the verified"
        f" tree of size {mirror.size}; 与已核验的树不一致",
    )
