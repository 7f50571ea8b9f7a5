"""Small helpers for the ledger, registry and CLI tests, and the deterministic pieces
:mod:`tests.logfactory` builds its logs from (keys, clock, signer, genesis/grant/revoke bodies).

Everything is deterministic: keys come from fixed seeds, statement ids from a counter, and the
ledger's clock advances a fixed step per read, so two runs write byte-identical logs.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from ledger.records import format_log_time
from ledger.signing import sign_statement
from verifier import merkle
from verifier.checkpoint import open_checkpoint
from verifier.entry import Entry, Signature, Submission, entry_bytes, parse_entry_line
from verifier.keys import SignerKey
from verifier.parallel import SignaturePool
from verifier.state import LogState

ORIGIN = "gongxin.test/ledger"
T0 = datetime(2026, 5, 4, 8, 0, 0, tzinfo=UTC)

#: official key name -> roles granted by :func:`standard_grants`
OFFICIAL_ROLES: dict[str, list[str]] = {
    "finance": ["finance_officer"],
    "approver": ["approver"],
    "organiser": ["organiser"],
    "desk": ["service_desk"],
    "auditor": ["auditor"],
    "retired": ["finance_officer"],
}


def key(
    name: str,
    *,
    key_name: str | None = None,
    seed: int = 0,
    namespace: str = "gongxin-ledger-tests",
) -> SignerKey:
    """A deterministic Ed25519 key named ``test-<name>`` (or ``key_name``), derived from
    ``namespace``, ``seed`` and ``name``."""
    digest = hashlib.sha256(f"{namespace}/{seed}/{name}".encode()).digest()
    return SignerKey.from_seed(key_name or f"test-{name}", digest)


def det_uuid(label: str) -> str:
    """A version-4 UUID derived from ``label`` (deterministic statement ids)."""
    return str(uuid.UUID(bytes=hashlib.sha256(label.encode()).digest()[:16], version=4))


class StepClock:
    """A clock that advances ``step`` each time the ledger reads it."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=10)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@dataclass
class Keys:
    log: SignerKey
    authority: SignerKey
    authority2: SignerKey
    officials: dict[str, SignerKey]
    stranger: SignerKey  # never granted

    def __getitem__(self, name: str) -> SignerKey:
        return self.officials[name]


def make_keys(seed: int = 0, origin: str = ORIGIN) -> Keys:
    return Keys(
        log=key("log", key_name=origin, seed=seed),
        authority=key("authority", seed=seed),
        authority2=key("authority2", seed=seed),
        officials={name: key(name, seed=seed) for name in OFFICIAL_ROLES},
        stranger=key("stranger", seed=seed),
    )


@dataclass
class Signer:
    """Signs statements with deterministic ids (``<prefix>/<counter>``, counting up), ``lead``
    before the clock's current time."""

    clock: StepClock
    prefix: str = "s"
    #: the number in the next statement id
    counter: int = 1
    lead: timedelta = timedelta(seconds=1)

    def next_id(self) -> str:
        n, self.counter = self.counter, self.counter + 1
        return det_uuid(f"{self.prefix}/{n}")

    def __call__(
        self,
        signer: SignerKey,
        kind: str,
        body: dict[str, Any],
        *,
        statement_id: str | None = None,
        time: datetime | None = None,
        cosigners: Sequence[SignerKey] = (),
    ) -> Submission:
        return sign_statement(
            kind,
            body,
            signer,
            statement_id=statement_id or self.next_id(),
            time=time if time is not None else self.clock.now - self.lead,
            cosigners=cosigners,
        )


def genesis_body(keys: Keys, origin: str = ORIGIN) -> dict[str, Any]:
    return genesis_body_for(keys.log, [keys.authority, keys.authority2], origin)


def genesis_body_for(
    log_key: SignerKey, authorities: Sequence[SignerKey], origin: str
) -> dict[str, Any]:
    """The body of a ``log.genesis`` naming ``log_key`` and ``authorities``."""
    return {
        "authorities": [str(a.verifier()) for a in authorities],
        "log_key": str(log_key.verifier()),
        "origin": origin,
    }


def grant_body(k: SignerKey, roles: list[str], title: str = "测试岗位") -> dict[str, Any]:
    return {"key": str(k.verifier()), "roles": roles, "title": title}


def revoke_body(k: SignerKey, reason: str = "调岗") -> dict[str, Any]:
    return {"key_id": k.key_id_hex, "reason": reason}


def fund_body(n: int, amount: Any = 100_000) -> dict[str, Any]:
    return {
        "fund_id": f"F-{n}",
        "fiscal_year": 2026,
        "programme": "社区养老服务",
        "source": "财政",
        "amount_fen": amount,
    }


def approve_body(n: int) -> dict[str, Any]:
    return {"payment_id": f"P-{n}"}


def award_body(n: int) -> dict[str, Any]:
    return {
        "resident_ref": hashlib.md5(f"r{n}".encode()).hexdigest(),
        "activity_id": f"A-{n}",
        "minutes": 60,
    }


@dataclass
class LedgerEnv:
    """An open ledger on a temporary SQLite file, with its keys, clock and signer."""

    path: Path
    url: str
    keys: Keys
    clock: StepClock
    sign: Signer
    ledger: Ledger
    receipts: list[Any] = field(default_factory=list)

    def reopen(self, **kwargs: Any) -> Ledger:
        kwargs.setdefault("log_key", self.keys.log)
        kwargs.setdefault("clock", self.clock)
        kwargs.setdefault("pool", SignaturePool(1))
        return Ledger.open(self.url, **kwargs)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return db_snapshot(self.path)


