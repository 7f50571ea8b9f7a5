"""The committed export bundles of ``tests/bundles/``: the generator rebuilds them byte for
byte, ``gongxin-verify`` accepts the good one and gives every broken variant the verdict (rule
and entry index) its ``expected.json`` states, in its one line on stderr."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.bundles import generate
from verifier.cli.main import EXIT_INVALID, EXIT_VALID, main

BUNDLES = generate.HERE
KEYS = BUNDLES / "keys"
VARIANTS = sorted(p for p in (BUNDLES / "broken").iterdir() if p.is_dir())


def _committed() -> dict[str, bytes]:
    """Every file under the generated directories, by path relative to ``tests/bundles``."""
    out = {}
    for top in generate.GENERATED_DIRS:
        for path in sorted((BUNDLES / top).rglob("*")):
            if path.is_file():
                out[path.relative_to(BUNDLES).as_posix()] = path.read_bytes()
    return out


def _run(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> tuple[int, str, str]:
    """Run ``gongxin-verify`` on ``directory`` with the trusted keys of ``keys/`` (never the
    bundle's own ``log.vkey``); returns (exit status, stdout, stderr)."""
    argv = [str(directory), "--log-key", str(KEYS / "log.vkey"), "--workers", "1"]
    for key in sorted(KEYS.glob("authority-*.vkey")):
        argv += ["--authority-key", str(key)]
    status = main([*argv, *extra])
    out, err = capsys.readouterr()
    return status, out, err


def test_generator_rebuilds_the_committed_files_byte_for_byte() -> None:
    committed, rebuilt = _committed(), generate.corpus()
    assert sorted(committed) == sorted(rebuilt), "run: python -m tests.bundles.generate"
    changed = [rel for rel in rebuilt if committed[rel] != rebuilt[rel]]
    assert not changed, f"stale files {changed}; run: python -m tests.bundles.generate"


def test_the_corpus_stays_small() -> None:
    assert sum(len(data) for data in _committed().values()) < 300_000


def test_good_bundle_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, BUNDLES / "good")
    assert status == EXIT_VALID, err
    lines = (BUNDLES / "good" / "entries.jsonl").read_bytes().count(b"\n")
    assert out.startswith(f"✓ 验证通过 valid: {lines} entries"), out
    assert err == ""


def test_good_bundle_covers_the_advertised_kinds() -> None:
    kinds = [
        json.loads(line)["statement"]["kind"]
        for line in (BUNDLES / "good" / "entries.jsonl").read_text("utf-8").splitlines()
    ]
    for kind in (
        "log.genesis",
        "key.grant",
        "key.revoke",
        "policy.set",
        "fund.appropriate",
        "contract.award",
        "payment.propose",
        "payment.approve",
        "credit.award",
        "credit.redeem",
    ):
        assert kind in kinds, kind


def test_every_variant_is_documented() -> None:
    readme = (BUNDLES / "README.md").read_text("utf-8")
    assert VARIANTS, "no broken variants"
    for variant in VARIANTS:
        assert f"`{variant.name}`" in readme, variant.name


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_broken_variant_gets_its_expected_verdict(
    variant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected: dict[str, Any] = json.loads((variant / "expected.json").read_text("utf-8"))
    extra = []
    if "previous_checkpoint" in expected:
        extra = ["--previous-checkpoint", str(variant / expected["previous_checkpoint"])]
    status, out, err = _run(capsys, variant, *extra)
    assert status == EXIT_INVALID, (status, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err  # one line
    verdict = re.match(r"✗ 验证失败 INVALID(?: at entry (\d+))?: \[([a-z_.]+)\] ", err)
    assert verdict is not None, err
    index = int(verdict[1]) if verdict[1] is not None else None
    assert (verdict[2], index) == (expected["rule"], expected["index"]), err
