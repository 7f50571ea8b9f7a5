"""The demo's residents in the off-ledger register (docs/RESIDENTS.md), so that the residents'
page (``/credits``) can be tried on the demo log.

The demo's pseudonyms are HMACs of made-up register numbers under per-community secrets, both
derived from the seed (FORMAT.md §10.5). :func:`enrol_demo_residents` puts the busiest few
residents of each community into the register with those secrets and register numbers, an
obviously made-up name (示例居民) and a lookup code derived from the seed — deterministic, so
demo only: real codes are random and shown once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ledger.demo.cast import COMMUNITIES, CROCKFORD
from ledger.sheets.cells import SafeCsvWriter

#: The length of a lookup code (``ledger.residents.LOOKUP_CODE_LEN``; not imported, so that
#: the scenario needs no database packages).
LOOKUP_CODE_LEN = 13

_FROM_BASE32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD)
#: The file (in the demo's keys directory) listing the enrolled demo residents.
RESIDENTS_FILE = "demo-residents.csv"


def demo_secret(seed: int, community: str) -> bytes:
    """The demo community's 32-byte pseudonym secret."""
    return hashlib.sha256(f"gongxin-demo/{seed}/secret/{community}".encode()).digest()


def demo_register_no(seed: int, community: str, i: int) -> str:
    """Resident ``i`` of the demo community's register number ("R" + 20 Crockford digits)."""
    h = hashlib.sha256(f"gongxin-demo/{seed}/register/{community}/{i}".encode())
    return "R" + base64.b32encode(h.digest()[:13]).decode()[:20].translate(_FROM_BASE32)


def demo_lookup_code(seed: int, register_no: str) -> str:
    """The demo resident's lookup code (13 Crockford digits, 65 bits, as real codes have;
    derived from the seed: demo only)."""
    h = hashlib.sha256(f"gongxin-demo/{seed}/lookup/{register_no}".encode())
    return base64.b32encode(h.digest()[:10]).decode()[:LOOKUP_CODE_LEN].translate(_FROM_BASE32)


@dataclass(frozen=True)
class DemoResident:
    community: str
    register_no: str
    resident_ref: str
    lookup_code: str
    balance_points: int


def enrol_demo_residents(
    url: str, seed: int, refs: dict[str, list[str]], balance: dict[str, int], per_community: int = 3
) -> list[DemoResident]:
    """Enrol the ``per_community`` residents with the most points of each community (refs in
    pool order, as the scenario made them) into the register at ``url``. O(k) scrypts."""
    from ledger.residents import ResidentRegister  # local: the scenario needs no database

    out: list[DemoResident] = []
    with ResidentRegister.open(url) as register:
        for community in COMMUNITIES:
            pool = refs.get(community, [])
            if not pool:
                continue
            register.adopt_secret(community, demo_secret(seed, community))
            ranked = sorted(range(len(pool)), key=lambda i: (-balance.get(pool[i], 0), i))
            for n, i in enumerate(ranked[:per_community], 1):
                register_no = demo_register_no(seed, community, i)
                code = demo_lookup_code(seed, register_no)
                enrolled = register.enrol(
                    community,
                    f"示例居民 {community}-{n}",
                    None,
                    None,
                    register_no=register_no,
                    lookup_code=code,
                )
                assert enrolled.resident_ref == pool[i], "demo pseudonym mismatch"
                out.append(
                    DemoResident(community, register_no, pool[i], code, balance.get(pool[i], 0))
                )
    return out


def write_residents_file(residents: list[DemoResident], keys_dir: Path) -> Path:
    """List the demo residents and their lookup codes (grouped ``XXXX-XXXX-XXXXX``, as a
    resident is shown theirs) in ``keys_dir``/:data:`RESIDENTS_FILE`."""
    path = keys_dir / RESIDENTS_FILE
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = SafeCsvWriter(fh)  # text never starts a formula (ledger.sheets.cells)
        w.writerow(["community", "register_no", "resident_ref", "lookup_code", "balance_points"])
        for r in residents:
            w.writerow(
                [
                    r.community,
                    r.register_no,
                    r.resident_ref,
                    _grouped(r.lookup_code),
                    r.balance_points,
                ]
            )
    return path


def _grouped(code: str) -> str:
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"
