"""A deterministic sample log for a street office (街道): ``gongxin demo``.

The scenario: 街道 ``jiedao-001`` with four communities (社区居委会), seven service providers
(社会组织 and companies), budget lines (财政), a community fund (社区基金) and a charity fund
(捐赠); purchase-of-service contracts (政府购买服务) with milestone payments, dual control above
the policy's threshold, a rejected payment, a reversal, contract amendments; volunteer
activities in every community, credit awards, corrections, redemptions, family transfers and
monthly expiry runs; a second policy version; the accountant's key revoked when the
accountant changes post. Every entry is valid under the rulebook (FORMAT.md §10): the scenario keeps its own
small mirror of the rules' state (fund balances, milestone commitments, resident lots) and
only proposes what the rules accept.

Time. The simulated office opens on Monday 2025-01-06 (:data:`DEMO_START`); the statements
of a simulated day are appended as one batch (one checkpoint; batches of at most 1,000),
logged at 09:00 Beijing time, so "today" of the rules is the simulated day. The first
:data:`SCALE_FROM_DAY` days (18 months, ~25 entries a day) are the same for every
``--entries``: a log of at most :data:`DEFAULT_ENTRIES` entries is a prefix of the default
demo (and a prefix of a valid log is valid). Longer logs continue at a larger *scale* (more
volunteer activities a day, a larger resident pool), chosen by :func:`scale_for` so that any
log ends about 100 simulated days after the switch: 10^6 entries end in October 2026, log
times stay in the past.

Determinism: keys, ids, times, amounts and pseudonyms all derive from the seed, so the same
seed and entry count give a byte-identical log (Ed25519 signatures are deterministic).

Residents appear only as pseudonyms (FORMAT.md §10.5): ``resident_ref`` of a made-up
register number under a per-community secret derived from the seed.

Modules: :mod:`~ledger.demo.cast` (communities, providers, calendar, policies, catalogue,
keys), :mod:`~ledger.demo.books` (the scenario's mirror of the rules' state),
:mod:`~ledger.demo.planner` (what the parts of the scenario share),
:mod:`~ledger.demo.funds` (money), :mod:`~ledger.demo.credits` (volunteer credits),
:mod:`~ledger.demo.scenario` (the day-by-day stream), :mod:`~ledger.demo.build` (the clock
and building a log), :mod:`~ledger.demo.planted` (the anomalies planted so that the report
shows red flags: a split purchase, an amendment above 10 %, a late payment).
"""

from ledger.demo.build import append_scenario, build_demo, scale_for
from ledger.demo.cast import (
    DEFAULT_ENTRIES,
    DEMO_ORIGIN,
    DEMO_START,
    ENTRIES_PER_SCALE,
    SCALE_FROM_DAY,
    THRESHOLD_FEN,
    DemoKeys,
    derive_keys,
    write_keys,
)
from ledger.demo.clock import DemoClock
from ledger.demo.planner import Planned
from ledger.demo.scenario import Scenario

__all__ = [
    "DEFAULT_ENTRIES",
    "DEMO_ORIGIN",
    "DEMO_START",
    "ENTRIES_PER_SCALE",
    "SCALE_FROM_DAY",
    "THRESHOLD_FEN",
    "DemoClock",
    "DemoKeys",
    "Planned",
    "Scenario",
    "append_scenario",
    "build_demo",
    "derive_keys",
    "scale_for",
    "write_keys",
]
