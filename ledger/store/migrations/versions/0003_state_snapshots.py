"""Rule-state snapshots (FORMAT.md §11): a cache of the replayed state, so that opening a
log replays only the entries after the latest snapshot.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    rowid = sa.BigInteger().with_variant(sa.Integer, "sqlite")
    op.create_table(
        "state_snapshots",
        sa.Column("size", rowid, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
