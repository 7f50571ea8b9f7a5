"""Rebuilds ``tests/bundles/`` byte for byte: a known-good export bundle, the keys that verify
it, and broken variants of it, one directory per mutation (see ``tests/bundles/README.md``).

Run ``python -m tests.bundles.generate`` from the repository root to rewrite the files;
``tests/test_bundle_corpus.py`` checks that the committed files equal :func:`corpus` and that
``gongxin-verify`` gives every variant the verdict its ``expected.json`` states.

The log is built with the real ledger (:func:`tests.logfactory.build_log`: seeded keys, a
stepping clock), so the same code always yields the same bytes. The broken variants and their
expected verdicts are :mod:`tests.bundles.variants`.
Cost: one 25-entry log built in a temporary SQLite file, well under a second.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests import logfactory as lf
from tests.bundles.variants import entries_file, variants, vkey_text
from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE

HERE = Path(__file__).resolve().parent
#: Domain statements after the prelude: two rounds of the fund → contract → payment (with
#: dual approval) → activity → credit award → redemption cycle. 25 entries in all.
DOMAIN_ENTRIES = 14
#: The directories :func:`main` writes (and nothing else under ``tests/bundles``).
GENERATED_DIRS = ("good", "keys", "broken")


def build() -> lf.BuiltLog:
    """The good log (deterministic)."""
    with tempfile.TemporaryDirectory(prefix="gongxin-bundles-") as tmp:
        return lf.build_log(Path(tmp), domain_entries=DOMAIN_ENTRIES)


def corpus(log: lf.BuiltLog | None = None) -> dict[str, bytes]:
    """Every generated file, by path relative to ``tests/bundles``."""
    log = log or build()
    out = {
        f"good/{ENTRIES_FILE}": entries_file(log.lines),
        f"good/{CHECKPOINT_FILE}": log.checkpoint.encode(),
        f"good/{LOG_VKEY_FILE}": vkey_text(log.log_key).encode(),
        "keys/log.vkey": vkey_text(log.log_key).encode(),
    }
    for n, authority in enumerate(log.authorities):
        out[f"keys/authority-{n}.vkey"] = vkey_text(authority).encode()
    for variant in variants(log):
        for name, data in variant.files().items():
            out[f"broken/{variant.name}/{name}"] = data
    return out


def main() -> None:
    """Rewrite the generated files under ``tests/bundles`` (``good/``, ``keys/`` and
    ``broken/`` are emptied first; the README and this script stay)."""
    for generated in GENERATED_DIRS:
        shutil.rmtree(HERE / generated, ignore_errors=True)
    for rel, data in corpus().items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{len(data):6d}  {rel}")


if __name__ == "__main__":
    main()
