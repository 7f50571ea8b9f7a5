"""The broken variants of the good bundle in ``tests/bundles/broken/`` (see
``tests/bundles/README.md``): what each mutation does to the good log and the verdict
``gongxin-verify`` must give, and the files of one variant's directory.

The expected rule and index of each variant are written here by hand, from the mutation, never
read back from the verifier. :mod:`tests.bundles.generate` builds the good log and writes the
files.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.records import format_log_time
from ledger.signing.keys import SignerKey
from tests import logfactory as lf
from tests.domain_bodies import contract_body, fund_body
from verifier.core import merkle
from verifier.core.bundle import CHECKPOINT_FILE, ENTRIES_FILE, LOG_VKEY_FILE
from verifier.core.keys import VerifierKey, compute_key_id

EXPECTED_FILE = "expected.json"
PREVIOUS_FILE = "previous-checkpoint"

#: Entries the variants edit (indices of the good log; see the README's table).
PROPOSAL, APPROVAL, AWARD, REDEMPTION = 12, 13, 15, 16


@dataclass(frozen=True)
class Variant:
    """One broken bundle: what was done, and the verdict ``gongxin-verify`` must give."""

    name: str
    mutation: str
    rule: str
    index: int | None
    lines: list[bytes] | None = None  # None: ``raw`` holds the entries file
    checkpoint: str = ""
    raw: bytes | None = None
    log_vkey: str = ""
    previous_checkpoint: str | None = None

    def files(self) -> dict[str, bytes]:
        """The variant's files, by name inside its directory."""
        entries = self.raw if self.raw is not None else entries_file(self.lines or [])
        out = {
            ENTRIES_FILE: entries,
            CHECKPOINT_FILE: self.checkpoint.encode(),
            LOG_VKEY_FILE: self.log_vkey.encode(),
        }
        expected: dict[str, Any] = {
            "mutation": self.mutation,
            "rule": self.rule,
            "index": self.index,
        }
        if self.previous_checkpoint is not None:
            out[PREVIOUS_FILE] = self.previous_checkpoint.encode()
            expected["previous_checkpoint"] = PREVIOUS_FILE
        out[EXPECTED_FILE] = _json(expected)
        return out


def entries_file(lines: list[bytes]) -> bytes:
    """The entries file holding ``lines``, one a line."""
    return b"".join(line + b"\n" for line in lines)


