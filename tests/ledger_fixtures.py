"""Small helpers for the ledger, registry and CLI tests, and the deterministic pieces
:mod:`tests.logfactory` builds its logs from (keys, clock, signer, genesis/grant/revoke bodies,
the domain prelude and a cycle of domain statements that is valid under the rulebook).

Everything is deterministic: keys come from fixed seeds, statement ids from a counter, and the
ledger's clock advances a fixed step per read, so two runs write byte-identical logs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from ledger.records import format_log_time
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from verifier.cli.parallel import SignaturePool
from verifier.core import merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.entry import Entry, Signature, Submission, entry_bytes, parse_entry_line
from verifier.rules import DomainRules
from verifier.rules.kinds import uscc_check_char
from verifier.rules.log_state import LogState

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


# -- domain bodies (FORMAT.md §10) ----------------------------------------------------------
#
# Every domain kind but policy.set and party.register needs a policy in force, and most refer
# to registered parties, funds, contracts, payments or activities. :func:`prelude` gives a log
# the policy and two parties; :func:`domain_cycle` then yields statements that are valid one
# after the other under the rulebook.

#: The community (社区居委会) and the provider (社会组织) the prelude registers.
COMMUNITY = "gulou-3"
PROVIDER = "yangguang-sg"
#: A category with a credit rate in :func:`policy_body` (10 points per hour).
CATEGORY = "助老"
POINTS_PER_HOUR = 10
#: A catalogue item of :func:`policy_body` and its exact price in points.
ITEM, ITEM_POINTS = "理发券", 5
#: Payments of at least this many fen need a payment.approve by another key.
DUAL_CONTROL_FEN = 100_000


def uscc(first17: str) -> str:
    """A 统一社会信用代码: ``first17`` and its GB 32100-2015 check character."""
    return first17 + uscc_check_char(first17)


def digest(label: str) -> str:
    """A deterministic SHA-256 hex digest (an evidence document, an invoice)."""
    return hashlib.sha256(label.encode()).hexdigest()


def resident(label: object) -> str:
    """A deterministic resident_ref (32 lower-case hex digits)."""
    return hashlib.md5(str(label).encode()).hexdigest()


def policy_body(version: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid ``policy.set`` body; ``changes`` replace members."""
    body: dict[str, Any] = {
        "version": version,
        "currency": "CNY",
        "dual_control_threshold_fen": DUAL_CONTROL_FEN,
        "credit_rates": [
            {"category": CATEGORY, "points_per_hour": POINTS_PER_HOUR},
            {"category": "环境整治", "points_per_hour": 8},
        ],
        "daily_cap_points": 80,
        "activity_cap_points": 40,
        "balance_cap_points": 5000,
        "expiry_months": 24,
        "catalogue": [
            {"item": ITEM, "points": ITEM_POINTS},
            {"item": "米面油礼包", "points": 30},
        ],
        "transfer_relations": ["子女", "配偶"],
    }
    body.update(changes)
    return body


def community_body() -> dict[str, Any]:
    return {
        "party_id": COMMUNITY,
        "type": "community",
        "name": "鼓楼街道第三社区居民委员会",
        "uscc": uscc("55330102MEA00001X"),
    }


def provider_body() -> dict[str, Any]:
    return {
        "party_id": PROVIDER,
        "type": "social_organisation",
        "name": "阳光社工服务中心",
        "uscc": uscc("52330102MJ0000017"),
    }


def prelude(sign: Signer, authority: SignerKey, registrar: SignerKey) -> list[Submission]:
    """The domain prelude a log needs before most domain kinds: policy v1 (signed by
    ``authority``), the community (by ``authority``) and the provider (by ``registrar``, an
    authority or a finance officer)."""
    return [
        sign(authority, "policy.set", policy_body()),
        sign(authority, "party.register", community_body()),
        sign(registrar, "party.register", provider_body()),
    ]


