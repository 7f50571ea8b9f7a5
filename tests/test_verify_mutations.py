"""Any single mutation of a valid export is detected, and the error names the right entry.

"Right" means the index of the entry that was changed (or, for structural edits, the first
position where the file stops being the log the checkpoint covers):

- a byte flipped anywhere in line ``i`` — including its newline — names ``i``. A flipped
  newline joins line ``i`` with the next (the joined line is not canonical JSON: entry ``i``);
  for the last line, the file then ends without a newline (``export.truncated_line``, ``i``).
  Flips in fields that signatures do not cover (``log_time``) are attributed through the hash
  chain and, for the last entry, the checkpoint root (see verifier.audit's docstring);
- a deleted line ``k`` names ``k`` (the first entry now missing from its place);
- two swapped lines ``a < b`` name ``a``; a duplicated line ``k`` names ``k + 1``;
- a foreign line inserted at ``k`` names ``k``; a truncated log names the first missing index.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.signing.keys import SignerKey
from tests import logfactory as lf
from tests.domain_bodies import ITEM, ITEM_POINTS
from verifier.audit import lines as audit_lines
from verifier.cli import chunks
from verifier.cli.bundle import verify_bundle
from verifier.core.errors import VerificationError

#: (workers, MAIN_PARSES_UP_TO): in-process, and both parallel modes of verifier.cli.chunks.
CONFIGS = [(1, 2), (2, 2), (2, 0)]

SETTINGS = settings(
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    return lf.build_log(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    """Another log (other keys): a source of well-formed lines that do not belong."""
    return lf.build_log(tmp_path_factory.mktemp("db2"), seed=1)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="gongxin-mut-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _verify_raw(
    workdir: Path, log: lf.BuiltLog, data: bytes, checkpoint: str | None = None, workers: int = 1
) -> VerificationError:
    lf.write_bundle(workdir, [], checkpoint or log.checkpoint, raw_entries=data)
    with pytest.raises(VerificationError) as info:
        verify_bundle(workdir, log.log_key.verifier(), workers=workers)
    return info.value


def _verify_lines(
    workdir: Path,
    log: lf.BuiltLog,
    lines: list[bytes],
    checkpoint: str | None = None,
    workers: int = 1,
) -> VerificationError:
    return _verify_raw(workdir, log, b"".join(x + b"\n" for x in lines), checkpoint, workers)


# -- byte flips ------------------------------------------------------------------------------


def _flip(log: lf.BuiltLog, i: int, pos: int, xor: int) -> bytes:
    """The entries file with byte ``pos`` of line ``i`` (``pos == len`` is its newline)
    XOR-ed with ``xor`` (1..255, so it always changes)."""
    lines = [x + b"\n" for x in log.lines]
    b = bytearray(lines[i])
    b[pos] ^= xor
    lines[i] = bytes(b)
    return b"".join(lines)


@st.composite
def flips(draw: st.DrawFn, sizes: list[int]) -> tuple[int, int, int]:
    i = draw(st.integers(0, len(sizes) - 1))
    pos = draw(st.integers(0, sizes[i]))  # sizes[i] is the newline
    xor = draw(st.integers(1, 255))
    return i, pos, xor


def test_byte_flip_names_its_line(log: lf.BuiltLog, workdir: Path) -> None:
    sizes = [len(x) for x in log.lines]

    @SETTINGS
    @given(flips(sizes))
    def check(flip: tuple[int, int, int]) -> None:
        i, pos, xor = flip
        exc = _verify_raw(workdir, log, _flip(log, i, pos, xor))
        assert exc.index == i, (flip, exc.one_line())

    check()


@pytest.mark.parametrize("field", ["log_time", "prev"])
@pytest.mark.parametrize("where", ["first", "middle", "before_last", "last"])
def test_unsigned_field_edits_are_attributed_to_their_entry(
    log: lf.BuiltLog, workdir: Path, field: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits that keep the entry well-formed and signed: only the chain or root sees them."""
    i = {"first": 0, "middle": 13, "before_last": log.size - 2, "last": log.size - 1}[where]

    def change(obj: dict[str, object]) -> None:
        if field == "log_time":
            t = str(obj["log_time"])
            obj["log_time"] = t[:-3] + ("1" if t[-3] != "1" else "2") + t[-2:]  # +µs
        else:
            p = str(obj["prev"])
            obj["prev"] = ("1" if p[0] != "1" else "2") + p[1:]

    lines = list(log.lines)
    lines[i] = lf.edit_line(lines[i], change)
    for chunk_lines in (2000, 1, 2):
        monkeypatch.setattr(audit_lines, "CHUNK_LINES", chunk_lines)
        for w, limit in CONFIGS:
            monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", limit)
            exc = _verify_lines(workdir, log, lines, workers=w)
            assert exc.index == i, exc.one_line()


