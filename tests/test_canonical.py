"""RFC 8785 canonical JSON in the Gongxin profile (FORMAT.md §2), with ``rfc8785`` as oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.signing.statements import canonicalize
from tests.json_walk import depth
from verifier.core.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalError,
    canonical_bytes,
    check_profile,
    parse_canonical,
)

# -- strategies --------------------------------------------------------------------------

#: characters that matter to escaping: all C0 controls, DEL, quote, backslash, slash, the
#: JavaScript line terminators, a BOM, the replacement character and astral characters.
SPECIAL = [chr(c) for c in range(0x20)] + [
    "\x7f",
    '"',
    "\\",
    "/",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffd",
    "\U0001f600",
    "\U00020000",
    "\U0010ffff",
    "é",
    "公",
]

strings = st.one_of(
    st.text(),  # any code points except surrogates
    st.text(alphabet=st.sampled_from(SPECIAL)),
    st.text(alphabet=st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"))),
)
ascii_keys = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=6)
ints = st.one_of(
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.sampled_from([0, -1, 1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 2**31, -(2**31), 2**32]),
)
scalars = st.one_of(st.none(), st.booleans(), ints, strings)
profile_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(ascii_keys, children, max_size=5),
    ),
    max_leaves=25,
).filter(lambda v: depth(v) <= MAX_DEPTH)  # deeper input is refused (FORMAT.md §2 rule 5)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the encoder agrees with RFC 8785 -----------------------------------------------------


@FAST
@given(profile_values)
@example({"\x7f": "\u2028\u2029", "a\x00": "\x00\x1f\x7f", "b": ["\U0001f600", -0]})
@example({"": {"": [None, True, False, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]}})
@example("\ud7ff\ue000\U00010000\U0010ffff")
def test_canonical_bytes_equal_rfc8785(value: Any) -> None:
    check_profile(value)
    expected = rfc8785.dumps(value)
    assert canonical_bytes(value) == expected
    assert canonicalize(value) == expected
    # ... and the strict parser accepts exactly those bytes and gives the value back.
    assert parse_canonical(expected) == value


@FAST
@given(
    profile_values,
    st.booleans(),
    st.sampled_from([(",", ":"), (", ", ":"), (",", ": "), (", ", ": ")]),
    st.booleans(),
    st.sampled_from([None, 0, 1]),
)
def test_parser_accepts_exactly_the_canonical_encoding(
    value: Any, ensure_ascii: bool, separators: tuple[str, str], sort_keys: bool, indent: Any
) -> None:
    """Any JSON encoding of a profile value is accepted iff it is byte-equal to RFC 8785."""
    if isinstance(value, dict) and not sort_keys:
        value = dict(reversed(list(value.items())))
    data = json.dumps(
        value,
        ensure_ascii=ensure_ascii,
        separators=separators,
        sort_keys=sort_keys,
        indent=indent,
    ).encode("utf-8")
    canonical = rfc8785.dumps(value)
    if data == canonical:
        assert parse_canonical(data) == value
    else:
        with pytest.raises(CanonicalError) as info:
            parse_canonical(data)
        assert info.value.field == "$"


@FAST
@given(profile_values, st.sampled_from([b" ", b"\n", b"\t", b"\r", b" \n"]), st.data())
def test_inserted_whitespace_is_rejected(value: Any, ws: bytes, data: st.DataObject) -> None:
    canonical = rfc8785.dumps(value)
    # positions outside strings where JSON allows whitespace: the ends, and after , : [ {
    positions = [0, len(canonical)]
    in_string = escaped = False
    for i, b in enumerate(canonical):
        if in_string:
            if escaped:
                escaped = False
            elif b == ord("\\"):
                escaped = True
            elif b == ord('"'):
                in_string = False
        elif b == ord('"'):
            in_string = True
        elif b in b",:[{":
            positions.append(i + 1)
    pos = data.draw(st.sampled_from(positions))
    mutated = canonical[:pos] + ws + canonical[pos:]
    with pytest.raises(CanonicalError) as info:
        parse_canonical(mutated, "input")
    assert info.value.field == "input"


# -- specific rejections, each naming the JSON path --------------------------------------


def _reject(data: bytes, what: str = "$") -> CanonicalError:
    with pytest.raises(CanonicalError) as info:
        parse_canonical(data, what)
    err = info.value
    assert err.field is not None and err.field.startswith(what), err.field
    assert err.field in str(err)
    return err


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"a":1} ',
        b' {"a":1}',
        b'{"a":1}\n',
        b"[1, 2]",
        b'{\n"a":1}',
        b'{"a":[1,\t2]}',
    ],
)
def test_whitespace_rejected(data: bytes) -> None:
    err = _reject(data)
    assert "canonical" in err.message


@pytest.mark.parametrize(
    "data", [b'{"b":1,"a":2}', b'{"a":{"d":1,"c":2}}', b'[{"z":0,"y":0}]', b'{"B":1,"A":1}']
)
def test_unsorted_members_rejected(data: bytes) -> None:
    err = _reject(data)
    assert "sorted" in err.message


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":1}',
        b'{"a":1,"a":2}',
        b'{"a":2,"a":1}',
        b'{"a":{"b":1,"b":1}}',
        b'[{"k":"v","k":"v"}]',
    ],
)
def test_duplicate_members_rejected(data: bytes) -> None:
    err = _reject(data)
    assert "duplicate" in err.message


def test_nested_duplicate_member_names_its_path() -> None:
    err = _reject(b'{"a":{"b":1,"b":1}}')
    assert err.field == "$.a.b"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b"1.0", "$"),
        (b"1e3", "$"),
        (b"1E3", "$"),
        (b"-0.0", "$"),
        (b"0.5", "$"),
        (b'{"amount_fen":100.0}', "$.amount_fen"),
        (b'{"a":{"b":[1,2,3.5]}}', "$.a.b[2]"),
        (b"[1e-2]", "$[0]"),
    ],
)
def test_floats_rejected_with_path(data: bytes, path: str) -> None:
    err = _reject(data)
    assert err.field == path
    assert "floating-point" in err.message


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b"9007199254740992", "$"),
        (b"-9007199254740992", "$"),
        (b"9223372036854775807", "$"),
        (b'{"x":[9007199254740993]}', "$.x[0]"),
        (b'{"n":{"m":-9007199254740992}}', "$.n.m"),
    ],
)
def test_integers_beyond_2_53_rejected_with_path(data: bytes, path: str) -> None:
    err = _reject(data)
    assert err.field == path
    assert "outside" in err.message


def test_integer_range_limits_are_accepted() -> None:
    assert parse_canonical(b"9007199254740991") == MAX_SAFE_INTEGER
    assert parse_canonical(b"-9007199254740991") == -MAX_SAFE_INTEGER
    assert parse_canonical(b'{"a":[0,-1]}') == {"a": [0, -1]}
    with pytest.raises(CanonicalError):
        canonicalize({"a": 2**53})
    with pytest.raises(CanonicalError):
        canonicalize(1.0)


def test_integer_beyond_64_bits_rejected() -> None:
    _reject(b"18446744073709551616")
    _reject(b'{"a":123456789012345678901234567890}')
    _reject(b"1e400")  # infinity


def test_huge_integer_literal_is_reported_as_an_integer() -> None:
    err = _reject(b"18446744073709551616")
    assert "outside" in err.message and "floating-point" not in err.message


@pytest.mark.parametrize("data", [b"-0", b"01", b"+1", b"1.", b".5", b"0x10"])
def test_non_canonical_number_spellings_rejected(data: bytes) -> None:
    _reject(data)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ('{"é":1}'.encode(), "$"),
        ('{"a":{"公":1}}'.encode(), "$.a"),
        ('[{"\U0001f600":1}]'.encode(), "$[0]"),
    ],
)
def test_non_ascii_member_names_rejected(data: bytes, path: str) -> None:
    err = _reject(data)
    assert err.field == path
    assert "ASCII" in err.message
    with pytest.raises(CanonicalError):
        canonicalize(json.loads(data))


@pytest.mark.parametrize(
    "data",
    [
        b'"\xff"',
        b'"\xc3"',
        b'"\xc0\xaf"',  # overlong '/'
        b'"\xed\xa0\x80"',  # UTF-8 encoded surrogate
        b'"\xf4\x90\x80\x80"',  # beyond U+10FFFF
        b'{"a":"\x80"}',
        b"\xef\xbb\xbf1",  # byte-order mark
    ],
)
def test_invalid_utf8_rejected(data: bytes) -> None:
    _reject(data)


@pytest.mark.parametrize(
    "data",
    [
        b'"\\u0041"',  # "A" needs no escape
        b'"\\/"',
        b'"\\u00e9"',  # é must be raw UTF-8
        b'"\\u2028"',  # RFC 8785 writes U+2028 raw
        b'"\\ud83d\\ude00"',  # astral characters are raw UTF-8
        b'"\\u001F"',  # controls escape with lower-case hex
        b'"\\u000a"',  # \n has a short escape
        b'"\\u0022"',
        b'"\\u007f"',  # DEL is not escaped
        b'{"\\u0061":1}',  # escaped member name
    ],
)
def test_unnecessary_escapes_rejected(data: bytes) -> None:
    err = _reject(data)
    assert "canonical" in err.message


@pytest.mark.parametrize(
    "data",
    [b'"\x00"', b'"\x1f"', b'"a\nb"', b'"\\ud800"', b'"\\udc00x"', b"", b"{", b"[1,]", b"nul"],
)
def test_malformed_json_rejected(data: bytes) -> None:
    _reject(data)


@pytest.mark.parametrize(
    "value",
    ["\x00\x08\t\n\x0b\x0c\r\x1f", "\u2028", "\x7f", '"\\/', "\U0001f600", "公信"],
)
def test_minimal_escapes_are_accepted(value: str) -> None:
    data = rfc8785.dumps(value)
    assert parse_canonical(data) == value
    assert canonical_bytes(value) == data


def test_path_names_what_was_given() -> None:
    err = _reject(b'{"b":1,"a":2}', "entries.jsonl line 7")
    assert err.field == "entries.jsonl line 7"
    err = _reject(b'{"a":[1.5]}', "submission")
    assert err.field == "submission.a[0]"


@pytest.mark.parametrize("value", [1.5, {"a": float("nan")}, {"a": {1, 2}}, (1, 2), b"x"])
def test_check_profile_rejects_non_profile_python_values(value: Any) -> None:
    with pytest.raises(CanonicalError):
        canonicalize(value)
