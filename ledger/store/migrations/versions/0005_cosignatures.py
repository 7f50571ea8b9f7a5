"""Witnesses' cosignatures of the log's checkpoints (``gongxin serve --witness-policy``):
the ``cosignatures`` table, empty until the server collects some.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(512), primary_key=True),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sqlite_with_rowid=False,
    )