def test_flips_in_parallel_mode_name_the_same_line(
    log: lf.BuiltLog, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_lines, "CHUNK_LINES", 4)
    sizes = [len(x) for x in log.lines]

    @settings(SETTINGS, max_examples=15)
    @given(flips(sizes))
    def check(flip: tuple[int, int, int]) -> None:
        i, pos, xor = flip
        data = _flip(log, i, pos, xor)
        results = []
        for w, limit in CONFIGS:
            monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", limit)
            results.append(_verify_raw(workdir, log, data, workers=w).as_dict())
        assert results[0]["index"] == i
        assert all(r == results[0] for r in results[1:])

    check()


# -- structural edits ------------------------------------------------------------------------


def test_deleted_line(log: lf.BuiltLog, workdir: Path) -> None:
    @SETTINGS
    @given(st.integers(0, log.size - 1))
    def check(k: int) -> None:
        lines = log.lines[:k] + log.lines[k + 1 :]
        exc = _verify_lines(workdir, log, lines)
        assert exc.index == k, exc.one_line()
        if k == log.size - 1:
            assert exc.rule == "export.size"

    check()


def test_swapped_lines(log: lf.BuiltLog, workdir: Path) -> None:
    @SETTINGS
    @given(st.lists(st.integers(0, log.size - 1), min_size=2, max_size=2, unique=True))
    def check(pair: list[int]) -> None:
        a, b = sorted(pair)
        lines = list(log.lines)
        lines[a], lines[b] = lines[b], lines[a]
        exc = _verify_lines(workdir, log, lines)
        assert exc.index == a, exc.one_line()

    check()


def test_duplicated_line(log: lf.BuiltLog, workdir: Path) -> None:
    @SETTINGS
    @given(st.integers(0, log.size - 1))
    def check(k: int) -> None:
        lines = [*log.lines[: k + 1], log.lines[k], *log.lines[k + 1 :]]
        exc = _verify_lines(workdir, log, lines)
        assert exc.index == k + 1, exc.one_line()

    check()


def test_inserted_foreign_line(log: lf.BuiltLog, foreign: lf.BuiltLog, workdir: Path) -> None:
    @SETTINGS
    @given(st.integers(0, log.size), st.integers(0, foreign.size - 1), st.booleans())
    def check(k: int, f: int, reindex: bool) -> None:
        line = foreign.lines[f]
        if reindex:  # give it the index of its new place, to get past the index check
            line = lf.edit_line(line, lambda o: o.__setitem__("index", k))
        lines = [*log.lines[:k], line, *log.lines[k:]]
        exc = _verify_lines(workdir, log, lines)
        assert exc.index == k, exc.one_line()

    check()


def test_truncated_log_with_stale_checkpoint(log: lf.BuiltLog, workdir: Path) -> None:
    for m in range(log.size):
        exc = _verify_lines(workdir, log, log.lines[:m])
        assert (exc.rule, exc.index) == ("export.size", m)


def test_more_lines_than_the_checkpoint(log: lf.BuiltLog, workdir: Path) -> None:
    for size, note in log.checkpoints.items():
        if size < log.size:
            exc = _verify_lines(workdir, log, log.lines, checkpoint=note)
            assert (exc.rule, exc.index) == ("export.size", size)
            exc = _verify_lines(workdir, log, log.lines, checkpoint=note, workers=2)
            assert (exc.rule, exc.index) == ("export.size", size)


