"""What ``bench/hostile.py`` measured in one phase, and the side-by-side report it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import primitives as P
from hostile_server import Gauge


@dataclass
class Phase:
    write_lat: list[float] = field(default_factory=list)
    write_status: Counter[int] = field(default_factory=Counter)
    health_lat: list[float] = field(default_factory=list)
    health_status: Counter[int] = field(default_factory=Counter)
    resident_lat: list[float] = field(default_factory=list)
    resident_status: Counter[int] = field(default_factory=Counter)
    attacks: dict[str, Counter[str]] = field(default_factory=dict)
    wall: float = 0.0

    def merge(self, other: Phase) -> None:
        """Pool ``other`` (a later round of the same condition) into this phase."""
        self.write_lat += other.write_lat
        self.write_status += other.write_status
        self.health_lat += other.health_lat
        self.health_status += other.health_status
        self.resident_lat += other.resident_lat
        self.resident_status += other.resident_status
        for name, counts in other.attacks.items():
            self.attacks.setdefault(name, Counter()).update(counts)
        self.wall += other.wall


def ms(values: list[float], q: float) -> str:
    return f"{P.pct(values, q) * 1000:.0f}" if values else "-"


def ok_rate(status: Counter[int]) -> str:
    total = sum(status.values())
    good = sum(n for s, n in status.items() if 200 <= s < 300)
    return f"{100 * good / total:.1f} % of {total}" if total else "-"


def print_phase_resources(name: str, rss0: float, g: Gauge, rss1: float, disk1: float) -> None:
    print(
        f"    server RSS (all processes) {rss0:.0f} → peak {g.rss_peak:.0f} → after "
        f"{rss1:.0f} MiB; temp disk peak {g.disk_peak:.1f} MiB, after {disk1:.1f} MiB"
    )


def report(results: dict[str, tuple[Phase, float, float, float, float, float]]) -> None:
    u, a = results["unattacked"][0], results["attacked"][0]
    rows = [
        ("honest writes acknowledged", ok_rate(u.write_status), ok_rate(a.write_status)),
        ("honest write p50 ms", ms(u.write_lat, 0.5), ms(a.write_lat, 0.5)),
        ("honest write p99 ms", ms(u.write_lat, 0.99), ms(a.write_lat, 0.99)),
        ("honest writes/s", f"{len(u.write_lat) / u.wall:.0f}", f"{len(a.write_lat) / a.wall:.0f}"),
        ("/healthz p99 ms", ms(u.health_lat, 0.99), ms(a.health_lat, 0.99)),
        ("resident (fresh addr) p99 ms", ms(u.resident_lat, 0.99), ms(a.resident_lat, 0.99)),
        ("resident statuses", dict(u.resident_status), dict(a.resident_status)),
        ("honest 5xx or dropped", _5xx(u), _5xx(a)),
        (
            "raw Ed25519 verify/s (2 cores)",
            f"{results['unattacked'][1]:,.0f}",
            f"{results['attacked'][1]:,.0f}",
        ),
    ]
    P.table(rows, ("", "unattacked", "attacked"))
    p99u, p99a = P.pct(u.write_lat, 0.99), P.pct(a.write_lat, 0.99)
    print(f"  honest write p99 attacked / unattacked: {p99a / p99u:.2f}× (target ≤ 2×)")
    print("  what the attackers got back:")
    five = cap = 0
    for name, counts in a.attacks.items():
        print(f"    {name:<22} {dict(counts.most_common())}")
        for k, n in counts.items():
            if name == "export storm" and k.startswith("503"):
                cap += n  # the export cap's answer (with Retry-After), as issue 13 asks
            elif k[:1] == "5":
                five += n
    print(f"  attackers' 5xx other than the export cap: {five}; export-cap 503s: {cap}")


def _5xx(ph: Phase) -> int:
    return sum(
        n
        for s, n in (ph.write_status + ph.health_status + ph.resident_status).items()
        if s >= 500 or s == 0
    )
