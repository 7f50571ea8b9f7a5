"""The postings index (FORMAT.md §10.6): one row per movement of every accepted entry, for
traces and residents' histories without a replay, and how far it is complete.

The tables start empty; the first ledger opened for appending (or ``gongxin trace``, or
``gongxin db upgrade`` itself) fills them by one replay in bounded batches
(:func:`ledger.postings.backfill`), tracked by ``postings_progress``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

#: Columns a posting is looked up by (one partial index each).
_LOOKUPS = ("fund", "contract", "payment", "provider", "resident")


def upgrade() -> None:
    ident = sa.String(64)
    op.create_table(
        "postings",
        sa.Column("entry_idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("fund", ident),
        sa.Column("contract", ident),
        sa.Column("payment", ident),
        sa.Column("provider", ident),
        sa.Column("community", ident),
        sa.Column("resident", ident),
        sa.Column("activity", ident),
        sqlite_with_rowid=False,
    )
    for name in _LOOKUPS:
        where = sa.text(f"{name} IS NOT NULL")
        op.create_index(
            f"ix_postings_{name}",
            "postings",
            [name, "entry_idx"],
            sqlite_where=where,
            postgresql_where=where,
        )
    op.create_table(
        "postings_progress",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("through", sa.BigInteger, nullable=False),
    )
