"""The demo's simulated clock, shared by the planner and the builder (its own module so that
neither imports the other)."""

from __future__ import annotations

from datetime import datetime

__all__ = ["DemoClock"]


class DemoClock:
    """The demo's simulated clock: the ledger reads it once per batch."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
