"""The pydantic models and JSON Schemas in ``schemas/`` agree with the verifier.

- the committed ``schemas/json`` files are what ``python -m schemas.generate`` writes;
- there is one body model per kind of :data:`verifier.rules.kinds.KINDS`;
- per kind, a model accepts a body iff the verifier does: ``Kind.check_body`` for the domain
  kinds, :class:`verifier.rules.registry.KeyRegistry` for key management,
  :mod:`verifier.core.entry` for the envelopes. Bodies are generated from the schemas
  themselves, then often mutated (:mod:`tests.schema_strategies`); the known-good documents
  and the oracles are in :mod:`tests.schema_cases`;
- every schema file is a valid draft 2020-12 schema that accepts a known-good document.
"""

from __future__ import annotations

import copy
import json
from typing import get_args

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import BODY_MODELS, ENVELOPE_MODELS, bodies, credit_bodies, key_bodies, money_bodies
from schemas.generate import SCHEMA_DIR, SUFFIX, differences, expected_files
from verifier.core.entry import submission_from_json
from verifier.core.errors import VerificationError
from verifier.rules import kinds
from verifier.rules.registry import ROLES

from .schema_cases import (
    AUTH,
    GOOD,
    KEY_IDS,
    SUBMISSION,
    VKEYS,
    Json,
    model_accepts,
    verifier_accepts,
)
from .schema_strategies import SCHEMAS, VALID, _nodes, _replace, documents

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- (a) the committed files are fresh, (b) the models cover the kinds ---------------------


def test_committed_schemas_are_generated_output() -> None:
    stale = differences()
    assert not stale, (
        f"schemas/json is out of date ({', '.join(stale)}); run python -m schemas.generate"
    )


def test_generator_writes_sorted_utf8_with_newline() -> None:
    for name, text in expected_files().items():
        assert text.endswith("}\n")
        doc = json.loads(text)
        assert text == json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        stem = name.removesuffix(SUFFIX)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"https://gongxin.example/schemas/{name}"
        assert doc["title"] == stem
    assert sorted(p.name for p in SCHEMA_DIR.glob(f"*{SUFFIX}")) == sorted(expected_files())


def test_body_models_are_exactly_the_kinds() -> None:
    assert set(BODY_MODELS) == set(kinds.KINDS)
    assert set(ENVELOPE_MODELS) == {"statement", "submission", "entry"}


def test_enumerations_match_the_verifier() -> None:
    assert get_args(money_bodies.ProcurementMethod) == kinds.PROCUREMENT_METHODS
    assert get_args(money_bodies.FundSource) == kinds.FUND_SOURCES
    assert get_args(bodies.PartyType) == kinds.PARTY_TYPES
    assert get_args(credit_bodies.Relation) == kinds.RELATIONS
    assert list(get_args(key_bodies.Role)) == sorted(ROLES)


# -- (c) the models accept exactly what the verifier accepts -------------------------------


def _agree(name: str, doc: Json) -> None:
    want = verifier_accepts(name, doc)
    got = model_accepts(name, doc)
    assert got == want, (
        f"{name}: verifier {'accepts' if want else 'rejects'} but the model {'accepts' if got else 'rejects'} {doc!r}"
    )


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
@SETTINGS
@given(data=st.data())
def test_body_model_agrees_with_verifier(name: str, data: st.DataObject) -> None:
    _agree(name, data.draw(documents(name)))


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_generated_bodies_are_valid(name: str, data: st.DataObject) -> None:
    """The unmutated strategies make valid bodies, so the agreement test is not vacuous."""
    doc = data.draw(VALID[name])
    assert verifier_accepts(name, doc), doc
    assert model_accepts(name, doc), doc


@pytest.mark.parametrize("name", sorted(ENVELOPE_MODELS))
@SETTINGS
@given(data=st.data())
def test_envelope_model_agrees_with_verifier(name: str, data: st.DataObject) -> None:
    _agree(name, data.draw(documents(name)))


