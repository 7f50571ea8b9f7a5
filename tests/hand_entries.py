"""Entries handled outside the ledger, for the rule tests: replaying lines through the shared
rules, flipping a signature bit, and :class:`EntryBuilder`, which chains hand-built entry lines
for :class:`verifier.rules.log_state.LogState` unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.records import entry_bytes, format_log_time
from tests.keyring import Signer, StepClock
from verifier.core import merkle
from verifier.core.entry import Entry, Signature, Submission, parse_entry_line
from verifier.rules.log_state import LogState


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
