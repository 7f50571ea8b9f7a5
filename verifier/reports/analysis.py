"""One observer for everything ``gongxin-verify`` derives from a verified log: the
traceability report (:class:`~verifier.reports.traceability.ReportBuilder`), the red flags
(:class:`~verifier.reports.flags.FlagAnalyser`) and, when asked, the OCDS release package
(:class:`~verifier.reports.ocds.OcdsCollector`).

:class:`Analysis` is a :class:`verifier.audit.bundle.Observer`: it supplies the rulebook to
replay with (the report builder's, whose postings it passes on to every part) and is shown
every accepted entry. The ledger uses it too (``gongxin export --ocds``), so both sides build
the same files from the same entries. Cost: the sum of its parts, O(1) per entry.
"""

from __future__ import annotations

from typing import Any

from verifier.core.entry import Entry
from verifier.reports.flag_config import Thresholds
from verifier.reports.flags import FlagAnalyser
from verifier.reports.ocds import OcdsCollector
from verifier.reports.traceability import ReportBuilder
from verifier.rules import DomainRules, Posting

__all__ = ["Analysis"]


class Analysis:
    """Report, red flags and (with ``ocds``) the OCDS collector, fed together."""

    def __init__(self, thresholds: Thresholds | None = None, *, ocds: bool = False) -> None:
        self.report = ReportBuilder()
        self.flags = FlagAnalyser(thresholds)
        self.ocds = OcdsCollector() if ocds else None
        self.size = 0

    def rulebook(self) -> DomainRules:
        """The report builder's rulebook, its postings passed on to every part."""
        rules = self.report.rulebook()
        rules.observer = self._posting
        return rules

    def _posting(self, p: Posting) -> None:
        self.report(p)
        self.flags.posting(p)
        if self.ocds is not None:
            self.ocds.posting(p)

    def entry(self, entry: Entry) -> None:
        self.report.entry(entry)
        self.flags.entry(entry)
        if self.ocds is not None:
            self.ocds.entry(entry)
        self.size = entry.index + 1

    def build(self, verification: dict[str, Any] | None = None) -> dict[str, Any]:
        """The traceability report (:meth:`ReportBuilder.build`) with ``"red_flags"``."""
        report = self.report.build(verification)
        report["red_flags"] = self.flags.build()
        return report
