"""Verifier state files (FORMAT.md §12.3) under attack, and the library API a witness keeps.

Fuzz (hypothesis, in-process ``gongxin-verify`` like ``tests/test_fuzz_verifier.py``): whatever
the state file holds — random edits of a genuine one, with or without its digest recomputed,
edits of its header's or its rule state's JSON values — the exit status is 0, 1 or 2, never 3,
one line on failure, and a refused or failed run never rewrites the file. Library: the state
round-trips, :func:`verifier.cli.incremental.advance` gives the state a full run gives, and
:func:`verifier.cli.statefile.save_state` replaces a file atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import logfactory as lf
from verifier.audit.state import StateRefused, decode_verifier_state
from verifier.cli.incremental import advance
from verifier.cli.main import main
from verifier.cli.statefile import load_state, save_state
from verifier.core.keys import VerifierKey

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
K = 30


class Setup:
    """A log of 51 entries, its export at size :data:`K` and in full, and the genuine state
    after the prefix."""

    def __init__(self, tmp: Path) -> None:
        self.log = lf.build_log(tmp, domain_entries=40)
        self.full = lf.export(self.log, tmp / "full")
        self.prefix = lf.write_bundle(tmp / "prefix", self.log.lines[:K], self.log.checkpoints[K])
        self.key_file = tmp / "log.vkey"
        self.key_file.write_text(str(self.log.log_key.verifier()) + "\n")
        state = tmp / "genuine.state"
        assert run_main(self.prefix, self.key_file, state)[0] == 0
        self.state = state.read_bytes()

    @property
    def key(self) -> VerifierKey:
        return self.log.log_key.verifier()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(tmp_path_factory.mktemp("state-fuzz"))


def run_main(bundle: Path, key: Path, state: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([str(bundle), "--log-key", str(key), "--state", str(state), "-q"])
    return status, err.getvalue()


def redigest(body: bytes) -> bytes:
    """``body`` (a state file without its digest line) with a correct digest line."""
    return body + b"sha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def split(data: bytes) -> tuple[bytes, dict[str, Any], bytes]:
    """(first line, header, rule state) of a genuine state file."""
    first, header, rest = data.split(b"\n", 2)
    rule_state = rest[: rest.rindex(b"sha256:") - 1]
    return first + b"\n", orjson.loads(header), rule_state


def _dumps(value: Any) -> bytes:
    """Sorted, compact JSON that also takes integers beyond 64 bits (orjson refuses them)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def join(first: bytes, header: dict[str, Any], rule_state: bytes) -> bytes:
    head = _dumps(header)
    return redigest(first + head + b"\n" + rule_state + b"\n")


# -- mutations ---------------------------------------------------------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=20),
    st.sampled_from(["", "0" * 64, "f" * 64, "2026-03-01T08:00:07.000000Z", "9999-12-31"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], tuple(rest), new)}
    copy = list(value)
    copy[head] = _replace(copy[head], tuple(rest), new)
    return copy


@st.composite
def byte_edits(draw: st.DrawFn, genuine: bytes) -> bytes:
    data = bytearray(genuine)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[at : at + draw(st.integers(1, 64))]
    body = bytes(data)
    if draw(st.booleans()) and b"sha256:" in body:
        body = redigest(body[: body.rindex(b"sha256:")])
    return body


@st.composite
def json_edits(draw: st.DrawFn, genuine: bytes) -> bytes:
    first, header, rule_state = split(genuine)
    if draw(st.booleans()):
        path = draw(st.sampled_from(_paths(header)[1:]))
        header = _replace(header, path, draw(_VALUES))
    else:
        doc = orjson.loads(rule_state)
        path = draw(st.sampled_from(_paths(doc)[1:]))
        rule_state = _dumps(_replace(doc, path, draw(_VALUES)))
        header["rule_state_bytes"] = len(rule_state)
        header["rule_state_sha256"] = hashlib.sha256(rule_state).hexdigest()
    return join(first, header, rule_state)


def _check(setup: Setup, tmp_path: Path, data: bytes) -> None:
    state = tmp_path / "fuzzed.state"
    state.write_bytes(data)
    status, err = run_main(setup.full, setup.key_file, state)
    assert status in (0, 1, 2), err
    if status:
        assert len(err.splitlines()) == 1 and err.startswith("✗"), err
        assert state.read_bytes() == data


@FUZZ
@given(data=st.data())
def test_byte_edits_of_a_state_exit_0_1_or_2(setup: Setup, tmp_path: Path, data: Any) -> None:
    _check(setup, tmp_path, data.draw(byte_edits(setup.state)))