def fund_body(n: int, amount: Any = 100_000) -> dict[str, Any]:
    return {
        "fund_id": f"F-{n}",
        "fiscal_year": 2026,
        "programme": "社区养老服务",
        "source": "财政",
        "amount_fen": amount,
    }


def contract_body(contract_id: str, fund_id: str, due: str) -> dict[str, Any]:
    """A contract of 600 000 fen with the provider: milestones M1 (200 000) and M2 (400 000)."""
    return {
        "contract_id": contract_id,
        "fund_id": fund_id,
        "provider": PROVIDER,
        "title": "助餐服务",
        "method": "询价",
        "total_fen": 600_000,
        "milestones": [
            {"milestone_id": "M1", "amount_fen": 200_000, "due": due, "deliverable": "首月助餐"},
            {"milestone_id": "M2", "amount_fen": 400_000, "due": due, "deliverable": "次月助餐"},
        ],
        "evidence": [digest(f"contract {contract_id}")],
    }


def propose_body(
    payment_id: str, contract_id: str, amount: int = 200_000, milestone: str = "M1"
) -> dict[str, Any]:
    """A payment proposal; the default amount is at the dual-control threshold or above."""
    return {
        "payment_id": payment_id,
        "contract_id": contract_id,
        "milestone_id": milestone,
        "amount_fen": amount,
        "invoice_no": f"INV-{payment_id}",
        "invoice_sha256": digest(f"invoice {payment_id}"),
    }


def approve_body(n: int) -> dict[str, Any]:
    return {"payment_id": f"P-{n}"}


def activity_body(activity_id: str, day: str) -> dict[str, Any]:
    return {
        "activity_id": activity_id,
        "community": COMMUNITY,
        "category": CATEGORY,
        "date": day,
        "title": "敬老院陪护",
    }


def credit_award_body(who: str, activity_id: str, minutes: int = 60) -> dict[str, Any]:
    return {"resident_ref": who, "activity_id": activity_id, "minutes": minutes}


def redeem_body(who: str) -> dict[str, Any]:
    return {"resident_ref": who, "item": ITEM, "points": ITEM_POINTS}