def _boundary_values(value: Json, node: dict[str, Json]) -> list[Json]:
    """Values just inside and just outside the node's integer range and string length."""
    out: list[Json] = []
    if type(value) is int:
        for key, step in (("minimum", -1), ("maximum", 1)):
            if key in node:
                out += [node[key], node[key] + step]
    elif type(value) is str and "maxLength" in node:
        n = node["maxLength"]
        out += ["字" * n, "字" * (n + 1), ""]
    return out


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_boundaries_agree(name: str) -> None:
    """Every integer bound and length limit of the known-good document, exhaustively."""
    root = SCHEMAS[name]
    for path, value, node in _nodes(GOOD[name], root, root):
        for new in _boundary_values(value, node):
            _agree(name, _replace(GOOD[name], path, new))


KEY_CASES: list[tuple[str, Json]] = [
    ("log.genesis", {**GOOD["log.genesis"], "origin": AUTH.name}),
    ("log.genesis", {**GOOD["log.genesis"], "authorities": [VKEYS[0]]}),
    ("log.genesis", {**GOOD["log.genesis"], "authorities": [VKEYS[1], VKEYS[1]]}),
    ("log.genesis", {**GOOD["log.genesis"], "authorities": []}),
    (
        "log.genesis",
        {
            **GOOD["log.genesis"],
            "authorities": [VKEYS[1], VKEYS[1].replace(KEY_IDS[1], KEY_IDS[1].upper())],
        },
    ),
    (
        "log.genesis",
        {**GOOD["log.genesis"], "log_key": VKEYS[0].replace(KEY_IDS[0], KEY_IDS[0].upper())},
    ),
    ("log.genesis", {**GOOD["log.genesis"], "log_key": VKEYS[0].replace(KEY_IDS[0], KEY_IDS[1])}),
    ("key.grant", {**GOOD["key.grant"], "roles": ["finance_officer", "approver"]}),
    ("key.grant", {**GOOD["key.grant"], "roles": ["approver", "approver"]}),
    ("key.grant", {**GOOD["key.grant"], "roles": ["admin"]}),
    ("key.grant", {**GOOD["key.grant"], "roles": sorted(ROLES)}),
    ("key.grant", {**GOOD["key.grant"], "title": "会计\n"}),
    ("key.grant", {**GOOD["key.grant"], "title": "x" * 201}),
    ("key.grant", {**GOOD["key.grant"], "key": " " + VKEYS[3]}),
    ("key.revoke", {**GOOD["key.revoke"], "key_id": KEY_IDS[3].upper()}),
    ("key.revoke", {**GOOD["key.revoke"], "key_id": "zzzzzzzz"}),
    ("key.revoke", {**GOOD["key.revoke"], "reason": ""}),
    ("key.revoke", {**GOOD["key.revoke"], "reason": " 调离\t"}),
]


@pytest.mark.parametrize(("name", "doc"), KEY_CASES)
def test_key_management_examples(name: str, doc: Json) -> None:
    _agree(name, doc)


@pytest.mark.parametrize("month", ["٢٠٢٤-01", "２０２６-01", "2026-0１"])
def test_month_rejects_non_ascii_digits(month: str) -> None:
    assert not model_accepts("credit.expire", {"through_month": month})
    _agree("credit.expire", {"through_month": month})


def test_non_ascii_signature_is_rejected_by_the_verifier() -> None:
    doc = copy.deepcopy(SUBMISSION)
    doc["signatures"][0]["sig"] = "中" * 88
    assert not model_accepts("submission", doc)
    with pytest.raises(VerificationError):
        submission_from_json(doc)


def test_uscc_check_character_matches_the_verifier() -> None:
    from schemas._types import uscc_check_char

    for first17 in (
        "91350100M000100Y4",
        "00000000000000000",
        "YYYYYYYYYYYYYYYYY",
        "52330106MJ8925712",
    ):
        assert uscc_check_char(first17) == kinds.uscc_check_char(first17)


# -- (d) every schema file accepts a known-good document with jsonschema -------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_file_validates_good_document(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}{SUFFIX}").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    good = GOOD[name]
    validator.validate(good)
    assert model_accepts(name, good) and verifier_accepts(name, good)
    assert not validator.is_valid({**good, "unexpected": 1})
    assert not validator.is_valid({k: v for k, v in list(good.items())[1:]})
