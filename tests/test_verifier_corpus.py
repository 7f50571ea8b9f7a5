"""Every case of ``tests/corpus/`` (README.md there) gets the exit status and the rule or
message its ``expected.json`` states, in one line on stderr — never exit 3, never a hang."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_fuzz_verifier import verify

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def test_the_corpus_is_there_and_small() -> None:
    assert len(CASES) >= 18
    assert sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file()) < 400_000


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_corpus_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text("utf-8"))
    target = case / "bundle.zip" if (case / "bundle.zip").is_file() else case
    status, err = verify(target, key=CORPUS / "log.vkey")
    assert status == expected["exit"], err
    (line,) = [x for x in err.splitlines() if x.startswith("✗")]
    if "rule" in expected:
        assert f"[{expected['rule']}]" in line, line
    if "index" in expected:
        assert re.search(rf"\bentry {expected['index']}\b", line), line
    if "message" in expected:
        assert expected["message"] in line, line
    if status == 2:
        assert line.startswith("✗ 输入错误 input error:"), line
