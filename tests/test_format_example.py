"""FORMAT.md §11's worked example is regenerated from code and checked byte for byte, and
the example log itself verifies with the verifier's own checks."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from verifier.core import compact_range, merkle
from verifier.core.checkpoint import open_checkpoint
from verifier.core.entry import parse_entry_line
from verifier.core.keys import parse_verifier_key
from verifier.rules.log_state import LogState

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS))
import worked_example  # noqa: E402


def _blocks() -> dict[str, str]:
    text = (DOCS / "FORMAT.md").read_text(encoding="utf-8")
    return {m[1]: m[2] for m in re.finditer(r"```text (\S+)\n(.*?)\n```", text, re.S)}


def test_every_example_block_matches_the_code() -> None:
    blocks = _blocks()
    expected = worked_example.example()
    assert set(expected) <= set(blocks), "FORMAT.md §11 is missing blocks"
    for name, value in expected.items():
        assert blocks[name] == value, f"FORMAT.md §11 block {name!r} differs from the code"


def test_the_example_log_verifies() -> None:
    ex = worked_example.example()
    log_key = parse_verifier_key(ex["keys"].splitlines()[1])
    state = LogState()
    tree = compact_range.CompactRange()
    for name in ("entry0", "entry1"):
        line = ex[name].encode()
        leaf = merkle.leaf_hash(line)
        state.check_and_apply(parse_entry_line(line), leaf)
        tree.append(leaf)
    cp = open_checkpoint(ex["checkpoint"] + "\n", log_key)
    assert cp.size == 2 and cp.root == tree.root()
