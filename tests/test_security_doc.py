"""Every claim in docs/SECURITY.md names a test, and every test it names exists.

References are ``file.py::function`` (``tests/`` implied) or ``::function`` for another test
of the file named just before."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "SECURITY.md"
_REF = re.compile(r"`(?:(test_\w+\.py))?::(test_\w+)`")


def _references() -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    current = ""
    for match in _REF.finditer(DOC.read_text(encoding="utf-8")):
        current = match.group(1) or current
        assert current, f"{match.group(0)} follows no file name"
        refs.append((current, match.group(2)))
    return refs


def test_the_threat_model_names_tests() -> None:
    assert len(_references()) >= 40


def test_every_named_test_exists() -> None:
    missing = []
    for file, func in _references():
        path = REPO / "tests" / file
        if not path.is_file() or not re.search(rf"^def {func}\(", path.read_text("utf-8"), re.M):
            missing.append(f"{file}::{func}")
    assert not missing, f"docs/SECURITY.md names tests that do not exist: {missing}"
