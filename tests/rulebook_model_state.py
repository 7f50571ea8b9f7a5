"""The state of the independent model of FORMAT.md §10 (:mod:`tests.rulebook_model`): the
books as plain dicts, the context of the entry being judged, and the party check both sides
share. Nothing is imported from :mod:`verifier.rules`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rulebook_ops import PARTIES, POLICY


@dataclass
class Ctx:
    """What the model knows about the entry being judged."""

    signer: str
    today: str
    month: str
    index: int


Reject = tuple[str, str]


@dataclass
class ModelState:
    """The model's books; :mod:`tests.rulebook_model_funds` and
    :mod:`tests.rulebook_model_credits` add the rules of each side."""

    version: int = 1
    policy: dict[str, Any] = field(default_factory=lambda: dict(POLICY))
    parties: dict[str, str] = field(default_factory=lambda: dict(PARTIES))
    funds: dict[str, dict[str, Any]] = field(default_factory=dict)
    donations: set[str] = field(default_factory=set)
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    amendments: set[str] = field(default_factory=set)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    daily: dict[tuple[str, str], int] = field(default_factory=dict)
    lots: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    expired_through: str = ""

    def _party(self, pid: str, fld: str, community: bool) -> Reject | None:
        if pid not in self.parties:
            return "party.unknown", fld
        if (self.parties[pid] == "community") != community:
            return "party.type", fld
        return None
