"""``gongxin-verify fork FILE --log-key K``: judge a fork evidence file (FORMAT.md §16) offline.

Exit status: 0 the file proves that the log key signed two inconsistent checkpoints (one line
on stdout); 1 it does not prove a fork (a signature fails, the checkpoints are consistent, or
the proof does not lead to checkpoint 2's root: one line on stderr naming the rule); 2 the
file or the key cannot be used (missing, over 256 KiB, not an evidence file: nothing was
judged). Never anything else for any file content.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from verifier.cli.files import load_verifier_key, read_limited
from verifier.cli.options import EXIT_USAGE, Parser
from verifier.core.errors import InputError, VerificationError
from verifier.witness.fork import MAX_EVIDENCE_BYTES, check_fork_evidence

EXIT_PROVEN = 0
EXIT_NOT_PROVEN = 1

_EPILOG = """\
退出码 exit status:
  0  分叉已证实 fork proven: the log key signed two inconsistent checkpoints
  1  未证实分叉 not proven: the file does not prove a fork ([rule] and why on stderr)
  2  用法或输入错误 usage or input error: not an evidence file, unreadable, bad key

The log key must come from a trusted source (e.g. the published key).
"""


def fork_parser() -> Parser:
    """The argparse parser of ``gongxin-verify fork``."""
    p = Parser(
        prog="gongxin-verify fork",
        description=(
            "检查分叉证据：日志密钥是否签署了两个互不一致的检查点。\n"
            "Check fork evidence: did the log key sign two inconsistent checkpoints?"
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("evidence", metavar="FILE", help="fork evidence file (FORMAT.md §16)")
    p.add_argument(
        "--log-key", required=True, metavar="VKEY_OR_FILE", help="the log's verifier key"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p


def fork_main(argv: Sequence[str]) -> int:
    """Run ``gongxin-verify fork`` and return the exit status, printing exactly one line
    (none on success with ``--quiet``). ``SystemExit`` from argparse and unexpected
    exceptions propagate to :func:`verifier.cli.main.main` (exit 2, or 3 for a bug). Cost:
    one bounded read, two Ed25519 verifications and ~130 SHA-256 hashes."""
    args = fork_parser().parse_args(argv)
    try:
        try:
            log_key = load_verifier_key(args.log_key)
        except InputError as exc:
            raise InputError(exc.message, field="--log-key") from None
        data = read_limited(Path(args.evidence), MAX_EVIDENCE_BYTES, "fork evidence", "FILE", "")
        proof = check_fork_evidence(data, log_key)
    except VerificationError as exc:
        print(f"✗ 未证实分叉 not proven: {exc.one_line()}", file=sys.stderr)
        return EXIT_NOT_PROVEN
    except InputError as exc:
        print(f"✗ 输入错误 input error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(f"✓ 分叉已证实 fork proven: {proof.describe()} (origin {proof.old.origin})")
    return EXIT_PROVEN