def test_last_line_without_newline(log: lf.BuiltLog, workdir: Path) -> None:
    data = b"".join(x + b"\n" for x in log.lines)[:-1]
    exc = _verify_raw(workdir, log, data)
    assert (exc.rule, exc.index) == ("export.truncated_line", log.size - 1)
    exc = _verify_raw(workdir, log, data, workers=2)
    assert (exc.rule, exc.index) == ("export.truncated_line", log.size - 1)


def test_checkpoint_resigned_by_another_key(log: lf.BuiltLog, workdir: Path) -> None:
    impostor = lf.make_key(42, "log", key_name=log.origin)  # same name, other key
    note = lf.sign_checkpoint_over(log.lines, impostor)
    exc = _verify_lines(workdir, log, log.lines, checkpoint=note)
    assert exc.rule.startswith("note.") and exc.index is None
    # An edited log with a checkpoint over it by the wrong key: still the checkpoint.
    lines = log.lines[:-1]
    exc = _verify_lines(workdir, log, lines, checkpoint=lf.sign_checkpoint_over(lines, impostor))
    assert exc.rule.startswith("note.")


# -- entries the ledger would refuse (hand-made, checkpoint re-signed by the log key) ---------


def _append_forged(
    log: lf.BuiltLog, workdir: Path, signer: SignerKey, kind: str, body: dict[str, object]
) -> VerificationError:
    lines = [*log.lines, lf.forge_line(log.lines, signer, kind, body)]
    for w in (1, 2):
        exc = _verify_lines(workdir, log, lines, lf.sign_checkpoint_over(lines, log.log_key), w)
        assert exc.index == log.size, exc.one_line()
    return exc


FUND = {
    "fund_id": "F-forged",
    "fiscal_year": 2026,
    "programme": "养老",
    "source": "财政",
    "amount_fen": 1000,
}


def test_entry_signed_by_a_key_never_granted(log: lf.BuiltLog, workdir: Path) -> None:
    stranger = lf.make_key(0, "stranger")
    exc = _append_forged(log, workdir, stranger, "fund.appropriate", FUND)
    assert exc.rule == "key.unknown" and exc.key_id == stranger.key_id_hex


def test_entry_signed_after_revocation(log: lf.BuiltLog, workdir: Path) -> None:
    exc = _append_forged(log, workdir, log.key("temp-finance"), "fund.appropriate", FUND)
    assert exc.rule == "key.revoked"


def test_entry_signed_without_the_role(log: lf.BuiltLog, workdir: Path) -> None:
    exc = _append_forged(log, workdir, log.key("organiser"), "fund.appropriate", FUND)
    assert exc.rule == "role.forbidden"
    exc = _append_forged(
        log,
        workdir,
        log.key("finance"),
        "key.grant",
        {"key": str(lf.make_key(0, "x").verifier()), "roles": ["auditor"], "title": "x"},
    )
    assert exc.rule == "role.forbidden"


def test_entry_breaking_a_rule_of_the_rulebook(log: lf.BuiltLog, workdir: Path) -> None:
    """Correctly signed by a key with the role, but against the rulebook (FORMAT.md §10)."""
    exc = _append_forged(
        log, workdir, log.key("finance"), "fund.appropriate", dict(FUND, fund_id="F0")
    )
    assert (exc.rule, exc.field) == ("fund.duplicate", "statement.body.fund_id")
    exc = _append_forged(
        log,
        workdir,
        log.key("desk"),
        "credit.redeem",
        {"resident_ref": "0" * 32, "item": ITEM, "points": ITEM_POINTS},
    )
    assert exc.rule == "credit.insufficient"


def test_the_same_forged_entries_pass_when_allowed(log: lf.BuiltLog, workdir: Path) -> None:
    """Control: the forging technique itself yields valid entries when the rules allow."""
    lines = [*log.lines, lf.forge_line(log.lines, log.key("finance"), "fund.appropriate", FUND)]
    lf.write_bundle(workdir, lines, lf.sign_checkpoint_over(lines, log.log_key))
    assert verify_bundle(workdir, log.log_key.verifier(), workers=1).tree_size == log.size + 1
