"""``gongxin-verify --witness-key … --quorum N`` and ``--witness-policy FILE`` (FORMAT.md §15):
a real exported demo bundle whose checkpoint the test cosigns with
:class:`witness.keys.WitnessSigner`; bundle mode, ``--state`` and light mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.witnessed_demo import (
    GONGXIN,
    VERIFY,
    Demo,
    build_demo,
    cosigned_bundle,
    key_files,
    run,
    witnesses,
)
from verifier.cli.main import main
from verifier.core.keys import VerifierKey, compute_key_id
from witness.keys import WitnessSigner

W = witnesses(4)  # w0..w2 are the configured witnesses; w3 is unknown to the verifier
TS = 1_760_000_000
Cap = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo(tmp_path_factory.mktemp("quorum-demo"))


@pytest.fixture(scope="module")
def wkeys(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return key_files(tmp_path_factory.mktemp("wkeys"), W[:3])


def verify(
    demo: Demo, bundle: Path, *opts: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    rc = main([str(bundle), "--log-key", str(demo.log_vkey), "--workers", "1", *opts])
    out = capsys.readouterr()
    return rc, out.out, out.err


def keys_opts(wkeys: list[str], quorum: int | None = None) -> list[str]:
    opts = [o for k in wkeys for o in ("--witness-key", k)]
    return opts + ([] if quorum is None else ["--quorum", str(quorum)])


def sign(demo: Demo, *signers: WitnessSigner) -> list[str]:
    return [s.cosign(demo.body, TS + i) for i, s in enumerate(signers)]


# -- bundle mode ----------------------------------------------------------------------------


def test_quorum_met(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    b = cosigned_bundle(demo, tmp_path / "b", sign(demo, W[0], W[2]))
    rc, out, err = verify(
        demo, b, *keys_opts(wkeys, 2), "--json", str(tmp_path / "r.json"), capsys=capsys
    )
    assert rc == 0, err
    assert "见证副署 cosigned by w0.example+" in out and "w2.example+" in out
    assert "quorum: 2 of w0.example+" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["witnesses"]["cosigned_by"] == [
        f"{W[0].public.name}+{W[0].public.key_id_hex}",
        f"{W[2].public.name}+{W[2].public.key_id_hex}",
    ]
    assert report["witnesses"]["cosigned_at"] == [TS, TS + 1]


def test_quorum_not_met(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    b = cosigned_bundle(demo, tmp_path / "b", sign(demo, W[1]))
    rc, out, err = verify(demo, b, *keys_opts(wkeys, 2), capsys=capsys)
    assert rc == 1 and out == ""
    (line,) = err.splitlines()
    assert "[cosignature.quorum] 见证副署不足" in line
    assert f"cosigned by w1.example+{W[1].public.key_id_hex}," in line
    assert "quorum: 2 of w0.example+" in line
    # Default quorum: every key given.
    b2 = cosigned_bundle(demo, tmp_path / "b2", sign(demo, W[0], W[1]))
    assert verify(demo, b2, *keys_opts(wkeys), capsys=capsys)[0] == 1
    assert verify(demo, b2, *keys_opts(wkeys[:2]), capsys=capsys)[0] == 0
    # A plain log-signed bundle has no cosignatures at all.
    rc, _, err = verify(demo, demo.bundle, *keys_opts(wkeys, 1), capsys=capsys)
    assert rc == 1 and "cosigned by none" in err


def test_bad_cosignature(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    other = demo.body[:-2] + b"x\n"  # another root
    lines = [W[0].cosign(other, TS), *sign(demo, W[1], W[2])]
    b = cosigned_bundle(demo, tmp_path / "b", lines)
    rc, _, err = verify(demo, b, *keys_opts(wkeys, 2), capsys=capsys)
    assert rc == 1, err
    (line,) = err.splitlines()
    assert "[cosignature.signature] 见证副署无效" in line and "w0.example" in line


def test_unknown_witnesses_ignored(
    demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap
) -> None:
    bogus = W[3].cosign(b"not the checkpoint\n", TS)  # by a key the verifier does not know
    b = cosigned_bundle(demo, tmp_path / "b", [bogus, *sign(demo, W[3], W[0], W[1])])
    assert verify(demo, b, *keys_opts(wkeys, 2), capsys=capsys)[0] == 0
    b2 = cosigned_bundle(demo, tmp_path / "b2", [bogus, *sign(demo, W[3], W[0])])
    rc, _, err = verify(demo, b2, *keys_opts(wkeys, 2), capsys=capsys)
    assert rc == 1 and "w3" not in err


def test_duplicate_lines_count_once(
    demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap
) -> None:
    line = W[0].cosign(demo.body, TS)
    b = cosigned_bundle(demo, tmp_path / "b", [line, line, line])
    assert verify(demo, b, *keys_opts(wkeys, 2), capsys=capsys)[0] == 1
    assert verify(demo, b, *keys_opts(wkeys, 1), capsys=capsys)[0] == 0
    # The same key given twice is one witness.
    assert verify(demo, b, *keys_opts([wkeys[0], wkeys[0]]), capsys=capsys)[0] == 0


def test_policy_file(demo: Demo, tmp_path: Path, capsys: Cap) -> None:
    log_line = f"log {demo.log_vkey.read_text(encoding='utf-8').strip()}\n"
    body = "".join(f"witness {n} {s.public}\n" for n, s in zip("ABC", W, strict=False))
    policy = tmp_path / "policy"
    policy.write_text(log_line + body + "group gov any A\ngroup all 2 gov B C\nquorum all\n")
    ok = cosigned_bundle(demo, tmp_path / "ok", sign(demo, W[0], W[2]))
    rc, out, _ = verify(demo, ok, "--witness-policy", str(policy), capsys=capsys)
    assert rc == 0 and "cosigned by A, C (quorum all: 2 of gov, B, C)" in out
    bad = cosigned_bundle(demo, tmp_path / "bad", sign(demo, W[2]))
    rc, _, err = verify(demo, bad, "--witness-policy", str(policy), capsys=capsys)
    assert rc == 1 and "cosigned by C, which does not satisfy quorum all" in err
    # A policy for another log is refused before anything is verified.
    other = tmp_path / "other"
    pk = b"\x07" * 32
    another = VerifierKey("other.example", compute_key_id("other.example", pk), pk)
    other.write_text(f"log {another}\n" + body + "quorum none\n")
    rc, _, err = verify(demo, ok, "--witness-policy", str(other), capsys=capsys)
    assert rc == 2 and "do not name the --log-key" in err


def test_usage_errors(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    policy = tmp_path / "p"
    policy.write_text("quorum none\n")
    cases = [
        ["--witness-policy", str(policy), "--witness-key", wkeys[0]],
        ["--witness-policy", str(policy), "--quorum", "1"],
        ["--quorum", "1"],
        [*keys_opts(wkeys, 4)],
        ["--witness-key", "not-a-key"],
        ["--witness-key", str(demo.log_vkey)],  # a log key (type 0x01), not a witness key
        ["--quorum", "-1", *keys_opts(wkeys)],
        ["--witness-policy", str(tmp_path / "missing")],
    ]
    for opts in cases:
        rc, _, err = verify(demo, demo.bundle, *opts, capsys=capsys)
        assert rc == 2, (opts, err)
        assert len(err.splitlines()) == 1, err


def test_policy_quorum_none_passes(demo: Demo, tmp_path: Path, capsys: Cap) -> None:
    policy = tmp_path / "p"
    policy.write_text(f"witness A {W[0].public}\nquorum none\n")
    rc, out, _ = verify(demo, demo.bundle, "--witness-policy", str(policy), capsys=capsys)
    assert rc == 0 and "cosigned by — (quorum none)" in out


def test_report_names_witnesses(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    b = cosigned_bundle(demo, tmp_path / "b", sign(demo, W[0]))
    rc, _, err = verify(
        demo, b, *keys_opts(wkeys, 1), "--report", str(tmp_path / "rep"), capsys=capsys
    )
    assert rc == 0, err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    rep = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    name = f"w0.example+{W[0].public.key_id_hex}"
    assert f"| 见证副署 Witnesses | {name} (quorum: 1 of" in md
    assert "见证副署 Witnesses" in html and name in html
    assert rep["verification"]["witnesses"]["cosigned_by"] == [name]


# -- --state ---------------------------------------------------------------------------------


def test_state_requires_quorum(demo: Demo, wkeys: list[str], tmp_path: Path, capsys: Cap) -> None:
    state = tmp_path / "state.json"
    few = cosigned_bundle(demo, tmp_path / "few", sign(demo, W[0]))
    rc, _, err = verify(demo, few, *keys_opts(wkeys, 2), "--state", str(state), capsys=capsys)
    assert rc == 1 and "[cosignature.quorum]" in err
    assert not state.exists()  # nothing replayed, no state written
    ok = cosigned_bundle(demo, tmp_path / "ok", sign(demo, W[0], W[1]))
    rc, out, err = verify(demo, ok, *keys_opts(wkeys, 2), "--state", str(state), capsys=capsys)
    assert rc == 0 and state.exists() and "见证副署 cosigned by" in out, err
    before = state.read_bytes()
    rc, out, _ = verify(demo, ok, *keys_opts(wkeys, 2), "--state", str(state), capsys=capsys)
    assert rc == 0 and "no new entries" in out
    rc, _, _ = verify(demo, few, *keys_opts(wkeys, 2), "--state", str(state), capsys=capsys)
    assert rc == 1 and state.read_bytes() == before


# -- light mode ------------------------------------------------------------------------------


def test_light_mode(demo: Demo, wkeys: list[str], tmp_path: Path) -> None:
    """As subprocesses: ``gongxin entry`` / ``gongxin prove inclusion`` feed
    ``gongxin-verify inclusion`` with a cosigned checkpoint."""
    line = run(GONGXIN, "entry", "7", "--db", demo.db)
    proof = run(GONGXIN, "prove", "inclusion", "7", "--db", demo.db)
    assert line.returncode == 0 and proof.returncode == 0, line.stderr + proof.stderr
    (tmp_path / "line").write_text(line.stdout, encoding="utf-8")
    (tmp_path / "proof.json").write_text(proof.stdout, encoding="utf-8")
    for name, signers in (("ok", (W[0], W[1])), ("few", (W[1],))):
        cp = tmp_path / f"{name}.checkpoint"
        cp.write_text(demo.note + "".join(sign(demo, *signers)), encoding="utf-8")
        r = run(
            VERIFY,
            "inclusion",
            tmp_path / "line",
            tmp_path / "proof.json",
            cp,
            "--log-key",
            demo.log_vkey,
            *keys_opts(wkeys, 2),
        )
        if name == "ok":
            assert r.returncode == 0, r.stderr
            assert "entry 7 is in the log" in r.stdout and "见证副署 cosigned by w0" in r.stdout
        else:
            assert r.returncode == 1 and "[cosignature.quorum]" in r.stderr
            assert len(r.stderr.splitlines()) == 1
