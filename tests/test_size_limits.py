"""Size limits (FORMAT.md §2 rule 5, §4, §7.3, §10): for every kind, the largest legal body —
longest texts of the costliest characters, longest lists, longest numbers, eight signatures —
makes an entry line within 65,535 bytes and nests exactly as deep as the parser allows.

Each body is built from a small spec that mirrors ``verifier.rules.kinds``; the spec is
proved *largest* by growing every text, list and number of it one step (each must then be
refused) and *legal* by the body check itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.signing.keys import SignerKey
from tests.domain_bodies import uscc
from tests.json_walk import depth
from verifier.audit.lines import MAX_LINE_BYTES
from verifier.core.canonical import MAX_DEPTH, CanonicalError, canonical_bytes, parse_canonical
from verifier.core.entry import MAX_SIGNATURES, parse_entry_line
from verifier.core.errors import VerificationError
from verifier.rules import kinds
from verifier.rules.kinds import MAX_AUTHORITIES, MAX_KEY_NAME
from verifier.rules.registry import ROLES, KeyRegistry

#: A printable character of 4 bytes in UTF-8 (CJK Extension B): the costliest a text may hold.
WIDE = 0x20000
#: What a title or reason of §7.3 may hold at the highest cost: a control character (6 bytes).
CONTROL = "\x01"


def wide(n: int, k: int = 0) -> str:
    """``n`` four-byte printable characters, distinct for each ``k``."""
    return chr(WIDE) * (n - 1) + chr(WIDE + 1 + k)


# -- a spec of each domain body ------------------------------------------------------------


class Spec:
    def build(self, k: int) -> Any:
        raise NotImplementedError

    def grown(self, value: Any) -> Iterator[Any]:
        """Every one-step-larger variant of ``value``."""
        return iter(())


@dataclass
class Text(Spec):
    n: int

    def build(self, k: int) -> Any:
        return wide(self.n, k)

    def grown(self, value: Any) -> Iterator[Any]:
        yield value + chr(WIDE)


class Ident(Spec):
    def build(self, k: int) -> Any:
        return f"I{k}".ljust(64, "_")

    def grown(self, value: Any) -> Iterator[Any]:
        yield value + "_"


@dataclass
class Num(Spec):
    top: int

    def build(self, k: int) -> Any:
        return self.top

    def grown(self, value: Any) -> Iterator[Any]:
        yield value + 1


@dataclass
class Fixed(Spec):
    make: Callable[[int], Any]

    def build(self, k: int) -> Any:
        return self.make(k)


@dataclass
class Obj(Spec):
    fields: dict[str, Spec]

    def build(self, k: int) -> Any:
        return {name: spec.build(k) for name, spec in self.fields.items()}

    def grown(self, value: Any) -> Iterator[Any]:
        for name, spec in self.fields.items():
            for bigger in spec.grown(value[name]):
                yield {**value, name: bigger}


@dataclass
class Many(Spec):
    item: Spec
    n: int

    def build(self, k: int) -> Any:
        return [self.item.build(j) for j in range(self.n)]

    def grown(self, value: Any) -> Iterator[Any]:
        yield [*value, self.item.build(self.n)]
        for bigger in self.item.grown(value[-1]):
            yield [*value[:-1], bigger]


def longest(choices: tuple[str, ...]) -> Fixed:
    return Fixed(lambda k: max(choices, key=lambda c: len(c.encode()), default=""))


MONEY = Num(kinds.MAX_AMOUNT_FEN)
POINTS = Num(1_000_000)
DIGEST = Fixed(lambda k: f"{k:064x}")
REF = Fixed(lambda k: f"{k:032x}")
DATE = Fixed(lambda k: "2026-12-31")
MILESTONES = Many(
    Obj({"amount_fen": MONEY, "deliverable": Text(200), "due": DATE, "milestone_id": Ident()}), 50
)
EVIDENCE = Many(DIGEST, 32)

DOMAIN: dict[str, Obj] = {
    "policy.set": Obj(
        {
            "version": Num(1_000_000),
            "currency": Fixed(lambda k: "CNY"),
            "dual_control_threshold_fen": MONEY,
            "credit_rates": Many(Obj({"category": Text(50), "points_per_hour": Num(1000)}), 50),
            "daily_cap_points": POINTS,
            "activity_cap_points": POINTS,
            "balance_cap_points": Num(10**9),
            "expiry_months": Num(120),
            "catalogue": Many(Obj({"item": Text(100), "points": POINTS}), 100),
            "transfer_relations": Fixed(lambda k: list(kinds.RELATIONS)),
        }
    ),
    "party.register": Obj(
        {
            "party_id": Ident(),
            "type": longest(kinds.PARTY_TYPES),
            "name": Text(200),
            "uscc": Fixed(lambda k: uscc("91110000MA01ABCD1")),
        }
    ),
    "fund.appropriate": Obj(
        {
            "fund_id": Ident(),
            "fiscal_year": Num(2100),
            "programme": Text(200),
            "source": longest(kinds.FUND_SOURCES),
            "amount_fen": MONEY,
        }
    ),
    "fund.donate": Obj(
        {
            "donation_id": Ident(),
            "fund_id": Ident(),
            "donor": Ident(),
            "amount_fen": MONEY,
            "receipt_sha256": DIGEST,
        }
    ),
    "contract.award": Obj(
        {
            "contract_id": Ident(),
            "fund_id": Ident(),
            "provider": Ident(),
            "title": Text(200),
            "method": longest(kinds.PROCUREMENT_METHODS),
            "total_fen": MONEY,
            "milestones": MILESTONES,
            "evidence": EVIDENCE,
            # optional members (FORMAT.md §10.3, version 2.1), present in the largest body
            "signed": DATE,
            "bidders": Num(10_000),
            "tender_start": DATE,
            "tender_end": DATE,
        }
    ),
    "contract.amend": Obj(
        {
            "amendment_id": Ident(),
            "contract_id": Ident(),
            "total_fen": MONEY,
            "milestones": MILESTONES,
            "evidence": EVIDENCE,
            "reason": Text(500),
        }
    ),
    "payment.propose": Obj(
        {
            "payment_id": Ident(),
            "contract_id": Ident(),
            "milestone_id": Ident(),
            "amount_fen": MONEY,
            "invoice_no": Ident(),
            "invoice_sha256": DIGEST,
            "milestone_met": DATE,  # optional (FORMAT.md §10.3, version 2.1)
            "acceptance_sha256": DIGEST,
        }
    ),
    "payment.approve": Obj({"payment_id": Ident()}),
    "payment.reject": Obj({"payment_id": Ident(), "reason": Text(500)}),
    "payment.reverse": Obj({"payment_id": Ident(), "reason": Text(500)}),
    "activity.register": Obj(
        {
            "activity_id": Ident(),
            "community": Ident(),
            "category": Text(50),
            "date": DATE,
            "title": Text(100),
        }
    ),
    "credit.award": Obj({"resident_ref": REF, "activity_id": Ident(), "minutes": Num(1440)}),
    "credit.correct": Obj(
        {
            "award_index": Num(2**53 - 1),
            "resident_ref": REF,
            "activity_id": Ident(),
            "minutes": Num(1440),
            "reason": Text(500),
        }
    ),
    "credit.redeem": Obj({"resident_ref": REF, "item": Text(100), "points": POINTS}),
    "credit.transfer": Obj(
        {
            "from_ref": REF,
            "to_ref": Fixed(lambda k: f"{k + 1:032x}"),
            "points": POINTS,
            "relation": longest(kinds.RELATIONS),
        }
    ),
    "credit.expire": Obj({"through_month": Fixed(lambda k: "9999-12")}),
}


# -- the key-management bodies ---------------------------------------------------------------


def long_key(seed: int, name_len: int = MAX_KEY_NAME) -> SignerKey:
    return SignerKey.from_seed(wide(name_len), bytes([seed]) * 32)


def genesis(name_len: int = MAX_KEY_NAME, authorities: int = MAX_AUTHORITIES) -> dict[str, Any]:
    log = long_key(0, name_len)
    return {
        "authorities": [str(long_key(1 + n, name_len).verifier()) for n in range(authorities)],
        "format": 2,
        "log_key": str(log.verifier()),
        "origin": log.name,
    }


def grant(name_len: int = MAX_KEY_NAME, title: int = 200) -> dict[str, Any]:
    return {
        "key": str(long_key(99, name_len).verifier()),
        "roles": sorted(ROLES),
        "title": CONTROL * title,
    }


def revoke(reason: int = 500) -> dict[str, Any]:
    return {"key_id": long_key(99).key_id_hex, "reason": CONTROL * reason}


def key_body_legal(kind: str, body: dict[str, Any]) -> bool:
    """Whether the step-3 body check and the registry accept ``body``."""
    try:
        kinds.KINDS[kind].check_body(body, 1)
        reg = KeyRegistry()
        if kind == "log.genesis":
            reg.apply_genesis(body, 0, long_key(1).key_id_hex)
            return True
        reg.apply_genesis(genesis(8, 1), 0, long_key(1, 8).key_id_hex)
        reg.apply_grant(grant() if kind == "key.revoke" else body, 1, None)
        if kind == "key.revoke":
            reg.apply_revoke(body, 2, None)
    except VerificationError:
        return False
    return True


KEY_BODIES: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    # kind: (largest body, one-step-larger variants)
    "log.genesis": (genesis(), [genesis(MAX_KEY_NAME + 1), genesis(authorities=17)]),
    "key.grant": (grant(), [grant(MAX_KEY_NAME + 1), grant(title=201)]),
    "key.revoke": (revoke(), [revoke(501)]),
}


def largest_body(kind: str) -> dict[str, Any]:
    if kind in KEY_BODIES:
        return copy.deepcopy(KEY_BODIES[kind][0])
    body: dict[str, Any] = DOMAIN[kind].build(0)
    return body


def entry_line(kind: str, body: dict[str, Any]) -> bytes:
    """The longest entry line around ``body``: the largest index, a statement time with six
    fractional digits, eight signatures."""
    signers = [f"{n:08x}" for n in range(MAX_SIGNATURES)]
    return canonical_bytes(
        {
            "index": 2**53 - 1,
            "log_time": "9999-12-31T23:59:59.999999Z",
            "prev": "f" * 64,
            "signatures": [{"key_id": s, "sig": "A" * 86 + "=="} for s in signers],
            "statement": {
                "body": body,
                "id": "ffffffff-ffff-7fff-bfff-ffffffffffff",
                "kind": kind,
                "signer": signers[0],
                "time": "9999-12-31T23:59:59.999999Z",
            },
        }
    )


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
