"""Hypothesis strategies for the schema tests (:mod:`tests.test_schemas`): valid documents
generated from the JSON Schemas themselves, and mutations of them (a member dropped or added,
a type changed, an integer pushed out of range, a wrong enum value, a bad check character,
edited text …), mostly invalid, some valid: the oracles decide."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import date

from hypothesis import strategies as st

from schemas import BODY_MODELS, ENVELOPE_MODELS
from schemas._types import (
    DATE_PATTERN,
    LOG_TIME_PATTERN,
    MONTH_PATTERN,
    TEXT_PATTERN,
    TIME_PATTERN,
    USCC_ALPHABET,
    USCC_PATTERN,
)
from schemas.generate import schema_of
from verifier.rules import kinds
from verifier.rules.registry import ROLES

from .schema_cases import GOOD, KEY_IDS, LOG, VKEYS, Json, Path

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
    lambda auths, fmt: {"origin": LOG.name, "log_key": VKEYS[0], "authorities": auths, **fmt},
    st.lists(st.sampled_from(VKEYS[1:]), min_size=1, unique=True),
    st.sampled_from([{"format": 2}, {}]),  # format 2, or an old format-1 genesis
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


def _dict_mutations(value: dict[str, Json]) -> list[st.SearchStrategy[Json]]:
    """A member dropped (if any), a member added."""
    options: list[st.SearchStrategy[Json]] = []
    if value:
        options.append(
            st.sampled_from(sorted(value)).map(
                lambda k: {kk: vv for kk, vv in value.items() if kk != k}
            )
        )
    options.append(st.sampled_from(["extra", "note", "id", "备注"]).map(lambda k: {**value, k: 1}))
    return options


def _list_mutations(
    value: list[Json], node: dict[str, Json], root: dict[str, Json]
) -> list[st.SearchStrategy[Json]]:
    """Empty, a duplicated first item, reversed, at and past ``maxItems``, an odd item added."""
    options: list[st.SearchStrategy[Json]] = [st.just([])]
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
    return options


def _int_mutations(node: dict[str, Json]) -> list[st.SearchStrategy[Json]]:
    """The bounds and one past them, any integer, integers up to ±2**64."""
    bounds = [
        node[k] + d
        for k, d in (("minimum", -1), ("maximum", 1), ("minimum", 0), ("maximum", 0))
        if k in node
    ]
    return [st.sampled_from(bounds or [0]), st.integers(), st.integers(-(2**64), 2**64)]


def _pattern_mutations(value: str, pattern: str | None) -> list[st.SearchStrategy[Json]]:
    """Near misses of a string's pattern: a wrong check character or letter, bad dates,
    months and times."""
    if pattern == USCC_PATTERN:
        return [
            st.sampled_from(USCC_ALPHABET.replace(value[17], "")).map(lambda c: value[:17] + c),
            st.sampled_from("IOSVZa").map(lambda c: c + value[1:]),
        ]
    if pattern == DATE_PATTERN:
        return [st.sampled_from(BAD_DATES)]
    if pattern == MONTH_PATTERN:
        return [st.sampled_from(BAD_MONTHS)]
    if pattern in (TIME_PATTERN, LOG_TIME_PATTERN):
        return [st.sampled_from(BAD_TIMES)]
    return []


def _str_mutations(value: str, node: dict[str, Json]) -> list[st.SearchStrategy[Json]]:
    """One character edited, upper case, bad enum values, lengths at and past
    ``maxLength``, and the pattern's near misses."""
    options: list[st.SearchStrategy[Json]] = [_edits(value), st.just(value.upper())]
    if "enum" in node or "const" in node:
        options.append(st.sampled_from([*BAD_ENUMS, value + " ", " " + value, value[:-1]]))
    if "maxLength" in node:
        n = node["maxLength"]
        options.append(st.sampled_from(["字" * n, "字" * (n + 1), "a" * (n + 1), ""]))
    return options + _pattern_mutations(value, node.get("pattern"))


def _mutations(
    value: Json, node: dict[str, Json], root: dict[str, Json], *, retype: bool = True
) -> st.SearchStrategy[Json]:
    """Values to put in place of ``value``: mostly invalid, some valid (the oracle decides).
    ``retype``: also values of other JSON types."""
    options: list[st.SearchStrategy[Json]] = []
    if retype:
        options.append(st.sampled_from([v for v in OTHER_TYPES if type(v) is not type(value)]))
    if type(value) is dict:
        options += _dict_mutations(value)
    elif type(value) is list:
        options += _list_mutations(value, node, root)
    elif type(value) is int:
        options += _int_mutations(node)
    elif type(value) is str:
        options += _str_mutations(value, node)
    return st.one_of(options)


@st.composite
def documents(draw: st.DrawFn, name: str) -> Json:
    """A valid document of ``name``, or (mostly) one with one mutation somewhere."""
    doc = draw(VALID[name])
    if draw(st.integers(0, 3)) == 0:
        return doc
    root = SCHEMAS[name]
    path, value, node = draw(st.sampled_from(list(_nodes(doc, root, root))))
    # A body is always an object (verifier.core.entry checks that before the kind's check).
    retype = bool(path) or name in ENVELOPE_MODELS
    return _replace(doc, path, draw(_mutations(value, node, root, retype=retype)))
