"""``gongxin-verify proof FILE``: check an offline C2SP tlog-proof of one entry (FORMAT.md §15).

Usage::

    gongxin-verify proof FILE.tlog-proof --log-key VKEY_OR_FILE
                   [--witness-key WKEY … [--quorum N] | --witness-policy POLICY]
                   [--json REPORT] [--quiet]

Steps: read the file (bounded: :data:`~verifier.witness.tlog_proof.MAX_FILE_BYTES`, a
regular file only) and parse it strictly (:mod:`verifier.witness.tlog_proof`; exit 2 for a
malformed file); open its checkpoint with the log key and, with witness options, require the
policy's quorum of cosignatures (:func:`verifier.cli.witnesses.check_witnesses`); parse the
entry line carried in ``extra`` as light mode does (FORMAT.md §8 step 1: ``index`` must equal
the proof's, ``inclusion.index``); verify the inclusion path of its leaf hash to the
checkpoint root (``merkle.inclusion``). Exit 0, 1 or 2 (never 3) for any file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from verifier.audit.verdict import InclusionReport
from verifier.cli.files import load_verifier_key, read_limited
from verifier.cli.inclusion import check_entry_inclusion
from verifier.cli.options import Parser, add_light_options
from verifier.cli.witnesses import Witnessed, check_witnesses, witness_policy
from verifier.core.checkpoint import Checkpoint, open_checkpoint_as
from verifier.core.errors import InputError
from verifier.core.keys import VerifierKey
from verifier.witness.policy import WitnessPolicy
from verifier.witness.tlog_proof import MAX_FILE_BYTES, TlogProof, parse_tlog_proof

__all__ = ["proof_parser", "run_proof", "verify_tlog_proof"]

#: The note on stdout when no witness option was given.
LOG_ONLY = (
    "注意：未要求见证副署，仅核对了日志签名 note: no witnesses required, only the log's "
    "signature was checked (give --witness-key/--quorum or --witness-policy)"
)


def proof_parser() -> Parser:
    p = Parser(
        prog="gongxin-verify proof",
        description=(
            "离线证明：验证 C2SP tlog-proof 文件中的条目包含在（经见证副署的）检查点所覆盖的日志中。\n"
            "Check an offline C2SP tlog-proof: the entry line it carries is in the log its "
            "(cosigned) checkpoint covers. Exit 0 valid, 1 invalid, 2 unusable input."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="证明文件 a .tlog-proof file")
    add_light_options(p)
    return p


def verify_tlog_proof(
    data: bytes, log_key: VerifierKey, policy: WitnessPolicy | None
) -> tuple[InclusionReport, Witnessed | None]:
    """Check the proof file's bytes ``data`` (steps in the module docstring). Returns the
    inclusion report and, with a ``policy``, who cosigned. Raises :class:`InputError` for a
    malformed file or one without an entry line in ``extra``, else
    :class:`~verifier.core.errors.VerificationError`. Cost: one Ed25519 verification per
    known signer, O(len(data) + log n) hashing."""
    proof: TlogProof = parse_tlog_proof(data)
    witnessed = None
    cp: Checkpoint
    if policy is None:
        cp = open_checkpoint_as(proof.checkpoint, log_key, "checkpoint")
    else:
        witnessed = check_witnesses(proof.checkpoint, log_key, policy)
        cp = witnessed.checkpoint
    if proof.extra is None:
        raise InputError(
            "证明未携带条目行 the proof carries no entry line (its `extra` line is missing)",
            field="proof",
        )
    if b"\n" in proof.extra:
        raise InputError("the entry line in `extra` must not contain a newline", field="proof")
    report = check_entry_inclusion(proof.extra, proof.index, list(proof.path), cp)
    return report, witnessed


def run_proof(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The command's work for :func:`verifier.cli.main._run`: (JSON report, success text)."""
    try:
        log_key = load_verifier_key(args.log_key)
    except InputError as exc:
        raise InputError(
            f"{exc}; give the key string or a file holding it", field="--log-key"
        ) from None
    policy = witness_policy(args, log_key)
    data = read_limited(Path(args.file), MAX_FILE_BYTES, "proof file", field="FILE", hint="")
    report, witnessed = verify_tlog_proof(data, log_key, policy)
    out = report.to_json()
    text = (
        f"✓ 验证通过 included: entry {report.leaf_index} ({report.kind}) is in the log of "
        f"{report.tree_size} entries, origin {report.origin}"
    )
    if witnessed is None:
        text += f"\n{LOG_ONLY}"
    else:
        out["witnesses"] = witnessed.to_json()
        text += f"\n{witnessed.line()}"
    return out, text