@FUZZ
@given(data=st.data())
def test_json_edits_of_a_state_exit_0_1_or_2(setup: Setup, tmp_path: Path, data: Any) -> None:
    _check(setup, tmp_path, data.draw(json_edits(setup.state)))


@settings(FUZZ, max_examples=40)
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_a_state_exit_2(setup: Setup, tmp_path: Path, data: bytes) -> None:
    state = tmp_path / "random.state"
    state.write_bytes(b"gongxin-verifier-state/1\n" + data)
    assert run_main(setup.full, setup.key_file, state)[0] == 2
    with pytest.raises(StateRefused):
        decode_verifier_state(data)


# -- the library API ----------------------------------------------------------------------------


def test_round_trip_and_advance_equals_full(setup: Setup, tmp_path: Path) -> None:
    state = decode_verifier_state(setup.state)
    assert state.encode() == setup.state
    assert state.size == K
    finished, new = advance(state, setup.full, setup.key, workers=1)
    assert finished.first == K and finished.report.tree_size == setup.log.size
    full_run, from_nothing = advance(None, setup.full, setup.key, workers=1)
    assert full_run.first == 0
    assert new == from_nothing
    assert new.encode() == from_nothing.encode()


def test_save_replaces_atomically(setup: Setup, tmp_path: Path) -> None:
    path = tmp_path / "s"
    state = decode_verifier_state(setup.state)
    save_state(path, state)
    assert load_state(path) == state
    bigger = advance(state, setup.full, setup.key, workers=1)[1]
    save_state(path, bigger)
    assert load_state(path) == bigger
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def test_a_state_is_checked_against_itself_and_the_log(setup: Setup, tmp_path: Path) -> None:
    """A state whose digest is right but whose content was edited coherently is still checked:
    its checkpoint must state its size and root, its range must fold to that root, and its
    rule state must be at that size, of that log."""
    path = tmp_path / "s"
    first, header, rule_state = split(setup.state)
    for edit, expected in (
        (("size", K - 1), "do not agree"),
        (("range", header["range"][::-1]), "do not agree"),
        (("root", "0" * 64), "do not agree"),
        (("log_key", str(lf.make_key(9, "log", lf.ORIGIN).verifier())), "another log"),
        (("checkpoint", setup.log.checkpoints[25]), "do not agree"),
    ):
        path.write_bytes(join(first, {**header, edit[0]: edit[1]}, rule_state))
        status, err = run_main(setup.full, setup.key_file, path)
        assert (status, len(err.splitlines())) == (2, 1), err
        assert expected in err, err
    doc = orjson.loads(rule_state)
    for member, value in (("size", K - 1), ("registry", {**doc["registry"], "origin": "x.y/z"})):
        other = _dumps({**doc, member: value})
        edited = {**header, "rule_state_bytes": len(other)}
        edited["rule_state_sha256"] = hashlib.sha256(other).hexdigest()
        path.write_bytes(join(first, edited, other))
        status, err = run_main(setup.full, setup.key_file, path)
        assert (status, len(err.splitlines())) == (2, 1), err
        assert "rule state" in err, err


# -- skipping the lines a state covers ------------------------------------------------------------


class _Unseekable(io.RawIOBase):
    """A stream that cannot seek (like a zip member)."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@settings(FUZZ, max_examples=200)
@given(
    lines=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    tail=st.binary(max_size=5).map(lambda b: b.replace(b"\n", b"")),
    n=st.integers(0, 35),
    block=st.integers(1, 40),
    seekable=st.booleans(),
)
def test_skip_lines_leaves_the_stream_after_line_n(
    lines: list[bytes], tail: bytes, n: int, block: int, seekable: bool
) -> None:
    from verifier.audit import lines as mod

    data = b"".join(x + b"\n" for x in lines) + tail
    raw: Any = io.BytesIO(data) if seekable else io.BufferedReader(_Unseekable(data), 7)
    old, mod.SKIP_BLOCK = mod.SKIP_BLOCK, block
    try:
        stream, offset, found = mod.skip_lines(raw, n)
    finally:
        mod.SKIP_BLOCK = old
    assert found == min(n, len(lines))
    if n <= len(lines):
        assert offset == sum(len(x) + 1 for x in lines[:n])
        assert stream.read() == data[offset:]
    if seekable:
        assert stream is raw  # repositioned, not wrapped
