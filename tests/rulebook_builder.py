"""Drivers for the rulebook tests (FORMAT.md §10): a tiny in-memory log builder, *modified
servers* and comparable views of the replayed state; the ledger driver is
:mod:`tests.rulebook_ledger`. The operations they run (:class:`~tests.rulebook_ops.Op` and the
``*_op`` builders) are in :mod:`tests.rulebook_ops`.

- :class:`LogBuilder` writes entry lines by hand — signed with real keys, correctly chained,
  leaf-hashed — and runs each through :meth:`verifier.rules.log_state.LogState.check_and_apply` (the
  verifier's own state, no database): the fast path of the unit tests. ``forge`` appends a
  line without judging it (a log written around the registry); ``checkpoint`` signs a
  checkpoint over the lines with the log key.
- :class:`AcceptAll`, :func:`lenient` and :class:`NoDualControl` are modified servers: rulebook
  factories that accept what the rules forbid, for :class:`tests.rulebook_ledger.LedgerDriver`
  (the same operations through a real :class:`ledger.log.Ledger` on SQLite).
- :func:`domain_view` is a comparable summary of a :class:`~verifier.rules.DomainRules`.

Everything is deterministic: fixed key seeds, statement ids from a counter, and a clock the
test sets explicitly (log time advances one second per entry in the builder).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger import proofs
from ledger.records import entry_bytes, format_log_time
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from verifier.core import merkle
from verifier.core.checkpoint import Checkpoint
from verifier.core.entry import Entry, parse_entry_line
from verifier.core.errors import VerificationError
from verifier.rules import DomainRules
from verifier.rules.credits import Award, CreditBook
from verifier.rules.funds import FundBook
from verifier.rules.journal import Journal
from verifier.rules.kinds import MAX_AMOUNT_FEN
from verifier.rules.log_state import LogState

from .rulebook_ops import (
    ORIGIN,
    START,
    Op,
    RuleKeys,
    day_start,
    genesis_op,
    rule_keys,
    sign_op,
    standard_setup,
    statement_id,
)

# -- the in-memory log builder ---------------------------------------------------------------


class LogBuilder:
    """Entry lines built by hand and judged by the verifier's own :class:`LogState`.

    ``now`` is the log time of the next entry; it advances one second per accepted entry
    and can be moved forward with :meth:`at` / :meth:`advance`. ``rules`` is the
    :class:`DomainRules` being replayed (or any rulebook given).
    """

    def __init__(
        self, keys: RuleKeys | None = None, *, rulebook: Any = None, start: datetime = START
    ) -> None:
        self.keys = keys or rule_keys()
        self.rules = rulebook if rulebook is not None else DomainRules()
        self.state = LogState(rulebook=self.rules)
        self.lines: list[bytes] = []
        self.now = start
        self._ids = 0

    @classmethod
    def standard(cls, *, policy: bool = True, **kw: Any) -> LogBuilder:
        """Genesis, the grants, policy v1 and the parties, all accepted."""
        b = cls(**kw)
        b.submit(genesis_op(b.keys))
        for op in standard_setup(b.keys, policy=policy):
            b.submit(op)
        return b

    @property
    def size(self) -> int:
        return len(self.lines)

    @property
    def today(self) -> str:
        return self.now.date().isoformat()

    @property
    def month(self) -> str:
        return self.today[:7]

    def at(self, when: datetime | date | str) -> LogBuilder:
        """Move the log time forward to ``when`` (a day means 08:00 UTC of it)."""
        t = when if isinstance(when, datetime) else day_start(when)
        assert t >= self.now, f"log time cannot go back from {self.now} to {t}"
        self.now = t
        return self

    def advance(self, **delta: float) -> LogBuilder:
        self.now += timedelta(**delta)
        return self

    def line(self, op: Op, *, as_key: SignerKey | None = None) -> bytes:
        """The next entry's line for ``op`` (log time :attr:`now`, signed 1 s before)."""
        self._ids += 1
        sub = sign_op(
            self.keys,
            op,
            statement_id("rulebook", self._ids),
            self.now - timedelta(seconds=1),
            as_key=as_key,
        )
        prev = merkle.leaf_hash(self.lines[-1]).hex() if self.lines else "0" * 64
        return entry_bytes(self.size, format_log_time(self.now), prev, sub)

    def submit(self, op: Op, *, journal: Journal | None = None) -> int:
        """Judge ``op`` as the next entry with ``check_and_apply``; keep it if valid.
        Returns its index; raises :class:`VerificationError` (nothing kept) otherwise."""
        line = self.line(op)
        entry = parse_entry_line(line, self.size)
        self.state.check_and_apply(entry, merkle.leaf_hash(line), journal=journal)
        self.lines.append(line)
        self.now += timedelta(seconds=1)
        return entry.index

    def submit_all(self, ops: Iterable[Op]) -> list[int]:
        return [self.submit(op) for op in ops]

    def error(self, op: Op) -> VerificationError:
        """The error ``op`` is rejected with as the next entry (it must be rejected)."""
        size = self.size
        try:
            self.submit(op)
        except VerificationError as exc:
            assert self.size == size
            return exc
        raise AssertionError(f"{op.kind} {op.body} was accepted at index {size}")

    def forge(self, op: Op, *, as_key: SignerKey | None = None) -> int:
        """Append ``op``'s line without judging it (a log written around the rules)."""
        self.lines.append(self.line(op, as_key=as_key))
        self.now += timedelta(seconds=1)
        return self.size - 1

    def entry(self, index: int) -> Entry:
        return parse_entry_line(self.lines[index], index)

    def checkpoint(self, size: int | None = None) -> str:
        """A checkpoint over the first ``size`` lines (default all), signed by the log key."""
        lines = self.lines[: self.size if size is None else size]
        root = proofs.root_of(merkle.leaf_hash(line) for line in lines)
        return sign_checkpoint(Checkpoint(ORIGIN, len(lines), root), self.keys.log)

    def write_bundle(self, directory: Path, size: int | None = None) -> Path:
        n = self.size if size is None else size
        return write_bundle(directory, self.lines[:n], self.checkpoint(n), self.keys)


