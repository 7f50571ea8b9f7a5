"""Storage: the SQLAlchemy engine and tables, migrations (Alembic), backup and restore."""
