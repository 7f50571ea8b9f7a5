"""The largest legal body of every kind (FORMAT.md §2 rule 5, §4, §7.3, §10), for
tests/test_size_limits.py: longest texts of the costliest characters, longest lists, longest
numbers, and :func:`entry_line`, the longest entry line around a body (eight signatures).

Each domain body is built from a small :class:`Spec` that mirrors ``verifier.rules.kinds``;
``Spec.grown`` gives every one-step-larger variant (the tests check each is refused). The
key-management bodies (:data:`KEY_BODIES`) are listed with their larger variants directly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ledger.signing.keys import SignerKey
from tests.domain_bodies import uscc
from verifier.core.canonical import canonical_bytes
from verifier.core.entry import MAX_SIGNATURES
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
