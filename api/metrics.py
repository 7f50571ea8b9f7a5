"""``/metrics`` in the Prometheus text format (version 0.0.4): appends, rejections by rule,
group (batch) sizes, write latency, tree size. Dependency-free and thread-safe.

Each server process keeps its own figures and labels them with ``worker`` (its pid); with
``--workers N`` a scrape reaches one worker, so scrape each (or sum by ``worker`` over time).
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_WORKER = str(os.getpid())


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs.items()
    )
    return "{" + inner + "}"


class Counter:
    def __init__(self, name: str, help_text: str, label: str | None = None) -> None:
        self.name, self.help, self.label = name, help_text, label
        self.values: dict[str, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1, label_value: str = "") -> None:
        with self._lock:
            self.values[label_value] = self.values.get(label_value, 0) + amount

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self.values.items())
        if not items and self.label is None:
            items = [("", 0.0)]
        for value_label, v in items:
            labels = {"worker": _WORKER}
            if self.label is not None:
                labels[self.label] = value_label
            out.append(f"{self.name}{_labels(labels)} {v:g}")
        return out


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name, self.help = name, help_text
        self.buckets = list(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(self.buckets, value)] += 1
            self.sum += value

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        w = {"worker": _WORKER}
        with self._lock:
            running = 0
            for bound, n in zip(self.buckets, self.counts, strict=False):
                running += n
                out.append(f"{self.name}_bucket{_labels({**w, 'le': f'{bound:g}'})} {running}")
            running += self.counts[-1]
            out.append(f"{self.name}_bucket{_labels({**w, 'le': '+Inf'})} {running}")
            out.append(f"{self.name}_sum{_labels(w)} {self.sum:g}")
            out.append(f"{self.name}_count{_labels(w)} {running}")
        return out


class Metrics:
    """The server's figures."""

    def __init__(self) -> None:
        self.appended = Counter("gongxin_entries_appended_total", "Entries appended.")
        self.groups = Counter(
            "gongxin_append_transactions_total", "Append transactions (group commits)."
        )
        self.rejected = Counter(
            "gongxin_rejections_total", "Write requests refused, by rule or problem code.", "rule"
        )
        self.group_size = Histogram(
            "gongxin_group_entries",
            "Entries per append transaction.",
            (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
        )
        self.write_seconds = Histogram(
            "gongxin_write_seconds",
            "Write request time from arrival of the body to receipt.",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.lookups = Counter(
            "gongxin_resident_lookups_total", "Residents' look-ups, by outcome.", "outcome"
        )

    def render(self, tree_size: int) -> str:
        lines: list[str] = []
        for m in (self.appended, self.groups, self.rejected, self.lookups):
            lines += m.render()
        for h in (self.group_size, self.write_seconds):
            lines += h.render()
        lines += [
            "# HELP gongxin_tree_size Entries in the log (latest checkpoint).",
            "# TYPE gongxin_tree_size gauge",
            f"gongxin_tree_size{_labels({'worker': _WORKER})} {tree_size}",
        ]
        return "\n".join(lines) + "\n"
