"""verify_bundle on valid logs, its report, previous checkpoints, genesis checks, light mode."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from ledger.records import entry_bytes
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from ledger.signing.statements import sign_statement
from tests import logfactory as lf
from tests.keyring import genesis_body_for
from verifier.audit import lines as audit_lines
from verifier.audit.verdict import AuditReport
from verifier.cli import chunks
from verifier.cli.bundle import verify_bundle
from verifier.cli.inclusion import verify_inclusion_file
from verifier.core.checkpoint import EMPTY_ROOT, Checkpoint
from verifier.core.errors import InputError, VerificationError


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> lf.BuiltLog:
    return lf.build_log(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def bundle(log: lf.BuiltLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lf.export(log, tmp_path_factory.mktemp("bundle"))


def _stable(report: AuditReport) -> dict[str, Any]:
    out = report.to_json()
    del out["elapsed_seconds"], out["workers"]
    return out


#: The two ways verify_bundle splits work between processes (see verifier.cli.chunks).
MODES = {"main-parses": 2, "workers-parse": 0}


@pytest.fixture(params=sorted(MODES))
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test in each parallel mode (only matters for workers > 1)."""
    monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", MODES[request.param])
    return str(request.param)


def _fails(directory: Path, log: lf.BuiltLog, **kw: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_bundle(directory, log.log_key.verifier(), workers=kw.pop("workers", 1), **kw)
    return info.value


# -- valid logs ------------------------------------------------------------------------------


def test_valid_log_verifies_in_process_and_in_workers(
    log: lf.BuiltLog, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = verify_bundle(bundle, log.log_key.verifier(), workers=1)
    assert one.workers == 1
    assert one.tree_size == log.size
    assert one.origin == log.origin
    for limit in MODES.values():
        monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", limit)
        two = verify_bundle(bundle, log.log_key.verifier(), workers=2)
        assert two.workers == 2
        assert _stable(one) == _stable(two)


@pytest.mark.parametrize("chunk_lines", [1, 3, 7])
def test_chunk_boundaries_do_not_matter(
    log: lf.BuiltLog, bundle: Path, chunk_lines: int, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _stable(verify_bundle(bundle, log.log_key.verifier(), workers=1))
    monkeypatch.setattr(audit_lines, "CHUNK_LINES", chunk_lines)
    assert _stable(verify_bundle(bundle, log.log_key.verifier(), workers=2)) == reference


def test_report_contents(log: lf.BuiltLog, bundle: Path) -> None:
    report = verify_bundle(bundle, log.log_key.verifier(), workers=1)
    j = report.to_json()
    assert j["valid"] is True
    assert j["tree_size"] == log.size
    assert j["root"] == lf.root_of_lines(log.lines).hex()
    assert j["log_key"] == str(log.log_key.verifier())
    assert sum(j["entries_by_kind"].values()) == log.size
    assert j["entries_by_kind"]["log.genesis"] == 1
    assert j["entries_by_kind"]["key.grant"] == len(lf.OFFICIALS)
    assert j["entries_by_kind"]["key.revoke"] == 1
    keys = {k["name"]: k for k in j["keys"]}
    temp = keys["test-temp-finance"]
    assert temp["granted_at"] == log.marks["grant:temp-finance"]
    assert temp["revoked_at"] == log.marks["revoke"]
    assert keys["test-finance"]["roles"] == ["finance_officer"]
    assert keys["test-authority0"]["roles"] == ["authority"]
    assert keys["test-authority0"]["granted_at"] == 0
    assert j["previous_checkpoint_size"] is None


def test_progress_is_reported_up_to_the_file_size(log: lf.BuiltLog, bundle: Path) -> None:
    seen: list[tuple[int, int]] = []
    verify_bundle(
        bundle, log.log_key.verifier(), workers=1, progress=lambda d, t: seen.append((d, t))
    )
    total = (bundle / "entries.jsonl").stat().st_size
    assert seen and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_authority_keys_must_match_genesis_exactly(log: lf.BuiltLog, bundle: Path) -> None:
    both = [a.verifier() for a in log.authorities]
    verify_bundle(bundle, log.log_key.verifier(), both, workers=1)
    verify_bundle(bundle, log.log_key.verifier(), list(reversed(both)), workers=1)
    for given in (both[:1], [*both, log.officials["finance"].verifier()]):
        exc = _fails(bundle, log, authority_keys=given)
        assert (exc.rule, exc.index) == ("genesis.authorities", 0)


def test_wrong_log_key_fails_on_the_checkpoint(log: lf.BuiltLog, bundle: Path) -> None:
    other = lf.make_key(99, "log", key_name=log.origin).verifier()
    with pytest.raises(VerificationError) as info:
        verify_bundle(bundle, other, workers=1)
    assert info.value.rule.startswith("note.")
    assert info.value.index is None


def _genesis_only(log_key: SignerKey, named_log_key: SignerKey, auth: SignerKey) -> list[bytes]:
    sub = sign_statement(
        "log.genesis",
        genesis_body_for(named_log_key, [auth], named_log_key.name),
        auth,
        origin=named_log_key.name,
        statement_id="00000000-0000-4000-8000-000000000001",
        time="2026-03-01T08:00:00Z",
    )
    return [entry_bytes(0, "2026-03-01T08:00:01.000000Z", "0" * 64, sub)]


def test_genesis_must_name_the_given_log_key(tmp_path: Path) -> None:
    log_key = lf.make_key(0, "log", key_name=lf.ORIGIN)
    impostor = lf.make_key(1, "log", key_name=lf.ORIGIN)  # same name, other key
    lines = _genesis_only(log_key, impostor, lf.make_key(0, "authority0"))
    lf.write_bundle(tmp_path, lines, lf.sign_checkpoint_over(lines, log_key))
    with pytest.raises(VerificationError) as info:
        verify_bundle(tmp_path, log_key.verifier(), workers=1)
    assert (info.value.rule, info.value.index) == ("genesis.log_key", 0)


def test_genesis_must_name_the_checkpoint_origin(tmp_path: Path) -> None:
    log_key = lf.make_key(0, "log", key_name=lf.ORIGIN)
    elsewhere = lf.make_key(0, "log", key_name="gongxin.example/other-log")
    lines = _genesis_only(log_key, elsewhere, lf.make_key(0, "authority0"))
    lf.write_bundle(tmp_path, lines, lf.sign_checkpoint_over(lines, log_key))
    with pytest.raises(VerificationError) as info:
        verify_bundle(tmp_path, log_key.verifier(), workers=1)
    assert (info.value.rule, info.value.index) == ("genesis.origin", 0)


def test_an_empty_export_is_not_a_log(tmp_path: Path) -> None:
    log_key = lf.make_key(0, "log", key_name=lf.ORIGIN)
    lf.write_bundle(tmp_path, [], sign_checkpoint(Checkpoint(lf.ORIGIN, 0, EMPTY_ROOT), log_key))
    with pytest.raises(VerificationError) as info:
        verify_bundle(tmp_path, log_key.verifier(), workers=1)
    assert (info.value.rule, info.value.index) == ("genesis.missing", 0)


# -- input errors ----------------------------------------------------------------------------


def test_missing_directory_and_files_are_input_errors(log: lf.BuiltLog, tmp_path: Path) -> None:
    vk = log.log_key.verifier()
    with pytest.raises(InputError):
        verify_bundle(tmp_path / "nope", vk)
    lf.export(log, tmp_path / "a")
    (tmp_path / "a" / "entries.jsonl").unlink()
    with pytest.raises(InputError, match=r"entries\.jsonl"):
        verify_bundle(tmp_path / "a", vk)
    (tmp_path / "a" / "checkpoint").write_text("not a checkpoint\n")
    with pytest.raises(InputError, match=r"entries\.jsonl"):  # input errors come first
        verify_bundle(tmp_path / "a", vk)
    lf.export(log, tmp_path / "b")
    (tmp_path / "b" / "checkpoint").unlink()
    with pytest.raises(InputError, match="checkpoint"):
        verify_bundle(tmp_path / "b", vk)
    with pytest.raises(InputError):
        verify_bundle(tmp_path / "b", vk, workers=0)


def test_log_vkey_in_the_bundle_is_never_trusted(log: lf.BuiltLog, tmp_path: Path) -> None:
    """Replacing log.vkey changes nothing: the verifier uses only the key it is given."""
    lf.export(log, tmp_path)
    (tmp_path / "log.vkey").write_text("garbage\n")
    verify_bundle(tmp_path, log.log_key.verifier(), workers=1)
    (tmp_path / "log.vkey").unlink()
    verify_bundle(tmp_path, log.log_key.verifier(), workers=1)


# -- previous checkpoint ---------------------------------------------------------------------


def test_every_earlier_checkpoint_is_consistent(log: lf.BuiltLog, bundle: Path) -> None:
    assert len(log.checkpoints) > 3
    for size, note in log.checkpoints.items():
        for w in (1, 2):
            report = verify_bundle(
                bundle, log.log_key.verifier(), previous_checkpoint=note, workers=w
            )
            assert report.previous_checkpoint_size == size
    empty = sign_checkpoint(Checkpoint(log.origin, 0, EMPTY_ROOT), log.log_key)
    assert (
        verify_bundle(
            bundle, log.log_key.verifier(), previous_checkpoint=empty
        ).previous_checkpoint_size
        == 0
    )


def test_forked_log_is_inconsistent(log: lf.BuiltLog, bundle: Path, tmp_path: Path) -> None:
    # Same keys, same first entries, then different content: a fork signed by the log key.
    fork = lf.build_log(tmp_path, domain_entries=20)
    checked = 0
    for size, note in fork.checkpoints.items():
        if size > log.size or lf.root_of_lines(log.lines[:size]) == lf.root_of_lines(
            fork.lines[:size]
        ):
            continue
        for w in (1, 2):
            exc = _fails(bundle, log, previous_checkpoint=note, workers=w)
            assert (exc.rule, exc.index) == ("checkpoint.inconsistent", size - 1)
        checked += 1
    assert checked >= 2


def test_rollback_and_foreign_previous_checkpoints(log: lf.BuiltLog, tmp_path: Path) -> None:
    # The export is an old state (10 entries); the auditor already saw a larger checkpoint.
    size = min(s for s in log.checkpoints if s >= 10)
    lf.write_bundle(tmp_path, log.lines[:size], log.checkpoints[size])
    exc = _fails(tmp_path, log, previous_checkpoint=log.checkpoint)
    assert exc.rule == "checkpoint.rollback" and exc.index is None
    other = lf.make_key(7, "log", key_name=log.origin)
    foreign = lf.sign_checkpoint_over(log.lines[:5], other)
    exc = _fails(tmp_path, log, previous_checkpoint=foreign)
    assert exc.rule.startswith("note.") and exc.field == "previous_checkpoint"
    bad_empty = sign_checkpoint(Checkpoint(log.origin, 0, b"\x01" * 32), log.log_key)
    exc = _fails(tmp_path, log, previous_checkpoint=bad_empty)
    assert exc.rule == "checkpoint.inconsistent"


# -- first failing index with workers --------------------------------------------------------


@pytest.mark.parametrize("chunk_lines", [2000, 4])
def test_earlier_stateful_error_wins_over_later_parse_error(
    log: lf.BuiltLog, tmp_path: Path, chunk_lines: int, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = list(log.lines)
    # Entry 12 logged "before" entry 11 (a stateful error), entry 20 is not JSON at all.
    lines[12] = lf.edit_line(
        lines[12], lambda o: o.__setitem__("log_time", "2026-01-01T00:00:00.000000Z")
    )
    lines[20] = b"{not json"
    lf.write_bundle(tmp_path, lines, log.checkpoint)
    monkeypatch.setattr(audit_lines, "CHUNK_LINES", chunk_lines)
    for w in (1, 2):
        exc = _fails(tmp_path, log, workers=w)
        assert (exc.index, exc.rule) == (12, "entry.log_time")
    lines[12] = log.lines[12]
    lf.write_bundle(tmp_path, lines, log.checkpoint)
    for w in (1, 2):
        exc = _fails(tmp_path, log, workers=w)
        assert (exc.index, exc.rule) == (20, "entry.canonical")


def test_workers_without_key_hints_still_verify(
    log: lf.BuiltLog, bundle: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker results are advisory: with no keys known to the workers, every signature is
    verified in the main process instead, and the verdict is the same."""
    monkeypatch.setattr(chunks._Dispatch, "learn", lambda self, found: None)
    monkeypatch.setattr(audit_lines, "CHUNK_LINES", 5)
    reference = _stable(verify_bundle(bundle, log.log_key.verifier(), workers=1))
    assert _stable(verify_bundle(bundle, log.log_key.verifier(), workers=2)) == reference


def _refusing_verify_triples(triples: Any) -> list[bool]:
    """A worker that rejects every signature."""
    return [False] * len(triples)


def test_worker_rejections_are_rechecked(
    log: lf.BuiltLog, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Main-parses mode: a signature a worker rejects is verified again in-process, so a
    valid log stays valid and a bad signature is still named at its own index."""
    monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", 2)
    monkeypatch.setattr(chunks, "verify_triples", _refusing_verify_triples)
    reference = _stable(verify_bundle(bundle, log.log_key.verifier(), workers=1))
    assert _stable(verify_bundle(bundle, log.log_key.verifier(), workers=2)) == reference
    lines = list(log.lines)
    lines[15] = lf.edit_line(
        lines[15],
        lambda o: o["signatures"][0].__setitem__("sig", base64.b64encode(b"\x00" * 64).decode()),
    )
    lines = lf.rechain(lines, 16)
    lf.write_bundle(tmp_path, lines, lf.sign_checkpoint_over(lines, log.log_key))
    exc = _fails(tmp_path, log, workers=2)
    assert (exc.rule, exc.index) == ("signature.invalid", 15)


_REAL_CHECK_CHUNK = chunks.check_chunk


def _lying_check_chunk(
    first: int, chunk: Any, known: dict[str, bytes], origin: str | None
) -> chunks.WorkerResult:
    """A worker that claims every signature verified under a key nobody holds."""
    leaves, verified, err = _REAL_CHECK_CHUNK(first, chunk, known, origin)
    return leaves, [tuple(b"\x11" * 32 for _ in v) for v in verified], err


def test_worker_claims_under_another_key_are_rechecked(
    log: lf.BuiltLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers-parse mode: a worker result naming a key that is not the registry's key is
    not trusted: check_and_apply verifies that signature again in the main process."""
    monkeypatch.setattr(chunks, "MAIN_PARSES_UP_TO", 0)
    lines = list(log.lines)
    lines[15] = lf.edit_line(
        lines[15],
        lambda o: o["signatures"][0].__setitem__("sig", base64.b64encode(b"\x00" * 64).decode()),
    )
    lines = lf.rechain(lines, 16)
    lf.write_bundle(tmp_path, lines, lf.sign_checkpoint_over(lines, log.log_key))
    monkeypatch.setattr(chunks, "check_chunk", _lying_check_chunk)
    exc = _fails(tmp_path, log, workers=2)
    assert (exc.rule, exc.index) == ("signature.invalid", 15)


# -- light mode ------------------------------------------------------------------------------


def test_inclusion_valid_for_every_entry(log: lf.BuiltLog) -> None:
    vk = log.log_key.verifier()
    for i in range(log.size):
        proof = lf.inclusion_proof_json(log.lines, i)
        report = verify_inclusion_file(log.lines[i] + b"\n", proof, log.checkpoint, vk)
        assert report.leaf_index == i and report.tree_size == log.size


def test_inclusion_failures(log: lf.BuiltLog) -> None:
    vk = log.log_key.verifier()
    i = 17
    proof = lf.inclusion_proof_json(log.lines, i)
    line = log.lines[i]

    def fails(line: bytes, proof: dict[str, Any], note: str = log.checkpoint) -> VerificationError:
        with pytest.raises(VerificationError) as info:
            verify_inclusion_file(line, proof, note, vk)
        return info.value

    bad_path = dict(
        proof,
        inclusion_path=[base64.b64encode(b"\x07" * 32).decode(), *proof["inclusion_path"][1:]],
    )
    assert fails(line, bad_path).rule == "merkle.inclusion"
    assert (
        fails(line, dict(proof, inclusion_path=proof["inclusion_path"][:-1])).rule
        == "merkle.inclusion"
    )
    other_line = log.lines[i + 1]
    assert fails(other_line, proof).rule == "inclusion.index"
    assert fails(other_line, dict(proof, leaf_index=i + 1)).rule == "merkle.inclusion"
    edited = lf.edit_line(line, lambda o: o.__setitem__("log_time", o["log_time"][:-2] + "9Z"))
    assert fails(edited, proof).rule == "merkle.inclusion"
    assert fails(line[:-1], proof).rule == "entry.canonical"
    assert fails(line, dict(proof, tree_size=log.size - 1)).rule == "inclusion.tree_size"
    older = log.checkpoints[min(s for s in log.checkpoints if s > i + 1)]
    assert fails(line, proof, older).rule == "inclusion.tree_size"
    foreign = lf.sign_checkpoint_over(log.lines, lf.make_key(5, "log", key_name=log.origin))
    assert fails(line, proof, foreign).rule.startswith("note.")
    with pytest.raises(InputError):
        verify_inclusion_file(line, {"leaf_index": i}, log.checkpoint, vk)
    with pytest.raises(InputError):
        verify_inclusion_file(line, dict(proof, inclusion_path=["not base64!"]), log.checkpoint, vk)