def domain_cycle(count: int, day: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``count`` domain statements (signer name, kind, body), valid in this order after the
    :func:`prelude` on a log whose entries are logged on ``day`` (YYYY-MM-DD). Every prefix is
    valid too. Signer names are official key names (finance, approver, organiser, desk).

    A cycle of seven, ids numbered by position ``k``: fund.appropriate ``F<k>`` →
    contract.award ``C<k>`` (of the fund before) → payment.propose ``P<k>`` (200 000 fen, at
    the dual-control threshold or above: pending) → payment.approve of it → activity.register
    ``A<k>`` on ``day`` → credit.award of 90 minutes (15 points) to resident ``resident(k)``
    → credit.redeem of :data:`ITEM` by that resident.
    """
    for k in range(count):
        m = k % 7
        if m == 0:
            body = fund_body(0, 1_000_000 + k)
            body["fund_id"] = f"F{k}"
            yield "finance", "fund.appropriate", body
        elif m == 1:
            yield "finance", "contract.award", contract_body(f"C{k}", f"F{k - 1}", day)
        elif m == 2:
            yield "finance", "payment.propose", propose_body(f"P{k}", f"C{k - 1}")
        elif m == 3:
            yield "approver", "payment.approve", {"payment_id": f"P{k - 1}"}
        elif m == 4:
            yield "organiser", "activity.register", activity_body(f"A{k}", day)
        elif m == 5:
            yield "organiser", "credit.award", credit_award_body(resident(k), f"A{k - 1}", 90)
        else:
            yield "desk", "credit.redeem", redeem_body(resident(k - 1))


#: The activity the standard ledger registers first (position 4 of its domain cycle):
#: :func:`award_body` refers to it.
STD_ACTIVITY = "A4"


def award_body(n: int, activity_id: str = STD_ACTIVITY, minutes: int = 60) -> dict[str, Any]:
    """A credit.award (60 minutes: 10 points) for resident ``r<n>`` (a new resident for each
    ``n``)."""
    return credit_award_body(resident(f"r{n}"), activity_id, minutes)


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


def new_ledger(
    tmp_path: Path, *, seed: int = 0, name: str = "ledger.db", url: str | None = None
) -> LedgerEnv:
    """An initialised ledger (genesis only), on a SQLite file in ``tmp_path`` unless another
    database ``url`` (an empty PostgreSQL database) is given."""
    keys = make_keys(seed)
    clock = StepClock()
    path = tmp_path / name
    url = url or f"sqlite:///{path}"
    ledger = Ledger.open(url, log_key=keys.log, clock=clock, pool=SignaturePool(1))
    sign = Signer(clock, prefix=f"seed{seed}")
    env = LedgerEnv(path, url, keys, clock, sign, ledger)
    env.receipts.append(
        ledger.initialize(sign(keys.authority, "log.genesis", genesis_body(keys)).canonical())
    )
    return env


def standard_ledger(tmp_path: Path, *, seed: int = 0, url: str | None = None) -> LedgerEnv:
    """Genesis; a batch granting every official followed by the domain :func:`prelude`; a
    fund.appropriate by ``retired`` and its revocation; then 13 statements of the
    :func:`domain_cycle` (credit awards co-signed by the auditor) in batches of irregular
    sizes (so there are many checkpoints): 25 entries. Its activity :data:`STD_ACTIVITY` is
    open for :func:`award_body` on the clock's day."""
    env = new_ledger(tmp_path, seed=seed, url=url)
    k, sign, ledger = env.keys, env.sign, env.ledger
    batch = [
        sign(k.authority, "key.grant", grant_body(k[name], roles))
        for name, roles in OFFICIAL_ROLES.items()
    ]
    batch += prelude(sign, k.authority, k["finance"])
    env.receipts += ledger.append_batch([s.canonical() for s in batch])
    env.receipts.append(
        ledger.append(sign(k["retired"], "fund.appropriate", fund_body(0)).canonical())
    )
    env.receipts.append(
        ledger.append(sign(k.authority2, "key.revoke", revoke_body(k["retired"])).canonical())
    )
    cycle = domain_cycle(13, env.clock.now.date().isoformat())
    for size in (1, 3, 2, 4, 1, 2):
        batch = []
        for who, kind, body in itertools.islice(cycle, size):
            cosigners = [k["auditor"]] if kind == "credit.award" else []
            batch.append(sign(k[who], kind, body, cosigners=cosigners))
        env.receipts += ledger.append_batch([s.canonical() for s in batch])
    return env


def all_checkpoints(path: Path) -> dict[int, str]:
    """Every checkpoint the ledger at ``path`` stored, by tree size (raw read-only sqlite3)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT size, note FROM checkpoints ORDER BY size"))
    finally:
        conn.close()


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
            rows = conn.execute(f'SELECT * FROM "{t}"').fetchall()
            out[t] = sorted(rows, key=lambda r: tuple(repr(v) for v in r))
        return out
    finally:
        conn.close()


def registry_view(state: LogState) -> dict[str, tuple[Any, ...]]:
    """A comparable summary of the key registry."""
    return {
        kid: (str(rec.key), tuple(sorted(rec.roles)), rec.granted_at, rec.revoked_at)
        for kid, rec in state.registry.keys.items()
    }


def rules_view(state: LogState) -> tuple[Any, ...]:
    """A comparable copy of the rulebook's state (policy, funds side, credits side)."""
    rules = state.rulebook
    assert isinstance(rules, DomainRules)
    return (rules.policy, copy.deepcopy(rules.funds), copy.deepcopy(rules.credits))


def state_view(ledger: Ledger) -> dict[str, Any]:
    """A comparable summary of a ledger's in-memory state."""
    s = ledger.state
    return {
        "size": s.size,
        "prev": s.prev,
        "log_time": s.log_time,
        "registry": registry_view(s),
        "recent_ids": dict(s.recent_ids),
        "rules": rules_view(s),
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
