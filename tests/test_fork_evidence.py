"""Fork evidence (FORMAT.md §16): ``verifier.witness.fork`` and ``gongxin-verify fork``.

Two views of one log key diverge at entry ``d``: view A is ``a0 a1 …``, view B keeps A's first
``d`` entries and continues ``b_d b_{d+1} …``. Proofs come from the RFC 9162 reference code
(tests/merkle_reference.py), which shares nothing with the code under test.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.signing.notes import sign_checkpoint
from tests import merkle_reference as ref
from tests.logfactory import make_key, sign_checkpoint_over
from verifier.cli.main import main
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.merkle import EMPTY_ROOT
from verifier.witness.fork import (
    HEADER,
    check_fork_evidence,
    encode_fork_evidence,
    evidence_proof,
    parse_fork_evidence,
)

ORIGIN = "gongxin.example/fork-test"
LOG_KEY = make_key(7, "log", key_name=ORIGIN)
OTHER_KEY = make_key(8, "log", key_name=ORIGIN)
VERIFY = str(Path(sys.executable).with_name("gongxin-verify"))


def view_a(n: int) -> list[bytes]:
    return [b"a%d" % i for i in range(n)]


def view_b(n: int, diverge: int) -> list[bytes]:
    return [b"a%d" % i if i < diverge else b"b%d" % i for i in range(n)]


def evidence(size1: int, size2: int, diverge: int, key: object = LOG_KEY) -> bytes:
    """Checkpoint 1 over view A's first ``size1`` entries, checkpoint 2 over view B's first
    ``size2`` (diverging at ``diverge``), and the proof from tree B."""
    a, b = view_a(size1), view_b(size2, diverge)
    note1 = sign_checkpoint_over(a, key)  # type: ignore[arg-type]
    note2 = sign_checkpoint_over(b, key)  # type: ignore[arg-type]
    rfc = ref.proof(size1, b) if 0 < size1 < size2 else []
    proof = evidence_proof(size1, size2, rfc, ref.mth(b[:size1]))
    return encode_fork_evidence(note1, note2, proof)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_fork_is_proven(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(2, 70))
    size1 = data.draw(st.integers(1, size2 - 1))
    diverge = data.draw(st.integers(0, size1 - 1))
    fork = check_fork_evidence(evidence(size1, size2, diverge), LOG_KEY.verifier())
    assert (fork.old.size, fork.new.size) == (size1, size2)
    assert fork.old.root == ref.mth(view_a(size1))
    assert fork.old_root_in_new == ref.mth(view_b(size1, diverge))
    assert fork.old_root_in_new != fork.old.root


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_consistent_checkpoints_are_not_evidence(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, 70))
    size1 = data.draw(st.integers(1, size2))
    with pytest.raises(VerificationError) as err:
        check_fork_evidence(evidence(size1, size2, size1), LOG_KEY.verifier())
    assert err.value.rule == "fork.consistent"


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_proof_that_misses_root_2_proves_nothing(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(2, 70))
    size1 = data.draw(st.integers(1, size2 - 1))
    ev = parse_fork_evidence(evidence(size1, size2, 0))
    proof = list(ev.proof)
    proof[data.draw(st.integers(0, len(proof) - 1))] = bytes(32)
    bad = encode_fork_evidence(ev.old_note, ev.new_note, proof)
    with pytest.raises(VerificationError) as err:
        check_fork_evidence(bad, LOG_KEY.verifier())
    assert err.value.rule == "fork.proof"
    short = encode_fork_evidence(ev.old_note, ev.new_note, ev.proof[:-1])
    with pytest.raises(VerificationError) as err:
        check_fork_evidence(short, LOG_KEY.verifier())
    assert err.value.rule == "fork.proof"


def test_power_of_two_old_size_needs_the_old_subtree() -> None:
    a, b = view_a(8), view_b(13, 3)
    note1, note2 = sign_checkpoint_over(a, LOG_KEY), sign_checkpoint_over(b, LOG_KEY)
    rfc_only = encode_fork_evidence(note1, note2, ref.proof(8, b))  # seeded with root 1
    with pytest.raises(VerificationError) as err:
        check_fork_evidence(rfc_only, LOG_KEY.verifier())
    assert err.value.rule == "fork.proof"
    with pytest.raises(InputError):
        evidence_proof(8, 13, ref.proof(8, b), None)


def test_equal_sizes_and_size_zero() -> None:
    vkey = LOG_KEY.verifier()
    fork = check_fork_evidence(evidence(9, 9, 4), vkey)
    assert fork.old_root_in_new is None and fork.old.root != fork.new.root
    assert "two checkpoints of size 9" in fork.describe()
    bogus_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), LOG_KEY)
    note2 = sign_checkpoint_over(view_a(5), LOG_KEY)
    fork = check_fork_evidence(encode_fork_evidence(bogus_empty, note2, []), vkey)
    assert fork.old_root_in_new == EMPTY_ROOT
    with pytest.raises(VerificationError, match=r"fork\.consistent"):
        check_fork_evidence(evidence(0, 5, 0), vkey)
    with pytest.raises(VerificationError, match=r"fork\.proof"):  # proof lines where none fit
        ev = parse_fork_evidence(evidence(9, 9, 4))
        check_fork_evidence(encode_fork_evidence(ev.old_note, ev.new_note, [bytes(32)]), vkey)


def test_signatures_and_structure() -> None:
    vkey = LOG_KEY.verifier()
    good = evidence(5, 11, 2)
    with pytest.raises(VerificationError) as err:  # signed by another key of the same name
        check_fork_evidence(evidence(5, 11, 2, key=OTHER_KEY), vkey)
    assert err.value.rule.startswith("note.") and "checkpoint 1" in str(err.value)
    ev = parse_fork_evidence(good)
    swapped = encode_fork_evidence(ev.new_note, ev.old_note, [])
    with pytest.raises(InputError, match="larger than checkpoint 2"):
        check_fork_evidence(swapped, vkey)
    for broken in (
        good.replace(HEADER.encode(), b"gongxin/fork-evidence@v2"),
        good.replace(b"old 5\n", b"old 6\n"),
        good.replace(b"old 5\n", b"old 05\n"),
        good.replace(b"old 5\n", b"old 5\n\n"),
        good[:-1],
        good + b"\n",
        b"\xff" + good,
        good + b"x" * 300_000,
    ):
        with pytest.raises(InputError):
            check_fork_evidence(broken, vkey)


def test_cli_exit_codes(tmp_path: Path) -> None:
    vkey = str(LOG_KEY.verifier())
    proven, consistent = tmp_path / "proven", tmp_path / "consistent"
    proven.write_bytes(evidence(120, 150, 100))
    consistent.write_bytes(evidence(120, 150, 120))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([VERIFY, "fork", *args], capture_output=True, text=True, timeout=60)

    r = run(str(proven), "--log-key", vkey)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("✓ 分叉已证实 fork proven: the log key signed size 120 root ")
    assert "and size 150 whose first 120 entries hash to " in r.stdout
    r = run(str(consistent), "--log-key", vkey)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("✗ 未证实分叉 not proven: [fork.consistent]")
    assert run(str(proven), "--log-key", str(OTHER_KEY.verifier())).returncode == 1
    assert run(str(tmp_path / "missing"), "--log-key", vkey).returncode == 2
    assert run(str(tmp_path), "--log-key", vkey).returncode == 2  # a directory
    assert run(str(proven), "--log-key", "nonsense").returncode == 2
    assert run(str(proven)).returncode == 2  # no --log-key


_BASE = evidence(6, 9, 1)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(0, len(_BASE)),
    junk=st.binary(max_size=40),
    drop=st.integers(0, 40),
)
def test_cli_never_crashes_on_mangled_files(
    tmp_path: Path, cut: int, junk: bytes, drop: int
) -> None:
    path = tmp_path / "mangled"
    path.write_bytes(_BASE[:cut] + junk + _BASE[cut + drop :])
    status = main(["fork", str(path), "--log-key", str(LOG_KEY.verifier()), "--quiet"])
    assert status in (0, 1, 2)


_PIECES = [HEADER.encode() + b"\n", b"old 6\n", b"old 0\n", b"\n", b"\n\n", b"AAAA\n"]
_PIECES += [p + b"\n" for p in _BASE.split(b"\n")]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.binary(max_size=12), max_size=24))
def test_checking_any_text_raises_only_typed_errors(parts: list[bytes]) -> None:
    with contextlib.suppress(InputError, VerificationError):
        check_fork_evidence(b"".join(parts), LOG_KEY.verifier())
