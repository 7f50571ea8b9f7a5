"""Witness policies (verifier/witness/policy.py, FORMAT.md §15): the Sigsum policy grammar with
note verifier keys, quorum evaluation over nested groups, and checking a cosigned checkpoint
against a policy. Cosignatures are made here with real witness keys (witness.keys)."""

from __future__ import annotations

import base64
import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import compute_key_id, parse_verifier_key
from verifier.witness.policy import (
    MAX_POLICY_BYTES,
    WitnessPolicy,
    check_cosigned,
    load_policy,
    parse_policy,
)
from witness.keys import WitnessSigner

ORIGIN = "gongxin.example/policy-test"


def _log() -> tuple[SigningKey, str]:
    sk = SigningKey(bytes(range(32)))
    pub = bytes(sk.verify_key)
    kid = compute_key_id(ORIGIN, pub, 0x01)
    material = base64.b64encode(bytes([1]) + pub).decode()
    vkey = f"{ORIGIN}+{kid.hex()}+{material}"
    return sk, vkey


def _note(sk: SigningKey, vkey: str, size: int = 7) -> str:
    body = f"{ORIGIN}\n{size}\n{base64.b64encode(bytes(32)).decode()}\n"
    kid = parse_verifier_key(vkey).key_id
    sig = sk.sign(body.encode()).signature
    return f"{body}\n— {ORIGIN} {base64.b64encode(kid + sig).decode()}\n"


W = {name: WitnessSigner.generate(f"{name}.example/w") for name in ("audit", "jumin", "eval")}


def _policy(quorum_lines: str) -> WitnessPolicy:
    _, vkey = _log()
    return parse_policy(
        f"""# 公信 test policy
log {vkey} https://ledger.example/
witness 审计局 {W["audit"].public} http://127.0.0.1:8091/
witness 居民监督委员会 {W["jumin"].public}
witness 评估机构 {W["eval"].public}   # offline only
{quorum_lines}
"""
    )


def test_groups_nest_and_thresholds_count_members() -> None:
    p = _policy("group 政府 any 审计局\ngroup 全体 2 政府 居民监督委员会 评估机构\nquorum 全体")
    assert p.witnesses[0].url == "http://127.0.0.1:8091"
    assert p.witnesses[2].url is None
    assert not p.satisfied_by({"审计局"})
    assert p.satisfied_by({"审计局", "评估机构"})
    assert p.satisfied_by({"居民监督委员会", "评估机构"})
    assert not p.satisfied_by(set())
    every = _policy("group g all 审计局 居民监督委员会\nquorum g")
    assert not every.satisfied_by({"审计局"}) and every.satisfied_by({"审计局", "居民监督委员会"})
    assert _policy("quorum none").satisfied_by(set())
    assert _policy("quorum 审计局").satisfied_by({"审计局"})


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", "no quorum line"),
        ("quorum x", "not defined above"),
        ("witness a b\nquorum none", "name+keyid+base64key"),
        ("quorum none\nquorum none", "second quorum"),
        ("group g 1 none\nquorum g", "not defined above"),
        ("frobnicate 1\nquorum none", "not a log, witness, group or quorum line"),
        (f"witness a {W['audit'].public}\nwitness a {W['jumin'].public}\nquorum a", "twice"),
        (f"witness a {W['audit'].public}\nwitness b {W['audit'].public}\nquorum a", "twice"),
        (f"witness a {W['audit'].public}\ngroup g 2 a\nquorum g", "threshold"),
        (f"witness a {W['audit'].public}\ngroup g 1 a a\nquorum g", "twice"),
        (f"witness a {W['audit'].public} ftp://x\nquorum a", "http"),
        (f"witness none {W['audit'].public}\nquorum none", "reserved"),
    ],
)
def test_faults_name_the_line(text: str, fault: str) -> None:
    with pytest.raises(InputError, match=re.escape(fault)) as exc_info:
        parse_policy(text, "p.policy")
    assert "p.policy" in str(exc_info.value)


def test_simple_policy_from_keys() -> None:
    keys = [W["audit"].public, W["jumin"].public, W["audit"].public]  # a repeat counts once
    p = WitnessPolicy.simple(keys, 2)
    assert len(p.witnesses) == 2 and "2 of" in p.describe()
    assert WitnessPolicy.simple(keys, 0).quorum is None
    with pytest.raises(InputError, match="out of range"):
        WitnessPolicy.simple(keys, 3)


def test_check_cosigned_requires_the_quorum() -> None:
    sk, vkey = _log()
    log_key = parse_verifier_key(vkey)
    note = _note(sk, vkey)
    body = note[: note.index("\n\n") + 1].encode()
    both = note + W["audit"].cosign(body) + W["jumin"].cosign(body)
    policy = _policy("group g 2 审计局 居民监督委员会\nquorum g")
    opened, present = check_cosigned(both, log_key, policy)
    assert [w.name for w in present] == ["审计局", "居民监督委员会"]
    assert opened.checkpoint.size == 7
    one = note + W["audit"].cosign(body)
    with pytest.raises(VerificationError, match="审计局, which does not satisfy") as exc:
        check_cosigned(one, log_key, policy)
    assert exc.value.rule == "cosignature.quorum"
    # a listed witness's bad cosignature is an error, not just a missing vote
    other = _note(sk, vkey, size=8)
    wrong = note + W["audit"].cosign(other[: other.index("\n\n") + 1].encode())
    with pytest.raises(VerificationError) as bad:
        check_cosigned(wrong, log_key, policy)
    assert bad.value.rule == "cosignature.signature"


def test_load_policy_is_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.policy"
    big.write_bytes(b"#" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(InputError, match="over"):
        load_policy(big)
    bad = tmp_path / "bad.policy"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="UTF-8"):
        load_policy(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_policy(tmp_path / "missing.policy")


LINE = st.sampled_from(
    [
        "log",
        "witness",
        "group",
        "quorum",
        "none",
        "all",
        "any",
        "2",
        "a",
        "#",
        "\n",
        " ",
        str(W["audit"].public),
        "http://x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=30).map(" ".join) | st.text(max_size=200))
def test_parse_policy_raises_only_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_policy(text)
