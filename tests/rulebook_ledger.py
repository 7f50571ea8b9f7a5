"""The ledger side of the rulebook tests: :class:`LedgerDriver` runs the operations of
:mod:`tests.rulebook_ops` through a real :class:`ledger.log.Ledger` on SQLite — its
``rulebook`` factory may be a modified server of :mod:`tests.rulebook_builder`
(:class:`~tests.rulebook_builder.AcceptAll`, :func:`~tests.rulebook_builder.lenient`,
:class:`~tests.rulebook_builder.NoDualControl`) that accepts what the rules forbid — and
:func:`run_verify` runs ``gongxin-verify`` on a bundle in a fresh interpreter.

Deterministic: fixed key seeds, statement ids from a counter, and a clock that advances one
millisecond per read (the test moves it explicitly).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.export import export_bundle
from ledger.log import Ledger
from ledger.records import InvalidEntry
from verifier.cli.parallel import SignaturePool
from verifier.core.entry import Submission
from verifier.rules import DomainRules

from .keyring import StepClock
from .ledger_env import db_snapshot
from .rulebook_builder import write_bundle
from .rulebook_ops import (
    REPO,
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


class LedgerDriver:
    """A real :class:`Ledger` on SQLite in ``directory``, fed :class:`Op` s.

    The clock advances one millisecond per read; :meth:`at` / :meth:`advance` move it.
    Statements are signed one second before the clock's current time.
    """

    def __init__(
        self,
        directory: Path,
        *,
        keys: RuleKeys | None = None,
        rulebook: Callable[[], Any] = DomainRules,
        start: datetime = START,
        name: str = "ledger.db",
    ) -> None:
        self.keys = keys or rule_keys()
        self.clock = StepClock(start, timedelta(milliseconds=1))
        self.path = directory / name
        self.url = f"sqlite:///{self.path}"
        self.ledger = Ledger.open(
            self.url,
            log_key=self.keys.log,
            clock=self.clock,
            rulebook=rulebook,
            pool=SignaturePool(1),
        )
        self._ids = 0
        self.ledger.initialize(self.sign(genesis_op(self.keys)).canonical())

    @classmethod
    def standard(cls, directory: Path, *, policy: bool = True, **kw: Any) -> LedgerDriver:
        d = cls(directory, **kw)
        d.submit_batch(standard_setup(d.keys, policy=policy))
        return d

    def close(self) -> None:
        self.ledger.close()

    @property
    def rules(self) -> Any:
        return self.ledger.state.rulebook

    @property
    def size(self) -> int:
        return self.ledger.size

    @property
    def today(self) -> str:
        return self.clock.now.date().isoformat()

    @property
    def month(self) -> str:
        return self.today[:7]

    def at(self, when: datetime | date | str) -> LedgerDriver:
        t = when if isinstance(when, datetime) else day_start(when)
        assert t >= self.clock.now
        self.clock.now = t
        return self

    def advance(self, **delta: float) -> LedgerDriver:
        self.clock.now += timedelta(**delta)
        return self

    def sign(self, op: Op) -> Submission:
        self._ids += 1
        return sign_op(
            self.keys,
            op,
            statement_id("ledger", self._ids),
            self.clock.now - timedelta(seconds=1),
        )

    def submit(self, op: Op) -> int:
        """Append ``op``; returns its index. Raises :class:`InvalidEntry` when rejected."""
        return self.ledger.append(self.sign(op).canonical()).index

    def submit_batch(self, ops: Sequence[Op]) -> list[int]:
        return [
            r.index for r in self.ledger.append_batch([self.sign(op).canonical() for op in ops])
        ]

    def error(self, op: Op) -> InvalidEntry:
        """The rejection of ``op``; asserts that the database did not change."""
        before = db_snapshot(self.path)
        size = self.size
        try:
            self.submit(op)
        except InvalidEntry as exc:
            assert self.size == size
            assert db_snapshot(self.path) == before
            return exc
        raise AssertionError(f"{op.kind} {op.body} was accepted")

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return db_snapshot(self.path)

    def lines(self) -> list[bytes]:
        return list(self.ledger.iter_lines())

    def export(self, directory: Path) -> Path:
        """``gongxin export``: the bundle of the whole log."""
        export_bundle(self.ledger, directory)
        return directory

    def export_prefix(self, directory: Path, size: int) -> Path:
        """A bundle of the first ``size`` entries under the checkpoint the ledger signed for
        exactly that size (every :meth:`submit` is its own batch, so there is one)."""
        note = self.ledger.checkpoint_at(size)
        assert note is not None, f"no checkpoint was signed for size {size}"
        return write_bundle(directory, self.lines()[:size], note, self.keys)


# -- running the verifier CLI ----------------------------------------------------------------


def run_verify(directory: Path, keys: RuleKeys) -> subprocess.CompletedProcess[str]:
    """``gongxin-verify DIR --log-key KEY`` in a fresh interpreter (the real command)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "verifier",
            str(directory),
            "--log-key",
            str(keys.log.verifier()),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
