"""The harness of the rulebook state machine (tests/test_rules_stateful.py): a real ledger
on SQLite (``self.d``, a :class:`~tests.rulebook_ledger.LedgerDriver`) beside the independent
model (``self.m``, :class:`~tests.rulebook_model.Model`), both started from ``SEED``.

:meth:`ModelCheckedMachine.submit` asserts that the ledger accepts exactly when the model says
so, rejects with the rule and field the model expects, and that a rejected append leaves the
database and the in-memory state unchanged. The invariant ``books_agree`` compares the books
after every step; the rule ``export_and_verify`` (and teardown) exports the log, verifies it and
replays it with the verifier's own ``LogState``. Subclasses add the rules that draw operations.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger.records import InvalidEntry
from verifier.cli.bundle import verify_bundle
from verifier.rules import DomainRules

from .rulebook_builder import domain_view, invariant_problems, registry_view, replay_lines
from .rulebook_ledger import LedgerDriver
from .rulebook_model import SEED, Model, ledger_view
from .rulebook_model_state import Ctx
from .rulebook_ops import Op


class ModelCheckedMachine(RuleBasedStateMachine):
    """A ledger and the model, stepped together (see the module docstring). Each run costs a
    temporary directory and a SQLite ledger, removed at teardown."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="gongxin-rules-"))
        self.d = LedgerDriver.standard(self.tmp)
        self.m = Model()
        self.key_ids = {n: self.d.keys[n].key_id_hex for n in self.d.keys.officials}
        #: (index, resident, activity) of every accepted credit.award
        self.awards: list[tuple[int, str, str]] = []
        self.failed = False
        self.exports = 0
        # A starting point, so that short runs reach payments and credits (judged too).
        for op in SEED:
            index = self.submit(op)
            assert index is not None, op
            if op.kind == "credit.award":
                self.awards.append((index, op.body["resident_ref"], op.body["activity_id"]))

    # -- submitting ---------------------------------------------------------------------

    def _state(self) -> tuple[Any, ...]:
        s = self.d.ledger.state
        return (
            s.snapshot_position(),
            registry_view(s),
            dict(s.recent_ids),
            domain_view(self.d.rules),
            self.d.ledger.tree.size,
            list(self.d.ledger.tree.peaks),
            self.d.ledger.checkpoint_note,
        )

    def submit(self, op: Op) -> int | None:
        try:
            return self._submit(op)
        except BaseException:
            self.failed = True
            raise

    def _submit(self, op: Op) -> int | None:
        ctx = Ctx(op.signer, self.d.today, self.d.month, self.d.size)
        expected = self.m.step(op, ctx)
        if expected is None:
            try:
                index = self.d.submit(op)
            except InvalidEntry as exc:
                raise AssertionError(f"the model accepts {op}, the ledger rejects: {exc}") from None
            assert index == ctx.index
            return index
        db, state = self.d.snapshot(), self._state()
        try:
            self.d.submit(op)
        except InvalidEntry as exc:
            assert (exc.rule, exc.field) == (
                expected[0],
                f"batch[0].statement.body.{expected[1]}",
            ), (op, exc)
            assert self.d.snapshot() == db, "a rejected append changed the database"
            assert self._state() == state, "a rejected append changed the in-memory state"
            return None
        raise AssertionError(f"the model rejects {op} with {expected}, the ledger accepted it")

    # -- choosing -------------------------------------------------------------------------

    @staticmethod
    def choose(
        data: st.DataObject, existing: Sequence[str], pool: Sequence[str], label: str
    ) -> str:
        """Mostly one of ``existing`` (when there are any), else any of ``pool``."""
        if existing and data.draw(st.integers(0, 9), f"{label}?") < 8:
            return data.draw(st.sampled_from(sorted(existing)), label)
        return data.draw(st.sampled_from(list(pool)), label)

    @staticmethod
    def fresh(
        data: st.DataObject, existing: Collection[str], pool: Sequence[str], label: str
    ) -> str:
        """Mostly an id of ``pool`` not yet used (a duplicate now and then)."""
        new = [p for p in pool if p not in existing]
        if new and data.draw(st.integers(0, 9), f"{label}?") < 8:
            return data.draw(st.sampled_from(new), label)
        return data.draw(st.sampled_from(list(pool)), label)

    # -- checks ----------------------------------------------------------------------------

    @rule()
    def export_and_verify(self) -> None:
        try:
            self._verify_export()
        except BaseException:
            self.failed = True
            raise

    @invariant()
    def books_agree(self) -> None:
        try:
            rules = self.d.rules
            assert invariant_problems(rules) == []
            assert ledger_view(rules) == self.m.view(self.key_ids)
            # Awards and daily totals of activities still open match the model's.
            for aid, act in rules.credits.activities.items():
                if act.awards is not None:
                    got = {}
                    for r in act.awards:
                        w = rules.credits.award_of(aid, r)
                        assert w is not None
                        got[r] = [w.index, w.minutes, w.points]
                    assert got == self.m.activities[aid]["awards"]
            for day, per_resident in rules.credits.daily.items():
                for ref, points in per_resident.items():
                    assert self.m.daily[(ref, day)] == points
        except BaseException:
            self.failed = True
            raise

    def _verify_export(self) -> None:
        self.exports += 1
        directory = self.tmp / f"export-{self.exports}"
        self.d.export(directory)
        report = verify_bundle(directory, self.d.keys.log.verifier(), workers=1)
        assert report.tree_size == self.d.size
        lines = (directory / "entries.jsonl").read_bytes().splitlines()
        replayed = DomainRules()
        state = replay_lines(lines, replayed)  # the verifier's own LogState, signatures checked
        ours = self.d.ledger.state
        assert state.snapshot_position() == ours.snapshot_position()
        assert registry_view(state) == registry_view(ours)
        assert state.recent_ids == ours.recent_ids
        assert domain_view(replayed) == domain_view(self.d.rules)
        assert ledger_view(replayed) == self.m.view(self.key_ids)
        shutil.rmtree(directory)

    def teardown(self) -> None:
        try:
            if not self.failed:
                self._verify_export()
        finally:
            self.d.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
