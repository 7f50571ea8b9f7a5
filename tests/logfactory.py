"""Shared test fixtures: small valid Gongxin logs and their export bundles (FORMAT.md §9).

Logs are built through the real append pipeline (:class:`ledger.log.Ledger` with
:func:`ledger.signing.statements.sign_statement`), with deterministic keys and a deterministic clock, so
that every run produces byte-identical entries, checkpoints and reports.

The bundle writer here stands in for ``gongxin export`` (the CLI is written elsewhere): it
writes ``entries.jsonl`` (every line followed by ``\\n``), ``checkpoint`` and ``log.vkey``.

The deterministic pieces (seeded keys, the stepping clock, the signer, genesis/grant/revoke
bodies) are those of :mod:`tests.keyring` and :mod:`tests.domain_bodies`.

For tests that need an entry the ledger would refuse (a key never granted, a revoked key, a
missing role), :func:`forge_line` builds the entry line by hand with the same canonical
encoder, chained to the previous line, and :func:`sign_checkpoint_over` re-signs a checkpoint
over the edited lines with the log key, so that only the registry/role rule can catch it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import EllipsisType
from typing import Any

from ledger import proofs
from ledger.log import Ledger
from ledger.records import entry_bytes, format_log_time
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from ledger.signing.statements import sign_statement
from tests.domain_bodies import domain_cycle, prelude
from tests.keyring import (
    Signer,
    StepClock,
    det_uuid,
    genesis_body_for,
    grant_body,
    key,
    revoke_body,
)
from verifier.cli.parallel import SignaturePool
from verifier.core import compact_range, merkle
from verifier.core.canonical import canonical_bytes
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Submission, parse_entry_line
from verifier.rules.log_state import message_origin

ORIGIN = "gongxin.example/test-log"
START = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)

#: Role of each official key the factory grants (key name -> roles).
OFFICIALS: dict[str, list[str]] = {
    "finance": ["finance_officer"],
    "approver": ["approver"],
    "organiser": ["organiser"],
    "desk": ["service_desk"],
    "auditor": ["auditor"],
    "temp-finance": ["finance_officer"],  # revoked part-way through the log
}


def make_key(seed: int, name: str, key_name: str | None = None) -> SignerKey:
    """A deterministic key; its key name defaults to ``test-<name>`` (its own seed namespace,
    so that these logs' keys are not those of :func:`tests.keyring.make_keys`)."""
    return key(name, key_name=key_name, seed=seed, namespace="gongxin-test")


@dataclass
class BuiltLog:
    """A built log: its lines (no newlines), latest checkpoint and the keys behind it."""

    origin: str
    log_key: SignerKey
    authorities: list[SignerKey]
    officials: dict[str, SignerKey]
    lines: list[bytes]
    checkpoint: str
    #: every checkpoint the ledger issued, by tree size
    checkpoints: dict[int, str] = field(default_factory=dict)
    #: index of each notable entry (e.g. "revoke", "grant:finance")
    marks: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.lines)

    def key(self, name: str) -> SignerKey:
        if name.startswith("authority"):
            return self.authorities[int(name[len("authority") :] or 0)]
        return self.officials[name]


def _digest_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:6], "big")


#: The day every entry of a built log is logged on (the clock starts at START and steps 7 s).
DAY = START.date().isoformat()


def _domain_statements(n: int) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """``n`` domain statements (signer, kind, body) of :func:`tests.domain_bodies.domain_cycle`
    — fund, contract, payment proposal and approval, activity, credit award, redemption —
    valid in order after the domain prelude, on :data:`DAY`."""
    return domain_cycle(n, DAY)


