"""What every part of the scenario shares: its parameters, the simulated day, the random
stream, the policy in force, and :meth:`_Planner._p`, which plans one statement (id, signing
time and log index drawn in a fixed order, so the same seed gives the same log)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from ledger.demo.cast import POLICY_V1, SCALE_FROM_DAY, DemoKeys
from ledger.signing.keys import SignerKey
from ledger.signing.statements import uuid7

if TYPE_CHECKING:
    from ledger.demo.clock import DemoClock


class Planned(NamedTuple):
    """A statement the scenario will sign: it lands at log index ``log_index``."""

    kind: str
    body: dict[str, Any]
    key: SignerKey
    statement_id: str
    signed_at: datetime
    log_index: int


@dataclass
class _Planner:
    """The state shared by the parts of :class:`~ledger.demo.Scenario` (see there)."""

    seed: int
    keys: DemoKeys
    clock: DemoClock
    scale: int = 1
    scale_from_day: int = SCALE_FROM_DAY
    #: Number of statements planned so far: the log index of the next one.
    count: int = field(init=False, default=0)
    day: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.policy: dict[str, Any] = POLICY_V1
        self.rates: dict[str, int] = {}
        self._set_policy(POLICY_V1)

    def _p(self, kind: str, body: dict[str, Any], key: SignerKey) -> Planned:
        bits = self.rng.getrandbits(128)
        signed_at = self.clock.now - timedelta(seconds=self.rng.randint(1, 600))
        index = self.count
        self.count += 1
        return Planned(kind, body, key, uuid7(signed_at, bits), signed_at, index)

    def _set_policy(self, policy: dict[str, Any]) -> None:
        self.policy = policy
        self.rates = {r["category"]: r["points_per_hour"] for r in policy["credit_rates"]}

    def _scale(self) -> int:
        return self.scale if self.day >= self.scale_from_day else 1