def _json(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def vkey_text(key: SignerKey) -> str:
    """The contents of a ``.vkey`` file for ``key``'s verifier key."""
    return f"{key.verifier()}\n"


def _set_amount(obj: dict[str, Any]) -> None:
    obj["statement"]["body"]["amount_fen"] = 2_000_000


def _flip_signature(obj: dict[str, Any]) -> None:
    sig = bytearray(base64.b64decode(obj["signatures"][0]["sig"]))
    sig[5] ^= 0x01
    obj["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()


def _replay(lines: list[bytes], source: int) -> bytes:
    """Entry ``source``'s signed statement, copied unchanged into a new entry after
    ``lines`` (correctly chained, five seconds after the last entry)."""
    when = datetime.fromisoformat(json.loads(lines[-1])["log_time"]) + timedelta(seconds=5)

    def move(obj: dict[str, Any]) -> None:
        obj["index"] = len(lines)
        obj["prev"] = merkle.leaf_hash(lines[-1]).hex()
        obj["log_time"] = format_log_time(when)

    return lf.edit_line(lines[source], move)


def _edited(
    lines: list[bytes], index: int, change: Callable[[dict[str, Any]], None]
) -> list[bytes]:
    out = list(lines)
    out[index] = lf.edit_line(out[index], change)
    return out


def _forged_fund(n: int) -> dict[str, Any]:
    body = fund_body(n, 50_000)
    body["fund_id"] = f"F-forged-{n}"
    return body


def _named_key(name: str, public_key: bytes) -> str:
    """The verifier key string of ``public_key`` under the key name ``name``."""
    return str(VerifierKey(name, compute_key_id(name, public_key), public_key))


def _forged_grant(log: lf.BuiltLog, key_text: str, roles: list[str]) -> bytes:
    """A key.grant of ``key_text`` signed by authority-0, appended after the good log."""
    body = {"key": key_text, "roles": roles, "title": "测试岗位"}
    return lf.forge_line(log.lines, log.authorities[0], "key.grant", body)


#: The identity point of Ed25519 (y = 1), one of its eight small-order points.
IDENTITY_POINT = bytes([1]) + bytes(31)


def _appended(log: lf.BuiltLog, name: str, mutation: str, rule: str, line: bytes) -> Variant:
    """A variant with ``line`` appended and the checkpoint re-signed by the real log key,
    so that only the rule can catch it."""
    lines = [*log.lines, line]
    cp = lf.sign_checkpoint_over(lines, log.log_key)
    return Variant(name, mutation, rule, log.size, lines, cp, log_vkey=vkey_text(log.log_key))


def _entry_variants(log: lf.BuiltLog) -> list[Variant]:
    """Edits of the entries file under the genuine checkpoint."""
    lines, cp, vkey = log.lines, log.checkpoint, vkey_text(log.log_key)
    deleted = lines[:APPROVAL] + lines[APPROVAL + 1 :]
    swapped = list(lines)
    swapped[AWARD], swapped[REDEMPTION] = swapped[REDEMPTION], swapped[AWARD]
    last = lines[-1]
    truncated = entries_file(lines[:-1]) + last[: len(last) // 2]
    return [
        Variant(
            "altered-amount",
            f"entry {PROPOSAL} (payment.propose): amount_fen 200000 -> 2000000, re-encoded "
            "canonically; its signature no longer covers the statement",
            "signature.invalid",
            PROPOSAL,
            _edited(lines, PROPOSAL, _set_amount),
            cp,
            log_vkey=vkey,
        ),
        Variant(
            "deleted-entry",
            f"entry {APPROVAL} (payment.approve) deleted",
            "entry.index",
            APPROVAL,
            deleted,
            cp,
            log_vkey=vkey,
        ),
        Variant(
            "reordered-entries",
            f"entries {AWARD} (credit.award) and {REDEMPTION} (credit.redeem) swapped",
            "entry.index",
            AWARD,
            swapped,
            cp,
            log_vkey=vkey,
        ),
        Variant(
            "truncated-last-line",
            f"the last line (entry {log.size - 1}) cut in half, no final newline",
            "export.truncated_line",
            log.size - 1,
            raw=truncated,
            checkpoint=cp,
            log_vkey=vkey,
        ),
        Variant(
            "forged-signature",
            f"one bit of entry {REDEMPTION}'s signature flipped",
            "signature.invalid",
            REDEMPTION,
            _edited(lines, REDEMPTION, _flip_signature),
            cp,
            log_vkey=vkey,
        ),
    ]


def _checkpoint_variants(log: lf.BuiltLog) -> list[Variant]:
    """The genuine entries under a checkpoint that does not vouch for them."""
    lines, vkey = log.lines, vkey_text(log.log_key)
    impostor = lf.make_key(42, "log", key_name=log.origin)  # same name, other key
    altered = _edited(lines, PROPOSAL, _set_amount)
    rolled_back = 21
    assert rolled_back in log.checkpoints
    return [
        Variant(
            "checkpoint-other-key",
            "checkpoint over the genuine entries signed by another key of the same name "
            "(log.vkey is that key's: it must not be trusted)",
            "note.unsigned",
            None,
            lines,
            lf.sign_checkpoint_over(lines, impostor),
            log_vkey=vkey_text(impostor),
        ),
        Variant(
            "rolled-back-checkpoint",
            f"the log's first {rolled_back} entries with the genuine checkpoint it issued at "
            f"size {rolled_back}, checked against a previously seen checkpoint of size "
            f"{log.size}",
            "checkpoint.rollback",
            None,
            lines[:rolled_back],
            log.checkpoints[rolled_back],
            log_vkey=vkey,
            previous_checkpoint=log.checkpoint,
        ),
        Variant(
            "wrong-root",
            f"checkpoint signed by the log key, size {log.size}, but its root is that of a "
            f"log whose entry {PROPOSAL} differs (the hash chain ties every entry to the last "
            "one, so the verifier names the last entry)",
            "merkle.root",
            log.size - 1,
            lines,
            lf.sign_checkpoint_over(altered, log.log_key),
            log_vkey=vkey,
        ),
    ]


def _rule_variants(log: lf.BuiltLog) -> list[Variant]:
    """Well-formed, well-signed entries appended to the log that the rules refuse."""
    # Fund F7 (entry 18) holds 1 000 007 fen; contract C8 (entry 19) commits 600 000 of it.
    overspend = contract_body("C-over", "F7", lf.DAY)
    return [
        _appended(
            log,
            "duplicate-statement-id",
            f"entry {REDEMPTION}'s signed statement replayed as a new entry {log.size}",
            "statement.duplicate",
            _replay(log.lines, REDEMPTION),
        ),
        _appended(
            log,
            "overspend",
            "a contract of 600000 fen on fund F7, which has 400007 fen left",
            "fund.insufficient",
            lf.forge_line(log.lines, log.key("finance"), "contract.award", overspend),
        ),
        _appended(
            log,
            "key-never-granted",
            "a fund.appropriate signed by a key that no key.grant names",
            "key.unknown",
            lf.forge_line(
                log.lines, lf.make_key(0, "stranger"), "fund.appropriate", _forged_fund(1)
            ),
        ),
        _appended(
            log,
            "signed-after-revocation",
            "a fund.appropriate signed by temp-finance after its key.revoke (entry 17)",
            "key.revoked",
            lf.forge_line(log.lines, log.key("temp-finance"), "fund.appropriate", _forged_fund(2)),
        ),
        _appended(
            log,
            "missing-role",
            "a fund.appropriate signed by the organiser (no finance_officer role)",
            "role.forbidden",
            lf.forge_line(log.lines, log.key("organiser"), "fund.appropriate", _forged_fund(3)),
        ),
        *_registry_variants(log),
    ]


def _registry_variants(log: lf.BuiltLog) -> list[Variant]:
    """Key grants the stricter registry refuses (FORMAT.md §7.2): each is signed by
    authority-0 and would otherwise be valid."""
    finance = log.key("finance").verifier().public_key
    retired = log.key("temp-finance").verifier().public_key
    return [
        _appended(
            log,
            "weak-key-granted",
            "a key.grant of the Ed25519 identity point (a small-order public key)",
            "key.weak",
            _forged_grant(log, _named_key("test-weak", IDENTITY_POINT), ["approver"]),
        ),
        _appended(
            log,
            "log-key-granted",
            "a key.grant of the log key's public key under another name",
            "key.log_key",
            _forged_grant(
                log, _named_key("test-log-alias", log.log_key.verifier().public_key), ["auditor"]
            ),
        ),
        _appended(
            log,
            "revoked-key-regranted",
            "a key.grant of temp-finance's public key (revoked at entry 17) under another name",
            "key.reused",
            _forged_grant(log, _named_key("test-temp-finance-2", retired), ["finance_officer"]),
        ),
        _appended(
            log,
            "one-key-two-people",
            "a key.grant of finance's public key as approver under another name (one private "
            "key would pass dual control alone)",
            "key.duplicate_public",
            _forged_grant(log, _named_key("test-finance-alias", finance), ["approver"]),
        ),
    ]


#: The origin of another log granting the same keys (a statement signed for it is replayed).
OTHER_ORIGIN = "gongxin.example/other-log"


def _context_variants(log: lf.BuiltLog) -> list[Variant]:
    """Statements signed for another log, or without naming one (FORMAT.md §3.2): a valid
    ``fund.appropriate`` by finance whose signature covers the wrong message."""
    finance = log.key("finance")
    return [
        _appended(
            log,
            "signed-for-another-log",
            f"a fund.appropriate by finance signed for the log {OTHER_ORIGIN} (where the same "
            "key is granted), replayed into this log",
            "signature.invalid",
            lf.forge_line(
                log.lines, finance, "fund.appropriate", _forged_fund(4), origin=OTHER_ORIGIN
            ),
        ),
        _appended(
            log,
            "format-1-signature",
            "a fund.appropriate by finance signed over the format-1 message, which names no log",
            "signature.context",
            lf.forge_line(log.lines, finance, "fund.appropriate", _forged_fund(5), origin=None),
        ),
    ]


def variants(log: lf.BuiltLog) -> list[Variant]:
    """Every broken variant of the good ``log``, in the order they are written."""
    return (
        _entry_variants(log)
        + _checkpoint_variants(log)
        + _rule_variants(log)
        + _context_variants(log)
    )
