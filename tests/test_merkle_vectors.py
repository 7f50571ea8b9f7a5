"""RFC 6962 / RFC 9162 proof-verification vectors (inclusion and consistency).

The vectors are transparency-dev/merkle's, copied into ``tests/vectors/rfc6962/`` (origin and
licence: ``tests/vectors/README.md``). One test case per JSON file; ``wantErr`` vectors must raise
:class:`VerificationError`, the others must verify.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS_DIR
from verifier.core.errors import VerificationError
from verifier.core.merkle import verify_consistency, verify_inclusion

VECTOR_DIR = VECTORS_DIR / "rfc6962"
VECTOR_FILES = sorted(VECTOR_DIR.rglob("*.json")) if VECTOR_DIR.is_dir() else []
MIN_VECTORS = 184  # the directory holds 196 JSON vectors (98 inclusion, 98 consistency)


def _rel(path: Path) -> str:
    return path.relative_to(VECTOR_DIR).as_posix()


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the vector set is well-formed
        raise AssertionError(f"bad base64 in vector: {value!r}") from exc


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _run(vector: dict[str, Any]) -> None:
    """Verify one vector; raises VerificationError when verification fails."""
    proof = [_b64(p) for p in vector.get("proof") or []]
    if "leafIdx" in vector:
        verify_inclusion(
            _b64(vector["leafHash"]),
            vector["leafIdx"],
            vector["treeSize"],
            proof,
            _b64(vector["root"]),
        )
    elif "size1" in vector:
        verify_consistency(
            vector["size1"],
            vector["size2"],
            proof,
            _b64(vector["root1"]),
            _b64(vector["root2"]),
        )
    else:  # pragma: no cover
        raise AssertionError(f"unknown vector kind: {sorted(vector)}")


def test_vector_directory_is_complete() -> None:
    assert VECTOR_DIR.is_dir(), f"RFC 6962 vectors not found at {VECTOR_DIR}"
    kinds = {"inclusion": 0, "consistency": 0}
    for path in VECTOR_FILES:
        kinds[_rel(path).split("/", 1)[0]] += 1
    assert len(VECTOR_FILES) >= MIN_VECTORS, f"only {len(VECTOR_FILES)} vectors in {VECTOR_DIR}"
    assert kinds["inclusion"] > 0 and kinds["consistency"] > 0, kinds


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[_rel(p) for p in VECTOR_FILES])
def test_vector(path: Path) -> None:
    vector = _load(path)
    rule = "merkle.inclusion" if "leafIdx" in vector else "merkle.consistency"
    if vector["wantErr"]:
        with pytest.raises(VerificationError) as info:
            _run(vector)
        assert info.value.rule == rule
        assert info.value.detail
    else:
        _run(vector)
