"""Size limits (FORMAT.md §2 rule 5, §4, §7.3, §10): for every kind, the largest legal body —
longest texts of the costliest characters, longest lists, longest numbers, eight signatures —
makes an entry line within 65,535 bytes and nests exactly as deep as the parser allows.

Each body is built from a small spec that mirrors ``verifier.rules.kinds``
(tests/largest_bodies.py); the spec is proved *largest* by growing every text, list and number
of it one step (each must then be refused) and *legal* by the body check itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.json_walk import depth
from tests.largest_bodies import DOMAIN, KEY_BODIES, entry_line, key_body_legal, largest_body
from verifier.audit.lines import MAX_LINE_BYTES
from verifier.core.canonical import MAX_DEPTH, CanonicalError, parse_canonical
from verifier.core.entry import parse_entry_line
from verifier.core.errors import VerificationError
from verifier.rules import kinds

ALL_KINDS = sorted(kinds.KINDS)


def test_every_kind_has_a_largest_body() -> None:
    assert sorted([*DOMAIN, *KEY_BODIES]) == ALL_KINDS


@pytest.mark.parametrize("kind", sorted(DOMAIN))
def test_domain_body_is_legal_and_largest(kind: str) -> None:
    spec = DOMAIN[kind]
    body = spec.build(0)
    kinds.KINDS[kind].check_body(body, 1)  # legal
    grown = list(spec.grown(body))
    for bigger in grown:  # ... and nothing in it can grow
        with pytest.raises(VerificationError) as info:
            kinds.KINDS[kind].check_body(bigger, 1)
        assert info.value.rule == "entry.body"


@pytest.mark.parametrize("kind", sorted(KEY_BODIES))
def test_key_body_is_legal_and_largest(kind: str) -> None:
    body, bigger = KEY_BODIES[kind]
    assert key_body_legal(kind, body)
    assert not any(key_body_legal(kind, b) for b in bigger)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_largest_entry_line_fits_the_line_limit(kind: str) -> None:
    line = entry_line(kind, largest_body(kind))
    assert parse_entry_line(line).statement.kind == kind  # canonical and well-shaped
    assert len(line) <= MAX_LINE_BYTES == 65_535, (kind, len(line))


def test_the_largest_of_all_is_measured() -> None:
    sizes = {kind: len(entry_line(kind, largest_body(kind))) for kind in ALL_KINDS}
    worst = max(sizes, key=sizes.__getitem__)
    # policy.set: 56,410 bytes (a catalogue of 200 items would have made it ~99,000).
    assert worst == "policy.set" and 50_000 < sizes[worst] <= MAX_LINE_BYTES, sizes


def test_max_depth_is_exactly_the_deepest_legal_entry_line() -> None:
    depths = {
        kind: depth(parse_canonical(entry_line(kind, largest_body(kind)))) for kind in ALL_KINDS
    }
    assert max(depths.values()) == MAX_DEPTH == 5
    assert {k for k, d in depths.items() if d == MAX_DEPTH} == {
        "contract.amend",
        "contract.award",
        "policy.set",
    }


def nest(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_one_level_deeper_than_max_depth_is_refused(kind: str) -> None:
    """Entry (1) → statement (2) → body (3): a member of the body nested to ``MAX_DEPTH`` in
    all still parses (the body check refuses it later); one level more is refused by the
    parser, naming the path."""
    body = largest_body(kind)
    body["zz"] = nest(MAX_DEPTH - 3)
    assert depth(parse_canonical(entry_line(kind, body))) == MAX_DEPTH
    body["zz"] = nest(MAX_DEPTH - 2)
    with pytest.raises(CanonicalError) as info:
        parse_canonical(entry_line(kind, body), "line")
    assert info.value.field == "line.statement.body.zz" + "[0]" * (MAX_DEPTH - 3)
    with pytest.raises(VerificationError) as refused:
        parse_entry_line(entry_line(kind, body), 7)
    assert (refused.value.rule, refused.value.index) == ("entry.canonical", 7)


@pytest.mark.parametrize("levels", [6, 254, 255, 300, 1000, 1025, 100_000])
def test_deep_input_is_a_canonical_error_never_a_crash(levels: int) -> None:
    for data in (b"[" * levels + b"]" * levels, b'{"a":' * levels + b"1" + b"}" * levels):
        with pytest.raises(CanonicalError):
            parse_canonical(data)


@pytest.mark.parametrize("authorities", [True, 7, "key", {"a": 1}, None])
def test_a_genesis_whose_authorities_are_not_a_list_is_a_rule_error(authorities: object) -> None:
    """Regression (found by hypothesis in CI): the size check must not iterate a non-list; the
    body shape is the registry's verdict, never a TypeError."""
    body = {
        "origin": "gongxin.example/x",
        "log_key": "gongxin.example/x+ba0665ce+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c",
        "authorities": authorities,
        "format": 2,
    }
    try:
        kinds.KINDS["log.genesis"].check_body(body, 0)
    except VerificationError as exc:
        assert exc.rule == "entry.body"
