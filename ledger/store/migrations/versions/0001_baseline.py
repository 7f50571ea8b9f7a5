"""Baseline: the ledger tables with append-only triggers, and the resident register (the
schema of every database created before migrations existed).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    rowid = sa.BigInteger().with_variant(sa.Integer, "sqlite")
    op.create_table(
        "meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("idx", rowid, primary_key=True, autoincrement=False),
        sa.Column("statement_id", sa.String(36), nullable=False, unique=True),
        sa.Column("submission_sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("line", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", rowid, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "community_secrets",
        sa.Column("community", sa.String(64), primary_key=True),
        sa.Column("secret", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "resident_register",
        sa.Column("register_no", sa.String(21), primary_key=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("resident_ref", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=True, unique=True),
        sa.Column("phone", sa.String(11), nullable=True),
        sa.Column("lookup_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("enrolled_at", sa.String(32), nullable=False),
    )
    from ledger.store.engine import install_append_only_triggers

    install_append_only_triggers(op.get_bind())