def build_log(
    db_dir: Path,
    *,
    domain_entries: int = 30,
    seed: int = 0,
    batch: int = 8,
    origin: str = ORIGIN,
    two_authorities: bool = True,
) -> BuiltLog:
    """Build a valid log with the real ledger: genesis, a grant for every official role, the
    domain prelude (:func:`tests.domain_bodies.prelude`: policy v1, a community and a
    provider; marks ``policy``, ``party:community``, ``party:provider``), ``domain_entries``
    domain entries (a co-signed one among them), a ``key.revoke`` of ``temp-finance``
    half-way, then more domain entries. Every entry is valid under the rulebook.

    Submissions are appended in batches of ``batch`` (one checkpoint per batch, all kept in
    :attr:`BuiltLog.checkpoints`). Deterministic for a given ``seed``.
    """
    log_key = make_key(seed, "log", key_name=origin)
    auths = [make_key(seed, "authority0")]
    if two_authorities:
        auths.append(make_key(seed, "authority1"))
    officials = {name: make_key(seed, name) for name in OFFICIALS}
    # The ledger reads the clock once per batch; statements are signed a little before.
    clock = StepClock(START, timedelta(seconds=7))
    sign = Signer(clock, prefix=f"sid/{seed}", counter=0, lead=timedelta(seconds=3), origin=origin)
    marks: dict[str, int] = {}
    checkpoints: dict[int, str] = {}
    db = db_dir / f"log-{seed}-{uuid.uuid4().hex[:8]}.db"
    with Ledger.open(
        f"sqlite:///{db}", log_key=log_key, clock=clock, pool=SignaturePool(1)
    ) as ledger:
        genesis = sign(auths[0], "log.genesis", genesis_body_for(log_key, auths, origin))
        ledger.initialize(genesis.canonical())
        checkpoints[ledger.size] = ledger.latest_checkpoint()

        pending: list[Submission] = []
        pending_marks: list[str | None] = []

        def flush() -> None:
            if not pending:
                return
            receipts = ledger.append_batch([s.canonical() for s in pending])
            for r, mark in zip(receipts, pending_marks, strict=True):
                if mark:
                    marks[mark] = r.index
            checkpoints[ledger.size] = ledger.latest_checkpoint()
            pending.clear()
            pending_marks.clear()

        def submit(sub: Submission, mark: str | None = None) -> None:
            pending.append(sub)
            pending_marks.append(mark)
            if len(pending) >= batch:
                flush()

        for n, (name, roles) in enumerate(OFFICIALS.items()):
            granter = auths[n % len(auths)]
            body = grant_body(officials[name], roles, f"{name} 岗位")
            submit(sign(granter, "key.grant", body), f"grant:{name}")
        flush()  # keys are usable from the next index on; keep grants in their own batch
        for sub, label in zip(
            prelude(sign, auths[0], officials["finance"]),
            ("policy", "party:community", "party:provider"),
            strict=True,
        ):
            submit(sub, label)
        half = domain_entries // 2
        for k, (who, kind, body) in enumerate(_domain_statements(domain_entries)):
            if k == half:
                revoke = revoke_body(officials["temp-finance"], "调岗")
                submit(sign(auths[0], "key.revoke", revoke), "revoke")
            signer = officials[who]
            mark = "cosigned" if k == 3 else None
            if who == "finance" and k < half and k % 3 == 0:
                signer = officials["temp-finance"]
                mark = mark or "temp-finance-signed"
            cosigners = [officials["auditor"]] if k == 3 else []
            submit(sign(signer, kind, body, cosigners=cosigners), mark)
            if k % 5 == 4:
                flush()
        flush()
        lines = list(ledger.iter_lines())
        checkpoint = ledger.latest_checkpoint()
    db.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return BuiltLog(origin, log_key, auths, officials, lines, checkpoint, checkpoints, marks)


# -- export bundles -------------------------------------------------------------------------


def write_bundle(
    directory: Path,
    lines: Sequence[bytes],
    checkpoint: str,
    log_key: SignerKey | None = None,
    *,
    raw_entries: bytes | None = None,
) -> Path:
    """Write an export bundle: ``entries.jsonl``, ``checkpoint`` and (optionally) ``log.vkey``.

    ``raw_entries`` replaces the entries file content verbatim (for byte-level mutations).
    """
    directory.mkdir(parents=True, exist_ok=True)
    data = raw_entries if raw_entries is not None else b"".join(line + b"\n" for line in lines)
    (directory / "entries.jsonl").write_bytes(data)
    (directory / "checkpoint").write_text(checkpoint, encoding="utf-8")
    if log_key is not None:
        (directory / "log.vkey").write_text(str(log_key.verifier()) + "\n", encoding="utf-8")
    return directory


