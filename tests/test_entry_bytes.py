"""The fast byte-level constructions in verifier/core/entry.py agree with a full RFC 8785
encoding (the ``rfc8785`` package as oracle) for arbitrary statement bodies."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.records import entry_bytes
from ledger.signing.keys import SignerKey
from ledger.signing.statements import sign_statement
from tests.json_walk import depth
from verifier.core.canonical import MAX_DEPTH
from verifier.core.entry import parse_entry_line, parse_submission
from verifier.core.errors import VerificationError

KEY = SignerKey.from_seed("entry-bytes-test", bytes(32))
SAFE = 2**53 - 1

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE, SAFE) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=127), max_size=12), children, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@example(body={"signatures": [], "statement": {"statement": 1}, "z": '],"statement":{'}, index=0)
@given(
    body=st.dictionaries(
        st.text(st.characters(max_codepoint=127), max_size=12), json_values, max_size=5
    ),
    index=st.integers(0, SAFE),
)
def test_entry_line_and_statement_slice_match_the_oracle(body: dict[str, Any], index: int) -> None:
    if depth(body) > MAX_DEPTH - 2:  # submission → statement → body: FORMAT.md §2 rule 5
        with pytest.raises(VerificationError) as refused:
            sign_statement("test.kind", body, KEY, origin="gongxin.test/o")
        assert refused.value.rule == "entry.shape"
        return
    sub = sign_statement(
        "test.kind", body, KEY, origin="gongxin.test/o", time="2026-11-22T08:00:00Z"
    )
    data = sub.canonical()
    assert data == rfc8785.dumps(sub.to_json())
    parsed = parse_submission(data)
    assert parsed.statement.canonical() == rfc8785.dumps(sub.statement.raw)
    for origin in ("gongxin.test/o", None):
        assert parsed.statement.message(origin) == sub.statement.message(origin)
    prev = "ab" * 32
    line = entry_bytes(index, "2026-11-22T08:00:01.000000Z", prev, parsed)
    as_dict = {
        "index": index,
        "log_time": "2026-11-22T08:00:01.000000Z",
        "prev": prev,
        **sub.to_json(),
    }
    assert line == rfc8785.dumps(as_dict)
    entry = parse_entry_line(line)
    assert entry.statement.canonical() == rfc8785.dumps(sub.statement.raw)
