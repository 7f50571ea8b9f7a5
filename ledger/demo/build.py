"""Building the demo log: the simulated clock, the scale for a log size, and appending the
scenario to a ledger one simulated day per batch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ledger.demo.cast import (
    DEFAULT_ENTRIES,
    DEMO_START,
    ENTRIES_PER_SCALE,
    derive_keys,
    write_keys,
)
from ledger.demo.clock import DemoClock
from ledger.demo.residents import enrol_demo_residents, write_residents_file
from ledger.demo.scenario import Scenario

if TYPE_CHECKING:
    from ledger.log import Ledger


def scale_for(entries: int) -> int:
    """The scale of the office from :data:`SCALE_FROM_DAY` on, for a log of ``entries``:
    1 up to the default size, then one more for every :data:`ENTRIES_PER_SCALE` entries, so
    that any log ends about 100 simulated days after 2026-07-06 (≈ 25 entries a day per
    unit of scale)."""
    return 1 + max(0, entries - DEFAULT_ENTRIES) // ENTRIES_PER_SCALE


def append_scenario(
    ledger: Ledger, scenario: Scenario, entries: int, batch_size: int = 1000
) -> None:
    """Append ``scenario``'s statements to the empty ``ledger`` until it holds ``entries``.

    The ledger's clock must be ``scenario.clock``. Statements of one simulated day are
    appended together (one transaction and checkpoint per day, or per ``batch_size``), logged
    at that day's time. Cost: O(entries) signatures and verifications."""
    clock = scenario.clock
    stream = scenario.statements()
    ledger.initialize(next(stream).canonical())
    batch: list[bytes] = []
    day = clock.now
    for sub in stream:
        if ledger.size + len(batch) >= entries:
            break
        if batch and (clock.now != day or len(batch) >= batch_size):
            flush_time = clock.now
            clock.now = day
            ledger.append_batch(batch)
            clock.now = flush_time
            batch = []
        day = clock.now
        batch.append(sub.canonical())
    if batch:
        clock.now = day
        ledger.append_batch(batch)


def build_demo(
    url: str, entries: int, seed: int, keys_dir: Path | None, batch_size: int = 1000
) -> tuple[int, str]:
    """Build the demo log of exactly ``entries`` entries in the (empty) database at ``url``,
    the office working at :func:`scale_for` ``(entries)``. Returns (size, latest checkpoint).
    ``keys_dir``, when given, receives every demo key. Cost: O(entries) signatures and
    verifications (about 2,000 entries/s on 2 cores, signing included)."""
    from ledger.log import Ledger  # local: keep the scenario importable without a database

    if entries < 1:
        raise ValueError("entries must be at least 1")
    keys = derive_keys(seed)
    if keys_dir is not None:
        write_keys(keys, keys_dir)
    clock = DemoClock(DEMO_START)
    scenario = Scenario(seed, keys, clock, scale=scale_for(entries))
    with Ledger.open(url, log_key=keys.log, clock=clock) as ledger:
        if ledger.size:
            raise ValueError("the database already holds a log")
        append_scenario(ledger, scenario, entries, batch_size)
        ledger.write_snapshot()  # the next open replays nothing (FORMAT.md §12.2)
        size, note = ledger.size, ledger.latest_checkpoint()
        # Balances as the log has them (the scenario plans a little ahead of the cut).
        book = ledger.state.rulebook.credits  # type: ignore[attr-defined]
        balance = {ref: book.balance(ref) for refs in scenario.refs.values() for ref in refs}
    residents = enrol_demo_residents(url, seed, scenario.refs, balance)
    if keys_dir is not None:
        write_residents_file(residents, keys_dir)
    return size, note
