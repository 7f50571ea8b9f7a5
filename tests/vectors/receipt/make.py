"""Rebuild the receipt test vector in this directory from the real ledger, byte for byte.

    .venv/bin/python tests/vectors/receipt/make.py           # (re)write the files
    .venv/bin/python tests/vectors/receipt/make.py --check   # exit 1 if a file differs

The log is :func:`tests.ledger_fixtures.standard_ledger` (keys from fixed seeds, a step
clock, counted statement ids: two runs write identical logs). The good receipt is the API's
reply (:func:`api.receipts.receipts_json`) to the append of entry :data:`INDEX`, a
``contract.award`` naming no resident, against the checkpoint of that append. Each broken
variant alters one thing; ``expected.json`` names the rule and field each must fail with
(:func:`verifier.core.receipt.verify_receipt`). Cost: builds a 25-entry SQLite log (< 1 s).
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
#: The entry whose receipt is the vector (appended in a batch, so the path has 4 hashes).
INDEX = 13
#: Same name as the log key, another key: a checkpoint it signs must not open.
OTHER_KEY_LABEL = "receipt-vector-other-log"


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _flip_b64(text: str, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode("ascii")


def build() -> dict[str, bytes]:
    """Every file of the vector (name -> bytes), computed afresh in a temporary directory."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from api.receipts import receipts_json
    from ledger.signing.notes import sign_note
    from tests.ledger_fixtures import key, standard_ledger

    with tempfile.TemporaryDirectory() as tmp:
        env = standard_ledger(Path(tmp))
        try:
            good = receipts_json(env.ledger, [env.receipts[INDEX]])[0]
        finally:
            env.ledger.close()
    note = good["checkpoint"]
    other = key(OTHER_KEY_LABEL, key_name=env.keys.log.name)
    path = good["inclusion_path"]
    leaf = bytearray(bytes.fromhex(good["leaf_hash"]))
    leaf[-1] ^= 1
    broken: dict[str, tuple[dict[str, Any], str, str]] = {
        "broken-leaf-hash.json": ({"leaf_hash": leaf.hex()}, "receipt.leaf_hash", "leaf_hash"),
        "broken-path-element.json": (
            {"inclusion_path": [path[0], _flip_b64(path[1], 77), *path[2:]]},
            "receipt.inclusion",
            "inclusion_path",
        ),
        "broken-other-key.json": (
            {"checkpoint": sign_note(note[: note.index("\n\n") + 1], [other])},
            "receipt.checkpoint",
            "checkpoint",
        ),
        "broken-tree-size.json": (
            {"tree_size": good["tree_size"] + 1},
            "receipt.tree_size",
            "tree_size",
        ),
    }
    files = {
        "log.vkey": f"{env.keys.log.verifier()}\n".encode("ascii"),
        "receipt.json": _dump(good),
    }
    expected: dict[str, Any] = {"receipt.json": None}
    for name, (change, rule, field) in broken.items():
        files[name] = _dump(good | change)
        expected[name] = {"rule": rule, "field": field}
    files["expected.json"] = _dump(expected)
    return files


def main(argv: list[str]) -> int:
    """Write the files, or with ``--check`` report those that differ (exit 1)."""
    files = build()
    if "--check" in argv:
        stale = [n for n, data in files.items() if (HERE / n).read_bytes() != data]
        for name in stale:
            print(f"differs: {name}", file=sys.stderr)
        return 1 if stale else 0
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