def write_bundle(directory: Path, lines: Sequence[bytes], checkpoint: str, keys: RuleKeys) -> Path:
    """An export bundle (FORMAT.md §9) of ``lines`` under ``checkpoint``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    (directory / "checkpoint").write_text(checkpoint, encoding="utf-8")
    (directory / "log.vkey").write_text(f"{keys.log.verifier()}\n", encoding="utf-8")
    return directory


def replay_lines(lines: Iterable[bytes], rules: DomainRules | None = None) -> LogState:
    """Replay ``lines`` from scratch through a fresh verifier :class:`LogState` (signatures
    checked) whose rulebook is ``rules`` (default a new :class:`DomainRules`)."""
    state = LogState(rulebook=rules if rules is not None else DomainRules())
    for i, line in enumerate(lines):
        state.check_and_apply(parse_entry_line(line, i), merkle.leaf_hash(line))
    return state


# -- modified servers ------------------------------------------------------------------------


class AcceptAll:
    """A rulebook that accepts every domain entry and records nothing (a modified server)."""

    def apply(self, entry: Entry, journal: Journal | None) -> None:
        return None


def lenient(*rules: str) -> Callable[[], DomainRules]:
    """A rulebook factory: the real rules, except that an entry breaking one of ``rules`` is
    accepted (without effect) — a server modified to let exactly that through."""

    class Lenient(DomainRules):
        __slots__ = ()

        def apply(self, entry: Entry, journal: Journal | None) -> None:
            try:
                super().apply(entry, journal)
            except VerificationError as exc:
                if exc.rule not in rules:
                    raise

    return Lenient


class NoDualControl(DomainRules):
    """The real rules, but the server ignores dual control: every payment counts at once,
    whatever its amount (its policy's threshold is above any amount)."""

    __slots__ = ()

    def apply(self, entry: Entry, journal: Journal | None) -> None:
        super().apply(entry, journal)
        if entry.statement.kind == "policy.set" and self.policy is not None:
            self.policy = dataclasses.replace(
                self.policy, dual_control_threshold_fen=MAX_AMOUNT_FEN + 1
            )


# -- comparable views of the rulebook state --------------------------------------------------


def domain_view(rules: DomainRules, *, exact: bool = True) -> dict[str, Any]:
    """Everything :class:`DomainRules` has replayed, as plain values.

    ``exact=False`` leaves out bookkeeping that a model need not keep (empty lot lists,
    activities' per-resident award records and daily totals once closed, the open heap).
    """
    f, c = rules.funds, rules.credits
    view: dict[str, Any] = {
        "policy": None if rules.policy is None else dataclasses.asdict(rules.policy),
        "parties": {k: (p.type, p.uscc) for k, p in f.parties.items()},
        "usccs": dict(f.usccs),
        "funds": {k: (x.source, x.appropriated, x.contracted, x.paid) for k, x in f.funds.items()},
        "donations": set(f.donations),
        "contracts": {
            k: (
                x.fund_id,
                x.provider,
                x.total,
                x.paid,
                {m: (ms.amount, ms.committed, ms.paid) for m, ms in x.milestones.items()},
            )
            for k, x in f.contracts.items()
        },
        "amendments": set(f.amendments),
        "payments": {
            k: (p.contract_id, p.milestone_id, p.amount, p.invoice_no, p.proposer, p.state)
            for k, p in f.payments.items()
        },
        "open_invoices": dict(f.open_invoices),
        "activities": {
            k: (a.community, a.category, a.date, a.organiser) for k, a in c.activities.items()
        },
        "lots": {r: lots for r, lots in c.lots.items() if lots or exact},
        "expired_through": c.expired_through,
    }
    if exact:
        view["awards"] = {
            k: None if a.awards is None else {r: Award.unpack(w) for r, w in a.awards.items()}
            for k, a in c.activities.items()
        }
        view["daily"] = {d: dict(per) for d, per in c.daily.items()}
        view["open"] = sorted(c._open)
    return view


def registry_view(state: LogState) -> dict[str, tuple[Any, ...]]:
    """The key registry as plain values: key id -> (key, roles, granted at, revoked at)."""
    return {
        kid: (str(rec.key), tuple(sorted(rec.roles)), rec.granted_at, rec.revoked_at)
        for kid, rec in state.registry.keys.items()
    }


def _fund_problems(f: FundBook) -> list[str]:
    """§10.3 per fund: 0 ≤ paid ≤ contracted ≤ appropriated, and the sums over its
    contracts."""
    out: list[str] = []
    for fid, fund in f.funds.items():
        contracts = [x for x in f.contracts.values() if x.fund_id == fid]
        if not 0 <= fund.paid <= fund.contracted <= fund.appropriated:
            out.append(
                f"fund {fid}: paid {fund.paid} contracted {fund.contracted} "
                f"appropriated {fund.appropriated}"
            )
        if fund.contracted != sum(x.total for x in contracts):
            out.append(f"fund {fid}: contracted ≠ Σ contract totals")
        if fund.paid != sum(x.paid for x in contracts):
            out.append(f"fund {fid}: paid ≠ Σ contract paid")
    return out


def _contract_problems(f: FundBook) -> list[str]:
    """§10.3 per contract: milestones sum to the total and to the paid amount, and
    0 ≤ paid ≤ committed ≤ amount per milestone."""
    out: list[str] = []
    for cid, x in f.contracts.items():
        if sum(m.amount for m in x.milestones.values()) != x.total:
            out.append(f"contract {cid}: milestones do not sum to the total")
        if sum(m.paid for m in x.milestones.values()) != x.paid:
            out.append(f"contract {cid}: paid ≠ Σ milestone paid")
        for mid, m in x.milestones.items():
            if not 0 <= m.paid <= m.committed <= m.amount:
                out.append(f"milestone {cid}/{mid}: {m}")
    return out


def _lot_problems(c: CreditBook, cap: int) -> list[str]:
    """§10.4 per resident: positive lots in order, and a balance within 0…``cap``."""
    out: list[str] = []
    for ref, lots in c.lots.items():
        if any(p <= 0 for _, _, p in lots) or list(lots) != sorted(lots):
            out.append(f"resident {ref}: lots {lots}")
        if not 0 <= sum(p for _, _, p in lots) <= cap:
            out.append(f"resident {ref}: balance out of 0…{cap}")
    return out


def invariant_problems(rules: DomainRules) -> list[str]:
    """What breaks the FORMAT.md §10.3 consequences or the credit invariants (§10.4) in
    ``rules``' state: empty when all hold. Balances are checked against the cap in force."""
    cap = rules.policy.balance_cap_points if rules.policy else 0
    return (
        _fund_problems(rules.funds)
        + _contract_problems(rules.funds)
        + _lot_problems(rules.credits, cap)
    )