def new_ledger(tmp_path: Path, *, seed: int = 0, name: str = "ledger.db") -> LedgerEnv:
    """An initialised ledger (genesis only)."""
    keys = make_keys(seed)
    clock = StepClock()
    path = tmp_path / name
    url = f"sqlite:///{path}"
    ledger = Ledger.open(url, log_key=keys.log, clock=clock, pool=SignaturePool(1))
    sign = Signer(clock, prefix=f"seed{seed}")
    env = LedgerEnv(path, url, keys, clock, sign, ledger)
    env.receipts.append(
        ledger.initialize(sign(keys.authority, "log.genesis", genesis_body(keys)).canonical())
    )
    return env


def standard_ledger(tmp_path: Path, *, seed: int = 0) -> LedgerEnv:
    """Genesis, a batch granting every official, a revocation of ``retired`` and a few
    domain entries in batches of irregular sizes (so there are many checkpoints)."""
    env = new_ledger(tmp_path, seed=seed)
    k, sign, ledger = env.keys, env.sign, env.ledger
    grants = [
        sign(k.authority, "key.grant", grant_body(k[name], roles))
        for name, roles in OFFICIAL_ROLES.items()
    ]
    env.receipts += ledger.append_batch([g.canonical() for g in grants])
    env.receipts.append(
        ledger.append(sign(k["retired"], "fund.appropriate", fund_body(0)).canonical())
    )
    env.receipts.append(
        ledger.append(sign(k.authority2, "key.revoke", revoke_body(k["retired"])).canonical())
    )
    n = 1
    for size in (1, 3, 2, 5, 1, 4):
        batch = []
        for _ in range(size):
            if n % 3 == 0:
                batch.append(sign(k["approver"], "payment.approve", approve_body(n)))
            elif n % 3 == 1:
                batch.append(sign(k["finance"], "fund.appropriate", fund_body(n)))
            else:
                batch.append(
                    sign(k["organiser"], "credit.award", award_body(n), cosigners=[k["auditor"]])
                )
            n += 1
        env.receipts += ledger.append_batch([s.canonical() for s in batch])
    return env


def db_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the schema), read with a separate raw connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {
            "sqlite_master": conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).fetchall()
        }
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for t in tables:
            out[t] = conn.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2').fetchall()
        return out
    finally:
        conn.close()


def registry_view(state: LogState) -> dict[str, tuple[Any, ...]]:
    """A comparable summary of the key registry."""
    return {
        kid: (str(rec.key), tuple(sorted(rec.roles)), rec.granted_at, rec.revoked_at)
        for kid, rec in state.registry.keys.items()
    }


def state_view(ledger: Ledger) -> dict[str, Any]:
    """A comparable summary of a ledger's in-memory state."""
    s = ledger.state
    return {
        "size": s.size,
        "prev": s.prev,
        "log_time": s.log_time,
        "registry": registry_view(s),
        "recent_ids": dict(s.recent_ids),
        "tree": (ledger.tree.size, list(ledger.tree.peaks)),
        "checkpoint": ledger.checkpoint_note,
    }


def replay(lines: Sequence[bytes], state: LogState | None = None) -> LogState:
    """Re-verify ``lines`` from scratch with the shared rules (signatures checked)."""
    state = state if state is not None else LogState()
    for i, line in enumerate(lines):
        state.check_and_apply(parse_entry_line(line, i), merkle.leaf_hash(line))
    return state


def tamper_signature(sub: Submission, n: int = 0) -> Submission:
    """The same submission with one bit of signature ``n`` flipped."""
    sigs = list(sub.signatures)
    bad = bytearray(sigs[n].sig)
    bad[5] ^= 0x01
    sigs[n] = Signature(sigs[n].key_id, bytes(bad))
    return Submission(sub.statement, tuple(sigs))


def checkpoint_root(note: str, keys: Keys) -> tuple[int, bytes]:
    cp = open_checkpoint(note, keys.log.verifier())
    return cp.size, cp.root


# -- hand-built entries for LogState unit tests ------------------------------------------


@dataclass
class EntryBuilder:
    """Builds correctly chained entry lines by hand (no ledger), for LogState tests."""

    clock: StepClock = field(default_factory=StepClock)
    sign: Signer = field(init=False)
    lines: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sign = Signer(self.clock, prefix="builder")

    @property
    def prev(self) -> str:
        return merkle.leaf_hash(self.lines[-1]).hex() if self.lines else "0" * 64

    def entry(
        self, sub: Submission, *, index: int | None = None, log_time: datetime | None = None
    ) -> tuple[Entry, bytes]:
        """The (entry, leaf hash) of ``sub`` as the next line; not yet remembered."""
        t = log_time if log_time is not None else self.clock()
        i = len(self.lines) if index is None else index
        line = entry_bytes(i, format_log_time(t), self.prev, sub)
        return parse_entry_line(line, i), merkle.leaf_hash(line)

    def apply(self, state: LogState, sub: Submission, **kw: Any) -> Entry:
        """Check and apply ``sub`` as the next entry; remember its line on success."""
        t = kw.pop("log_time", None)
        t = t if t is not None else self.clock()
        line = entry_bytes(len(self.lines), format_log_time(t), self.prev, sub)
        entry = parse_entry_line(line, len(self.lines))
        state.check_and_apply(entry, merkle.leaf_hash(line), **kw)
        self.lines.append(line)
        return entry


def iter_bodies(value: Any, key_name: str) -> Iterator[Any]:
    """Every value stored under ``key_name`` anywhere inside ``value``."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key_name:
                yield v
            yield from iter_bodies(v, key_name)
    elif isinstance(value, list):
        for v in value:
            yield from iter_bodies(v, key_name)


def iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_strings(v)