def export(log: BuiltLog, directory: Path) -> Path:
    return write_bundle(directory, log.lines, log.checkpoint, log.log_key)


def root_of_lines(lines: Sequence[bytes]) -> bytes:
    return proofs.root_of(merkle.leaf_hash(line) for line in lines)


def sign_checkpoint_over(
    lines: Sequence[bytes], log_key: SignerKey, origin: str | None = None
) -> str:
    """A checkpoint over ``lines`` signed by ``log_key`` (name = origin by default)."""
    cp = Checkpoint(origin or log_key.name, len(lines), root_of_lines(lines))
    return sign_checkpoint(cp, log_key)


# -- hand-made entries (bypassing the ledger's rules) ---------------------------------------


def forge_line(
    lines: Sequence[bytes],
    signer: SignerKey,
    kind: str,
    body: dict[str, Any],
    *,
    cosigners: Sequence[SignerKey] = (),
    statement_id: str | None = None,
    origin: str | EllipsisType | None = ...,
) -> bytes:
    """The line of a correctly chained, correctly signed entry appended after ``lines``,
    built by hand with the canonical encoder, whatever the registry and rules say. It is
    signed for the log of ``lines`` (its genesis's format and origin), or for ``origin`` when
    given (``None``: format 1's message, FORMAT.md §3.2)."""
    if isinstance(origin, EllipsisType):
        origin = message_origin(parse_entry_line(lines[0]).statement.body)
    last = parse_entry_line(lines[-1])
    t = datetime.fromisoformat(last.log_time) + timedelta(seconds=5)
    sub = sign_statement(
        kind,
        body,
        signer,
        origin=origin,
        statement_id=statement_id
        or det_uuid(f"sid/{len(lines)}/{_digest_int(kind, body, signer.key_id_hex)}"),
        time=t - timedelta(seconds=2),
        cosigners=cosigners,
    )
    prev = merkle.leaf_hash(lines[-1]).hex()
    return entry_bytes(len(lines), format_log_time(t), prev, sub)


def rechain(lines: Sequence[bytes], start: int) -> list[bytes]:
    """Rewrite ``prev`` (and ``index``) of every line from ``start`` on so the hash chain
    holds again after an edit (signatures do not cover these fields)."""
    out = list(lines[:start])
    for k in range(start, len(lines)):
        obj = _loads(lines[k])
        obj["index"] = k
        obj["prev"] = merkle.leaf_hash(out[k - 1]).hex() if k else "0" * 64
        out.append(canonical_bytes(obj))
    return out


def _loads(line: bytes) -> dict[str, Any]:
    import orjson

    value = orjson.loads(line)
    assert isinstance(value, dict)
    return value


def edit_line(line: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """Re-encode ``line`` canonically after ``change`` edits its JSON object in place."""
    obj = _loads(line)
    change(obj)
    return canonical_bytes(obj)


def inclusion_proof_json(
    lines: Sequence[bytes], index: int, size: int | None = None
) -> dict[str, Any]:
    """The light-mode proof object for entry ``index`` in the tree of the first ``size``
    lines: ``{"leaf_index", "tree_size", "inclusion_path": [base64, …]}``."""
    import base64

    size = len(lines) if size is None else size
    tree = compact_range.CompactRange()
    nodes: dict[tuple[int, int], bytes] = {}
    for line in lines[:size]:
        for level, idx, h in tree.append(merkle.leaf_hash(line)):
            nodes[(level, idx)] = h
    path = proofs.inclusion_proof(index, size, nodes)
    return {
        "leaf_index": index,
        "tree_size": size,
        "inclusion_path": [base64.b64encode(h).decode("ascii") for h in path],
    }
