"""The pydantic models and JSON Schemas in ``schemas/`` agree with the verifier.

- the committed ``schemas/json`` files are what ``python -m schemas.generate`` writes;
- there is one body model per kind of :data:`verifier.kinds.KINDS`;
- per kind, a model accepts a body iff the verifier does: ``Kind.check_body`` for the domain
  kinds, :class:`verifier.registry.KeyRegistry` for key management, :mod:`verifier.entry`
  for the envelopes. Bodies are generated from the schemas themselves, then often mutated
  (a member dropped or added, a type changed, an integer pushed out of range, a wrong enum
  value, a bad check character, edited text …);
- every schema file is a valid draft 2020-12 schema that accepts a known-good document.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, get_args

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ledger.signing.keys import SignerKey
from schemas import BODY_MODELS, ENVELOPE_MODELS, bodies, key_bodies
from schemas._types import (
    DATE_PATTERN,
    LOG_TIME_PATTERN,
    MONTH_PATTERN,
    TEXT_PATTERN,
    TIME_PATTERN,
    USCC_ALPHABET,
    USCC_PATTERN,
)
from schemas.generate import SCHEMA_DIR, SUFFIX, differences, expected_files, schema_of
from verifier.core.canonical import CanonicalError, canonicalize, check_profile
from verifier.core.entry import (
    parse_entry_line,
    parse_statement,
    submission_from_json,
    unsigned_statement,
)
from verifier.core.errors import VerificationError
from verifier.rules import kinds
from verifier.rules.registry import ROLES, KeyRecord, KeyRegistry

Json = Any
Path = tuple[str | int, ...]

KEY_KINDS = ("log.genesis", "key.grant", "key.revoke")
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- keys and known-good documents ---------------------------------------------------------

KEYS = [
    SignerKey.from_seed(name, bytes([n + 1]) * 32)
    for n, name in enumerate(
        ("gongxin.example/xinhua-jiedao", "街道办主任", "authority-2", "财务科.会计", "审批人")
    )
]
LOG, AUTH = KEYS[0], KEYS[1]
VKEYS = [str(k.verifier()) for k in KEYS]
KEY_IDS = [k.key_id_hex for k in KEYS]

H1, H2 = "a1" * 32, "0f" * 32
RES1, RES2 = "0123456789abcdef" * 2, "fedcba9876543210" * 2
MILESTONES = [
    {
        "milestone_id": "M1",
        "amount_fen": 30_000_000,
        "due": "2026-06-30",
        "deliverable": "上半年服务报告",
    },
    {
        "milestone_id": "M2",
        "amount_fen": 30_000_000,
        "due": "2026-12-31",
        "deliverable": "全年服务报告及审计",
    },
]

GOOD: dict[str, dict[str, Json]] = {
    "log.genesis": {"origin": LOG.name, "log_key": VKEYS[0], "authorities": [VKEYS[1], VKEYS[2]]},
    "key.grant": {
        "key": VKEYS[3],
        "roles": ["approver", "finance_officer"],
        "title": "街道财务科 会计",
    },
    "key.revoke": {"key_id": KEY_IDS[3], "reason": "调离岗位"},
    "policy.set": {
        "version": 1,
        "currency": "CNY",
        "dual_control_threshold_fen": 500_000,
        "credit_rates": [
            {"category": "助老服务", "points_per_hour": 10},
            {"category": "环境保护", "points_per_hour": 8},
        ],
        "daily_cap_points": 80,
        "activity_cap_points": 40,
        "balance_cap_points": 5000,
        "expiry_months": 24,
        "catalogue": [{"item": "理发服务", "points": 30}, {"item": "家电维修", "points": 50}],
        "transfer_relations": ["配偶", "父母", "子女"],
    },
    "party.register": {
        "party_id": "P-chunhui",
        "type": "social_organisation",
        "name": "杭州春晖社会工作服务中心",
        "uscc": "91350100M000100Y43",
    },
    "fund.appropriate": {
        "fund_id": "F2026-elderly",
        "fiscal_year": 2026,
        "programme": "居家养老服务",
        "source": "财政",
        "amount_fen": 120_000_000,
    },
    "fund.donate": {
        "donation_id": "D-0001",
        "fund_id": "F2026-elderly",
        "donor": "P-lvzhou",
        "amount_fen": 5_000_000,
        "receipt_sha256": H1,
    },
    "contract.award": {
        "contract_id": "C2026-001",
        "fund_id": "F2026-elderly",
        "provider": "P-chunhui",
        "title": "2026 年居家养老上门服务项目",
        "method": "竞争性磋商",
        "total_fen": 60_000_000,
        "milestones": MILESTONES,
        "evidence": [H1, H2],
    },
    "contract.amend": {
        "amendment_id": "A-C2026-001-1",
        "contract_id": "C2026-001",
        "total_fen": 60_000_000,
        "milestones": MILESTONES,
        "evidence": [H2],
        "reason": "服务对象增加 20 户，经街道办主任办公会议决定",
    },
    "payment.propose": {
        "payment_id": "PAY-0001",
        "contract_id": "C2026-001",
        "milestone_id": "M1",
        "amount_fen": 30_000_000,
        "invoice_no": "33012600-00001234",
        "invoice_sha256": H2,
    },
    "payment.approve": {"payment_id": "PAY-0001"},
    "payment.reject": {"payment_id": "PAY-0001", "reason": "发票金额与付款节点不符"},
    "payment.reverse": {"payment_id": "PAY-0001", "reason": "发票作废，重新开具"},
    "activity.register": {
        "activity_id": "ACT-2026-0412",
        "community": "P-xinhua",
        "category": "助老服务",
        "date": "2026-04-12",
        "title": "敬老院陪伴",
    },
    "credit.award": {"resident_ref": RES1, "activity_id": "ACT-2026-0412", "minutes": 120},
    "credit.correct": {
        "award_index": 42,
        "resident_ref": RES1,
        "activity_id": "ACT-2026-0412",
        "minutes": 90,
        "reason": "签到记录有误",
    },
    "credit.redeem": {"resident_ref": RES1, "item": "理发服务", "points": 30},
    "credit.transfer": {"from_ref": RES1, "to_ref": RES2, "points": 100, "relation": "父母"},
    "credit.expire": {"through_month": "2024-03"},
}


def _submission() -> dict[str, Json]:
    st_ = unsigned_statement(
        "fund.appropriate",
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "2026-11-22T08:30:00Z",
        KEYS[3].key_id_hex,
        GOOD["fund.appropriate"],
    )
    sigs = [
        {"key_id": k.key_id_hex, "sig": base64.b64encode(k.sign(st_.message())).decode()}
        for k in (KEYS[3], KEYS[4])
    ]
    return {"signatures": sigs, "statement": st_.raw}


SUBMISSION = _submission()
GOOD["statement"] = SUBMISSION["statement"]
GOOD["submission"] = SUBMISSION
GOOD["entry"] = {
    "index": 7,
    "log_time": "2026-11-22T08:30:01.250000Z",
    "prev": H1,
    **SUBMISSION,
}

# -- oracles -------------------------------------------------------------------------------


def model_accepts(name: str, doc: Json) -> bool:
    model: type[BaseModel] = {**BODY_MODELS, **ENVELOPE_MODELS}[name]
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True


def _registry() -> KeyRegistry:
    reg = KeyRegistry()
    for k in KEYS[1:]:
        reg.keys[k.key_id_hex] = KeyRecord(k.verifier(), frozenset({"finance_officer"}), 1)
    return reg


def verifier_accepts(name: str, doc: Json) -> bool:
    """Whether the verifier accepts ``doc`` as far as its shape goes."""
    try:
        if name == "log.genesis":
            KeyRegistry().apply_genesis(doc, 0, signer="")
        elif name == "key.grant":
            KeyRegistry().apply_grant(doc, 1, None)
        elif name == "key.revoke":
            _registry().apply_revoke(doc, 5, None)
        elif name == "statement":
            check_profile(doc)
            parse_statement(doc)
        elif name == "submission":
            check_profile(doc)
            submission_from_json(doc)
        elif name == "entry":
            parse_entry_line(canonicalize(doc))
        else:
            kinds.KINDS[name].check_body(doc, 0)
    except CanonicalError:
        return False
    except VerificationError as exc:
        if name == "log.genesis":
            # The signer check comes after every body check.
            return exc.rule == "genesis.signer"
        if name == "key.revoke" and exc.rule == "key.unknown":
            # An unknown key is registry state, not body shape; only its form is the body's.
            kid = doc.get("key_id")
            return type(kid) is str and len(kid) == 8 and set(kid) <= set("0123456789abcdef")
        return False
    return name != "log.genesis"


# -- strategies built from the schemas -----------------------------------------------------

SCHEMAS: dict[str, dict[str, Json]] = {
    name: schema_of(name, model) for name, model in {**BODY_MODELS, **ENVELOPE_MODELS}.items()
}

PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
CJK = st.sampled_from("街道社区服务居家养老财务科会计志愿活动")


def _resolve(node: dict[str, Json], root: dict[str, Json]) -> dict[str, Json]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Json] = root["$defs"][ref.rsplit("/", 1)[1]]
    return resolved


def _texts(max_len: int) -> st.SearchStrategy[str]:
    short = st.text(st.one_of(PRINTABLE, CJK, st.just(" ")), min_size=1, max_size=min(max_len, 12))
    return st.one_of(short.filter(lambda s: s.strip() == s), st.just("字" * max_len))


def _usccs() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(USCC_ALPHABET), min_size=17, max_size=17).map(
        lambda s: s + kinds.uscc_check_char(s)
    )


def _unique_by(item: dict[str, Json]) -> tuple[Callable[[Json], Json], ...] | None:
    if item.get("type") != "object":
        return None
    names = [k for k, v in item["properties"].items() if v.get("type") == "string"]
    return tuple((lambda x, k=k: x[k]) for k in names)


def _list_of(
    item_node: dict[str, Json], root: dict[str, Json], lo: int, hi: int
) -> st.SearchStrategy[list[Json]]:
    item = _resolve(item_node, root)
    if len(item.get("enum", range(hi))) < hi:
        # Too few values for distinct items: the list has duplicates (invalid either way).
        return st.lists(from_schema(item, root), min_size=lo, max_size=hi)
    by = _unique_by(item)
    if by:
        return st.lists(from_schema(item, root), min_size=lo, max_size=hi, unique_by=by)
    return st.lists(from_schema(item, root), min_size=lo, max_size=hi, unique=True)


def from_schema(node: dict[str, Json], root: dict[str, Json]) -> st.SearchStrategy[Json]:
    """Valid values of a schema node (every array here has distinct items)."""
    node = _resolve(node, root)
    kind = node.get("type")
    if kind == "object":
        return st.fixed_dictionaries(
            {k: from_schema(v, root) for k, v in node["properties"].items()}
        )
    if kind == "array":
        lo = node.get("minItems", 0)
        return _list_of(node["items"], root, lo, min(node.get("maxItems", lo + 3), lo + 3))
    if kind == "integer":
        lo, hi = node["minimum"], node["maximum"]
        return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))
    if kind == "string":
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        pattern = node["pattern"]
        if pattern == DATE_PATTERN:
            return st.dates().map(date.isoformat)
        if pattern == MONTH_PATTERN:
            return st.dates().map(lambda d: d.isoformat()[:7])
        if pattern == USCC_PATTERN:
            return _usccs()
        if pattern == TEXT_PATTERN:
            return _texts(node["maxLength"])
        return st.from_regex(pattern, fullmatch=True)
    raise AssertionError(f"no strategy for {node}")


def _roles() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(sorted(ROLES)), min_size=1, unique=True).map(sorted)


VALID: dict[str, st.SearchStrategy[Json]] = {
    name: from_schema(SCHEMAS[name], SCHEMAS[name]) for name in kinds.DOMAIN_KINDS
}
VALID["log.genesis"] = st.builds(
    lambda auths: {"origin": LOG.name, "log_key": VKEYS[0], "authorities": auths},
    st.lists(st.sampled_from(VKEYS[1:]), min_size=1, unique=True),
)
VALID["key.grant"] = st.fixed_dictionaries(
    {
        "key": st.sampled_from(VKEYS),
        "roles": _roles(),
        "title": st.one_of(st.text(min_size=1, max_size=30), st.just("岗" * 200)),
    }
)
VALID["key.revoke"] = st.fixed_dictionaries(
    {
        "key_id": st.sampled_from(KEY_IDS[1:]),
        "reason": st.one_of(st.text(min_size=1, max_size=30), st.just("因" * 500)),
    }
)
for _name in ENVELOPE_MODELS:
    VALID[_name] = st.just(GOOD[_name])

# -- mutations -----------------------------------------------------------------------------

OTHER_TYPES: list[Json] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    0.5,
    "",
    "1",
    "x",
    [],
    {},
    ["x"],
    {"x": 1},
]
#: Characters to splice into strings: spaces, controls, format characters, private use,
#: non-ASCII digits, punctuation of the identifier and key alphabets.
ODD_CHARS = " \t\n\r\x00\x1f\x7f\x85\xa0\u3000\u200b\u2028\ufeff\ue000中aZ09٣２._:-+/=éTz\U0001f600"
BAD_ENUMS = [
    "",
    "其他",
    "现金",
    "CNY ",
    "cny",
    "authority ",
    "admin",
    "Company",
    "朋友",
    "公开 招标",
]
BAD_DATES = [
    "2023-02-29",
    "2024-02-30",
    "2024-04-31",
    "0000-01-01",
    "2024-1-01",
    "2024-01-1",
    "20240101",
    "2024-01-01T00:00:00Z",
    "2024/01/01",
    "2024-02-29",
    "9999-12-31",
    "0001-01-01",
]
BAD_MONTHS = [
    "2024-00",
    "2024-13",
    "2024-1",
    "0000-01",
    "2024-01-01",
    "202401",
    "2024/01",
    "9999-12",
]
BAD_TIMES = [
    "2026-02-30T08:00:00Z",
    "2026-11-22T24:00:00Z",
    "2026-11-22T08:30:00+08:00",
    "2026-11-22t08:30:00z",
    "2026-11-22T08:30:60Z",
    "2026-11-22T08:30:00.1234567Z",
    "2026-11-22T08:30:00.Z",
    "2026-11-22 08:30:00Z",
    "2026-11-22T08:30:00.000000Z",
    "2026-11-22T08:30:00.5Z",
]


def _nodes(
    value: Json, node: dict[str, Json], root: dict[str, Json], path: Path = ()
) -> Iterator[tuple[Path, Json, dict[str, Json]]]:
    node = _resolve(node, root)
    yield path, value, node
    if type(value) is dict and "properties" in node:
        for k, v in value.items():
            if k in node["properties"]:
                yield from _nodes(v, node["properties"][k], root, (*path, k))
    elif type(value) is list and "items" in node:
        for i, v in enumerate(value):
            yield from _nodes(v, node["items"], root, (*path, i))


def _replace(doc: Json, path: Path, new: Json) -> Json:
    if not path:
        return new
    doc = copy.deepcopy(doc)
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = new
    return doc


def _edits(s: str) -> st.SearchStrategy[str]:
    """Insert, replace or delete one character of ``s``."""
    return st.tuples(
        st.integers(0, len(s)),
        st.sampled_from(ODD_CHARS),
        st.sampled_from(["insert", "replace", "delete"]),
    ).map(
        lambda t: (
            s[: t[0]] + t[1] + s[t[0] :]
            if t[2] == "insert"
            else s[: t[0]] + t[1] + s[t[0] + 1 :]
            if t[2] == "replace"
            else s[: t[0]] + s[t[0] + 1 :]
        )
    )


def _mutations(
    value: Json, node: dict[str, Json], root: dict[str, Json], *, retype: bool = True
) -> st.SearchStrategy[Json]:
    """Values to put in place of ``value``: mostly invalid, some valid (the oracle decides).
    ``retype``: also values of other JSON types."""
    options: list[st.SearchStrategy[Json]] = []
    if retype:
        options.append(st.sampled_from([v for v in OTHER_TYPES if type(v) is not type(value)]))
    if type(value) is dict:
        if value:
            options.append(
                st.sampled_from(sorted(value)).map(
                    lambda k: {kk: vv for kk, vv in value.items() if kk != k}
                )
            )
        options.append(
            st.sampled_from(["extra", "note", "id", "备注"]).map(lambda k: {**value, k: 1})
        )
    elif type(value) is list:
        options.append(st.just([]))
        if value:
            options.append(st.just([*value, copy.deepcopy(value[0])]))
            options.append(st.just(value[::-1]))
        if "maxItems" in node and "items" in node:
            hi = node["maxItems"]
            options.append(
                st.sampled_from([hi, hi + 1]).flatmap(lambda n: _list_of(node["items"], root, n, n))
            )
        if "items" in node:
            options.append(st.builds(lambda x: [*value, x], st.sampled_from(OTHER_TYPES)))
    elif type(value) is int:
        bounds = [
            node[k] + d
            for k, d in (("minimum", -1), ("maximum", 1), ("minimum", 0), ("maximum", 0))
            if k in node
        ]
        options += [st.sampled_from(bounds or [0]), st.integers(), st.integers(-(2**64), 2**64)]
    elif type(value) is str:
        options.append(_edits(value))
        options.append(st.just(value.upper()))
        if "enum" in node or "const" in node:
            options.append(st.sampled_from([*BAD_ENUMS, value + " ", " " + value, value[:-1]]))
        if "maxLength" in node:
            n = node["maxLength"]
            options.append(st.sampled_from(["字" * n, "字" * (n + 1), "a" * (n + 1), ""]))
        pattern = node.get("pattern")
        if pattern == USCC_PATTERN:
            options.append(
                st.sampled_from(USCC_ALPHABET.replace(value[17], "")).map(lambda c: value[:17] + c)
            )
            options.append(st.sampled_from("IOSVZa").map(lambda c: c + value[1:]))
        elif pattern == DATE_PATTERN:
            options.append(st.sampled_from(BAD_DATES))
        elif pattern == MONTH_PATTERN:
            options.append(st.sampled_from(BAD_MONTHS))
        elif pattern in (TIME_PATTERN, LOG_TIME_PATTERN):
            options.append(st.sampled_from(BAD_TIMES))
    return st.one_of(options)


@st.composite
def documents(draw: st.DrawFn, name: str) -> Json:
    """A valid document of ``name``, or (mostly) one with one mutation somewhere."""
    doc = draw(VALID[name])
    if draw(st.integers(0, 3)) == 0:
        return doc
    root = SCHEMAS[name]
    path, value, node = draw(st.sampled_from(list(_nodes(doc, root, root))))
    # A body is always an object (verifier.entry checks that before the kind's check).
    retype = bool(path) or name in ENVELOPE_MODELS
    return _replace(doc, path, draw(_mutations(value, node, root, retype=retype)))


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
    assert get_args(bodies.ProcurementMethod) == kinds.PROCUREMENT_METHODS
    assert get_args(bodies.FundSource) == kinds.FUND_SOURCES
    assert get_args(bodies.PartyType) == kinds.PARTY_TYPES
    assert get_args(bodies.Relation) == kinds.RELATIONS
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
