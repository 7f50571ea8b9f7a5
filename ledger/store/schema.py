"""Every table, defined once (SQLAlchemy 2 Core). FORMAT.md says what is stored; this module
says where. The engine (:mod:`ledger.store.engine`), migrations (:mod:`ledger.store.migrate`)
and the resident register (:mod:`ledger.residents`) all import it; it imports nothing of ours.

Ledger tables (all append-only, enforced by triggers — see
:func:`ledger.store.engine.install_append_only_triggers`):

- ``meta``         origin, the log's verifier key and the schema version;
- ``entries``      one row per log entry: index, statement id (idempotency), a digest of the
                   submission, kind, the exact canonical line (the Merkle leaf data), leaf hash;
- ``merkle_nodes`` every complete aligned subtree hash (level, index) — FORMAT.md §5.3;
- ``checkpoints``  every signed checkpoint, by tree size.

Resident register tables (``register_metadata``; off the ledger, never append-only: erasure
deletes rows — docs/RESIDENTS.md): ``community_secrets`` and ``resident_register``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

SCHEMA_VERSION = "1"
metadata = MetaData()

#: A 64-bit integer key that is SQLite's rowid itself ("INTEGER PRIMARY KEY"), so the table
#: needs no separate primary-key index; BIGINT elsewhere.
_ROWID = BigInteger().with_variant(Integer, "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("idx", _ROWID, primary_key=True, autoincrement=False),
    Column("statement_id", String(36), nullable=False, unique=True),
    Column("submission_sha256", LargeBinary(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("line", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    # Migration 0002: entries by kind, for operators' queries ("every payment.propose").
    Index("ix_entries_kind", "kind"),
)

merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,  # the (level, idx) key is the table: no second B-tree
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", _ROWID, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
)

#: Migration 0003: rule-state snapshots (FORMAT.md §11), a cache of the replayed state at
#: ``size`` whose tree root was ``root``. Never a source of truth: a snapshot that does not
#: match the stored tree, or does not decode, is ignored and the state rebuilt by replay. Not
#: append-only: older snapshots are deleted once a newer one is written.
state_snapshots = Table(
    "state_snapshots",
    metadata,
    Column("size", _ROWID, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

#: Migration 0004: the postings (FORMAT.md §10.6) of every accepted entry — one row per
#: movement, written in the append transaction — for traces and residents' histories. A
#: derived index, not part of the log: the rules recompute it from the entries at any time
#: (:mod:`ledger.postings`). Not trigger-protected, so that a later version can rebuild it;
#: the server's role may only read and insert it (``gongxin db setup-roles``). Looked up by
#: each object with partial indexes (NULLs, most rows for most columns, are left out).
_ID = String(64)
postings = Table(
    "postings",
    metadata,
    Column("entry_idx", BigInteger, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("event", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fund", _ID),
    Column("contract", _ID),
    Column("payment", _ID),
    Column("provider", _ID),
    Column("community", _ID),
    Column("resident", _ID),
    Column("activity", _ID),
    *(
        Index(
            f"ix_postings_{name}",
            name,
            "entry_idx",
            sqlite_where=text(f"{name} IS NOT NULL"),
            postgresql_where=text(f"{name} IS NOT NULL"),
        )
        for name in ("fund", "contract", "payment", "provider", "resident")
    ),
    sqlite_with_rowid=False,  # the (entry_idx, position) key is the table
)

#: Migration 0004: how far :data:`postings` is complete — one row (``id`` 1): the postings of
#: every entry below ``through`` are stored. Each append transaction advances it when it was
#: complete before; entries stored any other way (an upgrade, a restore) leave it behind,
#: and :func:`ledger.postings.backfill` replays them in bounded batches.
postings_progress = Table(
    "postings_progress",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("through", BigInteger, nullable=False),
)

#: Migration 0005: witnesses' cosignatures (FORMAT.md §14) of the log's own checkpoints, as
#: the log collected them (:mod:`ledger.cosigning`, ``gongxin serve --witness-policy``): the
#: checkpoint ``size``, the witness's verifier key string, its note signature line (with
#: final newline) and when it arrived (RFC 3339 UTC). Verified before they are stored; not
#: part of the log (anyone can re-check them), so not trigger-protected; the server's role
#: may only read and insert them.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(512), primary_key=True),
    Column("line", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
    sqlite_with_rowid=False,  # the (size, witness) key is the table
)

APPEND_ONLY_TABLES = ("meta", "entries", "merkle_nodes", "checkpoints")
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "meta": (("name",),),
    "entries": (("idx",), ("statement_id",)),
    "merkle_nodes": (("level", "idx"),),
    "checkpoints": (("size",),),
}


register_metadata = MetaData()

community_secrets = Table(
    "community_secrets",
    register_metadata,
    Column("community", String(64), primary_key=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", String(32), nullable=False),
)

resident_register = Table(
    "resident_register",
    register_metadata,
    Column("register_no", String(21), primary_key=True),
    Column("community", String(64), nullable=False),
    Column("resident_ref", String(32), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("id_number", String(18), nullable=True, unique=True),
    Column("phone", String(11), nullable=True),
    Column("lookup_hash", LargeBinary(32), nullable=False, unique=True),
    Column("enrolled_at", String(32), nullable=False),
)
