"""Witness options of ``gongxin-verify``: requiring cosigned checkpoints (FORMAT.md §15).

``--witness-key K`` (repeatable; a key string or a file holding one) with ``--quorum N``
(default: every key given), or ``--witness-policy FILE`` (the Sigsum-style policy of
:mod:`verifier.witness.policy`), turn into one :class:`WitnessPolicy`. The bundle command,
light mode (``inclusion``) and ``proof`` then require the checkpoint to carry cosignatures
that satisfy it: :func:`check_witnesses` (``cosignature.quorum``, ``cosignature.signature``;
exit 1). Misused options are :class:`InputError` (exit 2) before anything is verified.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.cli.bundle import MAX_CHECKPOINT_BYTES, open_bundle
from verifier.cli.files import load_key
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.witness.cosignature import WitnessKey, parse_witness_key
from verifier.witness.policy import WitnessPolicy, check_cosigned, load_policy

__all__ = [
    "Witnessed",
    "add_witness_options",
    "check_witnesses",
    "precheck_bundle",
    "witness_policy",
]


def _quorum(text: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return int(text)


def add_witness_options(p: argparse.ArgumentParser) -> None:
    """Add ``--witness-key``, ``--quorum`` and ``--witness-policy`` to ``p``."""
    p.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="WKEY_OR_FILE",
        help=(
            "见证人公钥（可重复；字符串或文件）a witness's cosignature key name+id+base64 "
            "(repeatable): the checkpoint must carry --quorum of their cosignatures"
        ),
    )
    p.add_argument(
        "--quorum",
        type=_quorum,
        metavar="N",
        help="所需见证副署数（缺省为全部）how many of the --witness-key witnesses must "
        "cosign (default: all of them)",
    )
    p.add_argument(
        "--witness-policy",
        metavar="FILE",
        help=(
            "见证策略文件（Sigsum 格式，FORMAT.md §15）a witness policy file (Sigsum policy "
            "format with note verifier keys): its quorum must have cosigned the checkpoint"
        ),
    )


def _load_witness_key(value: str) -> WitnessKey:
    """A witness key string, or a file holding one (as ``--log-key`` accepts)."""
    return load_key(value, parse_witness_key, "witness key")


def witness_policy(args: argparse.Namespace, log_key: VerifierKey) -> WitnessPolicy | None:
    """The policy the options ask for, or ``None`` (no witness options: the log's signature
    alone is checked). :class:`InputError` for ``--witness-policy`` together with
    ``--witness-key``/``--quorum``, ``--quorum`` without keys or beyond their number, a bad
    key or policy file, or a policy whose ``log`` lines (when it has any) do not name
    ``log_key``. Cost: a bounded read and parse per file."""
    keys: list[str] = args.witness_key
    quorum: int | None = args.quorum
    if args.witness_policy is not None:
        if keys or quorum is not None:
            raise InputError(
                "用 --witness-policy 或 --witness-key/--quorum，不能同时使用 give either "
                "--witness-policy or --witness-key/--quorum, not both",
                field="--witness-policy",
            )
        policy = load_policy(Path(args.witness_policy))
        if policy.logs and all(key != log_key for key, _ in policy.logs):
            raise InputError(
                f"策略未列出此日志公钥 the policy's log lines do not name the --log-key "
                f"{log_key.name}+{log_key.key_id_hex}",
                field="--witness-policy",
            )
        return policy
    if not keys:
        if quorum is not None:
            raise InputError(
                "--quorum 需要 --witness-key --quorum needs at least one --witness-key",
                field="--quorum",
            )
        return None
    parsed = [_load_witness_key(k) for k in keys]
    return WitnessPolicy.simple(parsed, len(set(parsed)) if quorum is None else quorum)


@dataclass(frozen=True)
class Witnessed:
    """Who cosigned the ``checkpoint`` (opened with the log key) that satisfied ``policy``:
    policy-local names, with the cosignature times (POSIX seconds)."""

    names: tuple[str, ...]
    timestamps: tuple[int, ...]
    policy: str
    checkpoint: Checkpoint

    def to_json(self) -> dict[str, Any]:
        """The report member ``"witnesses"``."""
        return {
            "policy": self.policy,
            "cosigned_by": list(self.names),
            "cosigned_at": list(self.timestamps),
        }

    def line(self) -> str:
        """One line for the success message."""
        who = ", ".join(self.names) or "—"
        return f"见证副署 cosigned by {who} ({self.policy})"


def _plain(text: str) -> str:
    """``--witness-key``'s policy names its group "quorum": say "quorum: 2 of …" once."""
    return text.replace("quorum quorum: ", "quorum: ")


def check_witnesses(note: str | bytes, log_key: VerifierKey, policy: WitnessPolicy) -> Witnessed:
    """:func:`~verifier.witness.policy.check_cosigned` with Chinese-first messages: opens
    ``note`` with ``log_key``, verifies the policy's witnesses' cosignatures and requires the
    quorum. Raises ``cosignature.quorum`` (naming who cosigned and what the quorum needs),
    ``cosignature.signature``, or the checkpoint's own ``note.*``/``checkpoint.*``. Cost:
    one Ed25519 verification per signature line of a known key."""
    try:
        opened, present = check_cosigned(note, log_key, policy)
    except VerificationError as exc:
        if exc.rule == "cosignature.quorum":
            raise VerificationError(
                exc.rule,
                "见证副署不足 not enough cosignatures: "
                + _plain(exc.detail.removesuffix("; 见证副署不足")),
            ) from None
        if exc.rule == "cosignature.signature":
            raise VerificationError(
                exc.rule, f"见证副署无效 bad cosignature: {exc.detail}", key_id=exc.key_id
            ) from None
        raise
    times = {c.witness: c.timestamp for c in opened.cosignatures}
    return Witnessed(
        tuple(w.name for w in present),
        tuple(times[w.key] for w in present),
        _plain(policy.describe()),
        opened.checkpoint,
    )


def precheck_bundle(directory: Path, log_key: VerifierKey, policy: WitnessPolicy) -> None:
    """:func:`check_witnesses` on the bundle's checkpoint before its entries are replayed:
    an under-cosigned bundle fails fast and writes no ``--state``. The caller checks the
    checkpoint the replay verified again afterwards. Cost: one bounded read of the
    checkpoint plus :func:`check_witnesses`."""
    source = open_bundle(directory)
    try:
        note = source.read_checkpoint(MAX_CHECKPOINT_BYTES)
    finally:
        source.close()
    check_witnesses(note, log_key, policy)
