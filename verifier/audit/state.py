"""Verifier state: where one successful verification ended, to resume from (FORMAT.md §12.3).

``gongxin-verify DIR --state FILE`` keeps a :class:`VerifierState` between runs (a witness or
monitor keeps the same): the signed checkpoint it verified, the compact Merkle range of that
tree (:class:`~verifier.core.compact_range.CompactRange`), the replayed rule state
(:mod:`verifier.rules.snapshot`) and the count of entries by kind. Given a newer bundle of the
same log, :class:`ResumePoint` lets :class:`~verifier.audit.bundle.BundleAudit` replay only
the entries after it; the root of the range extended by them must be the new checkpoint's,
which proves the old checkpoint consistent with the new one (the range is the old tree's right
edge: RFC 9162 §2.1.4 in O(log n) without a proof).

This module is the format and the checks, with no I/O (reading and writing files is
:mod:`verifier.cli.statefile`). The bytes, in order::

    gongxin-verifier-state/1\\n
    <header: one line of JSON, keys sorted, ASCII>\\n
    <rule state: exactly header["rule_state_bytes"] bytes, verifier.rules.snapshot>\n
    sha256:<64 lowercase hex digits: SHA-256 of every byte before this line>\\n

A state file is a cache its owner wrote after a successful run, never a source of truth:
:func:`decode_verifier_state` and :meth:`ResumePoint.open` refuse (:class:`StateRefused`,
exit 2, nothing judged) a file that is damaged, of an unknown version, of another log, or
inconsistent in itself (a checkpoint not signed by the log key, a range that does not fold to
its root, a rule state of another size or log).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from verifier.audit.bundle import BundleAudit
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.compact_range import CompactRange
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.rules.log_state import LogState
from verifier.rules.snapshot import (
    SNAPSHOT_VERSION,
    SnapshotError,
    decode_state,
    encode_state,
    snapshot_digest,
)

__all__ = [
    "MAX_STATE_BYTES",
    "STATE_VERSION",
    "ResumePoint",
    "StateRefused",
    "VerifierState",
    "decode_verifier_state",
    "state_after",
]

#: The state file's first line, without its version number.
STATE_MAGIC = b"gongxin-verifier-state/"
#: The version this code writes and reads.
STATE_VERSION = 1
#: Largest state file read (checked while reading, :mod:`verifier.cli.statefile`).
MAX_STATE_BYTES = 1 << 30
#: Largest header line: a checkpoint note (at most 1 MiB, JSON-escaped), 64 range hashes, kinds.
MAX_HEADER_BYTES = 8 << 20
_TRAILER = re.compile(rb"sha256:([0-9a-f]{64})\n\Z")
_TRAILER_BYTES = len(b"sha256:") + 64 + 1
_HEX32 = re.compile(r"[0-9a-f]{64}\Z")
_HEADER_KEYS = frozenset(
    {
        "checkpoint",
        "entries_by_kind",
        "log_key",
        "origin",
        "range",
        "root",
        "rule_state_bytes",
        "rule_state_sha256",
        "rule_state_version",
        "size",
    }
)


class StateRefused(InputError):
    """A state file that cannot be used (exit 2: nothing was judged). ``field`` names it."""


@dataclass(frozen=True)
class VerifierState:
    """The end of one successful verification (see the module docstring). Values are those
    written; :func:`decode_verifier_state` checked their form, :meth:`ResumePoint.open` checks
    them against the log key."""

    origin: str
    log_key: str
    checkpoint: str
    size: int
    root: bytes
    peaks: tuple[bytes, ...]
    entries_by_kind: Mapping[str, int]
    rule_state: bytes
    rule_state_version: int = SNAPSHOT_VERSION

    def encode(self) -> bytes:
        """The state file's bytes (deterministic: the same state, the same bytes).
        Cost: O(size of the rule state) plus one SHA-256 over it."""
        header = {
            "checkpoint": self.checkpoint,
            "entries_by_kind": dict(sorted(self.entries_by_kind.items())),
            "log_key": self.log_key,
            "origin": self.origin,
            "range": [p.hex() for p in self.peaks],
            "root": self.root.hex(),
            "rule_state_bytes": len(self.rule_state),
            "rule_state_sha256": snapshot_digest(self.rule_state).hex(),
            "rule_state_version": self.rule_state_version,
            "size": self.size,
        }
        body = b"".join(
            (
                STATE_MAGIC,
                str(STATE_VERSION).encode(),
                b"\n",
                orjson.dumps(header, option=orjson.OPT_SORT_KEYS),
                b"\n",
                self.rule_state,
                b"\n",
            )
        )
        return body + b"sha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def _refuse(where: str, zh: str, en: str) -> StateRefused:
    return StateRefused(
        f"{zh} {en}; 删除该文件可重新完整验证 delete it to verify in full", field=where
    )


def _version(data: bytes, where: str) -> None:
    """The first line names this format and :data:`STATE_VERSION`."""
    if not data.startswith(STATE_MAGIC):
        raise _refuse(where, "不是验证状态文件", "not a gongxin-verify state file")
    end = data.find(b"\n", 0, len(STATE_MAGIC) + 20)
    version = data[len(STATE_MAGIC) : end] if end >= 0 else b"?"
    if version != str(STATE_VERSION).encode():
        shown = version[:20].decode("ascii", "replace")
        raise _refuse(
            where,
            f"状态文件版本 {shown} 无法识别",
            f"unknown state file version {shown!r} (this verifier reads version {STATE_VERSION})",
        )


def _header(data: bytes, start: int, end: int, where: str) -> dict[str, Any]:
    """The header line at ``data[start:]`` as a dict of the expected members and types."""
    stop = data.find(b"\n", start, min(end, start + MAX_HEADER_BYTES))
    if stop < 0:
        raise _refuse(where, "状态文件头部损坏", "the state file's header line is damaged")
    try:
        header = orjson.loads(data[start:stop])
    except orjson.JSONDecodeError:
        header = None
    if type(header) is not dict or set(header) != _HEADER_KEYS:
        raise _refuse(where, "状态文件头部损坏", "the state file's header is not the expected JSON")
    types: dict[str, type] = dict.fromkeys(
        ("checkpoint", "log_key", "origin", "root", "rule_state_sha256"), str
    )
    types |= dict.fromkeys(("size", "rule_state_bytes", "rule_state_version"), int)
    types |= {"range": list, "entries_by_kind": dict}
    for name, kind in types.items():
        if type(header[name]) is not kind:
            raise _refuse(
                where, "状态文件头部损坏", f"header member {name} is not a {kind.__name__}"
            )
    header["_body"] = stop + 1
    return header


def _hashes(values: Sequence[Any], where: str, name: str) -> tuple[bytes, ...]:
    if not all(type(v) is str and _HEX32.match(v) for v in values):
        raise _refuse(where, "状态文件头部损坏", f"header member {name} holds a malformed hash")
    return tuple(bytes.fromhex(v) for v in values)


def decode_verifier_state(data: bytes, where: str = "state") -> VerifierState:
    """Parse a state file's bytes: version, digest, header, rule state length. Total: a
    :class:`VerifierState` or :class:`StateRefused` (``where`` names the file in it); never
    trusts a length or count before checking it against the bytes present. Does not check the
    state against a log key (:meth:`ResumePoint.open`). Cost: one SHA-256 over ``data``."""
    _version(data, where)
    body_end = len(data) - _TRAILER_BYTES
    trailer = _TRAILER.match(data, max(body_end, 0))
    if body_end <= 0 or trailer is None:
        raise _refuse(where, "状态文件不完整", "the state file is truncated (no digest line)")
    if hashlib.sha256(memoryview(data)[:body_end]).hexdigest().encode() != trailer.group(1):
        raise _refuse(
            where,
            "状态文件已损坏或被改动",
            "the state file is damaged or altered (digest mismatch)",
        )
    header = _header(data, data.index(b"\n") + 1, body_end, where)
    start, end = header["_body"], body_end - 1
    if header["rule_state_bytes"] != end - start or data[end] != 0x0A:
        raise _refuse(where, "状态文件长度不符", "the rule state's length is not the header's")
    if snapshot_digest(data[start:end]).hex() != header["rule_state_sha256"]:
        raise _refuse(where, "状态文件自相矛盾", "the rule state's digest is not the header's")
    kinds = header["entries_by_kind"]
    if not all(type(v) is int and v >= 0 for v in kinds.values()):
        raise _refuse(where, "状态文件头部损坏", "entries_by_kind holds a non-count")
    (root,) = _hashes([header["root"]], where, "root")
    return VerifierState(
        origin=header["origin"],
        log_key=header["log_key"],
        checkpoint=header["checkpoint"],
        size=header["size"],
        root=root,
        peaks=_hashes(header["range"], where, "range"),
        entries_by_kind=kinds,
        rule_state=bytes(data[start:end]),
        rule_state_version=header["rule_state_version"],
    )


def state_after(audit: BundleAudit, note: str) -> VerifierState:
    """The state a finished, successful ``audit`` ends in; ``note`` is the checkpoint text it
    verified (``audit.cp``). Cost: encoding the rule state (O(state))."""
    tree = audit.tree
    assert tree.size == audit.cp.size and tree.root() == audit.cp.root
    return VerifierState(
        origin=audit.cp.origin,
        log_key=str(audit.log_key),
        checkpoint=note,
        size=tree.size,
        root=tree.root(),
        peaks=tuple(tree.peaks),
        entries_by_kind=dict(audit.kinds),
        rule_state=encode_state(audit.state),
    )


@dataclass
class ResumePoint:
    """A :class:`VerifierState` checked against the log key, ready to resume from.

    ``checkpoint`` is the state's checkpoint, opened (signature checked) under the log key;
    ``tree`` its compact range; ``log_state`` the decoded rule state (``None`` until
    :meth:`rules` is called: a full re-verification does not need it).
    """

    where: str
    state: VerifierState
    checkpoint: Checkpoint
    tree: CompactRange
    log_state: LogState | None = None

    @classmethod
    def open(cls, state: VerifierState, log_key: VerifierKey, where: str) -> ResumePoint:
        """Refuse (:class:`StateRefused`) a state of another log or inconsistent in itself:
        its log key and origin must be ``log_key`` and its name, its checkpoint must be signed
        by ``log_key`` and state its size and root, and its range must fold to that root.
        Cost: one Ed25519 verification, O(log n) hashes."""
        if state.log_key != str(log_key) or state.origin != log_key.name:
            raise _refuse(
                where,
                "状态文件属于另一日志",
                f"the state file is of another log (origin {state.origin!r}, log key "
                f"{state.log_key.split('+')[1] if '+' in state.log_key else '?'}), not of "
                f"--log-key {log_key.name}+{log_key.key_id_hex}",
            )
        try:
            cp = open_checkpoint(state.checkpoint, log_key)
            tree = CompactRange(state.size, state.peaks)
        except (VerificationError, InputError) as exc:
            raise _refuse(
                where, "状态文件的检查点无效", f"its checkpoint or range: {exc}"
            ) from None
        if (cp.size, cp.root) != (state.size, state.root) or tree.root() != state.root:
            raise _refuse(
                where,
                "状态文件自相矛盾",
                "its checkpoint, size, root and range do not agree",
            )
        if state.size == 0:
            raise _refuse(where, "状态文件为空", "the state records no entries")
        return cls(where, state, cp, tree)

    def rules(self, log_key: VerifierKey) -> LogState:
        """The decoded rule state, checked to be this log's at this size (else refused).
        Cost: decoding it (O(state))."""
        if self.log_state is None:
            if self.state.rule_state_version != SNAPSHOT_VERSION:
                raise _refuse(
                    self.where,
                    "规则状态版本无法识别",
                    f"unknown rule state version {self.state.rule_state_version}",
                )
            try:
                decoded = decode_state(self.state.rule_state)
            except SnapshotError as exc:
                raise _refuse(self.where, "规则状态无法解码", f"its rule state: {exc}") from None
            reg = decoded.registry
            if (decoded.size, reg.origin, reg.log_key) != (
                self.state.size,
                self.state.origin,
                log_key,
            ):
                raise _refuse(
                    self.where, "状态文件自相矛盾", "its rule state is of another size or log"
                )
            self.log_state = decoded
        return self.log_state

    @property
    def size(self) -> int:
        return self.state.size

    def check_bundle(self, cp: Checkpoint) -> None:
        """The bundle's checkpoint ``cp`` (opened under the same log key) extends this state:
        not smaller (else refused: a rolled-back bundle); of the same size, the same root
        (else ``checkpoint.inconsistent``: the log forked)."""
        n = self.size
        if cp.size < n:
            raise _refuse(
                self.where,
                f"导出包被回滚：状态记录到 {n} 条，导出包只有 {cp.size} 条",
                f"rolled-back bundle: state at {n}, bundle at {cp.size}",
            )
        if cp.size == n and cp.root != self.state.root:
            raise self.fork(n)

    def fork(self, n: int) -> VerificationError:
        """The verdict when the bundle's history differs from this state's at or before
        entry ``n - 1`` (``n`` = the state's size)."""
        return VerificationError(
            "checkpoint.inconsistent",
            f"the log's first {n} entries do not hash to the root of the checkpoint in the "
            f"verifier state (size {n}): the log was rewritten at or before entry {n - 1}, "
            "the last entry that state covers (a fork); 日志在此前被改写（分叉）",
            index=n - 1,
            field="state",
        )

    def attach(self, audit: BundleAudit, log_key: VerifierKey) -> None:
        """Make ``audit`` resume after this state: its rule state, range and counts, and the
        authority keys it was given checked against the genesis authorities the state's
        registry holds (``genesis.authorities``, as a full run checks them at entry 0)."""
        rules = self.rules(log_key)
        if audit.authority_keys:
            given = {str(k) for k in audit.authority_keys}
            named = {str(r.key) for r in rules.registry.keys.values() if r.granted_at == 0}
            if given != named:
                raise VerificationError(
                    "genesis.authorities",
                    "the genesis authority keys are not exactly the given --authority-key "
                    "keys; 权威密钥不符",
                    index=0,
                    field="statement.body.authorities",
                )
        audit.start_from(rules, self.tree.copy(), self.state.entries_by_kind)

    def translate(self, exc: VerificationError) -> VerificationError:
        """A replay error as the verdict of an incremental run: entry ``n - 1`` (the state's
        last) found "altered" by the first new entry's ``prev`` means the bundle's history
        is not the one verified before — a fork (what ``--previous-checkpoint`` reports)."""
        if exc.rule == "entry.altered" and exc.index == self.size - 1:
            return self.fork(self.size)
        return exc
