"""What a successful verification established: the reports of ``gongxin-verify``.

:class:`AuditReport` (with one :class:`KeyInfo` per key of the replayed registry) is returned
by :func:`verifier.cli.bundle.verify_bundle`; :class:`InclusionReport` by
:func:`verifier.cli.inclusion.verify_inclusion_file`. Failures raise instead, so every report is
valid; ``to_json`` gives the JSON-ready dict the CLI writes with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AuditReport", "InclusionReport", "KeyInfo"]


@dataclass(frozen=True)
class KeyInfo:
    """One key of the replayed registry (FORMAT.md §7)."""

    key_id: str
    name: str
    roles: list[str]
    granted_at: int
    revoked_at: int | None
    key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "roles": self.roles,
            "granted_at": self.granted_at,
            "revoked_at": self.revoked_at,
            "key": self.key,
        }


@dataclass
class AuditReport:
    """What a successful :func:`verifier.cli.bundle.verify_bundle` established."""

    origin: str
    tree_size: int
    root: str
    log_key: str
    entries_by_kind: dict[str, int]
    keys: list[KeyInfo]
    previous_checkpoint_size: int | None
    elapsed_seconds: float
    workers: int = 1
    #: The log's format (FORMAT.md §7.3): 2, or 1 for a log whose statements are not bound
    #: to it (FORMAT.md §3.2).
    format: int = 2

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``valid`` is always ``True`` (failures raise)."""
        return {
            "valid": True,
            "format": self.format,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": self.root,
            "log_key": self.log_key,
            "entries_by_kind": dict(sorted(self.entries_by_kind.items())),
            "keys": [k.to_json() for k in self.keys],
            "previous_checkpoint_size": self.previous_checkpoint_size,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "workers": self.workers,
        }


@dataclass(frozen=True)
class InclusionReport:
    """What a successful :func:`verifier.cli.inclusion.verify_inclusion_file` established."""

    origin: str
    tree_size: int
    root: str
    leaf_index: int
    leaf_hash: str
    kind: str
    statement_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": True,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": self.root,
            "leaf_index": self.leaf_index,
            "leaf_hash": self.leaf_hash,
            "kind": self.kind,
            "statement_id": self.statement_id,
        }
