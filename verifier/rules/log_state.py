"""Replayed log state and the one function that decides whether an entry is valid next.

:meth:`LogState.check_and_apply` is *the* definition of validity (FORMAT.md §8). The ledger
calls it before it persists an entry; the verifier calls it for every line it replays. Pure:
no I/O. Cost per entry: O(1) dictionary work plus one Ed25519 verification per signature
(skipped when the caller has verified the signatures already, e.g. in worker processes).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from verifier.core.entry import ZERO_HASH_HEX, Entry
from verifier.core.errors import VerificationError
from verifier.core.keys import verify_ed25519
from verifier.rules import DomainRules
from verifier.rules.journal import Journal, assign
from verifier.rules.kinds import KINDS, genesis_format
from verifier.rules.registry import KeyRegistry

#: FORMAT.md §8 step 4: a statement may be logged at most this long after it was signed …
MAX_STATEMENT_AGE = timedelta(days=7)
#: … and at most this long before (clock skew between an officer's machine and the log).
MAX_CLOCK_SKEW = timedelta(minutes=5)


def message_origin(genesis_body: Any) -> str | None:
    """The origin a log's signatures cover (FORMAT.md §3.2), from its genesis body: the
    body's ``origin`` when it declares ``"format": 2``, else ``None`` (format 1's message).
    Total: a malformed body, which :class:`LogState` rejects before any signature, gives
    ``None``. For callers that pre-verify signatures (worker processes), which must use
    exactly the message :meth:`LogState.check_and_apply` uses. O(1)."""
    if type(genesis_body) is not dict:
        return None
    fmt, origin = genesis_body.get("format"), genesis_body.get("origin")
    return origin if type(fmt) is int and fmt == 2 and type(origin) is str else None


def signature_error(pub: bytes, entry: Entry, n: int, origin: str | None) -> VerificationError:
    """The error for signature ``n`` of ``entry``, which does not verify under ``pub`` over
    the log's message (FORMAT.md §8 step 5c). In a format-2 log (``origin`` given), a
    signature that verifies over format 1's message is ``signature.context``; any other is
    ``signature.invalid``. Cost: one more Ed25519 verification in a format-2 log."""
    sig = entry.signatures[n]
    rule, detail = "signature.invalid", "Ed25519 signature does not verify; 签名无效"
    if origin is not None and verify_ed25519(pub, entry.statement.message(None), sig.sig):
        rule = "signature.context"
        detail = (
            "signed under the format-1 context, which does not name the log; re-sign for "
            f"origin {origin}; 按第 1 版格式签名，未绑定本日志，请为 {origin} 重新签名"
        )
    elif origin is not None:
        detail = (
            "Ed25519 signature does not verify over this log's message: since format 2 a "
            f"signature covers the log's origin ({origin}), so a statement signed for another "
            "log fails here; 签名无效（自第 2 版起签名覆盖日志名称，为其他日志签署的声明在此无效）"
        )
    return VerificationError(
        rule, detail, index=entry.index, key_id=sig.key_id, field=f"signatures[{n}].sig"
    )


class Rulebook(Protocol):
    """The business rules hook (FORMAT.md §10): funds, contracts, payments, credits.

    The rulebook of every Gongxin log is :class:`verifier.rules.DomainRules`; the protocol
    exists so that state and rules stay separate modules.

    ``apply`` raises :class:`VerificationError` naming the rule, or records the entry's
    effect (undoably, through ``journal`` when one is given). Pure: no I/O.
    """

    def apply(self, entry: Entry, journal: Journal | None) -> None: ...


@dataclass(slots=True)
class LogState:
    """Everything a replay needs to judge the next entry.

    ``recent_ids`` maps each statement id still inside the replay window (FORMAT.md §8 step 4)
    to its statement time, so memory stays bounded by the window, not the log. ``_expiry`` is
    a heap of (statement time, id) used to forget ids once they leave the window; an item
    whose id was rolled back or re-logged with another time is skipped when popped.
    """

    size: int = 0
    prev: str = ZERO_HASH_HEX
    log_time: str = ""
    registry: KeyRegistry = field(default_factory=KeyRegistry)
    rulebook: Rulebook = field(default_factory=DomainRules)
    recent_ids: dict[str, datetime] = field(default_factory=dict)
    _expiry: list[tuple[datetime, str]] = field(default_factory=list)
    #: The log's format, fixed by its genesis (FORMAT.md §7.3): 0 before genesis, then 1 or 2.
    format: int = 0
    #: What every signature covers besides the statement (FORMAT.md §3.2): the log's origin
    #: in a format-2 log, ``None`` (format 1's message) in a format-1 log or before genesis.
    message_origin: str | None = None

    def check_and_apply(
        self,
        entry: Entry,
        leaf_hash: bytes,
        *,
        verified_keys: Sequence[bytes | None] | None = None,
        journal: Journal | None = None,
        check_signatures: bool = True,
    ) -> None:
        """Check that ``entry`` is valid as the next entry, then apply it.

        Preconditions: ``entry`` came from :func:`verifier.core.entry.parse_entry_line` (shape
        checked) and ``leaf_hash`` is the RFC 9162 leaf hash of its line.
        ``verified_keys``, if given, lists for each signature the 32-byte public key under
        which the caller already verified it (or ``None``); a signature whose listed key is
        the registry's key is accepted without verifying it again, any other is verified here.
        ``check_signatures=False`` is only for replaying entries the ledger itself accepted
        earlier (its own database); key authorisation and roles are still checked.
        With ``journal`` every change is undoable; without it the state is changed directly.
        On error nothing has been changed (the registry and rulebook change last).
        """
        i = entry.index
        st = entry.statement
        # Step 2 (FORMAT.md §8; step 1, form, is parse_entry_line's): position — contiguous
        # index, hash chain, log time order.
        if i != self.size:
            raise VerificationError(
                "entry.index", f"index is {i}, expected {self.size}; 序号不连续", index=self.size
            )
        if entry.prev != self.prev:
            raise VerificationError(
                "entry.prev_hash",
                f"prev is {entry.prev[:16]}…, but the previous entry's leaf hash is "
                f"{self.prev[:16]}…; 哈希链断裂",
                index=i,
                field="prev",
            )
        if entry.log_time < self.log_time:
            raise VerificationError(
                "entry.log_time",
                f"log time {entry.log_time} is before the previous entry's {self.log_time}; 时间倒序",
                index=i,
                field="log_time",
            )
        # Step 3: kind and genesis position.
        kind = KINDS.get(st.kind)
        if kind is None:
            raise VerificationError(
                "entry.kind",
                f"unknown kind {st.kind!r}; 未知条目类型",
                index=i,
                field="statement.kind",
            )
        if (i == 0) != (st.kind == "log.genesis"):
            raise VerificationError(
                "genesis.position",
                "entry 0 must be log.genesis, and only entry 0; 第 0 条须为创世条目",
                index=i,
                field="statement.kind",
            )
        kind.check_body(st.body, i)  # for genesis: its format too (FORMAT.md §7.3)
        # Step 4: replay window and statement-id uniqueness.
        self._check_statement_time(entry, journal)
        # Step 5 (FORMAT.md §8): keys, then the signer's role, then the signatures.
        if i == 0:
            self._check_genesis_signatures(
                entry, verified_keys if check_signatures else None, journal
            )
        else:
            records = [
                self.registry.lookup(sig.key_id, i, f"signatures[{n}].key_id")
                for n, sig in enumerate(entry.signatures)
            ]
            if not (records[0].roles & kind.roles):
                raise VerificationError(
                    "role.forbidden",
                    f"{st.kind} must be signed by {'/'.join(sorted(kind.roles))}, "
                    f"key holds {'/'.join(sorted(records[0].roles))}; 无此权限",
                    index=i,
                    key_id=records[0].key.key_id_hex,
                    field="statement.signer",
                )
            if check_signatures:
                message = None
                for n, (sig, rec) in enumerate(zip(entry.signatures, records, strict=True)):
                    pub = rec.key.public_key
                    if verified_keys is not None and verified_keys[n] == pub:
                        continue
                    if message is None:
                        message = st.message(self.message_origin)
                    if not verify_ed25519(pub, message, sig.sig):
                        raise signature_error(pub, entry, n, self.message_origin)
        # Step 6: effects — key registry and business rules (these may still reject).
        if st.kind == "key.grant":
            self.registry.apply_grant(st.body, i, journal)
        elif st.kind == "key.revoke":
            self.registry.apply_revoke(st.body, i, journal)
        elif st.kind != "log.genesis":
            self.rulebook.apply(entry, journal)
        # Advance.
        self._remember_id(entry, journal)
        self.size = i + 1
        self.prev = leaf_hash.hex()
        self.log_time = entry.log_time

    def _check_genesis_signatures(
        self,
        entry: Entry,
        verified_keys: Sequence[bytes | None] | None,
        journal: Journal | None,
    ) -> None:
        """Genesis's keys and signatures (§8 step 5), under its own origin in format 2;
        then the log's registry, format and signed origin are the genesis's."""
        reg = KeyRegistry()
        reg.apply_genesis(entry.statement.body, 0, entry.statement.signer)
        log_format = genesis_format(entry.statement.body)
        origin = message_origin(entry.statement.body) if log_format == 2 else None
        message = entry.statement.message(origin)
        for n, sig in enumerate(entry.signatures):
            rec = reg.lookup(sig.key_id, 0, f"signatures[{n}].key_id")
            pub = rec.key.public_key
            ok = (verified_keys is not None and verified_keys[n] == pub) or verify_ed25519(
                pub, message, sig.sig
            )
            if not ok:
                raise signature_error(pub, entry, n, origin)
        # Undone with the rest of a rejected batch.
        assign(journal, self, "registry", reg)
        assign(journal, self, "format", log_format)
        assign(journal, self, "message_origin", origin)

    def _check_statement_time(self, entry: Entry, journal: Journal | None) -> None:
        """Step 4: ``log_time − 7 d ≤ statement.time ≤ log_time + 5 min``, and no earlier
        entry with the same statement id and a statement time ≥ ``log_time − 7 d``.
        Ids older than that can never collide again (log time never decreases), so they are
        forgotten here. Cost: O(log w) per entry for a window of w ids."""
        st = entry.statement
        signed = datetime.fromisoformat(st.time)
        logged = datetime.fromisoformat(entry.log_time)
        try:
            horizon = logged - MAX_STATEMENT_AGE
            in_window, beyond = horizon <= signed <= logged + MAX_CLOCK_SKEW, ""
        except OverflowError:  # FORMAT.md §8 step 4: a window leaving years 0001–9999 fails
            horizon, in_window, beyond = datetime.min, False, " (the window leaves 0001–9999)"
        if not in_window:
            raise VerificationError(
                "statement.time",
                f"statement time {st.time} is not within 7 days before / 5 minutes after the "
                f"log time {entry.log_time}{beyond}; 签署时间超出允许范围",
                index=entry.index,
                field="statement.time",
            )
        expiry, recent = self._expiry, self.recent_ids
        while expiry and expiry[0][0] < horizon:
            t, old = heapq.heappop(expiry)
            if journal is not None:
                journal.call_on_rollback(partial(heapq.heappush, expiry, (t, old)))
            if recent.get(old) == t:
                if journal is None:
                    del recent[old]
                else:
                    journal.delete_item(recent, old)
        if st.id in recent:
            raise VerificationError(
                "statement.duplicate",
                f"statement id {st.id} was already logged (a replayed statement); 重复提交",
                index=entry.index,
                field="statement.id",
            )

    def _remember_id(self, entry: Entry, journal: Journal | None) -> None:
        st = entry.statement
        signed = datetime.fromisoformat(st.time)
        if journal is None:
            self.recent_ids[st.id] = signed
        else:
            journal.set_item(self.recent_ids, st.id, signed)
        # Not journalled: a heap item whose id was rolled back is skipped when popped.
        heapq.heappush(self._expiry, (signed, st.id))

    def snapshot_position(self) -> tuple[int, str, str]:
        """The scalar position (size, prev, log time), for a caller that may roll back."""
        return self.size, self.prev, self.log_time

    def restore_position(self, position: tuple[int, str, str]) -> None:
        """Undo :meth:`check_and_apply`'s scalar changes (pair with ``Journal.rollback``)."""
        self.size, self.prev, self.log_time = position
