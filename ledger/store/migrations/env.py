"""Alembic environment: migrations run on the connection :func:`ledger.store.migrate.upgrade`
hands over (``config.attributes["connection"]``), inside its transaction."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
