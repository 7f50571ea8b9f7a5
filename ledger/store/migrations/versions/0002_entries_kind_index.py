"""An index on entries.kind, for operators' queries by kind.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_entries_kind", "entries", ["kind"])
