"""C2SP tlog-proof files (FORMAT.md §15): the format (:mod:`verifier.witness.tlog_proof`),
``gongxin prove tlog-proof`` and ``gongxin-verify proof`` (exit 0/1/2 on any input)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_server import DemoTemplate, live_server
from tests.witnessed_demo import GONGXIN, VERIFY, Demo, build_demo, key_files, run, witnesses
from verifier.cli.main import main
from verifier.core.errors import InputError
from verifier.witness.tlog_proof import (
    MAX_FILE_BYTES,
    MAX_PROOF_LINES,
    TlogProof,
    encode_tlog_proof,
    parse_tlog_proof,
)

W = witnesses(3)
CP = "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n— a b\n"
H = [bytes([i]) * 32 for i in range(64)]

# The spec's example (https://c2sp.org/tlog-proof), signature lines shortened to valid base64.
SPEC = b"""c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\xe2\x80\x94 example.com/fancylog hI2DJw==
\xe2\x80\x94 witness1.example mJirIklj==
"""


# -- the format ------------------------------------------------------------------------------


def test_spec_example_parses() -> None:
    p = parse_tlog_proof(SPEC)
    assert p.index == 73894 and len(p.path) == 5
    assert p.path[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert p.extra is not None and p.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert p.checkpoint == SPEC[SPEC.index(b"example.com/fancylog") :]  # verbatim
    assert encode_tlog_proof(p.index, p.path, p.checkpoint, p.extra) == SPEC


def test_structure() -> None:
    data = encode_tlog_proof(5, H[:2], CP, b"line")
    assert data.decode() == (
        "c2sp.org/tlog-proof@v1\nextra bGluZQ==\nindex 5\n"
        f"{base64.b64encode(H[0]).decode()}\n{base64.b64encode(H[1]).decode()}\n\n{CP}"
    )
    assert encode_tlog_proof(0, [], CP).decode() == f"c2sp.org/tlog-proof@v1\nindex 0\n\n{CP}"
    assert parse_tlog_proof(encode_tlog_proof(0, [], CP)) == TlogProof(0, (), CP.encode(), None)


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, 2**63 - 1),
    path=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_PROOF_LINES),
    extra=st.none() | st.binary(min_size=1, max_size=2000),
    origin=st.from_regex(r"[a-z0-9./-]{1,40}", fullmatch=True),
)
def test_round_trip(index: int, path: list[bytes], extra: bytes | None, origin: str) -> None:
    note = f"{origin}\n3\n{base64.b64encode(H[3]).decode()}\n\n— {origin} AAAA\n"
    p = parse_tlog_proof(encode_tlog_proof(index, path, note, extra))
    assert p == TlogProof(index, tuple(path), note.encode(), extra)


BAD = {
    "header": b"c2sp.org/tlog-proof@v2\nindex 0\n\nx\n",
    "header_crlf": b"c2sp.org/tlog-proof@v1\r\nindex 0\n\nx\n",
    "leading_zero": b"c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
    "negative": b"c2sp.org/tlog-proof@v1\nindex -1\n\nx\n",
    "plus": b"c2sp.org/tlog-proof@v1\nindex +1\n\nx\n",
    "too_big": b"c2sp.org/tlog-proof@v1\nindex 9223372036854775808\n\nx\n",
    "unicode_digit": "c2sp.org/tlog-proof@v1\nindex ٣\n\nx\n".encode(),
    "no_index": b"c2sp.org/tlog-proof@v1\n\nx\n",
    "two_spaces": b"c2sp.org/tlog-proof@v1\nindex  1\n\nx\n",
    "extra_empty": b"c2sp.org/tlog-proof@v1\nextra \nindex 0\n\nx\n",
    "extra_unpadded": b"c2sp.org/tlog-proof@v1\nextra bGluZQ\nindex 0\n\nx\n",
    "extra_stray_bits": b"c2sp.org/tlog-proof@v1\nextra bGluZR==\nindex 0\n\nx\n",
    "extra_after_index": b"c2sp.org/tlog-proof@v1\nindex 0\nextra bGluZQ==\n\nx\n",
    "short_hash": b"c2sp.org/tlog-proof@v1\nindex 0\n" + base64.b64encode(H[1][:31]) + b"\n\nx\n",
    "noncanonical_hash": b"c2sp.org/tlog-proof@v1\nindex 0\n"
    + base64.b64encode(H[1])[:-2]
    + b"F=\n\nx\n",
    "no_empty_line": b"c2sp.org/tlog-proof@v1\nindex 0\n" + base64.b64encode(H[1]) + b"\n",
    "no_checkpoint": b"c2sp.org/tlog-proof@v1\nindex 0\n\n",
    "empty": b"",
    "too_many_lines": b"c2sp.org/tlog-proof@v1\nindex 0\n"
    + b"".join(base64.b64encode(h) + b"\n" for h in H[:64])
    + b"\nx\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_strict(name: str) -> None:
    with pytest.raises(InputError, match=r"line \d+: |proof: "):
        parse_tlog_proof(BAD[name])


def test_limits() -> None:
    ok = encode_tlog_proof(0, H[:MAX_PROOF_LINES], CP, b"x" * 65_535)
    assert len(parse_tlog_proof(ok).path) == MAX_PROOF_LINES
    with pytest.raises(InputError):
        encode_tlog_proof(0, [], CP, b"x" * 65_536)
    with pytest.raises(InputError):
        encode_tlog_proof(0, H[:64], CP)
    with pytest.raises(InputError, match="larger than"):
        parse_tlog_proof(b"c2sp.org/tlog-proof@v1\nindex 0\n\n" + b"a" * MAX_FILE_BYTES)
    big = b"c2sp.org/tlog-proof@v1\nextra " + base64.b64encode(b"x" * 65_536) + b"\nindex 0\n\nx\n"
    with pytest.raises(InputError, match="line 2: extra is longer"):
        parse_tlog_proof(big)


# -- gongxin prove tlog-proof | gongxin-verify proof ------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo(tmp_path_factory.mktemp("proof-demo"), entries=80)


@pytest.fixture(scope="module")
def proof(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("proof") / "e13.tlog-proof"
    r = run(GONGXIN, "prove", "tlog-proof", "13", "-o", out, "--db", demo.db)
    assert r.returncode == 0, r.stderr
    return out


def verify_proof(demo: Demo, path: Path, *opts: str | Path) -> tuple[int, str, str]:
    r = run(VERIFY, "proof", path, "--log-key", demo.log_vkey, *opts)
    return r.returncode, r.stdout, r.stderr


def test_prove_then_verify(demo: Demo, proof: Path) -> None:
    data = proof.read_bytes()
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nextra ")
    parsed = parse_tlog_proof(data)
    entry = run(GONGXIN, "entry", "13", "--db", demo.db)
    assert parsed.extra == entry.stdout.rstrip("\n").encode()
    assert parsed.checkpoint.decode() == demo.note  # the newest checkpoint, log-signed only
    rc, out, err = verify_proof(demo, proof)
    assert rc == 0, err
    first, note = out.splitlines()
    assert re.fullmatch(
        r"✓ 验证通过 included: entry 13 \([a-z_.]+\) is in the log of 80 entries, origin \S+",
        first,
    )
    assert "未要求见证副署" in note and "only the log's signature" in note
    stdout = run(GONGXIN, "prove", "tlog-proof", "13", "--db", demo.db).stdout
    assert stdout.encode() == data


def test_prove_options(demo: Demo, proof: Path, tmp_path: Path) -> None:
    """``--size`` an earlier checkpoint; ``--witness-policy`` the newest the quorum cosigned."""
    none = tmp_path / "none"
    none.write_text(f"witness A {W[0].public}\nquorum none\n", encoding="utf-8")
    r = run(GONGXIN, "prove", "tlog-proof", "13", "--witness-policy", none, "--db", demo.db)
    assert r.returncode == 0 and r.stdout.encode() == proof.read_bytes(), r.stderr
    need = tmp_path / "need"
    need.write_text(f"witness A {W[0].public}\nquorum A\n", encoding="utf-8")
    r = run(GONGXIN, "prove", "tlog-proof", "13", "--witness-policy", need, "--db", demo.db)
    assert r.returncode == 2 and "no recent checkpoint is cosigned" in r.stderr
    for args in (("80",), ("13", "--size", "12"), ("13", "--size", "81")):
        r = run(GONGXIN, "prove", "tlog-proof", *args, "--db", demo.db)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr


def _rewrite(proof: Path, target: Path, **changes: object) -> Path:
    p = parse_tlog_proof(proof.read_bytes())
    fields = {"index": p.index, "path": p.path, "checkpoint": p.checkpoint, "extra": p.extra}
    fields.update(changes)
    target.write_bytes(encode_tlog_proof(**fields))  # type: ignore[arg-type]
    return target


def test_tampering_fails(demo: Demo, proof: Path, tmp_path: Path) -> None:
    p = parse_tlog_proof(proof.read_bytes())
    assert p.extra is not None
    note = p.checkpoint.decode()
    size_line = note.split("\n")[1]
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "entry": (dict(extra=p.extra.replace(b'"log_time":"20', b'"log_time":"21', 1)), "merkle"),
        "entry_syntax": (dict(extra=p.extra.replace(b'"index":13', b'"index":13 ', 1)), "["),
        "path": (dict(path=(H[9], *p.path[1:])), "merkle.inclusion"),
        "short_path": (dict(path=p.path[:-1]), "merkle.inclusion"),
        "index": (dict(index=14), "inclusion.index"),
        "checkpoint": (
            dict(checkpoint=note.replace(f"\n{size_line}\n", f"\n{int(size_line) + 1}\n", 1)),
            "note.",
        ),
    }
    for name, (change, rule) in cases.items():
        rc, out, err = verify_proof(demo, _rewrite(proof, tmp_path / name, **change))
        assert rc == 1, (name, err)
        assert out == "" and len(err.splitlines()) == 1 and rule in err, (name, err)


def test_no_entry_line_is_input_error(demo: Demo, proof: Path, tmp_path: Path) -> None:
    rc, _, err = verify_proof(demo, _rewrite(proof, tmp_path / "p", extra=None))
    assert rc == 2 and "no entry line" in err


def test_witnesses(demo: Demo, proof: Path, tmp_path: Path) -> None:
    p = parse_tlog_proof(proof.read_bytes())
    body = p.checkpoint[: p.checkpoint.index(b"\n\n") + 1]
    keys = key_files(tmp_path, W)
    opts = [o for k in keys for o in ("--witness-key", k)]
    cosigned = p.checkpoint + "".join(w.cosign(body, 1_700_000_000) for w in W[:2]).encode()
    target = _rewrite(proof, tmp_path / "cosigned", checkpoint=cosigned)
    rc, out, err = verify_proof(demo, target, *opts, "--quorum", "2")
    assert rc == 0, err
    assert out.splitlines()[1].startswith("见证副署 cosigned by w0.example+")
    rc, _, err = verify_proof(demo, target, *opts)  # default quorum: all three
    assert rc == 1 and "[cosignature.quorum]" in err and len(err.splitlines()) == 1
    rc, _, err = verify_proof(demo, target, *opts, "--witness-policy", keys[0])
    assert rc == 2


# -- fuzzing: exit 0, 1 or 2 on any input -----------------------------------------------------


def _exit_code(path: Path, data: bytes, key: Path, capsys: pytest.CaptureFixture[str]) -> int:
    path.write_bytes(data)
    rc = main(["proof", str(path), "--log-key", str(key)])
    err = capsys.readouterr().err
    assert rc in (0, 1, 2), err
    assert "内部错误" not in err
    return rc


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes(
    data: bytes, demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(tmp_path / "f", data, demo.log_vkey, capsys) == 2 or data.startswith(
        b"c2sp.org/tlog-proof@v1\n"
    )


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from("flip del ins cut dup"), st.integers(0, 10**6), st.binary(max_size=8)
        ),
        min_size=1,
        max_size=4,
    )
)
def test_fuzz_mutated_proofs(
    ops: list[tuple[str, int, bytes]],
    demo: Demo,
    proof: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = bytearray(proof.read_bytes())
    for op, at, blob in ops:
        i = at % (len(data) + 1)
        if op == "flip" and i < len(data):
            data[i] ^= (blob[0] if blob else 1) or 1
        elif op == "del":
            del data[i : i + 1 + len(blob)]
        elif op == "ins":
            data[i:i] = blob
        elif op == "cut":
            del data[i:]
        elif op == "dup":
            lines = bytes(data).split(b"\n")
            k = at % len(lines)
            lines.insert(k, lines[k])
            data = bytearray(b"\n".join(lines))
    _exit_code(tmp_path / "m", bytes(data), demo.log_vkey, capsys)


# -- FORMAT.md §15 worked example -------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def test_format_worked_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The policy, proof and output printed in FORMAT.md §15 are real: the proof verifies."""
    text = (REPO / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("**Worked example** (checked by `tests/test_tlog_proof.py`)") :]
    section = section[: section.index("\n## 16.")]
    policy, proof, session = re.findall(r"```\n(.*?)```", section, flags=re.S)
    (tmp_path / "policy").write_text(policy, encoding="utf-8")
    (tmp_path / "e1.tlog-proof").write_text(proof, encoding="utf-8")
    key = re.search(r"--log-key (\S+)", session)
    assert key is not None
    rc = main(
        [
            "proof",
            str(tmp_path / "e1.tlog-proof"),
            "--witness-policy",
            str(tmp_path / "policy"),
            "--log-key",
            key.group(1),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines() == session.splitlines()[2:]
    parsed = parse_tlog_proof(proof.encode())
    assert parsed.extra is not None and len(parsed.extra) == 540


# -- GET /v1/entries/{index}/tlog-proof ------------------------------------------------------


def test_api_route(demo: Demo, proof: Path, tmp_path: Path) -> None:
    """A real ``gongxin serve`` of the demo log serves the same bytes as the CLI."""
    template = DemoTemplate(Path(demo.db.removeprefix("sqlite:///")), demo.log_vkey.parent, None)
    with live_server(template, tmp_path / "srv") as server, server.client() as client:
        r = client.get("/v1/entries/13/tlog-proof")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        assert r.content == proof.read_bytes()
        assert client.get("/v1/entries/80/tlog-proof").status_code == 404
        assert client.get("/v1/entries/-1/tlog-proof").status_code in (400, 422)
    (tmp_path / "api.tlog-proof").write_bytes(r.content)
    assert verify_proof(demo, tmp_path / "api.tlog-proof")[0] == 0
