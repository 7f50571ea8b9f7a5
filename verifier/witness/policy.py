"""Witness policies: which witnesses a client trusts and how many must cosign (FORMAT.md §15).

The file format is the Sigsum policy format (sigsum-go ``doc/policy.md``), with keys written
as note verifier keys instead of hex (the same strings ``gongxin-verify --log-key`` and
``--witness-key`` take)::

    # 公信 witnesses of the street office's log
    log gongxin.example/jiedao-001+8f3a…+AQ…                    https://ledger.example/
    witness 审计局      audit.example/w1+1c25f8a4+BA…          https://audit.example/witness
    witness 居民监督委员会 jumin.example/w1+28c92a5a+BA…        http://10.0.0.7:8090
    witness 评估机构    eval.example/w1+f4855a0f+BA…
    group 政府 any 审计局
    group 全体 2 审计局 居民监督委员会 评估机构
    quorum 全体

One statement a line; ``#`` starts a comment; blank lines are ignored. ``log KEY [URL]``
names a log key (any number); ``witness NAME KEY [URL]`` a witness; ``group NAME T MEMBER…``
a group that is satisfied when ``T`` of its members are (``all``, ``any`` or a number from
1 to the member count); ``quorum NAME`` (exactly once) the witness or group that must be
satisfied, or ``none``. Names (witnesses and groups share one namespace, ``none`` is
reserved) are defined before use, once, and mean nothing outside the file; a witness is
satisfied when its key's cosignature verifies. Keys may not repeat.

Pure functions; no I/O but :func:`load_policy`'s bounded read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.witness.cosignature import (
    CosignedCheckpoint,
    WitnessKey,
    open_cosigned_checkpoint,
    parse_witness_key,
)

MAX_POLICY_BYTES = 64 * 1024
"""Largest policy file read (a few hundred witnesses)."""
NONE = "none"


@dataclass(frozen=True)
class PolicyWitness:
    """A witness of the policy: its policy-local ``name`` (shown to users, e.g. 审计局), its
    key, and where it answers ``add-checkpoint`` (``None`` for offline use only)."""

    name: str
    key: WitnessKey
    url: str | None = None


@dataclass(frozen=True)
class Group:
    """Satisfied when at least ``threshold`` of ``members`` (witness or group names) are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class WitnessPolicy:
    """A parsed policy. ``quorum`` is a witness or group name, or ``None`` (``quorum none``:
    no cosignature required)."""

    logs: tuple[tuple[VerifierKey, str | None], ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[Group, ...] = ()
    quorum: str | None = None
    _groups: dict[str, Group] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_groups", {g.name: g for g in self.groups})

    @classmethod
    def simple(cls, keys: Sequence[WitnessKey], quorum: int) -> WitnessPolicy:
        """``--witness-key K … --quorum N``: ``N`` of the distinct ``keys``, each named by its
        key name. :class:`InputError` if ``N`` is not between 0 and the number of keys."""
        distinct = list(dict.fromkeys(keys))
        if isinstance(quorum, bool) or not 0 <= quorum <= len(distinct):
            raise InputError(
                f"--quorum {quorum} out of range 0..{len(distinct)} (the distinct"
                " --witness-key keys); 见证法定数超出范围",
                field="quorum",
            )
        witnesses = tuple(PolicyWitness(f"{k.name}+{k.key_id_hex}", k) for k in distinct)
        if quorum == 0:
            return cls((), witnesses, (), None)
        group = Group("quorum", quorum, tuple(w.name for w in witnesses))
        return cls((), witnesses, (group,), group.name)

    @property
    def witness_keys(self) -> list[WitnessKey]:
        return [w.key for w in self.witnesses]

    def satisfied_by(self, names: Collection[str], target: str | None = None) -> bool:
        """Whether witnesses ``names`` (policy-local) satisfy ``target`` (default: the
        quorum). O(size of the policy)."""
        target = self.quorum if target is None else target
        if target is None or target == NONE:
            return True
        group = self._groups.get(target)
        if group is None:
            return target in names
        met = sum(1 for m in group.members if self.satisfied_by(names, m))
        return met >= group.threshold

    def describe(self) -> str:
        """One line for errors: the quorum and its witnesses."""
        if self.quorum is None:
            return "quorum none"
        group = self._groups.get(self.quorum)
        if group is None:
            return f"quorum {self.quorum}"
        return f"quorum {group.name}: {group.threshold} of {', '.join(group.members)}"


def _url(parts: list[str], at: int, where: str) -> str | None:
    if len(parts) <= at:
        return None
    url = parts[at]
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{where}: URL {url!r} must start with http:// or https://")
    return url.rstrip("/")


def _threshold(text: str, count: int, where: str) -> int:
    if text == "all":
        return count
    if text == "any":
        return 1
    if not text.isdigit() or not 1 <= int(text) <= count:
        raise InputError(f"{where}: threshold {text!r} must be all, any or 1..{count}")
    return int(text)


def parse_policy(text: str, where: str = "policy") -> WitnessPolicy:
    """Parse a policy file's text. :class:`InputError` naming ``where`` and the line for any
    fault (unknown keyword, bad key, undefined or repeated name, repeated key, missing or
    repeated ``quorum``). Cost: O(len(text)) plus one SHA-256 per key."""
    parser = _Parser()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        at = f"{where} line {number}"
        try:
            parser.statement(line.split(), at)
        except InputError as exc:
            message = exc.message if exc.message.startswith(at) else f"{at}: {exc.message}"
            raise InputError(message, field="policy") from None
    if parser.quorum == "":
        raise InputError(f"{where}: no quorum line (write `quorum none` to require none)")
    return WitnessPolicy(
        tuple(parser.logs), tuple(parser.witnesses), tuple(parser.groups), parser.quorum
    )


class _Parser:
    """The statements read so far; one method per keyword."""

    def __init__(self) -> None:
        self.logs: list[tuple[VerifierKey, str | None]] = []
        self.witnesses: list[PolicyWitness] = []
        self.groups: list[Group] = []
        self.names: set[str] = {NONE}
        self.keys: set[str] = set()
        self.quorum: str | None = ""

    def statement(self, parts: list[str], at: str) -> None:
        keyword, args = parts[0], parts[1:]
        if keyword == "log" and 1 <= len(args) <= 2:
            self.log(args, at)
        elif keyword == "witness" and 2 <= len(args) <= 3:
            self.witness(args, at)
        elif keyword == "group" and len(args) >= 3:
            self.group(args, at)
        elif keyword == "quorum" and len(args) == 1:
            self.set_quorum(args[0], at)
        else:
            raise InputError(f"{at}: not a log, witness, group or quorum line: {parts[0][:80]!r}")

    def log(self, args: list[str], at: str) -> None:
        key = parse_verifier_key(args[0])
        _new_key(self.keys, str(key), at)
        self.logs.append((key, _url(args, 1, at)))

    def witness(self, args: list[str], at: str) -> None:
        _new_name(self.names, args[0], at)
        wkey = parse_witness_key(args[1])
        _new_key(self.keys, str(wkey), at)
        self.witnesses.append(PolicyWitness(args[0], wkey, _url(args, 2, at)))

    def group(self, args: list[str], at: str) -> None:
        members = tuple(args[2:])
        for m in members:
            if m not in self.names or m == NONE:
                raise InputError(f"{at}: group member {m!r} is not defined above")
        if len(set(members)) != len(members):
            raise InputError(f"{at}: a group member is listed twice")
        _new_name(self.names, args[0], at)
        self.groups.append(Group(args[0], _threshold(args[1], len(members), at), members))

    def set_quorum(self, name: str, at: str) -> None:
        if self.quorum != "":
            raise InputError(f"{at}: a second quorum line")
        if name not in self.names:
            raise InputError(f"{at}: quorum {name!r} is not defined above")
        self.quorum = None if name == NONE else name


def _new_name(names: set[str], name: str, at: str) -> None:
    if name in names:
        raise InputError(f"{at}: name {name!r} is defined twice (or reserved)")
    names.add(name)


def _new_key(keys: set[str], key: str, at: str) -> None:
    if key in keys:
        raise InputError(f"{at}: key {key.split('+')[0]}+{key.split('+')[1]} is listed twice")
    keys.add(key)


def load_policy(path: Path) -> WitnessPolicy:
    """Read (at most :data:`MAX_POLICY_BYTES`, UTF-8) and parse the policy file ``path``.
    :class:`InputError` for an unreadable, oversized or invalid file."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read policy {path}: {exc.strerror}", field="policy") from None
    if len(data) > MAX_POLICY_BYTES:
        raise InputError(f"policy {path} is over {MAX_POLICY_BYTES} bytes", field="policy")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"policy {path} is not UTF-8", field="policy") from None
    return parse_policy(text, str(path))


def check_cosigned(
    note: str | bytes, log_key: VerifierKey, policy: WitnessPolicy
) -> tuple[CosignedCheckpoint, list[PolicyWitness]]:
    """Open checkpoint ``note`` with ``log_key``, verify the cosignatures of the policy's
    witnesses and require its quorum (``cosignature.quorum``, naming who did cosign).
    Returns the opened checkpoint and the witnesses that cosigned, in policy order. Other
    failures as :func:`~verifier.witness.cosignature.open_cosigned_checkpoint`. Cost: one
    Ed25519 verification per signature line of a known key."""
    opened = open_cosigned_checkpoint(note, log_key, policy.witness_keys)
    signed = {c.witness for c in opened.cosignatures}
    present = [w for w in policy.witnesses if w.key in signed]
    if not policy.satisfied_by({w.name for w in present}):
        have = ", ".join(w.name for w in present) or "none"
        cp = opened.checkpoint
        raise VerificationError(
            "cosignature.quorum",
            f"checkpoint {cp.origin} size {cp.size} is cosigned by {have}, which does not"
            f" satisfy {policy.describe()}; 见证副署不足",
        )
    return opened, present
