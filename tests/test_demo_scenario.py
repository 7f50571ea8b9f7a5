"""The street-office demo log (ledger/demo.py): 2000 entries, exported and re-verified from
scratch with the verifier's own rules (FORMAT.md §8–§10)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.demo import DEMO_ORIGIN, build_demo, derive_keys
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier import merkle
from verifier.checkpoint import open_checkpoint
from verifier.entry import parse_entry_line
from verifier.keys import parse_verifier_key
from verifier.kinds import KINDS
from verifier.parallel import SignaturePool
from verifier.state import LogState

from .ledger_fixtures import iter_bodies, iter_strings

ENTRIES = 2000
SEED = 11


@dataclass
class Demo:
    lines: list[bytes]
    objects: list[dict[str, Any]]
    checkpoint: str
    log_vkey_text: str
    note: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    d = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{d / 'demo.db'}"
    size, note = build_demo(url, ENTRIES, SEED, d / "keys")
    assert size == ENTRIES
    with Ledger.open(url, pool=SignaturePool(1)) as ledger:
        assert export_bundle(ledger, d / "out") == ENTRIES
    data = (d / "out" / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    lines = data[:-1].split(b"\n")
    return Demo(
        lines=lines,
        objects=[json.loads(x) for x in lines],
        checkpoint=(d / "out" / "checkpoint").read_text(encoding="utf-8"),
        log_vkey_text=(d / "out" / "log.vkey").read_text(encoding="utf-8").strip(),
        note=note,
    )


def test_demo_replays_from_scratch_with_signature_checks(demo: Demo) -> None:
    # the log key comes from the seed, not from the bundle's own log.vkey
    log_vkey = derive_keys(SEED).log.verifier()
    assert parse_verifier_key(demo.log_vkey_text) == log_vkey
    cp = open_checkpoint(demo.checkpoint, log_vkey)
    assert demo.checkpoint == demo.note
    assert (cp.origin, cp.size) == (DEMO_ORIGIN, ENTRIES)
    state = LogState()
    tree = merkle.CompactRange()
    signatures = 0
    for i, line in enumerate(demo.lines):
        entry = parse_entry_line(line, i)
        leaf = merkle.leaf_hash(line)
        state.check_and_apply(entry, leaf)  # verifies every signature
        tree.append(leaf)
        signatures += len(entry.signatures)
    assert state.size == len(demo.lines) == ENTRIES
    assert tree.root() == cp.root
    assert signatures >= ENTRIES
    assert state.registry.log_key == log_vkey
    assert state.registry.origin == DEMO_ORIGIN


def test_demo_genesis_names_the_seeded_keys(demo: Demo) -> None:
    keys = derive_keys(SEED)
    genesis = demo.objects[0]["statement"]
    assert genesis["kind"] == "log.genesis"
    assert genesis["body"] == {
        "authorities": [str(keys.authority.verifier())],
        "log_key": str(keys.log.verifier()),
        "origin": DEMO_ORIGIN,
    }


def test_demo_contains_every_kind_and_one_revocation(demo: Demo) -> None:
    kinds = Counter(o["statement"]["kind"] for o in demo.objects)
    assert set(kinds) == set(KINDS), set(KINDS) - set(kinds)
    assert kinds["log.genesis"] == 1
    assert kinds["key.revoke"] == 1
    revoke = next(o for o in demo.objects if o["statement"]["kind"] == "key.revoke")
    revoked = revoke["statement"]["body"]["key_id"]
    assert revoked == derive_keys(SEED).retired.key_id_hex
    # the revoked key signed something before, and nothing after, its revocation
    signed_by = [
        o["index"] for o in demo.objects if any(s["key_id"] == revoked for s in o["signatures"])
    ]
    assert signed_by and max(signed_by) < revoke["index"]


def test_demo_entries_are_well_formed(demo: Demo) -> None:
    ids = [o["statement"]["id"] for o in demo.objects]
    assert len(set(ids)) == len(ids)
    assert [o["index"] for o in demo.objects] == list(range(ENTRIES))
    times = [o["log_time"] for o in demo.objects]
    assert times == sorted(times)


RESIDENT_REF = re.compile(r"[0-9a-f]{32}")
#: things that would identify a person: an 18-character resident identity number,
#: a mainland mobile number
IDENTITY_NUMBER = re.compile(r"[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])\d{2}\d{3}[\dXx]")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def test_demo_resident_refs_are_pseudonyms_only(demo: Demo) -> None:
    refs = [
        ref for o in demo.objects for ref in iter_bodies(o["statement"]["body"], "resident_ref")
    ]
    assert len(refs) > 100
    bad = [r for r in refs if not (isinstance(r, str) and RESIDENT_REF.fullmatch(r))]
    assert not bad
    # a handful of residents recur (pseudonyms are stable), many differ
    assert 20 < len(set(refs)) < len(refs)
    for o in demo.objects:
        for s in iter_strings(o["statement"]["body"]):
            assert not IDENTITY_NUMBER.search(s), s
            assert not MOBILE.search(s), s
